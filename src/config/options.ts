import { X509Certificate, createPrivateKey } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import {
  checkKeys,
  count,
  duration,
  headerValue,
  httpUrl,
  invalid,
  isRecord,
  nonEmptyString,
} from '../core/option-checks';
import { DEFAULT_BACKOFF, type BackoffOptions, type ResolvedBackoff } from '../core/backoff';
import { boundedClock, systemClock, type Clock } from '../core/clock';
import { createDefaultLogger, type LogLevel, type Logger } from '../logging/logger';
import { parseProxyUrl, readProxyEnvironment, type Environment, type ProxyEndpoint } from './proxy';
import { MemorySequenceStore } from '../state/memory-sequence-store';
import type { Coordinator } from '../state/coordinator';
import type { WatchTelemetry } from '../telemetry/watch-telemetry';
import type { SequenceProvider } from '../state/sequence-provider';
import type { TokenGetter } from './token-getter';
import type { ClientCredentials, CredentialsTokenFactory } from './credentials';

/** TLS settings of the connection to the watch service. Without them the system's trusted roots are used. */
export interface TlsOptions {
  /** Extra CA certificate(s) to trust, PEM. */
  ca?: string | Buffer;
  /** Client certificate, PEM, for mutual TLS; needs `key`. */
  cert?: string | Buffer;
  /** Client private key, PEM; needs `cert`. */
  key?: string | Buffer;
  /** The host name to check the server certificate against (and send as SNI), when it differs from `target`'s. */
  servername?: string;
  /** The oldest TLS version accepted; nothing older than 1.2 is allowed. @default 'TLSv1.2' */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
}

/** {@link TlsOptions} after validation: `ca` is the system's roots plus the extra ones, ready for Node and grpc-js. */
export interface ResolvedTls {
  ca: string[] | undefined;
  cert: string | Buffer | undefined;
  key: string | Buffer | undefined;
  servername: string | undefined;
  minVersion: 'TLSv1.2' | 'TLSv1.3';
}

/** HTTP/2 keepalive pings, so that a silently dead peer is noticed. */
export interface KeepaliveOptions {
  /** Interval between pings. @default 50000 (the reference Go SDK's) */
  intervalMs?: number;
  /** How long a ping may stay unanswered before the connection counts as lost. @default 10000 */
  timeoutMs?: number;
}

/**
 * Where a watch starts when its sequence provider has no position: `'latest'` = only events newer than the newest
 * one now (the reference SDK's behaviour); `'beginning'` = everything history still holds; a number N = as if N were
 * the last acknowledged position, so delivery starts with the first event after N.
 */
export type StartFrom = 'latest' | 'beginning' | number;

/** Reconnect policy: capped exponential backoff with full jitter. */
export interface ReconnectOptions extends BackoffOptions {
  /** A stream that stayed healthy this long resets the backoff to its first delay. @default 60000 */
  resetAfterMs?: number;
}

/** Options of {@link WatchManager}. */
export interface WatchManagerOptions {
  /** The watch service's gRPC address, `host:port`. */
  target: string;
  /**
   * The tenant (organization) id, sent as `x-axway-tenant-id`: visible ASCII only, as it travels as gRPC metadata and
   * an HTTP header.
   */
  tenantId: string;
  /**
   * Supplies the access token, `({ forceRefresh }) => string | Promise<string>`; called at start, before each token
   * expiry, and after an authentication failure. A leading `Bearer ` is stripped; a token with anything but visible
   * ASCII is `TOKEN_UNAVAILABLE` (naming the position, never the token). A getter that caches must fetch anew when
   * `forceRefresh` is true (the held token is about to expire or was refused). Give this or
   * {@link clientCredentials}, not both.
   */
  getToken?: TokenGetter;
  /**
   * An OAuth2 service account instead of `getToken`, `{ tokenUrl, clientId, clientSecret }` or
   * `{ tokenUrl, clientId, privateKey, keyId }`: the manager fetches its tokens with the client-credentials grant
   * (as {@link clientCredentialsToken} does), through this manager's proxy decision, trusted CAs and clock. Give this
   * or {@link getToken}, not both. The secret and the key are not kept in the manager's options.
   */
  clientCredentials?: ClientCredentials;
  /**
   * TLS settings of the channel and the history API alike (`ca` is added to the system's roots), or `false` for
   * plaintext (local testing only: the token then travels in clear text, and a warning is logged once).
   * @default {} (TLS with the system's trusted roots)
   */
  tls?: TlsOptions | false;
  /**
   * HTTP/2 keepalive, or `false` to turn it off (a dead peer then goes unnoticed until the OS gives up).
   * @default { intervalMs: 50000, timeoutMs: 10000 }
   */
  keepalive?: KeepaliveOptions | false;
  /**
   * An HTTP CONNECT proxy for every connection of this manager (the gRPC channel and the history API):
   * `http://[user:pass@]host:port`. `false` turns proxies off. Without it, the environment decides, read once when
   * the manager is created: `grpc_proxy`, `https_proxy`, `http_proxy` and `no_proxy` (lower case first, then upper
   * case), with one `no_proxy` matcher for gRPC and HTTP. `process.env` is never modified.
   * @default the environment variables
   */
  proxy?: string | false;
  /**
   * Connect to this `host:port` instead of resolving `target`'s host, while keeping `target`'s host name for SNI,
   * the certificate check and `:authority` (a single entry point in front of the service). Through a proxy, this is
   * the address the proxy is asked to tunnel to.
   * @default none (connect to `target`)
   */
  entryAddress?: string;
  /**
   * Where the SDK logs: any logger with `error`, `warn`, `info` and `debug` methods taking a message and its fields
   * (winston, pino, `console`). Every line is scrubbed of secrets first.
   * @default a winston logger on stderr at level `warn`
   */
  logger?: Logger;
  /** Prepended to grpc-js's own user agent. @default `watch-manager/<version>`, this package's version */
  userAgent?: string;
  /**
   * How long one `getToken` call may take before it counts as failed (`TOKEN_UNAVAILABLE`, then tried again).
   * @default 10000
   */
  tokenTimeoutMs?: number;
  /** Refresh interval for a token whose expiry cannot be read (not a JWT, or no `exp`; warned once). @default 300000 */
  tokenRefreshIntervalMs?: number;
  /** How long `registerWatch` waits for the first subscription before it rejects. @default 30000 */
  connectTimeoutMs?: number;
  /**
   * How long `close()` waits for a handler still running: one that finishes meanwhile counts (its event is not
   * delivered again); then its `ctx.signal` aborts, and what it settles with after that acknowledges nothing.
   * @default 10000
   */
  closeTimeoutMs?: number;
  /**
   * Events buffered per watch before the SDK stops reading the stream (HTTP/2 flow control pushes back). @default 1000
   */
  maxBufferedEvents?: number;
  /**
   * Reconnect backoff: capped exponential with full jitter. It escalates only over attempts without progress, and
   * starts over after one that went live or `resetAfterMs` of health.
   * @default { initialDelayMs: 500, maxDelayMs: 30000, multiplier: 2, resetAfterMs: 60000 }
   */
  reconnect?: ReconnectOptions;
  /**
   * Where each topic's acknowledged position is kept: `new FileSequenceStore(path)` survives restarts,
   * `PostgresSequenceStore` of `watch-manager/postgres` keeps it in a database.
   * @default a new {@link MemorySequenceStore} (with a `coordinator`: the coordinator's lease rows, and this option is
   * refused)
   */
  sequenceProvider?: SequenceProvider;
  /**
   * Shares topics among replicas (`PostgresCoordinator` of `watch-manager/postgres`): a watch runs on this member
   * only while it holds the topic's lease, and its positions are kept in the lease rows, written under their fence.
   * The manager starts it with the first watch and closes it in `close()`. @default none: every watch runs here
   */
  coordinator?: Coordinator;
  /**
   * Where metrics go as well as {@link WatchManager.metrics}: `openTelemetryMetrics()` of
   * `watch-manager/opentelemetry` (counters and gauges read when the exporter collects, durations recorded as they
   * end), or an implementation of the {@link WatchTelemetry} contract. @default none: nothing is recorded
   */
  telemetry?: WatchTelemetry;
  /**
   * How many acknowledged events may wait for their position to be written before delivery waits for the store:
   * the most a crash can repeat. Positions are written behind delivery, coalesced (one write carries many).
   * @default 100
   */
  maxUnsavedAcks?: number;
  /**
   * When acknowledged positions are written to the provider: after `everyAcks` acknowledgements, or `intervalMs`
   * after the first unsaved one, whichever comes first, and always on `close()`. One write at a time; what is
   * acknowledged meanwhile goes with the next. Raise `everyAcks` to write a slow store less often (a crash then
   * repeats more: at most `maxUnsavedAcks`).
   * @default { everyAcks: 1, intervalMs: 1000 }
   */
  positionFlush?: {
    /** Write after this many acknowledgements. @default 1 */
    everyAcks?: number;
    /** Write this long after the first unsaved acknowledgement at the latest. @default 1000 */
    intervalMs?: number;
  };
  /**
   * A directory for the dead-letter spool: an event whose handler failed `maxAttempts` times is written there
   * (crash-safe) and delivery moves on. Without it, such a failure stops the watch with `HANDLER_FAILED`.
   * @default none
   */
  deadLetterDir?: string;
  /**
   * Where a watch starts when the provider has no position for its topic: `'latest'`, `'beginning'` or a sequence id
   * (see {@link StartFrom}); a watch's own `from` wins. @default 'latest'
   */
  from?: StartFrom;
  /**
   * Base URL of the event-history API (`{historyUrl}/events{selfLink}`). The default keeps the target's host and
   * port (the service serves both on one address, 443 in production) and takes the scheme from `tls`; a history API
   * on another address (the fake service's, a gateway's) needs this option.
   * @default `https://<target host>:<target port>` (`http://` when `tls` is false; a port 443 or 80 left out)
   */
  historyUrl?: string;
  /**
   * Base URL of the resource API that `manager.resources` reads (`{apiUrl}{selfLink}`). The default is the target's
   * host and port with `/apis`, the scheme from `tls`, as for `historyUrl`; a resource API on another address (the
   * fake service's, a gateway's) needs this option. Its requests take `historyTimeoutMs` as their deadline.
   * @default `https://<target host>:<target port>/apis` (`http://` when `tls` is false; a port 443 or 80 left out)
   */
  apiUrl?: string;
  /**
   * Events per history page; lowered for a catch-up against a server that serves fewer.
   * @default 100 (the reference SDK's)
   */
  historyPageSize?: number;
  /** Deadline of one history request. @default 30000 */
  historyTimeoutMs?: number;
  /**
   * Deadline of one position write (`setSequence`): a write that does not settle in time is reported as `STATE_IO`
   * and tried again with the next acknowledgement, so a store that hangs never stalls delivery silently.
   * @default 30000
   */
  stateTimeoutMs?: number;
  /**
   * An open stream on which neither an event nor a service PING arrived for this long is stalled: it is replaced
   * (retryable `STALLED`, then a catch-up), even though its connection looks healthy. `false` turns the watchdog
   * off. By default it follows the service's own ping interval: 3 times the longest gap seen between its pings on
   * the stream (the first gap counted from the subscription), armed from the first ping on; a service that never
   * pings is left to HTTP/2 keepalive. Time during which the SDK itself stopped reading (backpressure) never counts.
   * @default 3 × the service's ping interval, as observed (at least 1 s; off until the first ping)
   */
  stallTimeoutMs?: number | false;
  /**
   * What happens to an event whose type this SDK does not know (a newer service added one): `'skip'` = not handed
   * to the handlers, the position moves past it; `'deliver'` = handed over with `type: 'UNKNOWN'` and the service's
   * name in `rawType`. Either way a warning is logged once per type and `metrics().unknownTypes` counts them; the
   * watch never stops for it.
   * @default 'skip'
   */
  unknownEventTypes?: 'skip' | 'deliver';
  /** Time and randomness, injectable for tests. @default the system clock */
  clock?: Clock;
}

/** {@link WatchManagerOptions} after defaults and validation. */
export interface ResolvedOptions {
  target: string;
  host: string;
  port: number;
  tenantId: string;
  getToken: TokenGetter;
  tls: ResolvedTls | false;
  /** The explicit proxy, `false`, or undefined when {@link proxyEnv} decides. */
  proxy: ProxyEndpoint | false | undefined;
  /** The proxy variables of the environment when the manager was created. */
  proxyEnv: Environment;
  entryAddress: { host: string; port: number } | undefined;
  keepalive: Required<KeepaliveOptions> | false;
  logger: Logger;
  userAgent: string;
  tokenTimeoutMs: number;
  tokenRefreshIntervalMs: number;
  connectTimeoutMs: number;
  closeTimeoutMs: number;
  maxBufferedEvents: number;
  reconnect: ResolvedBackoff & { resetAfterMs: number };
  sequenceProvider: SequenceProvider;
  coordinator: Coordinator | undefined;
  telemetry: WatchTelemetry | undefined;
  maxUnsavedAcks: number;
  positionFlush: { everyAcks: number; intervalMs: number };
  deadLetterDir: string | undefined;
  from: StartFrom;
  historyUrl: URL;
  apiUrl: URL;
  historyPageSize: number;
  historyTimeoutMs: number;
  stateTimeoutMs: number;
  stallTimeoutMs: number | false | undefined;
  unknownEventTypes: 'skip' | 'deliver';
  clock: Clock;
}

/**
 * The defaults of {@link WatchManagerOptions} that are one value, read by {@link resolveOptions}: the one place they
 * are written in code. Each field's `@default` says the same, and test/configuration-doc.test.ts holds the two
 * together. Defaults that are not one value (the environment's proxy, a logger, a store) are made in the resolver.
 */
export const MANAGER_DEFAULTS = {
  tls: { minVersion: 'TLSv1.2' },
  keepalive: { intervalMs: 50_000, timeoutMs: 10_000 },
  tokenTimeoutMs: 10_000,
  tokenRefreshIntervalMs: 300_000,
  connectTimeoutMs: 30_000,
  closeTimeoutMs: 10_000,
  maxBufferedEvents: 1_000,
  reconnect: { ...DEFAULT_BACKOFF, resetAfterMs: 60_000 },
  maxUnsavedAcks: 100,
  positionFlush: { everyAcks: 1, intervalMs: 1_000 },
  from: 'latest',
  historyPageSize: 100,
  historyTimeoutMs: 30_000,
  stateTimeoutMs: 30_000,
  unknownEventTypes: 'skip',
} as const satisfies { readonly [K in keyof WatchManagerOptions]?: unknown };

/** Every key of {@link WatchManagerOptions}. */
export const MANAGER_OPTION_KEYS: ReadonlyArray<keyof WatchManagerOptions> = [
  'target',
  'tenantId',
  'getToken',
  'clientCredentials',
  'tls',
  'proxy',
  'entryAddress',
  'keepalive',
  'logger',
  'userAgent',
  'tokenTimeoutMs',
  'tokenRefreshIntervalMs',
  'connectTimeoutMs',
  'closeTimeoutMs',
  'maxBufferedEvents',
  'reconnect',
  'sequenceProvider',
  'coordinator',
  'telemetry',
  'maxUnsavedAcks',
  'positionFlush',
  'deadLetterDir',
  'from',
  'historyUrl',
  'apiUrl',
  'historyPageSize',
  'historyTimeoutMs',
  'stateTimeoutMs',
  'stallTimeoutMs',
  'unknownEventTypes',
  'clock',
];

/** PEM text or a Buffer of it, parsed here so that a broken file fails now and not at the first connect. */
function pem(value: unknown, field: string, kind: 'certificate' | 'key'): string | Buffer | undefined {
  if (value === undefined) return undefined;
  if (!(Buffer.isBuffer(value) || typeof value === 'string') || value.length === 0)
    throw invalid(field, 'must be PEM text or a Buffer');
  try {
    if (kind === 'certificate') new X509Certificate(value);
    else createPrivateKey(value);
  } catch {
    // The parser's message may quote the key material: never repeat it.
    throw invalid(field, `is not a PEM ${kind}`);
  }
  return value;
}

/** Splits `host:port` (host may be `[v6]`). */
function parseTarget(value: unknown, field = 'target'): { host: string; port: number } {
  const target = nonEmptyString(value, field);
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(target);
  if (match === null) throw invalid(field, `expected 'host:port', got '${target}'`);
  const port = Number(match[2]);
  if (port < 1 || port > 65535) throw invalid(field, `port ${port} is out of range`);
  return { host: match[1] as string, port };
}

function resolveTls(value: unknown): ResolvedTls | false {
  if (value === false) return false;
  return resolveTlsOption(value ?? {}, 'tls');
}

/** Validates {@link TlsOptions} given as `field` (an option or argument name used in the error). */
export function resolveTlsOption(value: unknown, field: string): ResolvedTls {
  if (!isRecord(value)) throw invalid(field, 'must be an object or false');
  const input = value;
  checkKeys(input, ['ca', 'cert', 'key', 'servername', 'minVersion'], `${field}.`);
  const ca = pem(input.ca, `${field}.ca`, 'certificate');
  const cert = pem(input.cert, `${field}.cert`, 'certificate');
  const key = pem(input.key, `${field}.key`, 'key');
  if ((cert === undefined) !== (key === undefined))
    throw invalid(cert === undefined ? `${field}.cert` : `${field}.key`, 'cert and key go together');
  const minVersion = input.minVersion ?? MANAGER_DEFAULTS.tls.minVersion;
  if (minVersion !== 'TLSv1.2' && minVersion !== 'TLSv1.3')
    throw invalid(`${field}.minVersion`, "must be 'TLSv1.2' or 'TLSv1.3' (nothing older is allowed)");
  return {
    // Extra CAs are added to the system's roots, as "extra" says (a bare `ca` would replace them in Node and grpc-js).
    ca: ca === undefined ? undefined : [...rootCertificates, ca.toString()],
    cert,
    key,
    servername: input.servername === undefined ? undefined : nonEmptyString(input.servername, `${field}.servername`),
    minVersion,
  };
}

function resolveProxy(value: unknown): ProxyEndpoint | false | undefined {
  if (value === undefined || value === false) return value;
  if (typeof value !== 'string' || value.trim() === '')
    throw invalid('proxy', "must be 'http://[user:pass@]host:port' or false");
  // A bare 'host:port' is tolerated in the proxy variables (as curl does), never here: a typo such as 'notaurl'
  // would otherwise be taken as a host name and fail later as an unreachable proxy.
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(value.trim()))
    throw invalid('proxy', "must be a URL 'http://[user:pass@]host[:port]' (the scheme is required) or false");
  return parseProxyUrl(value.trim(), "option 'proxy'");
}

function resolveKeepalive(value: unknown): Required<KeepaliveOptions> | false {
  if (value === false) return false;
  if (value === undefined) return { ...MANAGER_DEFAULTS.keepalive };
  if (!isRecord(value)) throw invalid('keepalive', 'must be an object or false');
  checkKeys(value, ['intervalMs', 'timeoutMs'], 'keepalive.');
  return {
    intervalMs: duration(value.intervalMs, 'keepalive.intervalMs', MANAGER_DEFAULTS.keepalive.intervalMs, 10),
    timeoutMs: duration(value.timeoutMs, 'keepalive.timeoutMs', MANAGER_DEFAULTS.keepalive.timeoutMs, 10),
  };
}

function resolveReconnect(value: unknown): ResolvedOptions['reconnect'] {
  const defaults = MANAGER_DEFAULTS.reconnect;
  if (value === undefined) return { ...defaults };
  if (!isRecord(value)) throw invalid('reconnect', 'must be an object');
  checkKeys(value, ['initialDelayMs', 'maxDelayMs', 'multiplier', 'resetAfterMs'], 'reconnect.');
  const initialDelayMs = duration(value.initialDelayMs, 'reconnect.initialDelayMs', defaults.initialDelayMs, 0);
  const maxDelayMs = duration(
    value.maxDelayMs,
    'reconnect.maxDelayMs',
    Math.max(defaults.maxDelayMs, initialDelayMs),
    0,
  );
  if (maxDelayMs < initialDelayMs) throw invalid('reconnect.maxDelayMs', 'must not be below reconnect.initialDelayMs');
  const multiplier = value.multiplier === undefined ? defaults.multiplier : value.multiplier;
  if (typeof multiplier !== 'number' || !Number.isFinite(multiplier) || multiplier < 1) {
    throw invalid('reconnect.multiplier', 'must be a number >= 1');
  }
  return {
    initialDelayMs,
    maxDelayMs,
    multiplier,
    resetAfterMs: duration(value.resetAfterMs, 'reconnect.resetAfterMs', defaults.resetAfterMs, 0),
  };
}

function resolveLogger(value: unknown): Logger {
  if (value === undefined) return createDefaultLogger();
  const levels: LogLevel[] = ['error', 'warn', 'info', 'debug'];
  if (!isRecord(value) || levels.some((l) => typeof value[l] !== 'function')) {
    throw invalid('logger', 'must have error, warn, info and debug methods (a winston, pino or console logger)');
  }
  return value as unknown as Logger;
}

function resolveFlush(value: unknown): ResolvedOptions['positionFlush'] {
  const defaults = MANAGER_DEFAULTS.positionFlush;
  if (value === undefined) return { ...defaults };
  if (!isRecord(value)) throw invalid('positionFlush', 'must be an object');
  checkKeys(value, ['everyAcks', 'intervalMs'], 'positionFlush.');
  return {
    everyAcks: count(value.everyAcks, 'positionFlush.everyAcks', defaults.everyAcks, 1, 1_000_000),
    intervalMs: duration(value.intervalMs, 'positionFlush.intervalMs', defaults.intervalMs, 1),
  };
}

function resolveProvider(value: unknown): SequenceProvider {
  if (value === undefined) return new MemorySequenceStore();
  if (!isRecord(value) || typeof value.getSequence !== 'function' || typeof value.setSequence !== 'function') {
    throw invalid('sequenceProvider', 'must have getSequence() and setSequence()');
  }
  return value as unknown as SequenceProvider;
}

function resolveCoordinator(value: unknown, provider: unknown): Coordinator | undefined {
  if (value === undefined) return undefined;
  if (
    !isRecord(value) ||
    typeof value.memberId !== 'string' ||
    !['start', 'claim', 'observed', 'close'].every((m) => typeof value[m] === 'function')
  ) {
    throw invalid('coordinator', 'must be a Coordinator (memberId, start(), claim(), observed(), close())');
  }
  if (provider !== undefined)
    throw invalid('sequenceProvider', 'must not be given with a coordinator: positions are kept in its lease rows');
  return value as unknown as Coordinator;
}

function resolveTelemetry(value: unknown): WatchTelemetry | undefined {
  if (value === undefined) return undefined;
  if (!isRecord(value) || typeof value.attach !== 'function')
    throw invalid('telemetry', 'must be a WatchTelemetry (attach()), e.g. openTelemetryMetrics()');
  return value as unknown as WatchTelemetry;
}

/** Parses a `from` value (option or CLI flag). */
export function resolveFrom(value: unknown, field = 'from'): StartFrom {
  if (value === undefined) return MANAGER_DEFAULTS.from;
  if (value === 'latest' || value === 'beginning') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  throw invalid(field, "must be 'latest', 'beginning' or a sequence id (a whole number >= 0)");
}

function resolveHistoryUrl(value: unknown, host: string, port: number, tls: boolean): URL {
  // The target's port too: without it a plaintext target on another port (tls: false, local testing) was asked for
  // its history on port 80, and failed (ECONNREFUSED) for as long as the watch ran.
  if (value === undefined) return new URL(`${tls ? 'https' : 'http'}://${host}:${port}`);
  const url = httpUrl(value, 'historyUrl');
  if (url.search !== '' || url.hash !== '') throw invalid('historyUrl', 'must not have a query or fragment');
  if (url.protocol === 'http:' && tls)
    throw invalid('historyUrl', 'is plain http while tls is on; use https or set tls: false');
  return url;
}

function resolveApiUrl(value: unknown, host: string, port: number, tls: boolean): URL {
  if (value === undefined) return new URL(`${tls ? 'https' : 'http'}://${host}:${port}/apis`);
  const url = httpUrl(value, 'apiUrl');
  if (url.search !== '' || url.hash !== '') throw invalid('apiUrl', 'must not have a query or fragment');
  if (url.protocol === 'http:' && tls)
    throw invalid('apiUrl', 'is plain http while tls is on; use https or set tls: false');
  return url;
}

function resolveUnknownTypes(value: unknown): 'skip' | 'deliver' {
  if (value === undefined) return MANAGER_DEFAULTS.unknownEventTypes;
  if (value !== 'skip' && value !== 'deliver') throw invalid('unknownEventTypes', "must be 'skip' or 'deliver'");
  return value;
}

function resolveClock(value: unknown): Clock {
  if (value === undefined) return systemClock;
  if (
    !isRecord(value) ||
    typeof value.now !== 'function' ||
    typeof value.setTimeout !== 'function' ||
    typeof value.random !== 'function'
  ) {
    throw invalid('clock', 'must have now(), setTimeout() and random()');
  }
  return boundedClock(value as unknown as Clock);
}

/**
 * The one validation step of the manager's options: applies every default and throws `WatchError('INVALID_CONFIG')`
 * naming the first wrong field. Checks use `=== undefined`, never truthiness, so `0` and `''` are judged as given
 * (grpc-js's `jitter: 0` weakness).
 */
export function resolveOptions(
  input: unknown,
  version: string,
  credentialsToken?: CredentialsTokenFactory,
): ResolvedOptions {
  if (!isRecord(input)) throw invalid('options', 'must be an object');
  checkKeys(input, MANAGER_OPTION_KEYS, '');
  const { host, port } = parseTarget(input.target);
  if (input.getToken !== undefined && input.clientCredentials !== undefined)
    throw invalid('clientCredentials', 'give getToken or clientCredentials, not both');
  if (input.clientCredentials === undefined && typeof input.getToken !== 'function')
    throw invalid('getToken', 'must be a function returning the token (or give clientCredentials)');
  const tls = resolveTls(input.tls);
  const proxy = resolveProxy(input.proxy);
  const proxyEnv = readProxyEnvironment();
  const clock = resolveClock(input.clock);
  let getToken = input.getToken as TokenGetter | undefined;
  if (getToken === undefined) {
    if (credentialsToken === undefined) throw invalid('clientCredentials', 'is not taken here; give getToken');
    const shared = tls === false ? false : { ca: tls.ca, minVersion: tls.minVersion };
    getToken = credentialsToken(input.clientCredentials, { proxy, proxyEnv, tls: shared, clock });
  }
  const userAgent =
    input.userAgent === undefined ? `watch-manager/${version}` : headerValue(input.userAgent, 'userAgent');
  return {
    target: input.target as string,
    host,
    port,
    tenantId: headerValue(input.tenantId, 'tenantId'),
    getToken,
    tls,
    proxy,
    proxyEnv,
    entryAddress: input.entryAddress === undefined ? undefined : parseTarget(input.entryAddress, 'entryAddress'),
    keepalive: resolveKeepalive(input.keepalive),
    logger: resolveLogger(input.logger),
    userAgent,
    tokenTimeoutMs: duration(input.tokenTimeoutMs, 'tokenTimeoutMs', MANAGER_DEFAULTS.tokenTimeoutMs),
    tokenRefreshIntervalMs: duration(
      input.tokenRefreshIntervalMs,
      'tokenRefreshIntervalMs',
      MANAGER_DEFAULTS.tokenRefreshIntervalMs,
      1_000,
    ),
    connectTimeoutMs: duration(input.connectTimeoutMs, 'connectTimeoutMs', MANAGER_DEFAULTS.connectTimeoutMs),
    closeTimeoutMs: duration(input.closeTimeoutMs, 'closeTimeoutMs', MANAGER_DEFAULTS.closeTimeoutMs, 0),
    maxBufferedEvents: count(
      input.maxBufferedEvents,
      'maxBufferedEvents',
      MANAGER_DEFAULTS.maxBufferedEvents,
      1,
      1_000_000,
    ),
    reconnect: resolveReconnect(input.reconnect),
    sequenceProvider: resolveProvider(input.sequenceProvider),
    coordinator: resolveCoordinator(input.coordinator, input.sequenceProvider),
    telemetry: resolveTelemetry(input.telemetry),
    maxUnsavedAcks: count(input.maxUnsavedAcks, 'maxUnsavedAcks', MANAGER_DEFAULTS.maxUnsavedAcks, 0, 1_000_000),
    positionFlush: resolveFlush(input.positionFlush),
    deadLetterDir: input.deadLetterDir === undefined ? undefined : nonEmptyString(input.deadLetterDir, 'deadLetterDir'),
    from: resolveFrom(input.from),
    historyUrl: resolveHistoryUrl(input.historyUrl, host, port, tls !== false),
    apiUrl: resolveApiUrl(input.apiUrl, host, port, tls !== false),
    historyPageSize: count(input.historyPageSize, 'historyPageSize', MANAGER_DEFAULTS.historyPageSize, 1, 1000),
    historyTimeoutMs: duration(input.historyTimeoutMs, 'historyTimeoutMs', MANAGER_DEFAULTS.historyTimeoutMs),
    stateTimeoutMs: duration(input.stateTimeoutMs, 'stateTimeoutMs', MANAGER_DEFAULTS.stateTimeoutMs),
    stallTimeoutMs:
      input.stallTimeoutMs === false || input.stallTimeoutMs === undefined
        ? input.stallTimeoutMs
        : duration(input.stallTimeoutMs, 'stallTimeoutMs', 0, 10),
    unknownEventTypes: resolveUnknownTypes(input.unknownEventTypes),
    clock,
  };
}
