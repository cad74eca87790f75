'use strict';
// HTTPS (`--tls`): particle-api-js and particle-cli talk to the mock over HTTPS
// when told to trust the CA it wrote (NODE_EXTRA_CA_CERTS), and are refused by TLS without it.
// NODE_EXTRA_CA_CERTS is read only when a Node process starts, so each client runs in a child.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startMock, supportsFlag, cli, cliHome, cliConfig } = require('../lib/mock');

const CLIENTS = path.resolve(__dirname, '..');

/** particle-api-js' login in a child Node with (or without) the CA; {code, stdout, stderr}. */
function apiJsLogin(url, ca) {
	const script = `
		const Particle = require('particle-api-js');
		new Particle({ baseUrl: ${JSON.stringify(url)} })
			.login({ username: 'user@example.com', password: 'password' })
			.then((r) => console.log(r.body.access_token), (e) => {
				// particle-api-js wraps the fetch error: print the TLS cause under it.
				const cause = (e.error && (e.error.cause || e.error)) || {};
				console.error(String(e.message || e), cause.code || '', cause.message || '');
				process.exit(3);
			});`;
	const env = { ...process.env };
	delete env.NODE_EXTRA_CA_CERTS;
	if (ca) env.NODE_EXTRA_CA_CERTS = ca;
	return new Promise((resolve) => {
		const child = spawn(process.execPath, ['-e', script], { cwd: CLIENTS, env, stdio: ['ignore', 'pipe', 'pipe'] });
		let stdout = ''; let stderr = '';
		child.stdout.on('data', (d) => { stdout += d; });
		child.stderr.on('data', (d) => { stderr += d; });
		child.on('exit', (code) => resolve({ code, stdout, stderr }));
	});
}

describe('--tls with the printed CA', { skip: !supportsFlag('tls-ca-out') && 'the binary has no --tls' }, () => {
	let mock; let ca; let dir;
	before(async () => {
		dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pam-tls-'));
		ca = path.join(dir, 'ca.pem');
		mock = await startMock(['--tls', '--tls-ca-out', ca]);
	});
	after(async () => { await mock.stop(); fs.rmSync(dir, { recursive: true, force: true }); });

	it('serves https and writes the CA', () => {
		assert.match(mock.url, /^https:\/\/127\.0\.0\.1:\d+$/);
		assert.match(fs.readFileSync(ca, 'utf8'), /^-----BEGIN CERTIFICATE-----/);
	});

	it('particle-api-js logs in with NODE_EXTRA_CA_CERTS, and is refused by TLS without it', async () => {
		const trusted = await apiJsLogin(mock.url, ca);
		assert.equal(trusted.code, 0, trusted.stderr);
		assert.match(trusted.stdout, /^[0-9a-f]{40}$/m);
		const stranger = await apiJsLogin(mock.url, null);
		assert.equal(stranger.code, 3);
		assert.match(stranger.stderr, /certificate|self[- ]signed|UNABLE_TO_VERIFY/i);
	});

	it('particle-cli logs in over https://localhost with NODE_EXTRA_CA_CERTS', async () => {
		const url = mock.url.replace('127.0.0.1', 'localhost');
		const home = cliHome(url);
		const login = await cli(home, ['login', '-u', 'user@example.com', '-p', 'password'], { NODE_EXTRA_CA_CERTS: ca });
		assert.equal(login.code, 0, `stdout: ${login.stdout}\nstderr: ${login.stderr}`);
		assert.match(cliConfig(home).access_token, /^[0-9a-f]{40}$/);
		const whoami = await cli(home, ['whoami'], { NODE_EXTRA_CA_CERTS: ca });
		assert.match(whoami.stdout, /user@example\.com/);
		const refused = await cli(cliHome(url), ['login', '-u', 'user@example.com', '-p', 'password']);
		assert.notEqual(refused.code, 0, 'without the CA, particle-cli cannot log in');
	});
});
