'use strict';
// Webhooks and integrations (docs/webhooks.md) with the official clients: particle-api-js 12
// createWebhook/listWebhooks/deleteWebhook and createIntegration/editIntegration/
// listIntegrations/deleteIntegration, particle-cli `webhook` and `integration`
// create/list/delete, and a real delivery to a receiver this test starts, whose answer is
// read back as a hook-response event from an event stream.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const Particle = require('particle-api-js');
const { startMock, cli, cliHome } = require('../lib/mock');

const USER_TOKEN = '1111111111111111111111111111111111111111';
const auth = USER_TOKEN;

/** A local backend answering `answer`; `next()` resolves the next request it got. */
async function startReceiver(answer) {
	const got = [];
	const waiting = [];
	const server = http.createServer((req, res) => {
		let body = '';
		req.on('data', (c) => { body += c; });
		req.on('end', () => {
			res.end(answer);
			const request = { method: req.method, url: req.url, headers: req.headers, body };
			const w = waiting.shift();
			if (w) w(request); else got.push(request);
		});
	});
	await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
	return {
		url: `http://127.0.0.1:${server.address().port}`,
		next: () => (got.length ? Promise.resolve(got.shift()) : new Promise((resolve) => waiting.push(resolve))),
		close: () => new Promise((resolve) => server.close(resolve)),
	};
}

/** A CLI home logged in as user@example.com with its fixture token. */
function loggedIn(url) {
	const home = cliHome(url);
	const file = path.join(home, '.particle/particle.config.json');
	const config = JSON.parse(fs.readFileSync(file, 'utf8'));
	fs.writeFileSync(file, JSON.stringify({ ...config, access_token: USER_TOKEN, username: 'user@example.com' }), { mode: 0o600 });
	return home;
}

function ok(result) {
	assert.equal(result.code, 0, `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
	return result;
}

describe('particle-api-js: webhooks and integrations', () => {
	let mock; let particle;
	before(async () => {
		mock = await startMock();
		particle = new Particle({ baseUrl: mock.url });
	});
	after(() => mock.stop());

	it('createWebhook, listWebhooks, deleteWebhook', async () => {
		const created = await particle.createWebhook({ event: 'js-hook', url: 'http://127.0.0.1:9/x', device: '0123456789abcdef01234567', auth });
		assert.equal(created.statusCode, 201);
		assert.equal(created.body.ok, true);
		assert.match(created.body.id, /^[0-9a-f]{24}$/);
		assert.equal(created.body.hookUrl, `https://api.particle.io/v1/webhooks/${created.body.id}`);
		const list = await particle.listWebhooks({ auth });
		assert.ok(list.body.some((h) => h.id === created.body.id && h.deviceID === '0123456789abcdef01234567'));
		const deleted = await particle.deleteWebhook({ hookId: created.body.id, auth });
		assert.equal(deleted.statusCode, 204);
		const error = await particle.deleteWebhook({ hookId: created.body.id, auth }).then(() => null, (e) => e);
		assert.equal(error.statusCode, 404);
		assert.equal(error.body.error, 'Webhook not found');
	});

	it('createIntegration, editIntegration, listIntegrations, deleteIntegration (product and org too)', async () => {
		const created = await particle.createIntegration({ event: 'js-int', deviceId: '0123456789abcdef01234567', settings: { integration_type: 'Webhook', url: 'http://127.0.0.1:9/a' }, auth });
		assert.equal(created.statusCode, 201);
		const id = created.body.id;
		assert.match(created.body.integrationUrl, new RegExp(`/v1/integrations/${id}$`));
		const edited = await particle.editIntegration({ integrationId: id, event: 'js-int2', settings: { url: 'http://127.0.0.1:9/b' }, auth });
		assert.equal(edited.body.integration.event, 'js-int2');
		assert.equal(edited.body.integration.url, 'http://127.0.0.1:9/b');
		const list = await particle.listIntegrations({ auth });
		assert.deepEqual(list.body.map((h) => h.event), ['js-int2']);
		assert.equal((await particle.deleteIntegration({ integrationId: id, auth })).statusCode, 204);
		const product = await particle.createIntegration({ event: 'p', settings: { url: 'http://127.0.0.1:9/p' }, product: 'demo-product', auth });
		const org = await particle.createIntegration({ event: 'o', settings: { url: 'http://127.0.0.1:9/o' }, org: 'demo-org', auth });
		assert.equal((await particle.listIntegrations({ product: 'demo-product', auth })).body.length, 1);
		assert.equal((await particle.listIntegrations({ org: 'demo-org', auth })).body.length, 1);
		await particle.deleteIntegration({ integrationId: product.body.id, product: 'demo-product', auth });
		await particle.deleteIntegration({ integrationId: org.body.id, org: 'demo-org', auth });
	});

	it('a publish is delivered to the test\'s receiver and the answer is read back from a stream', async () => {
		const receiver = await startReceiver('{"reply":"pong"}');
		const hook = await particle.createWebhook({ event: 'js-ping', url: `${receiver.url}/hook`, auth, hook: { json: { v: '{{{PARTICLE_EVENT_VALUE}}}' } } });
		const stream = await particle.getEventStream({ deviceId: 'mine', name: 'hook-response/js-ping', auth });
		const event = new Promise((resolve) => stream.on('event', resolve));
		await particle.publishEvent({ name: 'js-ping', data: '7', isPrivate: true, auth });
		const request = await receiver.next();
		assert.equal(request.method, 'POST');
		assert.equal(request.headers['user-agent'], 'ParticleBot/1.1 (https://docs.particle.io/webhooks)');
		assert.equal(JSON.parse(request.body).v, '7');
		const response = await event;
		assert.equal(response.name, 'hook-response/js-ping/0');
		assert.equal(response.data, '{"reply":"pong"}');
		assert.equal(response.coreid, 'particle-internal');
		stream.abort();
		await particle.deleteWebhook({ hookId: hook.body.id, auth });
		await receiver.close();
	});
});

describe('particle-cli: webhook and integration', () => {
	let mock; let home;
	before(async () => {
		mock = await startMock();
		home = loggedIn(mock.url);
	});
	after(() => mock.stop());

	it('webhook create, list, delete', async () => {
		const created = ok(await cli(home, ['webhook', 'create', 'cli-hook', 'http://127.0.0.1:9/x']));
		const id = created.stdout.match(/Successfully created webhook with ID ([0-9a-f]{24})/)[1];
		const list = ok(await cli(home, ['webhook', 'list']));
		assert.match(list.stdout, /Found 1 integrations registered/);
		assert.match(list.stdout, new RegExp(`Integration ID ${id} is watching for "cli-hook"`));
		assert.match(list.stdout, /and sending to: http:\/\/127\.0\.0\.1:9\/x/);
		ok(await cli(home, ['webhook', 'delete', id]));
		assert.match(ok(await cli(home, ['webhook', 'list'])).stdout, /Found 0 integrations registered/);
	});

	it('integration create (from a file), list, delete', async () => {
		const file = path.join(home, 'hook.json');
		fs.writeFileSync(file, JSON.stringify({ event: 'cli-int', url: 'http://127.0.0.1:9/y', integration_type: 'Webhook', json: { a: '{{{PARTICLE_EVENT_VALUE}}}' } }));
		const created = ok(await cli(home, ['integration', 'create', file]));
		const id = created.stdout.match(/Successfully created webhook with ID ([0-9a-f]{24})/)[1];
		const list = ok(await cli(home, ['integration', 'list']));
		assert.match(list.stdout, /type: Webhook/);
		ok(await cli(home, ['integration', 'delete', id]));
		assert.match(ok(await cli(home, ['integration', 'list'])).stdout, /Found 0 integrations registered/);
	});
});
