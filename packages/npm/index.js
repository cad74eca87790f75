'use strict';
// particle-auth-mock for JavaScript tests: start the mock binary on a free port, or connect to
// one already running (a CI service container), and drive its control API (/__mock/…).
// No dependencies: node:child_process and the global fetch (Node >= 18).
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

const PLATFORM_PACKAGE = `@particle-auth-mock/${process.platform}-${process.arch}`;
const EXE = process.platform === 'win32' ? 'particle-auth-mock.exe' : 'particle-auth-mock';

/**
 * The binary to run: $PARTICLE_AUTH_MOCK_BIN when set, else the one in the platform package
 * npm installed as an optional dependency.
 */
function binaryPath() {
	const override = process.env.PARTICLE_AUTH_MOCK_BIN;
	if (override) {
		if (!fs.existsSync(override)) throw new Error(`PARTICLE_AUTH_MOCK_BIN=${override}: no such file`);
		return override;
	}
	try {
		return require.resolve(`${PLATFORM_PACKAGE}/bin/${EXE}`);
	} catch {
		throw new Error(
			`particle-auth-mock: no binary for ${process.platform}-${process.arch}: the optional dependency ` +
			`${PLATFORM_PACKAGE} is not installed (installed with --no-optional or --omit=optional, or an ` +
			'unsupported platform). Reinstall with optional dependencies, or set PARTICLE_AUTH_MOCK_BIN ' +
			'to a particle-auth-mock binary.');
	}
}

/** Command-line flags for startMock's options. */
function flagsFor({ fixtures, seed, rateLimits, args = [] }, tmpdir) {
	const flags = ['--listen', '127.0.0.1:0'];
	if (typeof fixtures === 'string') {
		flags.push('--fixtures', fixtures);
	} else if (fixtures !== undefined) {
		const file = path.join(tmpdir, 'fixtures.json');
		fs.writeFileSync(file, JSON.stringify(fixtures));
		flags.push('--fixtures', file);
	}
	if (seed !== undefined) flags.push('--seed', String(seed));
	if (rateLimits === false) {
		flags.push('--no-rate-limits');
	} else if (rateLimits && typeof rateLimits === 'object') {
		const { enabled, algorithm, headers, rules = {}, ...rest } = rateLimits;
		const unknown = Object.keys(rest);
		if (unknown.length) throw new TypeError(`rateLimits: unknown field(s) ${unknown.join(', ')}`);
		if (enabled === false) flags.push('--no-rate-limits');
		if (algorithm) flags.push('--rate-limit-algorithm', algorithm);
		if (headers) flags.push('--rate-limit-headers', headers);
		for (const [name, limit] of Object.entries(rules)) flags.push('--rate-limit', `${name}=${limit}`);
	}
	return [...flags, ...args];
}

/** The control API of one world (the server's default world, or a tenant) at `url`. */
class World {
	constructor(url, headers) {
		/** Base URL for Particle clients: particle-api-js `baseUrl`, particle-cli `apiUrl`. */
		this.url = url;
		this._headers = headers;
	}

	/** One control call: JSON in, JSON out; a non-2xx answer rejects with its body's error. */
	async control(method, route, body) {
		const init = { method, headers: { ...this._headers } };
		if (body !== undefined) {
			init.headers['Content-Type'] = 'application/json';
			init.body = JSON.stringify(body);
		}
		const res = await fetch(`${this.url}${route}`, init);
		const text = await res.text();
		const json = text ? JSON.parse(text) : null;
		if (!res.ok) {
			const err = new Error(`particle-auth-mock: ${method} ${route}: ${res.status} ${json?.error ?? text}`);
			err.status = res.status;
			err.body = json;
			throw err;
		}
		return json;
	}

	/** Back to the fixtures (or to `fixtures`, which later resets keep): tokens, MFA state, journal, faults, limits. */
	reset(fixtures) { return this.control('POST', '/__mock/reset', fixtures); }

	/** This world as a state document (`GET /__mock/state`): give it to `importState` to restore it. */
	exportState() { return this.control('GET', '/__mock/state'); }

	/** Replaces this world with a state document from `exportState` (`PUT /__mock/state`). */
	importState(state) { return this.control('PUT', '/__mock/state', state); }

	/** The current TOTP code of `email` on this world's clock. */
	async totp(email) { return (await this.totpState(email)).code; }

	/** `{ code, next_code, seconds_remaining }` for `email`. */
	totpState(email) { return this.control('GET', `/__mock/users/${encodeURIComponent(email)}/totp`); }

	/** Moves this world's clock forward; answers `{ now_ms, now, frozen }`. */
	advanceClock(seconds) { return this.control('POST', '/__mock/clock/advance', { seconds }); }

	/** Reads this world's clock: `{ now_ms, now, frozen }`. */
	clock() { return this.control('GET', '/__mock/clock'); }

	/** Every simulated device with its state (`GET /__mock/devices`). */
	async devices() { return (await this.control('GET', '/__mock/devices')).devices; }

	/** Takes a device online (`true`) or offline (`false`). */
	setDeviceOnline(id, online) { return this.control('PATCH', `/__mock/devices/${id}`, { online }); }

	/** Sets a device variable's value (with `type`, adds the variable). */
	setVariable(id, name, value, type) {
		return this.control('PUT', `/__mock/devices/${id}/variables/${encodeURIComponent(name)}`, type ? { type, value } : { value });
	}

	/** Sets what a device function does: `{ returns, set, publish }` (adds the function if new). */
	setFunction(id, name, behaviour) {
		return this.control('PUT', `/__mock/devices/${id}/functions/${encodeURIComponent(name)}`, behaviour);
	}

	/** The function calls devices received, oldest first: `{ device_id, function, argument, caller, at, return_value }`. */
	async deviceCalls(id) {
		return (await this.control('GET', `/__mock/devices/calls${id ? `?device=${encodeURIComponent(id)}` : ''}`)).calls;
	}

	/**
	 * Webhook deliveries after `after` (what was sent where, what came back; secrets redacted),
	 * waiting up to `timeoutMs` for the first (`GET /__mock/webhooks/deliveries`).
	 */
	async webhookDeliveries({ after = 0, timeoutMs = 0 } = {}) {
		return (await this.control('GET', `/__mock/webhooks/deliveries?after=${after}&timeout_ms=${timeoutMs}`)).deliveries;
	}

	/** The claim codes handed out, oldest first. */
	async claimCodes() { return (await this.control('GET', '/__mock/devices/claim-codes')).claim_codes; }

	/**
	 * Publishes an event as the simulated device `id` (`POST /__mock/devices/{id}/events`);
	 * `options`: `{ private, ttl }`. Resolves the event as published (`seq`, `coreid`, ...).
	 */
	async publishAsDevice(id, name, data, options = {}) {
		const body = { name, ...options };
		if (data !== undefined) body.data = data;
		return (await this.control('POST', `/__mock/devices/${encodeURIComponent(id)}/events`, body)).event;
	}

	/** The sequence number of the last event published in this world (0 before the first). */
	async lastEventSeq() { return (await this.control('GET', '/__mock/events?timeout_ms=0')).last_seq; }

	/**
	 * The first event after sequence number `after` (default: 0, every kept event) whose
	 * name starts with `prefix`, waiting up to `timeoutMs` (default 5000, at most 60000);
	 * rejects when none came. Take `after` from `lastEventSeq()` before the action.
	 */
	async waitForEvent(prefix, { after = 0, timeoutMs = 5000 } = {}) {
		const query = new URLSearchParams({ name: prefix ?? '', after: String(after), timeout_ms: String(timeoutMs) });
		const { events } = await this.control('GET', `/__mock/events?${query}`);
		if (!events.length) {
			throw new Error(`particle-auth-mock: no event named ${JSON.stringify(prefix)}... after #${after} within ${timeoutMs} ms`);
		}
		return events[0];
	}

	/** The request journal, oldest first; `filter` as the control API's query (`path`, `status`, `client`, `limit`). */
	async journal(filter = {}) {
		const query = new URLSearchParams(Object.entries(filter).map(([k, v]) => [k, String(v)])).toString();
		return (await this.control('GET', `/__mock/journal${query ? `?${query}` : ''}`)).entries;
	}
}

/** An isolated world on a shared server: its own users, tokens, clock, journal, faults and limits. */
class Tenant extends World {
	constructor(root, info) {
		super(info.base_url, root._headers);
		this.id = info.id;
		this._root = root;
	}

	/** Deletes the tenant: its URLs answer 404 afterwards. */
	async stop() { await this._root.control('DELETE', `/__mock/tenants/${this.id}`); }
}

/** A server's default world, plus tenant creation. */
class Mock extends World {
	/** A fresh tenant, with the server's fixtures or `fixtures`. */
	async tenant(fixtures) {
		return new Tenant(this, await this.control('POST', '/__mock/tenants', fixtures));
	}

	/** Stops nothing: the server belongs to someone else (see startMock). */
	async stop() {}
}

/** A server this process started; stop() ends it. */
class OwnedMock extends Mock {
	constructor(url, child, tmpdir) {
		super(url, {});
		this._child = child;
		this._tmpdir = tmpdir;
	}

	/** SIGTERM, then waits for the process to exit. */
	stop() {
		const child = this._child;
		return new Promise((resolve) => {
			const done = () => { fs.rmSync(this._tmpdir, { recursive: true, force: true }); resolve(); };
			if (child.exitCode !== null || child.signalCode !== null) return done();
			child.once('exit', done);
			child.ref(); // keep the event loop alive until the exit is seen
			child.kill('SIGTERM');
		});
	}
}

const live = new Set();
process.once('exit', () => { for (const child of live) child.kill('SIGKILL'); });

/**
 * Starts the mock binary on 127.0.0.1 on a free port and resolves once it listens (it prints
 * `listening on URL`). Options: `fixtures` (a document or a file path), `seed`, `rateLimits`
 * (`false`, or `{ enabled, algorithm, headers, rules }`), `args` (extra flags), `timeoutMs`.
 */
function startMock(options = {}) {
	const tmpdir = fs.mkdtempSync(path.join(os.tmpdir(), 'particle-auth-mock-'));
	let child;
	try {
		child = spawn(binaryPath(), flagsFor(options, tmpdir), { stdio: ['ignore', 'pipe', 'pipe'] });
	} catch (e) {
		fs.rmSync(tmpdir, { recursive: true, force: true });
		return Promise.reject(e);
	}
	live.add(child);
	child.once('exit', () => live.delete(child));
	let stderr = '';
	child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-8192); });
	return new Promise((resolve, reject) => {
		const fail = (why) => { child.kill('SIGKILL'); fs.rmSync(tmpdir, { recursive: true, force: true }); reject(new Error(`particle-auth-mock ${why}\n${stderr}`)); };
		const timer = setTimeout(() => fail('did not start in time'), options.timeoutMs ?? 10000);
		child.once('error', (e) => { clearTimeout(timer); fail(`could not run: ${e.message}`); });
		// 'close', not 'exit': by then stderr has been read to its end, so the message is whole.
		const early = (code, signal) => { clearTimeout(timer); fail(`exited (${signal ?? code}) before listening`); };
		child.once('close', early);
		const lines = readline.createInterface({ input: child.stdout });
		lines.on('line', (line) => {
			const m = /^listening on (http:\/\/\S+)/.exec(line);
			if (!m) return;
			clearTimeout(timer);
			child.removeListener('close', early);
			// A forgotten stop() must not keep the test process alive; the process 'exit' hook kills it.
			child.unref();
			child.stdout.unref();
			child.stderr.unref();
			resolve(new OwnedMock(m[1], child, tmpdir));
		});
	});
}

/**
 * Connects to a mock that is already running (a CI service container, `npx particle-auth-mock`):
 * the same methods, and stop() leaves the server running. `controlSecret` is sent as
 * X-Mock-Control-Secret when the server was started with --control-secret.
 */
async function connectMock(url = process.env.PARTICLE_MOCK_URL ?? 'http://127.0.0.1:8080', { controlSecret } = {}) {
	const mock = new Mock(url.replace(/\/+$/, ''), controlSecret ? { 'X-Mock-Control-Secret': controlSecret } : {});
	await mock.control('GET', '/__mock/ready');
	return mock;
}

/**
 * A local HTTP server standing in for a webhook's backend: point a webhook at `receiver.url`,
 * then `await receiver.next()` for the request the mock delivered ({ method, url, headers, body }).
 * Every request is answered `status` with `body` (a function of the request may choose them).
 */
async function startReceiver({ status = 200, body = '' } = {}) {
	const http = require('node:http');
	const queued = [];
	const waiting = [];
	const server = http.createServer((req, res) => {
		const chunks = [];
		req.on('data', (c) => chunks.push(c));
		req.on('end', () => {
			const request = { method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
			const answer = typeof body === 'function' ? body(request) : { status, body };
			res.writeHead(answer.status ?? status, { 'content-type': 'text/plain' });
			res.end(answer.body ?? '');
			const waiter = waiting.shift();
			if (waiter) waiter(request); else queued.push(request);
		});
	});
	await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address();
	return {
		url: `http://127.0.0.1:${port}`,
		/** The next request delivered (rejects after `timeoutMs`). */
		next(timeoutMs = 10000) {
			if (queued.length) return Promise.resolve(queued.shift());
			return new Promise((resolve, reject) => {
				const timer = setTimeout(() => reject(new Error(`no webhook delivery within ${timeoutMs} ms`)), timeoutMs);
				waiting.push((r) => { clearTimeout(timer); resolve(r); });
			});
		},
		/** Stops the server. */
		close() { return new Promise((resolve) => server.close(() => resolve())); },
	};
}

module.exports = { startMock, connectMock, binaryPath, startReceiver };
