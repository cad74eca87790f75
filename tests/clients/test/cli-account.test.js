'use strict';
// particle-cli 3.x: `particle list` and `particle product device list/add/remove` against
// the default fixtures (particle-api-account.md A11), with no client changes.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startMock, cli, cliHome } = require('../lib/mock');

function ok(result) {
	assert.equal(result.code, 0, `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
	return result;
}

describe('particle-cli: devices and product devices', () => {
	let mock; let home;
	before(async () => {
		mock = await startMock();
		home = cliHome(mock.url);
		ok(await cli(home, ['login', '-u', 'user@example.com', '-p', 'password']));
	});
	after(() => mock.stop());

	it('particle list shows each device with its functions and variables', async () => {
		const { stdout } = ok(await cli(home, ['list']));
		assert.match(stdout, /demo-argon \[0123456789abcdef01234567\] \(.*\) is online/);
		assert.match(stdout, /Variables:[\s\S]*temperature \(double\)/);
		assert.match(stdout, /Functions:\s+int led \(String args\)/);
		assert.match(stdout, /product-boron \[89abcdef0123456789abcdef\] .* is offline/);
	});

	it('particle product device list shows the product devices, filtered by name', async () => {
		const all = ok(await cli(home, ['product', 'device', 'list', '1001']));
		assert.match(all.stdout, /product-boron \[89abcdef0123456789abcdef\]/);
		assert.match(all.stdout, /customer-photon \[fedcba9876543210fedcba98\]/);
		const named = ok(await cli(home, ['product', 'device', 'list', '1001', '--name', 'boron']));
		assert.match(named.stdout, /product-boron/);
		assert.doesNotMatch(named.stdout, /customer-photon/);
		const json = ok(await cli(home, ['product', 'device', 'list', '1001', '--json']));
		const parsed = JSON.parse(json.stdout);
		assert.ok(parsed.data.every((d) => 'groups' in d && 'denied' in d && 'development' in d));
	});

	it('particle product device add and remove are reflected in the list at once', async () => {
		const id = 'cccccccccccccccccccccccc';
		const added = ok(await cli(home, ['product', 'device', 'add', '1001', id]));
		assert.match(added.stdout, /Success!/);
		assert.match(ok(await cli(home, ['product', 'device', 'list', '1001'])).stdout, new RegExp(id));
		const removed = ok(await cli(home, ['product', 'device', 'remove', '1001', id]));
		assert.match(removed.stdout, /Success! Removed device/);
		assert.doesNotMatch(ok(await cli(home, ['product', 'device', 'list', '1001'])).stdout, new RegExp(id));
		const again = await cli(home, ['product', 'device', 'remove', '1001', id]);
		assert.notEqual(again.code, 0);
		assert.match(again.stdout + again.stderr, /Device not found for this product/);
	});

	it('an unknown product is Permission denied for list, add and remove', async () => {
		for (const args of [['list', 'LOLWUTNOPE'], ['add', 'LOLWUTNOPE', 'cccccccccccccccccccccccc'], ['remove', 'LOLWUTNOPE', 'cccccccccccccccccccccccc']]) {
			const result = await cli(home, ['product', 'device', ...args]);
			assert.notEqual(result.code, 0, args.join(' '));
			assert.match(result.stdout + result.stderr, /Permission denied/, args.join(' '));
		}
	});
});
