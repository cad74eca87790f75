'use strict';
// The live dashboard (GET /__mock/ui) in Debian's headless Chromium against the mock binary:
// traffic from several client addresses (--trust-forwarded) until 429s appear, then the page
// must show them (stream, filters, counters), move its clock, show a TOTP code that logs in,
// and create a working token with the docs' form. Each panel is saved under target/ as a
// PNG and checked not to be blank. Also: tenants, the control secret, --no-control.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require('playwright-core');
const { startMock, ROOT } = require('../lib/mock');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = path.join(ROOT, 'target/dashboard');
const CLIENTS = ['10.1.0.1', '10.1.0.2', '10.1.0.3', '10.1.0.4'];
const OAUTH_LIMIT = 5;
const TIMEOUT = 15000; // for a condition the page must reach (polled), never a sleep

/** POST /oauth/token (a wrong password: nothing is stored) as `client`; the status. */
async function tokenRequest(base, client) {
	const response = await fetch(`${base}/oauth/token`, {
		method: 'POST',
		headers: {
			Authorization: `Basic ${Buffer.from('particle:particle').toString('base64')}`,
			'Content-Type': 'application/x-www-form-urlencoded',
			'X-Forwarded-For': client,
		},
		body: 'grant_type=password&username=user%40example.com&password=wrong',
	});
	await response.arrayBuffer();
	return response.status;
}

async function json(url, init) {
	const response = await fetch(url, init);
	return { status: response.status, body: await response.json() };
}

describe('the dashboard at /__mock/ui in headless Chromium', () => {
	let mock; let browser; let page;
	const pageErrors = [];
	before(async () => {
		assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} missing: apt-get install chromium (scripts/setup.sh)`);
		fs.mkdirSync(SHOTS, { recursive: true });
		mock = await startMock(['--trust-forwarded', '--rate-limit', `oauth=${OAUTH_LIMIT}/60s`], { rateLimits: true });
		browser = await chromium.launch({
			executablePath: CHROMIUM,
			args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
				'--disable-background-networking', '--disable-component-update', '--disable-sync'],
			headless: true, // playwright-core gives Chromium a fresh user-data-dir of its own
		});
		page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
		page.on('pageerror', (e) => pageErrors.push(e));
		await page.goto(`${mock.url}/__mock/ui`);
		await page.waitForFunction(() => document.getElementById('conn').textContent === 'live', null, { timeout: TIMEOUT });
	});
	after(async () => {
		if (browser) await browser.close();
		if (mock) await mock.stop();
		assert.deepEqual(pageErrors, [], 'the page threw');
	});

	/** Saves a panel's PNG and checks it is not blank: many distinct colours (text, bars). */
	async function shoot(id) {
		const file = path.join(SHOTS, `${id}.png`);
		const png = await page.locator(`#${id}`).screenshot({ path: file });
		assert.ok(png.length > 4000, `${file}: ${png.length} bytes, blank?`);
		const probe = await browser.newPage();
		const colours = await probe.evaluate(async (src) => {
			const img = new Image();
			img.src = src;
			await img.decode();
			const canvas = document.createElement('canvas');
			canvas.width = img.width; canvas.height = img.height;
			const ctx = canvas.getContext('2d');
			ctx.drawImage(img, 0, 0);
			const data = ctx.getImageData(0, 0, img.width, img.height).data;
			const seen = new Set();
			for (let i = 0; i < data.length; i += 4) seen.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
			return seen.size;
		}, `data:image/png;base64,${png.toString('base64')}`);
		await probe.close();
		assert.ok(colours > 20, `${file}: only ${colours} colours, blank?`);
	}

	it('is served same-origin only, with no secret in it', async () => {
		const response = await fetch(`${mock.url}/__mock/ui`);
		assert.equal(response.status, 200);
		assert.match(response.headers.get('content-type'), /^text\/html/);
		assert.match(response.headers.get('content-security-policy'), /connect-src 'self'/);
		assert.match(response.headers.get('content-security-policy'), /frame-ancestors 'none'/);
		assert.equal(response.headers.get('x-frame-options'), 'DENY');
	});

	it('streams the requests of several clients and shows their 429s, filterable', async () => {
		// Arrange / Act: each client sends two more token requests than the oauth limit.
		const statuses = [];
		for (let round = 0; round < OAUTH_LIMIT + 2; round += 1) {
			statuses.push(...await Promise.all(CLIENTS.map((c) => tokenRequest(mock.url, c))));
		}
		const refused = statuses.filter((s) => s === 429).length;
		assert.equal(refused, 2 * CLIENTS.length, `statuses: ${statuses}`);
		// Assert: every request arrived; the 429s are marked, with their client.
		await page.waitForFunction((n) => Number(document.getElementById('seen-429').textContent) >= n,
			refused, { timeout: TIMEOUT });
		assert.equal(Number(await page.textContent('#seen')), statuses.length);
		assert.equal(await page.locator('#requests tbody tr.r429').count(), refused);
		const reason = await page.textContent('#requests tbody tr.r429 td:last-child');
		assert.ok(reason.length > 0, 'a 429 row says why');
		// Filter: one client's 429s only.
		await page.fill('#f-status', '429');
		await page.fill('#f-client', CLIENTS[1]);
		await page.waitForFunction(() => document.querySelectorAll('#requests tbody tr').length === 2, null, { timeout: TIMEOUT });
		const cells = await page.$$eval('#requests tbody tr', (trs) => trs.map((tr) => [tr.cells[4].textContent, tr.cells[5].textContent, tr.cells[3].textContent]));
		assert.deepEqual(cells, [[CLIENTS[1], '429', '/oauth/token'], [CLIENTS[1], '429', '/oauth/token']]);
		await page.fill('#f-status', '');
		await page.fill('#f-client', '');
		await shoot('panel-requests');
	});

	it('shows each client\'s counters filling to the limit, and they update', async () => {
		// Assert: every client's oauth counter is full (a lockout-free refusal: the window).
		const full = (c) => page.locator(`.counter[data-client="${c}"][data-rule="oauth"]`);
		for (const c of CLIENTS) {
			await full(c).waitFor({ timeout: TIMEOUT });
			await page.waitForFunction((sel) => document.querySelector(sel)?.classList.contains('full'),
				`.counter[data-client="${c}"][data-rule="oauth"]`, { timeout: TIMEOUT });
			assert.match(await full(c).textContent(), new RegExp(`${OAUTH_LIMIT} / ${OAUTH_LIMIT}/60s.*frees in \\d+ s`));
		}
		// Act: a new client's first and second request; its counter appears, then moves.
		const fresh = '10.1.0.9';
		const counter = `.counter[data-client="${fresh}"][data-rule="oauth"] .count`;
		await tokenRequest(mock.url, fresh);
		await page.waitForFunction((sel) => document.querySelector(sel)?.textContent.startsWith('1 /'), counter, { timeout: TIMEOUT });
		await tokenRequest(mock.url, fresh);
		await page.waitForFunction((sel) => document.querySelector(sel)?.textContent.startsWith('2 /'), counter, { timeout: TIMEOUT });
		// The chart has drawn the traffic (its canvas is not one colour).
		await shoot('panel-limits');
		// The page in the thick of it, for the README (docs/dashboard.png is a copy).
		await page.evaluate(() => window.scrollTo(0, 0));
		await page.screenshot({ path: path.join(SHOTS, 'dashboard.png') });
	});

	it('changes the rate-limit settings through PATCH /__mock/rate-limits', async () => {
		await page.fill('#rl-rules input[data-rule="oauth"]', '50/60s');
		await page.click('#limits-form button[type="submit"]');
		await page.waitForFunction(() => document.getElementById('limits-status').textContent === 'applied', null, { timeout: TIMEOUT });
		const { body } = await json(`${mock.url}/__mock/rate-limits`);
		assert.equal(body.settings.rules.oauth, '50/60s');
		assert.notEqual(await tokenRequest(mock.url, CLIENTS[0]), 429);
	});

	it('moves the clock: freeze, advance, set, resume', async () => {
		const shown = () => page.textContent('#clock-now');
		await page.click('#clock-freeze');
		await page.waitForFunction(() => document.getElementById('clock-frozen').textContent === 'frozen', null, { timeout: TIMEOUT });
		const before = Date.parse(await shown());
		await page.fill('#advance-by', '1h');
		await page.click('#clock-advance button');
		await page.waitForFunction((t) => Date.parse(document.getElementById('clock-now').textContent) === t,
			before + 3600 * 1000, { timeout: TIMEOUT });
		const { body } = await json(`${mock.url}/__mock/clock`);
		assert.equal(body.now_ms, before + 3600 * 1000);
		assert.equal(body.frozen, true);
		await page.fill('#set-at', '2030-01-01T00:00:00Z');
		await page.click('#clock-set button');
		await page.waitForFunction(() => document.getElementById('clock-now').textContent === '2030-01-01T00:00:00.000Z', null, { timeout: TIMEOUT });
		await shoot('panel-clock');
		await page.click('#clock-resume');
		await page.waitForFunction(() => document.getElementById('clock-frozen').textContent === 'running', null, { timeout: TIMEOUT });
		assert.equal((await json(`${mock.url}/__mock/clock`)).body.frozen, false);
	});

	it('shows the devices with their variables and calls, and takes one offline', async () => {
		// Arrange: a function call the panel lists.
		const argon = '0123456789abcdef01234567';
		const called = await json(`${mock.url}/v1/devices/${argon}/echo`, {
			method: 'POST',
			headers: { Authorization: `Bearer ${'1'.repeat(40)}`, 'Content-Type': 'application/x-www-form-urlencoded' },
			body: 'args=dashboard',
		});
		assert.equal(called.body.return_value, 9);
		const row = page.locator(`#devices tr[data-id="${argon}"]`);
		await row.waitFor({ timeout: TIMEOUT });
		assert.match(await row.textContent(), /temperature = 21\.5 \(double\)/);
		await page.waitForFunction(() => /dashboard/.test(document.getElementById('device-calls').textContent), null, { timeout: TIMEOUT });
		await shoot('panel-devices');
		// Act: the toggle.
		await row.locator('button.online').click();
		// Assert
		await page.waitForSelector(`#devices tr[data-id="${argon}"] button.offline`, { timeout: TIMEOUT });
		assert.equal((await json(`${mock.url}/__mock/devices/${argon}`)).body.online, false);
	});

	it('shows every event of the world live with its source: device, API, special', async () => {
		// Arrange
		const argon = '0123456789abcdef01234567';
		const auth = { Authorization: `Bearer ${'1'.repeat(40)}`, 'Content-Type': 'application/json' };
		// Act: a device publishes, a client publishes, the cloud announces a device online.
		const device = await json(`${mock.url}/__mock/devices/${argon}/events`, {
			method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'dash/temp', data: '21.5' }),
		});
		assert.equal(device.status, 200);
		const api = await json(`${mock.url}/v1/devices/events`, {
			method: 'POST', headers: auth, body: JSON.stringify({ name: 'dash/api', data: 'hello', private: true }),
		});
		assert.deepEqual(api.body, { ok: true });
		await json(`${mock.url}/__mock/devices/${argon}`, {
			method: 'PATCH', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ online: true }),
		});
		// Assert: one row per event, newest first, with its kind.
		const rowOf = (name) => page.locator('#live-events tbody tr', { hasText: name }).first();
		await rowOf('dash/temp').waitFor({ timeout: TIMEOUT });
		assert.match(await rowOf('dash/temp').textContent(), new RegExp(`device.*dash/temp.*21\\.5.*${argon}.*public`));
		await rowOf('dash/api').waitFor({ timeout: TIMEOUT });
		assert.match(await rowOf('dash/api').textContent(), /api.*dash\/api.*hello.*api.*private/);
		await page.waitForFunction(() => [...document.querySelectorAll('#live-events tbody tr.ev-special')]
			.some((r) => /spark\/status.*online/.test(r.textContent)), null, { timeout: TIMEOUT });
		const kinds = await page.$$eval('#live-events tbody tr', (rows) => rows.map((r) => r.className));
		assert.ok(kinds.includes('ev-device') && kinds.includes('ev-api') && kinds.includes('ev-special'), kinds.join(','));
		await shoot('panel-events');
	});

	it('selects the status of a refused event stream (429 or 529) in the settings form', async () => {
		await page.selectOption('#rl-stream-status', '529');
		await page.click('#limits-form button[type="submit"]');
		await page.waitForFunction(() => document.getElementById('limits-status').textContent === 'applied', null, { timeout: TIMEOUT });
		assert.equal((await json(`${mock.url}/__mock/rate-limits`)).body.settings.stream_limit_status, 529);
		await json(`${mock.url}/__mock/rate-limits`, {
			method: 'PATCH', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ stream_limit_status: 429 }),
		});
		await page.waitForFunction(() => document.getElementById('rl-stream-status').value === '429', null, { timeout: TIMEOUT });
	});

	it('shows the MFA user\'s TOTP code, which logs in through the create-a-token form', async () => {
		// Arrange: the code the Users panel shows.
		const code = page.locator('.totp[data-email="mfa@example.com"] .code');
		await code.waitFor({ timeout: TIMEOUT });
		const otp = (await code.textContent()).trim();
		assert.match(otp, /^\d{6}$/);
		assert.match(await page.textContent('.totp[data-email="mfa@example.com"] .remaining'), /^\d+ s$/);
		// Act: the docs' form, password then the code (mfa_required → mfa-otp).
		await page.fill('#tk-email', 'mfa@example.com');
		await page.fill('#tk-password', 'password');
		await page.fill('#tk-expires', '600');
		await page.fill('#tk-otp', otp);
		await page.click('#token-form button[type="submit"]');
		await page.waitForSelector('#tk-result:not([hidden])', { timeout: TIMEOUT });
		// Assert: the token works.
		const token = JSON.parse(await page.textContent('#tk-result'));
		assert.equal(token.expires_in, 600);
		const current = await json(`${mock.url}/v1/access_tokens/current`, { headers: { Authorization: `Bearer ${token.access_token}` } });
		assert.equal(current.status, 200);
		await shoot('panel-users');
	});

	it('creates a never-expiring token for a user without MFA, and revokes it from the list', async () => {
		await page.fill('#tk-email', 'user@example.com');
		await page.fill('#tk-password', 'password');
		await page.fill('#tk-otp', '');
		await page.check('#tk-never');
		await page.click('#token-form button[type="submit"]');
		await page.waitForFunction(() => document.getElementById('tk-status').textContent === 'Token created.'
			&& !document.getElementById('tk-result').hidden, null, { timeout: TIMEOUT });
		const token = JSON.parse(await page.textContent('#tk-result'));
		const bearer = { headers: { Authorization: `Bearer ${token.access_token}` } };
		assert.equal((await json(`${mock.url}/v1/access_tokens/current`, bearer)).status, 200);
		await shoot('panel-token');
		// Revoke: find its row (pages of 10) and press its button.
		const row = page.locator(`#tokens tbody tr:has(td[title="${token.access_token}"])`);
		await page.waitForFunction(() => /^\d+ \/ \d+$/.test(document.getElementById('tokens-page').textContent), null, { timeout: TIMEOUT });
		for (let i = 0; i < 20 && !(await row.count()); i += 1) {
			const label = await page.textContent('#tokens-page');
			await page.click('#tokens-next');
			await page.waitForFunction((l) => document.getElementById('tokens-page').textContent !== l, label, { timeout: TIMEOUT });
		}
		await row.locator('button.revoke').click();
		await page.waitForFunction((t) => !document.querySelector(`#tokens td[title="${t}"]`), token.access_token, { timeout: TIMEOUT });
		assert.equal((await json(`${mock.url}/v1/access_tokens/current`, bearer)).status, 401);
	});

	it('lists, adds and clears faults', async () => {
		await page.fill('#fault-path', '/v1/user');
		await page.fill('#fault-status', '503');
		await page.fill('#fault-times', '2');
		await page.click('#fault-form button[type="submit"]');
		await page.waitForFunction(() => /answer 503/.test(document.getElementById('faults').textContent), null, { timeout: TIMEOUT });
		const { body } = await json(`${mock.url}/__mock/faults`);
		assert.equal(body.faults.length, 1);
		assert.equal(body.faults[0].status, 503);
		await shoot('panel-faults');
		await page.click('#faults-clear');
		await page.waitForFunction(() => /No fault/.test(document.getElementById('faults').textContent), null, { timeout: TIMEOUT });
		assert.deepEqual((await json(`${mock.url}/__mock/faults`)).body.faults, []);
	});

	it('switches to a tenant: its own stream, clock and limits', async () => {
		const tenant = (await json(`${mock.url}/__mock/tenants`, { method: 'POST' })).body;
		await page.waitForFunction((id) => [...document.querySelectorAll('#tenant option')].some((o) => o.value === `/t/${id}`),
			tenant.id, { timeout: TIMEOUT });
		await page.selectOption('#tenant', `/t/${tenant.id}`);
		await page.waitForFunction(() => document.getElementById('conn').textContent === 'live'
			&& document.querySelectorAll('#requests tbody tr').length === 0, null, { timeout: TIMEOUT });
		// Act: a request to the tenant, and one to the default world.
		assert.equal(await tokenRequest(mock.url, '10.2.0.1'), 400);
		assert.equal(await tokenRequest(tenant.base_url, '10.2.0.2'), 400);
		// Assert: only the tenant's shows up, and its limiter's client.
		await page.waitForFunction(() => document.getElementById('seen').textContent === '1', null, { timeout: TIMEOUT });
		assert.equal(await page.textContent('#requests tbody tr td:nth-child(5)'), '10.2.0.2');
		await page.locator('.counter[data-client="10.2.0.2"]').first().waitFor({ timeout: TIMEOUT });
		assert.equal(await page.locator('.counter[data-client="10.2.0.1"]').count(), 0);
		await page.selectOption('#tenant', '');
		await page.waitForFunction(() => document.getElementById('conn').textContent === 'live', null, { timeout: TIMEOUT });
	});
});

describe('the dashboard behind --control-secret and --no-control', () => {
	let guarded; let off; let browser;
	before(async () => {
		guarded = await startMock(['--control-secret', 's3cret-dashboard']);
		off = await startMock(['--no-control']);
		browser = await chromium.launch({
			executablePath: CHROMIUM,
			args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
				'--disable-background-networking', '--disable-component-update', '--disable-sync'],
			headless: true,
		});
	});
	after(async () => {
		if (browser) await browser.close();
		if (guarded) await guarded.stop();
		if (off) await off.stop();
	});

	it('asks for the secret, then sends it with every call (the stream included)', async () => {
		const page = await browser.newPage();
		const sent = [];
		page.on('request', (r) => { if (r.url().includes('/__mock/') && !r.url().includes('/__mock/ui')) sent.push([r.url(), r.headers()['x-mock-control-secret']]); });
		await page.goto(`${guarded.url}/__mock/ui`);
		await page.waitForSelector('#secret-form:not([hidden])', { timeout: TIMEOUT });
		assert.doesNotMatch(await page.content(), /s3cret-dashboard/);
		await page.fill('#secret', 's3cret-dashboard');
		await page.click('#secret-form button');
		await page.waitForFunction(() => document.getElementById('conn').textContent === 'live', null, { timeout: TIMEOUT });
		await page.waitForFunction(() => /^\d{4}-/.test(document.getElementById('clock-now').textContent), null, { timeout: TIMEOUT });
		const late = sent.slice(-5);
		assert.ok(late.length > 0);
		for (const [url, header] of late) assert.equal(header, 's3cret-dashboard', url);
		assert.ok(sent.some(([url, header]) => url.includes('/__mock/journal/stream') && header === 's3cret-dashboard'));
		for (const [url] of sent) assert.doesNotMatch(url, /s3cret/);
		await page.close();
	});

	it('is 404 with --no-control', async () => {
		for (const p of ['/__mock/ui', '/__mock/ui/app.js', '/__mock/journal/stream']) {
			const response = await fetch(`${off.url}${p}`);
			assert.equal(response.status, 404, p);
		}
	});
});
