// The helper imported as an ES module (Vitest, and Jest/Mocha in ESM projects, import it so).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startMock } from 'particle-auth-mock';

test('import { startMock } works from an ES module', async () => {
	const mock = await startMock({ rateLimits: false });
	try {
		const tenant = await mock.tenant();
		assert.match(await tenant.totp('mfa@example.com'), /^\d{6}$/);
		assert.equal((await tenant.advanceClock(60)).frozen, false);
		await tenant.stop();
	} finally {
		await mock.stop();
	}
});
