'use strict';
// particle-api-js 12.x against the simulated devices of the default fixtures
// (docs/devices.md): functions, variables, device management, flash accepted, compile refused.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const Particle = require('particle-api-js');
const { startMock } = require('../lib/mock');

const ARGON = '0123456789abcdef01234567';
const PHOTON = 'fedcba9876543210fedcba98';
const USER_TOKEN = '1111111111111111111111111111111111111111';

async function rejection(promise) {
	try {
		const value = await promise;
		assert.fail(`expected a rejection, got ${JSON.stringify(value && value.body)}`);
	} catch (error) {
		if (error instanceof assert.AssertionError) throw error;
		return error;
	}
}

async function control(mock, method, uri, body) {
	const res = await fetch(mock.url + uri, {
		method,
		headers: body ? { 'Content-Type': 'application/json' } : {},
		body: body ? JSON.stringify(body) : undefined,
	});
	return { status: res.status, body: await res.json() };
}

describe('particle-api-js: simulated devices', () => {
	let mock; let particle;
	const auth = USER_TOKEN;
	before(async () => {
		mock = await startMock();
		particle = new Particle({ baseUrl: mock.url });
	});
	after(() => mock.stop());

	it('callFunction sends args and reads return_value; the control API saw the call', async () => {
		const { statusCode, body } = await particle.callFunction({ deviceId: 'demo-argon', name: 'echo', argument: 'hello', auth });
		assert.equal(statusCode, 200);
		assert.deepEqual(body, { id: ARGON, name: 'demo-argon', connected: true, return_value: 5 });
		const calls = await control(mock, 'GET', `/__mock/devices/calls?device=${ARGON}`);
		const last = calls.body.calls[calls.body.calls.length - 1];
		assert.equal(last.function, 'echo');
		assert.equal(last.argument, 'hello');
		assert.equal(last.caller, 'user');
	});

	it('callFunction on an unknown function rejects with 404 and the body error', async () => {
		const error = await rejection(particle.callFunction({ deviceId: ARGON, name: 'nope', argument: '', auth }));
		assert.equal(error.statusCode, 404);
		assert.equal(error.body.error, 'Function nope not found');
	});

	it('getVariable reads typed results, on the product route too', async () => {
		const temperature = await particle.getVariable({ deviceId: ARGON, name: 'temperature', auth });
		assert.equal(temperature.body.result, 21.5);
		assert.equal(temperature.body.coreInfo.deviceID, ARGON);
		const locked = await particle.getVariable({ deviceId: PHOTON, name: 'locked', product: 'demo-product', auth });
		assert.equal(locked.body.result, true);
	});

	it('getDevice shows functions, variables, online and connected', async () => {
		const { body } = await particle.getDevice({ deviceId: ARGON, auth });
		assert.deepEqual(body.functions, ['led', 'echo']);
		assert.equal(body.variables.temperature, 'double');
		assert.equal(body.online, true);
		assert.equal(body.connected, true);
	});

	it('renameDevice, setDeviceNotes, signalDevice and updateDevice change the device', async () => {
		await particle.renameDevice({ deviceId: ARGON, name: 'lamp', auth });
		await particle.setDeviceNotes({ deviceId: 'lamp', notes: 'desk', auth });
		const signal = await particle.signalDevice({ deviceId: ARGON, signal: true, auth });
		assert.equal(signal.body.signaling, true);
		const update = await particle.updateDevice({ deviceId: PHOTON, product: 'demo-product', development: true, notes: 'beta', auth });
		assert.equal(update.body.development, true);
		assert.equal(update.body.notes, 'beta');
		const { body } = await particle.getDevice({ deviceId: ARGON, auth });
		assert.equal(body.name, 'lamp');
		assert.equal(body.notes, 'desk');
	});

	it('getClaimCode returns a 63-character code the control API lists', async () => {
		const { body } = await particle.getClaimCode({ auth });
		assert.equal(body.claim_code.length, 63);
		assert.ok(Array.isArray(body.device_ids));
		const codes = await control(mock, 'GET', '/__mock/devices/claim-codes');
		assert.ok(codes.body.claim_codes.some((c) => c.code === body.claim_code));
	});

	it('removeDevice unclaims and claimDevice claims back', async () => {
		const removed = await particle.removeDevice({ deviceId: ARGON, auth });
		assert.equal(removed.body.ok, true);
		const claimed = await particle.claimDevice({ deviceId: ARGON, auth });
		assert.equal(claimed.body.ok, true);
		assert.equal(claimed.body.claimed, true);
		const foreign = await rejection(particle.claimDevice({ deviceId: 'ffffffffffffffffffffffff', auth }));
		assert.equal(foreign.statusCode, 404);
	});

	it('removeDeviceOwner clears a product device owner', async () => {
		const { body } = await particle.removeDeviceOwner({ deviceId: PHOTON, product: 'demo-product', auth });
		assert.equal(body.ok, true);
		const device = await control(mock, 'GET', `/__mock/devices/${PHOTON}`);
		assert.equal(device.body.customer, null);
	});

	it('flashDevice with a binary is accepted as Update started', async () => {
		const files = { 'app.bin': Buffer.from([0, 1, 2, 3, 0, 255]) };
		const { statusCode, body } = await particle.flashDevice({ deviceId: ARGON, files, auth });
		assert.equal(statusCode, 200);
		assert.equal(body.status, 'Update started');
	});

	it('compileCode is refused with the answer particle-cli prints', async () => {
		const files = { 'app.ino': Buffer.from('void setup() {}\nvoid loop() {}\n') };
		const error = await rejection(particle.compileCode({ files, platformId: 12, auth }));
		assert.equal(error.statusCode, 400);
		assert.equal(error.body.output, 'Compiler timed out or encountered an error');
		assert.match(error.body.errors[0], /does not compile firmware/);
	});
});
