import { status as GrpcStatus } from '@grpc/grpc-js';
import { redactSecrets } from '../logging/redact';

/**
 * Every failure the SDK reports carries one of these codes. Callers switch on `code`, never on the message.
 *
 * - `INVALID_CONFIG`: an option or argument is wrong; the message names the field. Never retried.
 * - `TOKEN_UNAVAILABLE`: the `getToken` getter threw, returned something that is not a token, or did not answer
 *   before `tokenTimeoutMs`. Retried with backoff.
 * - `TOKEN_EXPIRED`: the token in use expired (the getter returned an expired token, or the service ended a stream
 *   because its token expired). Retried with a fresh token.
 * - `UNAUTHENTICATED`: the service refused a freshly fetched token. Not retried.
 * - `PERMISSION_DENIED`: the service refused the tenant or the topic for this token. Not retried.
 * - `TOPIC_NOT_FOUND`: the service does not know the WatchTopic self link. Not retried.
 * - `CONNECTION_LOST`: the stream or connection ended (network, keepalive timeout, server restart). Retried.
 * - `STALLED`: an open stream on which neither an event nor a service PING arrived for the stall timeout
 *   (`stallTimeoutMs`): replaced by a new one, then a catch-up. Retried.
 * - `PROTOCOL`: the service sent something that breaks the wire contract. Not retried, unless the breach may be
 *   passing (a history page out of order, an unusable 410, an id out of order on the stream): then retryable.
 * - `PROXY_AUTH`: the HTTP proxy refused the credentials (401/407), or wants some and none were given. Not retried.
 * - `PROXY_REFUSED`: the HTTP proxy refused to tunnel to the service (403: host or port not allowed). Not retried.
 * - `PROXY_UNREACHABLE`: the HTTP proxy itself cannot be reached. Retried once a watch ran; at start it fails the
 *   start at once, since a proxy that was never reachable is almost always a wrong address.
 * - `HISTORY_UNAVAILABLE`: the event-history API failed (5xx, 429, timeout, connection error). Retried.
 * - `HISTORY_GONE`: the position to resume from was purged from history (410) and no `onResync` handler was given
 *   to be told; the watch stops rather than skip events silently.
 * - `RESOURCE_UNAVAILABLE`: the resource API (`manager.resources`) failed (5xx, 429, timeout, connection error) for
 *   longer than the client retries. Retryable.
 * - `RESOURCE_NOT_FOUND`: the resource API does not know the collection listed or counted (404). Not retried. (A
 *   `get` of a resource that is gone is not an error: it answers `undefined`.)
 * - `STATE_CORRUPT`: a position file, or a resource store's files, is truncated, garbled, of another format version,
 *   or fails its checksum.
 * - `STATE_IO`: a position file, a resource store's files or their directory cannot be read or written, or a write
 *   did not settle in time.
 * - `STATE_LOCKED`: another process holds the position file or a resource store's directory (its pid is in the
 *   message). Not retried.
 * - `LEASE_LOST`: with a coordinator, this member no longer holds a topic's lease (it could not renew in time, or
 *   another member took it over); the topic stops here and runs where the lease is. Retryable: the member takes
 *   topics again when it can.
 * - `NOT_READY`: `manager.ready()` timed out: a watch is not caught up and live yet (the message says why).
 *   Retryable: the watches go on; ask again.
 * - `HANDLER_FAILED`: the application's own handler threw; the watch stops before that event.
 * - `TRANSACTION_CONTROL`: a transactional handler asked `ctx.client` to end or change the SDK's transaction (`COMMIT`,
 *   `ROLLBACK`, `BEGIN`, `SAVEPOINT` outside `ctx.client.savepoint()`, `SET TRANSACTION`…, `release()`): refused,
 *   nothing sent. Not retried by itself; thrown on by the handler, it fails the attempt like any handler error.
 * - `CLOSED`: the manager or the watch was closed while the operation was pending, or `ctx.client` of a
 *   transactional handler was used after the handler settled (a promise not awaited).
 * - `INTERNAL`: a bug in this SDK (an impossible state); please report it.
 */
export type WatchErrorCode =
  | 'INVALID_CONFIG'
  | 'TOKEN_UNAVAILABLE'
  | 'TOKEN_EXPIRED'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'TOPIC_NOT_FOUND'
  | 'CONNECTION_LOST'
  | 'STALLED'
  | 'PROTOCOL'
  | 'PROXY_AUTH'
  | 'PROXY_REFUSED'
  | 'PROXY_UNREACHABLE'
  | 'HISTORY_UNAVAILABLE'
  | 'HISTORY_GONE'
  | 'RESOURCE_UNAVAILABLE'
  | 'RESOURCE_NOT_FOUND'
  | 'STATE_CORRUPT'
  | 'STATE_IO'
  | 'STATE_LOCKED'
  | 'LEASE_LOST'
  | 'NOT_READY'
  | 'HANDLER_FAILED'
  | 'TRANSACTION_CONTROL'
  | 'CLOSED'
  | 'INTERNAL';

const RETRYABLE: Readonly<Record<WatchErrorCode, boolean>> = {
  INVALID_CONFIG: false,
  TOKEN_UNAVAILABLE: true,
  TOKEN_EXPIRED: true,
  UNAUTHENTICATED: false,
  PERMISSION_DENIED: false,
  TOPIC_NOT_FOUND: false,
  CONNECTION_LOST: true,
  STALLED: true,
  PROTOCOL: false,
  PROXY_AUTH: false,
  PROXY_REFUSED: false,
  PROXY_UNREACHABLE: true,
  HISTORY_UNAVAILABLE: true,
  HISTORY_GONE: false,
  RESOURCE_UNAVAILABLE: true,
  RESOURCE_NOT_FOUND: false,
  STATE_CORRUPT: false,
  STATE_IO: false,
  STATE_LOCKED: false,
  LEASE_LOST: true,
  NOT_READY: true,
  HANDLER_FAILED: false,
  TRANSACTION_CONTROL: false,
  CLOSED: false,
  INTERNAL: false,
};

// A Symbol.for brand, so that `instanceof WatchError` holds even when two copies of the package are installed
// (the Temporal SDK's #863).
const BRAND = Symbol.for('watch-manager.WatchError');

/** Options of {@link WatchError}. */
export interface WatchErrorOptions {
  /** The underlying error. Its message is scrubbed of secrets before it is kept. */
  cause?: unknown;
  /** Overrides the code's default retryability. */
  retryable?: boolean;
  /** The gRPC status code that produced this error, when one did. */
  grpcCode?: number;
  /** How long the server asked callers to wait before trying again (`Retry-After`), in ms. */
  retryAfterMs?: number;
}

/** The one error class of the SDK. `code` says what happened; `retryable` whether trying again can help. */
export class WatchError extends Error {
  /** What happened; switch on it, never on the message. */
  readonly code: WatchErrorCode;
  /** Whether trying again may cure it (the SDK retries these by itself). */
  readonly retryable: boolean;
  /** The gRPC status code behind it, when there was one. */
  readonly grpcCode: number | undefined;
  /**
   * How long the server asked to wait before the next try (its `Retry-After`, capped), when it did; the SDK waits at
   * least this long.
   */
  readonly retryAfterMs: number | undefined;
  /** The underlying error, scrubbed of secrets. */
  override readonly cause: unknown;

  constructor(code: WatchErrorCode, message: string, options: WatchErrorOptions = {}) {
    super(redactSecrets(message));
    this.name = 'WatchError';
    this.code = code;
    this.retryable = options.retryable ?? RETRYABLE[code];
    this.grpcCode = options.grpcCode;
    this.retryAfterMs = options.retryAfterMs;
    this.cause = scrubCause(options.cause);
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** `instanceof` by brand, so that it holds across two installed copies of the package. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}

/** True when `err` is a {@link WatchError} that trying again may cure. */
export function isRetryable(err: unknown): boolean {
  return err instanceof WatchError && err.retryable;
}

/** The message of anything thrown: an Error's own, else its string form (a user's code may throw anything). */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Wraps anything thrown into a WatchError of `code`, keeping an existing WatchError as it is. */
export function toWatchError(err: unknown, code: WatchErrorCode, context: string): WatchError {
  if (err instanceof WatchError) return err;
  const detail = errorMessage(err);
  return new WatchError(code, `${context}: ${detail}`, { cause: err });
}

/** The subset of a gRPC status the mapping reads. */
export interface GrpcStatusLike {
  code: GrpcStatus;
  details: string;
}

/**
 * Maps a final gRPC status of a subscribe call to a WatchError: the one place where gRPC codes become ours.
 * A server that ends the stream with OK or CANCELLED has not finished the watch (a watch never finishes), so both
 * are a lost connection to be resumed (etcd3's #72: a graceful server end must not go unnoticed).
 */
export function fromGrpcStatus(status: GrpcStatusLike, topic: string): WatchError {
  const where = `watch ${topic}`;
  const details = status.details || GrpcStatus[status.code] || `status ${status.code}`;
  const opts = { grpcCode: status.code };
  switch (status.code) {
    case GrpcStatus.UNAUTHENTICATED:
      return new WatchError('UNAUTHENTICATED', `${where}: the service refused the token (${details})`, opts);
    case GrpcStatus.PERMISSION_DENIED:
      return new WatchError('PERMISSION_DENIED', `${where}: permission denied (${details})`, opts);
    case GrpcStatus.NOT_FOUND:
      return new WatchError(
        'TOPIC_NOT_FOUND',
        `${where}: the service does not know this watch topic (${details})`,
        opts,
      );
    case GrpcStatus.INVALID_ARGUMENT:
    case GrpcStatus.UNIMPLEMENTED:
    case GrpcStatus.FAILED_PRECONDITION:
    case GrpcStatus.OUT_OF_RANGE:
      return new WatchError('PROTOCOL', `${where}: the service rejected the subscription (${details})`, opts);
    case GrpcStatus.OK:
      return new WatchError('CONNECTION_LOST', `${where}: the service ended the stream`, opts);
    default:
      // UNAVAILABLE (network, keepalive timeout), CANCELLED (server shutdown), RESOURCE_EXHAUSTED (GOAWAY
      // too_many_pings, docs/facts.md#grpc-js-keepalive), DEADLINE_EXCEEDED, INTERNAL, UNKNOWN, ABORTED,
      // DATA_LOSS: all transient.
      return new WatchError(
        'CONNECTION_LOST',
        `${where}: connection lost (${GrpcStatus[status.code] ?? status.code}: ${details})`,
        opts,
      );
  }
}

function scrubCause(cause: unknown): unknown {
  if (!(cause instanceof Error) || cause instanceof WatchError) return cause;
  // Errors from libraries may echo a URL with credentials or a header; keep the type and stack shape, drop secrets.
  const copy = new Error(redactSecrets(cause.message));
  copy.name = cause.name;
  copy.stack = cause.stack === undefined ? undefined : redactSecrets(cause.stack);
  const code = (cause as { code?: unknown }).code;
  if (code !== undefined) Object.defineProperty(copy, 'code', { value: code, enumerable: true });
  return copy;
}

/** Who answered an HTTP request: one status means something else from each. */
export type HttpPeer = 'history' | 'resource-api' | 'token-endpoint' | 'proxy';

/**
 * The code of an HTTP status that is not a success, per peer: the one place HTTP statuses map to codes, as
 * {@link fromGrpcStatus} is for gRPC. The callers word the message. For a `proxy`, `undefined` is a status that
 * says the proxy could not reach the destination (502, 503, 504…): not the proxy's refusal, but the transient
 * failure of whatever the caller was reaching.
 */
export function codeOfHttpStatus(peer: 'history' | 'resource-api' | 'token-endpoint', status: number): WatchErrorCode;
export function codeOfHttpStatus(peer: 'proxy', status: number): WatchErrorCode | undefined;
export function codeOfHttpStatus(peer: HttpPeer, status: number): WatchErrorCode | undefined {
  switch (peer) {
    case 'history': // docs/wire.md#history-statuses
      if (status === 401) return 'UNAUTHENTICATED';
      if (status === 403) return 'PERMISSION_DENIED';
      if (status === 404) return 'TOPIC_NOT_FOUND';
      if (status === 410) return 'HISTORY_GONE';
      if (status === 429 || status >= 500) return 'HISTORY_UNAVAILABLE';
      return 'PROTOCOL';
    case 'resource-api': // docs/resources.md#statuses
      if (status === 401) return 'UNAUTHENTICATED';
      if (status === 403) return 'PERMISSION_DENIED';
      if (status === 404) return 'RESOURCE_NOT_FOUND';
      if (status === 429 || status >= 500) return 'RESOURCE_UNAVAILABLE';
      return 'PROTOCOL';
    case 'token-endpoint': // RFC 6749 §5.2: a refused client is 400 or 401; 404 is a wrong URL, not a refusal.
      if (status === 400 || status === 401 || status === 403) return 'UNAUTHENTICATED';
      if (status === 404) return 'INVALID_CONFIG';
      return 'TOKEN_UNAVAILABLE';
    case 'proxy': // RFC 9110: 407 asks for credentials; 400/405/501 from a proxy that does not tunnel at all.
      if (status === 401 || status === 407) return 'PROXY_AUTH';
      if (status === 403 || status === 400 || status === 405 || status === 501) return 'PROXY_REFUSED';
      return undefined;
  }
}
