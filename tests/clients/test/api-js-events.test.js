'use strict';
// particle-api-js 12.x event streams and publishing against the default fixtures
// (docs/events.md): getEventStream for mine, one device, a product and a public prefix,
// publishEvent for the user and a product; the simulated devices publish through the
// control API (POST /__mock/devices/{id}/events).
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const Particle = require('particle-api-js');
const { startMock } = require('../lib/mock');

const ARGON = '0123456789abcdef01234567';
const BORON = '89abcdef0123456789abcdef';
const PHOTON = 'fedcba9876543210fedcba98';
const USER_TOKEN = '1111111111111111111111111111111111111111';
const API_USER_TOKEN = '2222222222222222222222222222222222222222';

async function rejection(promise) {
	try {
		const value = await promise;
		if (value && typeof value.abort === 'function') value.abort();
		assert.fail('expected a rejection');
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

/** Publishes as the simulated device `id` through the control API. */
async function publishAs(mock, id, name, data) {
	const { status, body } = await control(mock, 'POST', `/__mock/devices/${id}/events`, { name, data });
	assert.equal(status, 200, JSON.stringify(body));
	return body.event;
}

/** The events a stream emits, collected; `next(n)` waits (5 s at most) for the n-th. */
function collect(stream) {
	const events = [];
	let wake = () => {};
	stream.on('event', (e) => { events.push(e); wake(); });
	return {
		events,
		next(n, ms = 5000) {
			return new Promise((resolve, reject) => {
				const timer = setTimeout(() => reject(new Error(`only ${events.length} of ${n} events: ${JSON.stringify(events)}`)), ms);
				const check = () => {
					if (events.length >= n) {
						clearTimeout(timer);
						resolve(events.slice(0, n));
					}
				};
				wake = check;
				check();
			});
		},
	};
}

describe('particle-api-js: event streams and publishing', () => {
	let mock; let particle;
	const auth = USER_TOKEN;
	before(async () => {
		mock = await startMock();
		particle = new Particle({ baseUrl: mock.url });
	});
	after(() => mock.stop());

	it("getEventStream({deviceId:'mine'}) delivers the user's device events with the D5.2 fields", async () => {
		const stream = await particle.getEventStream({ deviceId: 'mine', auth });
		try {
			const got = collect(stream);
			const published = await publishAs(mock, ARGON, 'temperature', '25.34');
			const [event] = await got.next(1);
			assert.equal(event.name, 'temperature');
			assert.equal(event.data, '25.34');
			assert.equal(event.ttl, 60);
			assert.equal(event.coreid, ARGON);
			assert.equal(event.published_at, published.published_at);
			assert.match(event.published_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
		} finally {
			stream.abort();
		}
	});

	it('getEventStream for one device and a name sees only that device and prefix', async () => {
		const stream = await particle.getEventStream({ deviceId: ARGON, name: 'motion', auth });
		try {
			const got = collect(stream);
			await publishAs(mock, BORON, 'motion', 'other device');
			await publishAs(mock, ARGON, 'light', 'other name');
			await publishAs(mock, ARGON, 'Motion', 'prefixes are case-sensitive');
			await publishAs(mock, ARGON, 'motion/hall', 'yes');
			const [event] = await got.next(1);
			assert.equal(event.name, 'motion/hall');
			assert.equal(event.data, 'yes');
			assert.equal(event.coreid, ARGON);
			assert.equal(got.events.length, 1);
		} finally {
			stream.abort();
		}
	});

	it('getEventStream for a product shows its devices and API publishes with the product fields', async () => {
		const stream = await particle.getEventStream({ product: 'demo-product', auth });
		try {
			const got = collect(stream);
			await publishAs(mock, ARGON, 'sandbox', 'not in the product');
			await publishAs(mock, PHOTON, 'door', 'open');
			const published = await particle.publishEvent({ name: 'fleet', data: 'update', isPrivate: true, product: 'demo-product', auth });
			assert.equal(published.statusCode, 200);
			assert.deepEqual(published.body, { ok: true });
			const [door, fleet] = await got.next(2);
			assert.equal(door.name, 'door');
			assert.equal(door.coreid, PHOTON);
			assert.equal(door.productID, 1001);
			assert.equal(typeof door.version, 'number');
			assert.equal(door.public, true);
			assert.equal(fleet.name, 'fleet');
			assert.equal(fleet.coreid, 'api');
			assert.equal(fleet.productID, 1001);
			assert.equal(fleet.public, false);
		} finally {
			stream.abort();
		}
	});

	it('getEventStream with a prefix (/v1/events/{prefix}) gets public events, percent-encoded', async () => {
		const stream = await particle.getEventStream({ name: 'temp/kitchen', auth });
		try {
			const got = collect(stream);
			await particle.publishEvent({ name: 'temp/hall', data: 'no', isPrivate: false, auth });
			await particle.publishEvent({ name: 'temp/kitchen', data: '19.5', isPrivate: false, auth });
			const [event] = await got.next(1);
			assert.equal(event.name, 'temp/kitchen');
			assert.equal(event.data, '19.5');
			assert.equal(event.coreid, 'api');
		} finally {
			stream.abort();
		}
	});

	it('publishEvent answers {ok:true}; the control API sees the event with coreid api', async () => {
		const before = await control(mock, 'GET', '/__mock/events?timeout_ms=0');
		const { statusCode, body } = await particle.publishEvent({ name: 'from-client', data: 'hello', isPrivate: true, auth });
		assert.equal(statusCode, 200);
		assert.deepEqual(body, { ok: true });
		const seen = await control(mock, 'GET', `/__mock/events?name=from-client&after=${before.body.last_seq}&timeout_ms=2000`);
		assert.equal(seen.body.events.length, 1);
		assert.equal(seen.body.events[0].coreid, 'api');
		assert.equal(seen.body.events[0].data, 'hello');
		assert.equal(seen.body.events[0].public, false);
	});

	it('publishEvent refuses a reserved or overlong name with a 400', async () => {
		const reserved = await rejection(particle.publishEvent({ name: 'spark/status', data: 'x', auth }));
		assert.equal(reserved.statusCode, 400);
		const long = await rejection(particle.publishEvent({ name: 'n'.repeat(65), data: 'x', auth }));
		assert.equal(long.statusCode, 400);
	});

	it('getEventStream is refused before it starts: no prefix (400), API user on sandbox (403), bad token (401)', async () => {
		const noPrefix = await rejection(particle.getEventStream({ auth }));
		assert.equal(noPrefix.statusCode, 400);
		assert.equal(noPrefix.body.error, 'event prefix filter is required');
		const apiUser = await rejection(particle.getEventStream({ deviceId: 'mine', auth: API_USER_TOKEN }));
		assert.equal(apiUser.statusCode, 403);
		const bad = await rejection(particle.getEventStream({ deviceId: 'mine', auth: 'f'.repeat(40) }));
		assert.equal(bad.statusCode, 401);
	});
});
