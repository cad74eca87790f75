'use strict';
// Example: test code that uses particle-api-js against particle-auth-mock, with the
// particle-auth-mock test helper. Each test gets its own tenant (an isolated world on the
// one server), so the file can run again at once, or in parallel with others, against the
// same mock: a CI service container, `docker run`, or `npx particle-auth-mock`.
// Run: npm ci && npm test   (PARTICLE_MOCK_URL if the mock is not on http://127.0.0.1:8080)
// Without a running mock, `startMock()` instead of `connectMock()` starts one.
const { test, before, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const Particle = require('particle-api-js');
const { connectMock } = require('particle-auth-mock');

let mock;
let tenant;
let particle;
before(async () => { mock = await connectMock(process.env.PARTICLE_MOCK_URL); });
beforeEach(async () => {
	tenant = await mock.tenant();
	particle = new Particle({ baseUrl: tenant.url });
});
afterEach(() => tenant.stop());

test('log in, list devices, read token info, log out', async () => {
	const { body } = await particle.login({ username: 'user@example.com', password: 'password' });
	const auth = body.access_token;

	const devices = await particle.listDevices({ auth });
	assert.ok(devices.body.some((d) => d.name === 'demo-argon'));

	const info = await particle.get({ uri: '/v1/access_tokens/current', auth });
	assert.equal(info.body.client, 'particle-api');

	await particle.deleteCurrentAccessToken({ auth });
	await assert.rejects(particle.getUserInfo({ auth }), (e) => e.statusCode === 401);
});

test('two-step login: 403 mfa_required, then sendOtp with the code the mock gives', async () => {
	const error = await particle.login({ username: 'mfa@example.com', password: 'password' }).catch((e) => e);
	assert.equal(error.statusCode, 403);
	assert.equal(error.body.error, 'mfa_required');

	const otp = await tenant.totp('mfa@example.com');
	const { body } = await particle.sendOtp({ mfaToken: error.body.mfa_token, otp });
	const user = await particle.getUserInfo({ auth: body.access_token });
	assert.equal(user.body.username, 'mfa@example.com');
});

test('a token expires when the clock passes its lifetime, without sleeping', async () => {
	const { body } = await particle.login({ username: 'user@example.com', password: 'password', tokenDuration: 3600 });
	await tenant.advanceClock(3600);
	await assert.rejects(particle.getUserInfo({ auth: body.access_token }), (e) => e.statusCode === 401);
});

test('a wrong password is a 400 invalid_grant, and the journal says why', async () => {
	await assert.rejects(
		particle.login({ username: 'user@example.com', password: 'nope' }),
		(e) => e.statusCode === 400 && e.body.error === 'invalid_grant',
	);
	const [entry] = await tenant.journal({ path: '/oauth/token' });
	assert.match(entry.reason, /wrong password/);
});
