// Compiled with `tsc --noEmit --strict` in the scratch project: index.d.ts describes the API.
import { startMock, connectMock, type Mock, type Tenant, type JournalEntry, type DeviceCall, type StateDocument, type MockEvent } from 'particle-auth-mock';

async function usage(): Promise<void> {
  const mock: Mock = await startMock({ fixtures: { users: [{ email: 'a@example.com', password: 'pw' }] }, seed: 1, rateLimits: false });
  const url: string = mock.url;
  const code: string = await mock.totp('a@example.com');
  const { now_ms }: { now_ms: number } = await mock.advanceClock(60);
  const entries: JournalEntry[] = await mock.journal({ status: '4xx', limit: 5 });
  await mock.setFunction('0123456789abcdef01234567', 'led', { returns: 'argument_length' });
  await mock.setVariable('0123456789abcdef01234567', 'temperature', 30.5);
  await mock.setDeviceOnline('0123456789abcdef01234567', false);
  const calls: DeviceCall[] = await mock.deviceCalls('0123456789abcdef01234567');
  const online: boolean = (await mock.devices())[0].online;
  const event: MockEvent = await mock.publishAsDevice('0123456789abcdef01234567', 'temp', '21', { private: true, ttl: 30 });
  const seen: MockEvent = await mock.waitForEvent('temp', { after: await mock.lastEventSeq(), timeoutMs: 100 });
  const coreid: string = seen.coreid;
  void [calls, online, event, coreid];
  const tenant: Tenant = await mock.tenant();
  const id: string = tenant.id;
  await tenant.reset();
  const state: StateDocument = await tenant.exportState();
  const imported: { ok: true } = await tenant.importState(state);
  void imported;
  await tenant.stop();
  const remote = await connectMock(url, { controlSecret: 's' });
  await remote.control('POST', '/__mock/faults', { path: '/oauth/token', times: 1, status: 503 });
  await mock.stop();
  void [code, now_ms, entries, id];
  // @ts-expect-error: a tenant cannot create tenants (they are managed from the root)
  await tenant.tenant();
  // @ts-expect-error: seed is a number
  await startMock({ seed: 'x' });
}
void usage;
