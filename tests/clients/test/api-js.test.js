'use strict';
// particle-api-js 12.x against the mock binary, with no client changes: only `baseUrl`.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const Particle = require('particle-api-js');
const apiJsVersion = JSON.parse(require('node:fs').readFileSync(require.resolve('particle-api-js').replace(/lib\/src\/Particle\.js$/, 'package.json'), 'utf8')).version;
const { startMock, otpSequence, MFA_SECRET } = require('../lib/mock');

const HEX40 = /^[0-9a-f]{40}$/;

/** Resolves to the rejection of `promise` (fails the test if it resolves). */
async function rejection(promise) {
	try {
		const value = await promise;
		assert.fail(`expected a rejection, got ${JSON.stringify(value && value.body)}`);
	} catch (error) {
		if (error instanceof assert.AssertionError) throw error;
		return error;
	}
}

describe(`particle-api-js ${apiJsVersion}`, () => {
	let mock; let particle; let nextOtp;
	before(async () => {
		mock = await startMock();
		particle = new Particle({ baseUrl: mock.url });
		nextOtp = otpSequence(MFA_SECRET);
	});
	after(() => mock.stop());

	it('logs in with username and password and uses the token', async () => {
		const { statusCode, body } = await particle.login({ username: 'user@example.com', password: 'password' });
		assert.equal(statusCode, 200);
		assert.match(body.access_token, HEX40);
		assert.equal(body.token_type, 'bearer');
		assert.equal(body.expires_in, 7776000);
		const user = await particle.getUserInfo({ auth: body.access_token });
		assert.equal(user.body.username, 'user@example.com');
	});

	it('rejects a wrong password with the client error carrying the OAuth body', async () => {
		const error = await rejection(particle.login({ username: 'user@example.com', password: 'wrong' }));
		assert.equal(error.statusCode, 400);
		assert.equal(error.body.error, 'invalid_grant');
		assert.match(error.message, /^HTTP error 400 from .*\/oauth\/token/);
	});

	it('logs in with MFA: 403 mfa_required, then sendOtp with a TOTP code', async () => {
		const error = await rejection(particle.login({ username: 'mfa@example.com', password: 'password' }));
		assert.equal(error.statusCode, 403);
		assert.equal(error.body.error, 'mfa_required');
		assert.ok(error.body.mfa_token, 'mfa_token in the 403 body');
		const { body } = await particle.sendOtp({ mfaToken: error.body.mfa_token, otp: nextOtp() });
		assert.match(body.access_token, HEX40);
		const user = await particle.getUserInfo({ auth: body.access_token });
		assert.equal(user.body.username, 'mfa@example.com');
	});

	it('refuses a wrong login code', async () => {
		const error = await rejection(particle.login({ username: 'mfa@example.com', password: 'password' }));
		const wrong = await rejection(particle.sendOtp({ mfaToken: error.body.mfa_token, otp: '000000' === nextOtp() ? '111111' : '000000' }));
		assert.ok([400, 401, 403].includes(wrong.statusCode), `status ${wrong.statusCode}`);
		assert.ok(wrong.body.error, 'an OAuth error body');
	});

	it('tokenDuration 0 gives a token that never expires', async () => {
		const client = new Particle({ baseUrl: mock.url, tokenDuration: 0 });
		const { body } = await client.login({ username: 'user@example.com', password: 'password' });
		assert.match(body.access_token, HEX40);
		assert.ok(!body.expires_in, `expires_in ${body.expires_in}`);
		assert.equal(body.refresh_token, undefined);
		const info = await client.get({ uri: '/v1/access_tokens/current', auth: body.access_token });
		assert.equal(info.body.expires_at, null);
	});

	it('tokenDuration 3600 gives a token expiring in an hour', async () => {
		const client = new Particle({ baseUrl: mock.url, tokenDuration: 3600 });
		const before = Date.now();
		const { body } = await client.login({ username: 'user@example.com', password: 'password' });
		assert.equal(body.expires_in, 3600);
		const info = await client.get({ uri: '/v1/access_tokens/current', auth: body.access_token });
		const expiresAt = Date.parse(info.body.expires_at);
		assert.ok(Math.abs(expiresAt - (before + 3600e3)) < 60e3, `expires_at ${info.body.expires_at}`);
	});

	it('shows the current token info (client, scopes, expiry)', async () => {
		const { body } = await particle.login({ username: 'user@example.com', password: 'password' });
		const info = await particle.get({ uri: '/v1/access_tokens/current', auth: body.access_token });
		assert.equal(info.statusCode, 200);
		assert.equal(info.body.client, 'particle-api');
		assert.ok(Array.isArray(info.body.scopes), 'scopes is an array');
		assert.ok(info.body.expires_at, 'expires_at set');
	});

	it('deletes the current token', async () => {
		const { body } = await particle.login({ username: 'user@example.com', password: 'password' });
		const deleted = await particle.deleteCurrentAccessToken({ auth: body.access_token });
		assert.equal(deleted.statusCode, 200);
		const error = await rejection(particle.getUserInfo({ auth: body.access_token }));
		assert.equal(error.statusCode, 401);
	});

	it('deletes a token by value, with no Authorization header', async () => {
		const { body } = await particle.login({ username: 'user@example.com', password: 'password' });
		const deleted = await particle.deleteAccessToken({ token: body.access_token });
		assert.equal(deleted.statusCode, 200);
		const error = await rejection(particle.getUserInfo({ auth: body.access_token }));
		assert.equal(error.statusCode, 401);
		assert.equal(error.body.error, 'invalid_token');
	});

	it('lists devices with a user token', async () => {
		const { body } = await particle.login({ username: 'user@example.com', password: 'password' });
		const devices = await particle.listDevices({ auth: body.access_token });
		assert.ok(Array.isArray(devices.body), 'an array of devices');
	});
});

describe('particle-api-js: API users', () => {
	let mock; let particle; let admin;
	before(async () => {
		mock = await startMock();
		particle = new Particle({ baseUrl: mock.url });
		admin = (await particle.login({ username: 'user@example.com', password: 'password' })).body.access_token;
	});
	after(() => mock.stop());

	it('creates, uses, rotates and deletes an API user, and refuses a missing scope', async () => {
		// create
		const created = await particle.post({
			uri: '/v1/products/demo-product/team', auth: admin,
			data: { friendly_name: 'conformance bot', scopes: ['devices:list'] },
		});
		assert.equal(created.body.ok, true);
		const { username, is_programmatic: programmatic, tokens } = created.body.created;
		assert.match(username, /^conformance-bot\+[a-z0-9]{10}@api\.particle\.io$/);
		assert.equal(programmatic, true);
		const token = tokens[0].token;
		assert.match(token, HEX40);
		// use: its scope allows listing the product's devices
		const devices = await particle.listDevices({ product: 'demo-product', auth: token });
		assert.equal(devices.statusCode, 200);
		assert.ok(Array.isArray(devices.body.devices));
		// a scope it lacks: the client surfaces the 403 unauthorized body
		const refused = await rejection(particle.get({ uri: '/v1/products/demo-product/customers', auth: token }));
		assert.equal(refused.statusCode, 403);
		assert.equal(refused.body.error, 'unauthorized');
		// a human-only route
		const human = await rejection(particle.getUserInfo({ auth: token }));
		assert.equal(human.body.error_description, 'API users are not allowed to call this endpoint');
		// its token info: never expires
		const info = await particle.get({ uri: '/v1/access_tokens/current', auth: token });
		assert.equal(info.body.expires_at, null);
		// listed in the team
		const team = await particle.listTeamMembers({ product: 'demo-product', auth: admin });
		assert.ok(team.body.team.some((m) => m.username === username && m.is_programmatic));
		// rotate: a change of scopes replaces the token
		const updated = await particle.put({
			uri: `/v1/products/demo-product/team/${username}`, auth: admin,
			data: { scopes: ['devices:list', 'customers:list'] },
		});
		const rotated = JSON.stringify(updated.body).match(/[0-9a-f]{40}/)[0];
		assert.notEqual(rotated, token);
		assert.equal((await rejection(particle.listDevices({ product: 'demo-product', auth: token }))).statusCode, 401);
		const customers = await particle.get({ uri: '/v1/products/demo-product/customers', auth: rotated });
		assert.equal(customers.statusCode, 200);
		// delete (particle-api-js sends the raw + and @ in the path)
		const removed = await particle.removeTeamMember({ product: 'demo-product', username, auth: admin });
		assert.ok(removed.statusCode < 300);
		assert.equal((await rejection(particle.listDevices({ product: 'demo-product', auth: rotated }))).statusCode, 401);
	});
});

describe('particle-api-js: rate limits', () => {
	it('surfaces a 429 from /oauth/token as the client error', async () => {
		// docs/rate-limits.md: `--rate-limit NAME=COUNT/WINDOW`; `oauth` is POST /oauth/token.
		const mock = await startMock(['--rate-limit', 'oauth=3/5m'], { rateLimits: true });
		try {
			const particle = new Particle({ baseUrl: mock.url });
			for (let i = 0; i < 3; i++) await particle.login({ username: 'user@example.com', password: 'password' });
			const error = await rejection(particle.login({ username: 'user@example.com', password: 'password' }));
			assert.equal(error.statusCode, 429);
			assert.equal(error.body.error, 'rate_limit_exceeded');
			assert.match(error.message, /^HTTP error 429 from /);
		} finally {
			await mock.stop();
		}
	});
});
