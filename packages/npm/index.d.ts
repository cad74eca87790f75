// Types for particle-auth-mock's test helper.

/** A fixtures document (see docs/fixtures.md); only the common fields are typed. */
export interface Fixtures {
  users?: Array<{
    email: string;
    password?: string;
    first_name?: string;
    last_name?: string;
    mfa?: { secret: string; recovery_codes?: string[] };
  }>;
  [section: string]: unknown;
}

/** Rate-limit settings, the shape of the fixtures' `rate_limits` section. */
export interface RateLimits {
  /** `false` switches every limit off. */
  enabled?: boolean;
  algorithm?: 'sliding' | 'fixed';
  headers?: 'none' | 'x-ratelimit' | 'ietf';
  /** By rule name (`oauth`, `global`, …): `"COUNT/WINDOW"` such as `"3/20s"`, or `"off"`. */
  rules?: Record<string, string>;
}

export interface StartOptions {
  /** A fixtures document, or the path of a fixtures file. Default: the embedded fixtures. */
  fixtures?: Fixtures | string;
  /** Seed for reproducible tokens and generated names. */
  seed?: number;
  /** `false` switches rate limits off; an object changes them. Default: Particle's limits. */
  rateLimits?: false | RateLimits;
  /** Extra command-line flags, e.g. `['--otp-skew', '2']`. */
  args?: string[];
  /** How long to wait for the server to listen (default 10 000 ms). */
  timeoutMs?: number;
}

export interface ClockState {
  now_ms: number;
  now: string;
  frozen: boolean;
}

export interface TotpState {
  code: string;
  next_code: string;
  seconds_remaining: number;
}

export interface JournalEntry {
  id: number;
  time: string;
  time_ms: number;
  client: string;
  method: string;
  path: string;
  status: number;
  reason: string | null;
  dropped: boolean;
}

export interface JournalFilter {
  /** Exact path or glob (`/v1/*`). */
  path?: string;
  /** `401` or `4xx`. */
  status?: number | string;
  client?: string;
  /** The last N matches. */
  limit?: number;
}

/** What a device function does (docs/devices.md). */
export interface FunctionBehaviour {
  /** An int32 (default 1), or a value computed from the argument. */
  returns?: number | 'argument_length' | 'argument_as_int';
  /** A variable the call sets (to `value`, else to the argument). */
  set?: { variable: string; value?: unknown };
  /** An event the call publishes. */
  publish?: { name: string; data?: string };
}

/** A simulated device as the control API shows it. */
export interface Device {
  id: string;
  name: string;
  online: boolean;
  owner: string | null;
  product: number | null;
  customer: string | null;
  platform_id: number;
  system_firmware_version: string;
  firmware_version: number | null;
  functions: Array<{ name: string } & FunctionBehaviour>;
  variables: Record<string, { type: 'int32' | 'double' | 'string' | 'bool'; value: unknown }>;
}

/** One function call a device received. */
export interface DeviceCall {
  device_id: string;
  function: string;
  argument: string;
  caller: 'user' | 'customer' | 'api_user' | 'product';
  /** Milliseconds since the epoch on the world's clock. */
  at: number;
  /** null when the device was offline. */
  return_value: number | null;
}

/** A world's state (docs/persistence.md): opaque apart from its format and version. */
export interface StateDocument {
  format: 'particle-auth-mock/state';
  version: number;
  saved_at?: string;
  [field: string]: unknown;
}

/** An event as the control API shows it. */
export interface MockEvent {
  /** Sequence number within the world, from 1. */
  seq: number;
  name: string;
  data: string | null;
  ttl: number;
  /** ISO 8601 on the world's clock. */
  published_at: string;
  /** The device id, or `api` for a client's publish. */
  coreid: string;
  /** `device` or `api` (who published it). */
  source: string;
  public: boolean;
  product_id: number | null;
}

/** The control API of one world: a server's default world or a tenant. */
export interface World {
  /** Base URL for Particle clients (particle-api-js `baseUrl`, particle-cli `apiUrl`). */
  readonly url: string;
  /** Back to the fixtures, or to `fixtures` (which later resets keep). */
  reset(fixtures?: Fixtures): Promise<unknown>;
  /** This world as a state document (`GET /__mock/state`); restore it with `importState`. */
  exportState(): Promise<StateDocument>;
  /** Replaces this world with a state document from `exportState` (`PUT /__mock/state`). */
  importState(state: StateDocument): Promise<{ ok: true }>;
  /** The current TOTP code of `email` on this world's clock. */
  totp(email: string): Promise<string>;
  /** The current and next codes and the seconds left in this step. */
  totpState(email: string): Promise<TotpState>;
  /** Moves this world's clock forward by `seconds`. */
  advanceClock(seconds: number): Promise<ClockState>;
  /** Reads this world's clock. */
  clock(): Promise<ClockState>;
  /** The request journal, oldest first. */
  journal(filter?: JournalFilter): Promise<JournalEntry[]>;
  /** Every simulated device with its state. */
  devices(): Promise<Device[]>;
  /** Takes a device online or offline. */
  setDeviceOnline(id: string, online: boolean): Promise<Device>;
  /** Sets a variable's value (with `type`, adds the variable). */
  setVariable(id: string, name: string, value: unknown, type?: 'int32' | 'double' | 'string' | 'bool'): Promise<unknown>;
  /** Sets what a function does (adds the function if new). */
  setFunction(id: string, name: string, behaviour: FunctionBehaviour): Promise<unknown>;
  /** The function calls devices received (of `id`, or all), oldest first. */
  deviceCalls(id?: string): Promise<DeviceCall[]>;
  /** Webhook deliveries after `after`, waiting up to `timeoutMs` for the first. */
  webhookDeliveries(options?: { after?: number; timeoutMs?: number }): Promise<WebhookDelivery[]>;
  /** The claim codes handed out, oldest first. */
  claimCodes(): Promise<Array<{ code: string; for_account: string; product: number | null; device_hint: string | null; at: number }>>;
  /** Publishes an event as the simulated device `id`. */
  publishAsDevice(id: string, name: string, data?: string, options?: { private?: boolean; ttl?: number }): Promise<MockEvent>;
  /** The sequence number of the last event published in this world (0 before the first). */
  lastEventSeq(): Promise<number>;
  /** The first event after `after` whose name starts with `prefix`, waiting up to `timeoutMs` (default 5000); rejects when none came. */
  waitForEvent(prefix: string, options?: { after?: number; timeoutMs?: number }): Promise<MockEvent>;
  /** Any control call (`control('POST', '/__mock/faults', {...})`): JSON in and out; rejects on non-2xx. */
  control<T = unknown>(method: string, route: string, body?: unknown): Promise<T>;
}

/** An isolated world on a shared server; `stop()` deletes it. */
export interface Tenant extends World {
  readonly id: string;
  stop(): Promise<void>;
}

/** A running server: its default world, plus tenants. */
export interface Mock extends World {
  /** A fresh tenant with the server's fixtures, or with `fixtures`. */
  tenant(fixtures?: Fixtures): Promise<Tenant>;
  /** Stops the server startMock started (connectMock's: leaves it running). */
  stop(): Promise<void>;
}

/** Starts the mock on 127.0.0.1 on a free port; resolves once it listens. */
export function startMock(options?: StartOptions): Promise<Mock>;

/** Connects to a running mock (default `$PARTICLE_MOCK_URL`, else http://127.0.0.1:8080). */
export function connectMock(url?: string, options?: { controlSecret?: string }): Promise<Mock>;

/** The binary startMock runs: `$PARTICLE_AUTH_MOCK_BIN`, else the platform package's. */
export function binaryPath(): string;

/** One webhook delivery as the control API shows it (secrets redacted). */
export interface WebhookDelivery {
  seq: number;
  webhook_id: string;
  event: string;
  event_seq: number;
  at: string;
  method: string;
  url: string;
  headers: Array<[string, string]>;
  body: string | null;
  status: number | null;
  response: string | null;
  duration_ms: number | null;
  error: string | null;
  outcome: 'sent' | 'failed' | 'refused' | 'dropped';
}

/** A request a receiver got. */
export interface ReceivedRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A local HTTP server standing in for a webhook's backend. */
export interface Receiver {
  readonly url: string;
  /** The next request delivered; rejects after `timeoutMs` (10 s). */
  next(timeoutMs?: number): Promise<ReceivedRequest>;
  close(): Promise<void>;
}

/** Starts a receiver answering every request `status` with `body` (or what `body(request)` returns). */
export function startReceiver(options?: {
  status?: number;
  body?: string | ((request: ReceivedRequest) => { status?: number; body?: string });
}): Promise<Receiver>;
