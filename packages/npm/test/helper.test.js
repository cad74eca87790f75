'use strict';
// The npm package's own suite, run by scripts/test-packages.sh in a scratch project that
// installed the packed tarballs (particle-auth-mock and @particle-auth-mock/linux-x64) and
// particle-api-js: what a user's project sees, not this repository's files.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const readline = require('node:readline');
const Particle = require('particle-api-js');
const { startMock, connectMock, binaryPath, startReceiver } = require('particle-auth-mock');

let mock;
before(async () => { mock = await startMock(); });
after(async () => { await mock.stop(); });

const login = (url, username = 'user@example.com', extra = {}) =>
	new Particle({ baseUrl: url }).login({ username, password: 'password', ...extra });

test('the binary comes from the platform package', () => {
	assert.match(binaryPath(), /node_modules\/@particle-auth-mock\/linux-x64\/bin\/particle-auth-mock$/);
});

test('particle-api-js logs in against mock.url', async () => {
	const { body } = await login(mock.url);
	assert.match(body.access_token, /^[0-9a-f]{40}$/);
});

test('a tenant is an isolated world: its tokens are unknown elsewhere, and stop() deletes it', async () => {
	const a = await mock.tenant();
	const b = await mock.tenant();
	assert.notEqual(a.url, b.url);
	const particle = new Particle({ baseUrl: a.url });
	const { body } = await particle.login({ username: 'user@example.com', password: 'password' });
	const user = await particle.getUserInfo({ auth: body.access_token });
	assert.equal(user.body.username, 'user@example.com');
	await assert.rejects(new Particle({ baseUrl: b.url }).getUserInfo({ auth: body.access_token }), (e) => e.statusCode === 401);
	await assert.rejects(new Particle({ baseUrl: mock.url }).getUserInfo({ auth: body.access_token }), (e) => e.statusCode === 401);
	await a.stop();
	await assert.rejects(particle.getUserInfo({ auth: body.access_token }), (e) => e.statusCode === 404);
	await b.stop();
});

test('MFA with mock.totp(email), twice in one tenant by moving its clock', async () => {
	const tenant = await mock.tenant();
	const particle = new Particle({ baseUrl: tenant.url });
	for (let i = 0; i < 2; i++) {
		const challenge = await particle.login({ username: 'mfa@example.com', password: 'password' }).catch((e) => e);
		assert.equal(challenge.statusCode, 403);
		assert.equal(challenge.body.error, 'mfa_required');
		const { body } = await particle.sendOtp({ mfaToken: challenge.body.mfa_token, otp: await tenant.totp('mfa@example.com') });
		assert.equal((await particle.getUserInfo({ auth: body.access_token })).body.username, 'mfa@example.com');
		// A code is accepted once: the next login needs the next step's code.
		await tenant.advanceClock(30);
	}
	await tenant.stop();
});

test('advanceClock expires a token exactly at its lifetime', async () => {
	const tenant = await mock.tenant();
	const particle = new Particle({ baseUrl: tenant.url });
	const { body } = await particle.login({ username: 'user@example.com', password: 'password', tokenDuration: 3600 });
	await tenant.advanceClock(3599);
	await particle.getUserInfo({ auth: body.access_token });
	await tenant.advanceClock(1);
	await assert.rejects(particle.getUserInfo({ auth: body.access_token }), (e) => e.statusCode === 401);
	await tenant.stop();
});

test('journal() says why a request was refused; reset() forgets issued tokens', async () => {
	const tenant = await mock.tenant();
	await assert.rejects(login(tenant.url, 'user@example.com', { password: 'wrong' }), (e) => e.statusCode === 400);
	const [entry] = await tenant.journal({ path: '/oauth/token', status: '4xx' });
	assert.equal(entry.status, 400);
	assert.match(entry.reason, /wrong password/);
	const { body } = await login(tenant.url);
	await tenant.reset();
	assert.deepEqual(await tenant.journal(), []);
	await assert.rejects(new Particle({ baseUrl: tenant.url }).getUserInfo({ auth: body.access_token }), (e) => e.statusCode === 401);
	await tenant.stop();
});

test('exportState() snapshots a world and importState() restores it into another', async () => {
	const a = await mock.tenant();
	const { body } = await login(a.url);
	const state = await a.exportState();
	assert.equal(state.format, 'particle-auth-mock/state');
	assert.doesNotMatch(JSON.stringify(state), /"password":"password"/);
	const b = await mock.tenant();
	await assert.rejects(new Particle({ baseUrl: b.url }).getUserInfo({ auth: body.access_token }), (e) => e.statusCode === 401);
	assert.deepEqual(await b.importState(state), { ok: true });
	const user = await new Particle({ baseUrl: b.url }).getUserInfo({ auth: body.access_token });
	assert.equal(user.body.username, 'user@example.com');
	await assert.rejects(b.importState({ ...state, version: 99 }), (e) => e.status === 400 && /version 99/.test(e.body.error_description ?? e.body.error));
	await a.stop();
	await b.stop();
});

test('startMock({ fixtures, seed }): own users, and the same seed gives the same tokens', async () => {
	const fixtures = { users: [{ email: 'ci@example.com', password: 'password' }] };
	const [m1, m2] = await Promise.all([startMock({ fixtures, seed: 7 }), startMock({ fixtures, seed: 7 })]);
	try {
		const [t1, t2] = await Promise.all([login(m1.url, 'ci@example.com'), login(m2.url, 'ci@example.com')]);
		assert.equal(t1.body.access_token, t2.body.access_token);
		await assert.rejects(login(m1.url, 'user@example.com'), (e) => e.statusCode === 400);
	} finally {
		await Promise.all([m1.stop(), m2.stop()]);
	}
});

test('startMock({ rateLimits }): the third login in the window is 429', async () => {
	const limited = await startMock({ rateLimits: { rules: { oauth: '2/60s' } } });
	try {
		await login(limited.url);
		await login(limited.url);
		await assert.rejects(login(limited.url), (e) => e.statusCode === 429);
	} finally {
		await limited.stop();
	}
});

test('stop() ends the server; connectMock() drives a running one without stopping it', async () => {
	const other = await startMock();
	const remote = await connectMock(other.url);
	assert.equal(typeof (await remote.totp('mfa@example.com')), 'string');
	await remote.stop();
	await login(other.url);
	await other.stop();
	await assert.rejects(fetch(`${other.url}/__mock/health`));
});

test('publishAsDevice reaches a particle-api-js stream; waitForEvent sees a client publish', async () => {
	const particle = new Particle({ baseUrl: mock.url });
	const auth = '1111111111111111111111111111111111111111';
	const stream = await particle.getEventStream({ deviceId: 'mine', auth });
	try {
		const received = new Promise((resolve) => stream.on('event', resolve));
		const published = await mock.publishAsDevice('0123456789abcdef01234567', 'temp', '21.5');
		assert.equal(published.coreid, '0123456789abcdef01234567');
		const event = await received;
		assert.deepEqual([event.name, event.data, event.coreid], ['temp', '21.5', '0123456789abcdef01234567']);
	} finally {
		stream.abort();
	}
	const after = await mock.lastEventSeq();
	const waiting = mock.waitForEvent('door', { after, timeoutMs: 5000 });
	await particle.publishEvent({ name: 'door/front', data: 'open', isPrivate: true, auth });
	const seen = await waiting;
	assert.deepEqual([seen.name, seen.data, seen.coreid, seen.public], ['door/front', 'open', 'api', false]);
	await assert.rejects(mock.waitForEvent('door', { after: seen.seq, timeoutMs: 10 }), /no event named "door"/);
	await assert.rejects(mock.publishAsDevice('ffffffffffffffffffffffff', 'x'), (e) => e.status === 404);
});

test('a failed control call rejects with the status and the error', async () => {
	await assert.rejects(mock.totp('nobody@example.com'), (e) => e.status === 404 && /nobody/.test(e.message));
});

test('PARTICLE_AUTH_MOCK_BIN overrides the binary', async () => {
	const saved = process.env.PARTICLE_AUTH_MOCK_BIN;
	process.env.PARTICLE_AUTH_MOCK_BIN = '/nonexistent/particle-auth-mock';
	try {
		await assert.rejects(startMock(), /PARTICLE_AUTH_MOCK_BIN=\/nonexistent\/particle-auth-mock: no such file/);
	} finally {
		if (saved === undefined) delete process.env.PARTICLE_AUTH_MOCK_BIN; else process.env.PARTICLE_AUTH_MOCK_BIN = saved;
	}
});

/** Spawns a command that runs the server; resolves with the child and the URL it prints. */
async function serve(cmd, args, options = {}) {
	const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], ...options });
	const url = await new Promise((resolve, reject) => {
		child.once('exit', (code) => reject(new Error(`${cmd} exited ${code}`)));
		readline.createInterface({ input: child.stdout }).on('line', (l) => {
			const m = /^listening on (\S+)/.exec(l);
			if (m) resolve(m[1]);
		});
	});
	child.removeAllListeners('exit');
	const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
	return { child, url, exited };
}

test('npx particle-auth-mock runs the server; Ctrl-C (SIGINT to its process group) stops it', async () => {
	const { child, url, exited } = await serve('npx', ['--no-install', 'particle-auth-mock', '--listen', '127.0.0.1:0'], { detached: true });
	await login(url);
	process.kill(-child.pid, 'SIGINT');
	await exited;
	await assert.rejects(fetch(`${url}/__mock/health`));
});

test('the bin wrapper passes SIGTERM on and exits with the server status', async () => {
	const { url, child, exited } = await serve(process.execPath, [require.resolve('particle-auth-mock/bin/particle-auth-mock.js'), '--listen', '127.0.0.1:0']);
	await login(url);
	child.kill('SIGTERM');
	assert.deepEqual(await exited, { code: 0, signal: null });
	await assert.rejects(fetch(`${url}/__mock/health`));
});

test('a server that cannot start rejects with its message', async () => {
	await assert.rejects(startMock({ fixtures: '/nonexistent/fixtures.json' }), /exited \(2\) before listening[\s\S]*nonexistent/);
});

test('the simulated devices are scripted and their calls read back', async () => {
	const tenant = await mock.tenant();
	const argon = '0123456789abcdef01234567';
	const auth = '1111111111111111111111111111111111111111';
	const particle = new Particle({ baseUrl: tenant.url });
	await tenant.setFunction(argon, 'led', { returns: 7 });
	await tenant.setVariable(argon, 'temperature', 30.5);
	const called = await particle.callFunction({ deviceId: argon, name: 'led', argument: 'on', auth });
	assert.equal(called.body.return_value, 7);
	const read = await particle.getVariable({ deviceId: argon, name: 'temperature', auth });
	assert.equal(read.body.result, 30.5);
	const calls = await tenant.deviceCalls(argon);
	assert.deepEqual([calls[0].function, calls[0].argument, calls[0].caller], ['led', 'on', 'user']);
	await tenant.setDeviceOnline(argon, false);
	assert.equal((await tenant.devices())[0].online, false);
	await assert.rejects(particle.callFunction({ deviceId: argon, name: 'led', argument: '', auth }), (e) => e.statusCode === 408);
	await tenant.stop();
});

test('a webhook delivers to a receiver the test started, and the delivery is listed', async () => {
	const receiver = await startReceiver({ body: 'thanks' });
	const auth = '1111111111111111111111111111111111111111';
	const particle = new Particle({ baseUrl: mock.url });
	await particle.createWebhook({ event: 'npm-hook', url: `${receiver.url}/hook`, auth });
	await particle.publishEvent({ name: 'npm-hook', data: '42', auth });
	const request = await receiver.next();
	assert.equal(request.method, 'POST');
	assert.match(request.body, /^event=npm-hook&data=42&/);
	const [delivery] = await mock.webhookDeliveries({ timeoutMs: 5000 });
	assert.equal(delivery.status, 200);
	assert.equal(delivery.response, 'thanks');
	await receiver.close();
});
