'use strict';
// Example: test code that uses particle-api-js against particle-auth-mock.
// Start the mock first (`docker run -p 8080:8080 particle-auth-mock`, or the binary) and set
// PARTICLE_MOCK_URL if it is not on http://127.0.0.1:8080. Run: npm ci && npm test
const { test } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const Particle = require('particle-api-js');

const particle = new Particle({ baseUrl: process.env.PARTICLE_MOCK_URL || 'http://127.0.0.1:8080' });

// RFC 6238 (SHA-1, 6 digits, 30 s) for the fixture secret of mfa@example.com.
function totp(base32Secret, now = Date.now()) {
	const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
	const bits = [...base32Secret].map((c) => alphabet.indexOf(c).toString(2).padStart(5, '0')).join('');
	const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
	const counter = Buffer.alloc(8);
	counter.writeBigUInt64BE(BigInt(Math.floor(now / 30000)));
	const mac = crypto.createHmac('sha1', key).update(counter).digest();
	const offset = mac[19] & 0xf;
	return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1e6).padStart(6, '0');
}

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

test('two-step login: 403 mfa_required, then sendOtp', async () => {
	const error = await particle.login({ username: 'mfa@example.com', password: 'password' }).catch((e) => e);
	assert.equal(error.statusCode, 403);
	assert.equal(error.body.error, 'mfa_required');

	const { body } = await particle.sendOtp({ mfaToken: error.body.mfa_token, otp: totp('JBSWY3DPEHPK3PXP') });
	const user = await particle.getUserInfo({ auth: body.access_token });
	assert.equal(user.body.username, 'mfa@example.com');
});

test('a wrong password is a 400 invalid_grant', async () => {
	await assert.rejects(
		particle.login({ username: 'user@example.com', password: 'nope' }),
		(e) => e.statusCode === 400 && e.body.error === 'invalid_grant',
	);
});
