'use strict';
// examples/browser/index.html (AN032's flow) in Debian's headless Chromium, served from an
// origin other than the mock's, so every call to the mock is cross-origin and needs CORS:
// the token posts (simple requests), GET /v1/devices and DELETE /v1/access_tokens/current
// with a bearer token (preflighted), and the 403 mfa_required body read by the page.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { chromium } = require('playwright-core');
const { startMock, otpSequence, MFA_SECRET, ROOT } = require('../lib/mock');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const PAGE = path.join(ROOT, 'examples/browser/index.html');

/** A tiny server on 127.0.0.1:0; resolves to its base URL. */
function serve(handler) {
	const server = http.createServer(handler);
	return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
		resolve({ url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) });
	}));
}

describe('browser page (AN032) in headless Chromium', () => {
	let mock; let site; let noCors; let browser; let nextOtp;
	before(async () => {
		assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} missing: apt-get install chromium (scripts/setup.sh)`);
		mock = await startMock();
		nextOtp = otpSequence(MFA_SECRET);
		site = await serve((req, res) => {
			res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
			res.end(fs.readFileSync(PAGE));
		});
		// A JSON server without CORS headers: the control that shows the browser enforces CORS.
		noCors = await serve((req, res) => {
			res.writeHead(200, { 'Content-Type': 'application/json' });
			res.end('{"ok":true}');
		});
		browser = await chromium.launch({
			executablePath: CHROMIUM,
			args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
				'--disable-background-networking', '--disable-component-update', '--disable-sync'],
			// playwright-core gives Chromium a new empty user-data-dir of its own.
			headless: true,
		});
	});
	after(async () => {
		if (browser) await browser.close();
		if (site) await site.close();
		if (noCors) await noCors.close();
		if (mock) await mock.stop();
	});

	async function openPage() {
		const page = await browser.newPage();
		await page.goto(`${site.url}/index.html?api=${encodeURIComponent(mock.url)}`);
		assert.notEqual(new URL(page.url()).origin, new URL(mock.url).origin);
		return page;
	}

	it('the browser refuses a cross-origin response without CORS headers (control)', async () => {
		const page = await openPage();
		const outcome = await page.evaluate((url) => fetch(url).then(() => 'read', (e) => e.name), noCors.url);
		assert.equal(outcome, 'TypeError');
		await page.close();
	});

	it('logs in with a password and lists the devices cross-origin', async () => {
		const page = await openPage();
		await page.fill('#username', 'user@example.com');
		await page.fill('#password', 'password');
		await page.click('#login-button');
		await page.waitForSelector('#result:not([hidden])');
		assert.match(await page.textContent('#status'), /Logged in\. 2 device\(s\)/);
		assert.match(await page.textContent('#devices'), /product-boron/);
		assert.match(await page.textContent('#devices'), /demo-argon/);
		await page.screenshot({ path: path.join(ROOT, 'target/browser-login.png') });
		// logout: a preflighted DELETE
		await page.click('#logout');
		await page.waitForFunction(() => document.getElementById('status').textContent === 'Logged out.');
		await page.close();
	});

	it('shows the server error for a wrong password (the 400 body is readable)', async () => {
		const page = await openPage();
		await page.fill('#username', 'user@example.com');
		await page.fill('#password', 'wrong');
		await page.click('#login-button');
		await page.waitForFunction(() => document.getElementById('error').textContent !== '');
		assert.doesNotMatch(await page.textContent('#error'), /Network or CORS/);
		await page.close();
	});

	it('handles 403 mfa_required by asking for the login code', async () => {
		const page = await openPage();
		await page.fill('#username', 'mfa@example.com');
		await page.fill('#password', 'password');
		await page.click('#login-button');
		await page.waitForSelector('#otp-form:not([hidden])');
		assert.equal(await page.textContent('#error'), '');
		await page.fill('#otp', nextOtp());
		await page.click('#otp-button');
		await page.waitForSelector('#result:not([hidden])');
		assert.match(await page.textContent('#status'), /Logged in\. 0 device\(s\)/);
		await page.screenshot({ path: path.join(ROOT, 'target/browser-mfa.png') });
		await page.close();
	});
});
