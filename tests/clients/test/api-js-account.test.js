'use strict';
// particle-api-js 12.x against the mock binary: every call of particle-api-account.md A9
// (account, customers, OAuth clients, teams, products, devices), with no client changes.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const Particle = require('particle-api-js');
const { startMock } = require('../lib/mock');

const HEX40 = /^[0-9a-f]{40}$/;
const PRODUCT_CLIENT = { clientId: 'demo-product-2146', clientSecret: '615c620d647b6e1dab13bef1695c120b0293c342' };

/** Resolves to the rejection of `promise` (fails the test if it resolves). */
async function rejection(promise) {
	try {
		const value = await promise;
		assert.fail(`expected a rejection, got ${JSON.stringify(value && value.body)}`);
	} catch (error) {
		if (error instanceof assert.AssertionError) throw error;
		return error;
	}
}

describe('particle-api-js: account lifecycle (A2)', () => {
	let mock; let particle;
	before(async () => {
		mock = await startMock();
		particle = new Particle({ baseUrl: mock.url });
	});
	after(() => mock.stop());

	it('createUser, login, setUserInfo, changeUserPassword, changeUsername, deleteUser', async () => {
		const created = await particle.createUser({ username: 'n@x.io', password: 'pw' });
		assert.deepEqual(created.body, { ok: true });
		const repeat = await rejection(particle.createUser({ username: 'n@x.io', password: 'pw' }));
		assert.ok(repeat.statusCode >= 400 && repeat.statusCode < 500);
		assert.equal(repeat.body.ok, false);
		let auth = (await particle.login({ username: 'n@x.io', password: 'pw' })).body.access_token;
		assert.equal((await particle.getUserInfo({ auth })).body.username, 'n@x.io');
		await particle.setUserInfo({ auth, accountInfo: { first_name: 'A' } });
		assert.equal((await particle.getUserInfo({ auth })).body.account_info.first_name, 'A');
		const changed = await particle.changeUserPassword({ auth, currentPassword: 'pw', password: 'pw2' });
		assert.deepEqual(changed.body, { ok: true, message: "User's password updated." });
		assert.equal((await particle.getUserInfo({ auth })).statusCode, 200, 'auth survives');
		auth = (await particle.login({ username: 'n@x.io', password: 'pw2' })).body.access_token;
		const wrong = await rejection(particle.changeUserPassword({ auth, currentPassword: 'nope', password: 'x' }));
		assert.equal(wrong.statusCode, 400);
		await particle.changeUserPassword({ auth, currentPassword: 'pw2', password: 'pw3', invalidateTokens: true });
		const revoked = await rejection(particle.getUserInfo({ auth }));
		assert.equal(revoked.statusCode, 401);
		assert.equal(revoked.body.error, 'invalid_token');
		auth = (await particle.login({ username: 'n@x.io', password: 'pw3' })).body.access_token;
		await particle.changeUsername({ auth, currentPassword: 'pw3', username: 'm@x.io' });
		assert.equal((await particle.getUserInfo({ auth })).body.username, 'm@x.io');
		const identity = await particle.trackingIdentity({ auth });
		assert.match(identity.body.id, /^[0-9a-f]{24}$/);
		const full = await particle.trackingIdentity({ auth, full: true });
		assert.equal(full.body.email, 'm@x.io');
		const deleted = await particle.deleteUser({ auth, password: 'pw3' });
		assert.deepEqual(deleted.body, { ok: true, message: "User's account has been deleted." });
		assert.equal((await rejection(particle.getUserInfo({ auth }))).statusCode, 401);
		assert.equal((await rejection(particle.login({ username: 'm@x.io', password: 'pw3' }))).body.error, 'invalid_grant');
	});

	it('resetPassword answers 200 for known and unknown users; the control API shows the token', async () => {
		for (const username of ['developer@example.com', 'ghost@x.io']) {
			const { body } = await particle.resetPassword({ username });
			assert.deepEqual(body, { ok: true, message: 'Password reset email sent.' });
		}
		const resets = await (await fetch(`${mock.url}/__mock/password-resets`)).json();
		assert.equal(resets.resets.length, 1);
		const { token } = resets.resets[0];
		const redeemed = await particle.put({ uri: '/v1/user/password-reset', data: { username: 'developer@example.com', token, password: 'new' } });
		assert.deepEqual(redeemed.body, { ok: true });
		assert.match((await particle.login({ username: 'developer@example.com', password: 'new' })).body.access_token, HEX40);
	});
});

describe('particle-api-js: customers (A3)', () => {
	let mock; let particle; let productApi; let admin;
	before(async () => {
		mock = await startMock();
		particle = new Particle({ baseUrl: mock.url });
		productApi = new Particle({ baseUrl: mock.url, ...PRODUCT_CLIENT });
		admin = (await particle.login({ username: 'user@example.com', password: 'password' })).body.access_token;
	});
	after(() => mock.stop());

	it('createCustomer with a product client gives a customer token; the default client is refused', async () => {
		const { body } = await productApi.createCustomer({ email: 'C@x.io', password: 'pw', product: 'demo-product' });
		assert.match(body.access_token, HEX40);
		assert.equal(body.expires_in, 7776000);
		assert.equal((await productApi.getUserInfo({ auth: body.access_token })).body.username, 'c@x.io');
		const refused = await rejection(particle.createCustomer({ email: 'd@x.io', password: 'pw', product: 'demo-product' }));
		assert.equal(refused.statusCode, 400);
		assert.equal(refused.body.error, 'invalid_client');
	});

	it('customer-scope token, list, set password, delete; customer tokens are refused on product routes', async () => {
		const scoped = await productApi.request({ uri: '/oauth/token', method: 'post', form: {
			grant_type: 'client_credentials', scope: 'customer=c@x.io', ...{ client_id: PRODUCT_CLIENT.clientId, client_secret: PRODUCT_CLIENT.clientSecret },
		} });
		assert.equal(scoped.body.scope, 'customer=c@x.io');
		const customerToken = scoped.body.access_token;
		const list = await particle.get({ uri: '/v1/products/demo-product/customers', auth: admin });
		assert.ok(list.body.customers.some((c) => c.username === 'c@x.io'));
		assert.ok(list.body.meta.total_pages >= 1);
		const refused = await rejection(particle.listProducts({ auth: customerToken }));
		assert.equal(refused.statusCode, 403);
		const put = await particle.put({ uri: '/v1/products/demo-product/customers/c@x.io', auth: admin, data: { password: 'pw2' } });
		assert.deepEqual(put.body, { ok: true });
		const del = await particle.delete({ uri: '/v1/products/demo-product/customers/c@x.io', auth: admin });
		assert.deepEqual(del.body, { ok: true });
		assert.equal((await rejection(particle.getUserInfo({ auth: customerToken }))).statusCode, 401);
	});

	it('loginAsClientOwner with a product client: its product only', async () => {
		const { body } = await productApi.loginAsClientOwner();
		const token = body.access_token;
		assert.equal((await particle.getProduct({ product: 'demo-product', auth: token })).body.product.id, 1001);
		assert.equal((await rejection(particle.getProduct({ product: 'other-product', auth: token }))).statusCode, 403);
	});
});

describe('particle-api-js: OAuth clients, teams, products, devices (A4-A6, A11)', () => {
	let mock; let particle; let auth;
	before(async () => {
		mock = await startMock();
		particle = new Particle({ baseUrl: mock.url });
		auth = (await particle.login({ username: 'user@example.com', password: 'password' })).body.access_token;
	});
	after(() => mock.stop());

	it('createOAuthClient, list without secrets, update, delete; credentials work at once and fail after', async () => {
		const { body } = await particle.createOAuthClient({ auth, name: 'My App', type: 'installed' });
		assert.match(body.client.id, /^my-app-\d{3,4}$/);
		assert.match(body.client.secret, HEX40);
		const web = await particle.createOAuthClient({ auth, name: 'Web', type: 'web', redirect_uri: 'https://e.com' });
		assert.equal(web.body.client.redirect_uri, 'https://e.com');
		const list = await particle.listOAuthClients({ auth });
		assert.equal(list.body.ok, true);
		assert.ok(list.body.clients.some((c) => c.id === body.client.id));
		assert.ok(list.body.clients.every((c) => c.secret === undefined));
		const owner = new Particle({ baseUrl: mock.url, clientId: body.client.id, clientSecret: body.client.secret });
		const login = await owner.loginAsClientOwner();
		assert.equal((await particle.getUserInfo({ auth: login.body.access_token })).body.username, 'user@example.com');
		const updated = await particle.updateOAuthClient({ auth, clientId: body.client.id, name: 'X' });
		assert.equal(updated.body.client.name, 'X');
		const deleted = await particle.deleteOAuthClient({ auth, clientId: body.client.id });
		assert.equal(deleted.statusCode, 204);
		assert.equal((await rejection(owner.loginAsClientOwner())).body.error, 'invalid_client');
		const product = await particle.listOAuthClients({ auth, product: 'demo-product' });
		assert.ok(product.body.clients.some((c) => c.product_id === 1001));
	});

	it('inviteTeamMember, listTeamMembers with roles, removeTeamMember', async () => {
		await particle.createUser({ username: 'f@x.io', password: 'pw' });
		const invited = await particle.inviteTeamMember({ auth, product: 'demo-product', username: 'f@x.io' });
		assert.equal(invited.body.ok, true);
		const team = await particle.listTeamMembers({ auth, product: 'demo-product' });
		assert.equal(team.body.ok, true);
		const member = team.body.team.find((m) => m.username === 'f@x.io');
		assert.equal(member.role.name, 'Administrator');
		const removed = await particle.removeTeamMember({ auth, product: 'demo-product', username: 'f@x.io' });
		assert.deepEqual(removed.body, { ok: true });
		const after = await particle.listTeamMembers({ auth, product: 'demo-product' });
		assert.ok(!after.body.team.some((m) => m.username === 'f@x.io'));
	});

	it('listProducts and getProduct by id or slug; an unknown product is Permission denied', async () => {
		const { body } = await particle.listProducts({ auth });
		const p = body.products[0];
		for (const key of ['id', 'platform_id', 'name', 'slug']) assert.ok(key in p, key);
		const byId = await particle.getProduct({ auth, product: 1001 });
		const bySlug = await particle.getProduct({ auth, product: 'demo-product' });
		assert.deepEqual(byId.body, bySlug.body);
		const missing = await rejection(particle.getProduct({ auth, product: 999999 }));
		assert.equal(missing.statusCode, 403);
		assert.match(missing.body.error, /Permission denied/);
	});

	it('getDevice with functions and variables; product device list, add and remove', async () => {
		const device = await particle.getDevice({ auth, deviceId: 'demo-argon' });
		assert.deepEqual(device.body.functions, ['led', 'echo']);
		assert.deepEqual(device.body.variables, { led: 'string', temperature: 'double', uptime: 'int32' });
		assert.equal((await rejection(particle.getDevice({ auth, deviceId: 'ffffffffffffffffffffffff' }))).statusCode, 403);
		const listed = await particle.listDevices({ auth, product: 'demo-product', groups: ['beta'] });
		assert.deepEqual(listed.body.devices.map((d) => d.name), ['customer-photon']);
		const added = await particle.addDeviceToProduct({ auth, product: 'demo-product', deviceId: 'bbbbbbbbbbbbbbbbbbbbbbbb' });
		assert.equal(added.body.updated, 1);
		const detail = await particle.getDevice({ auth, product: 'demo-product', deviceId: 'bbbbbbbbbbbbbbbbbbbbbbbb' });
		assert.equal(detail.body.id, 'bbbbbbbbbbbbbbbbbbbbbbbb');
		await particle.removeDevice({ auth, product: 'demo-product', deviceId: 'bbbbbbbbbbbbbbbbbbbbbbbb' });
		const gone = await rejection(particle.removeDevice({ auth, product: 'demo-product', deviceId: 'bbbbbbbbbbbbbbbbbbbbbbbb' }));
		assert.match(gone.body.error, /Device not found for this product/);
	});
});
