import { decodeJwt } from 'jose';
import { Backoff, type ResolvedBackoff } from '../core/backoff';
import { withDeadline, type Clock, type Timer } from '../core/clock';
import { WatchError, toWatchError, errorMessage } from '../core/errors';
import type { Log } from '../logging/logger';
import type { TokenGetter } from '../config/token-getter';
import { unsafeHeaderChar } from '../core/option-checks';
import { registerSecret } from '../logging/redact';

/** Options of {@link TokenRefresher}. */
export interface TokenRefresherOptions {
  getToken: TokenGetter;
  timeoutMs: number;
  /** Refresh interval for tokens whose `exp` cannot be read. */
  fallbackRefreshMs: number;
  backoff: ResolvedBackoff;
  clock: Clock;
  log: Log;
}

interface HeldToken {
  value: string;
  /** Epoch ms of the JWT's `exp`; undefined when it cannot be read. */
  expiresAt: number | undefined;
}

// A token this close to its expiry is not worth opening a stream with.
const EXPIRY_MARGIN_MS = 1_000;
// Floor of the refresh delay, so that a getter that keeps returning the same nearly expired token is not called in
// a hot loop.
const MIN_REFRESH_DELAY_MS = 100;

/**
 * Owns the access token for one manager: fetches it with a deadline, schedules its refresh at 4/5 of the time left
 * until the JWT's `exp` (docs/wire.md#token-refresh, as the reference SDK), and tells listeners (the open streams)
 * about each new token so they can send it in-stream. Its lifetime spans reconnects; `close()` rejects a pending fetch
 * at once, so a getter that hangs never blocks the manager's `close()`.
 */
export class TokenRefresher {
  private held: HeldToken | undefined;
  private inflight: Promise<string> | undefined;
  private timer: Timer | undefined;
  private readonly listeners = new Set<(token: string) => void>();
  private readonly stopped = new AbortController();
  private readonly retry: Backoff;
  /** New tokens after the first one (scheduled or for a token about to expire), each sent to the open streams. */
  refreshes = 0;

  constructor(private readonly options: TokenRefresherOptions) {
    this.retry = new Backoff(options.backoff, () => options.clock.random());
  }

  /**
   * A usable token: the held one while it is not about to expire (and `force` is false), otherwise a fresh one from
   * the getter (`fresh: true`). Rejects with `TOKEN_UNAVAILABLE`, `TOKEN_EXPIRED` or `CLOSED`.
   */
  async current(force = false): Promise<{ token: string; fresh: boolean }> {
    const held = this.held;
    if (
      !force &&
      held !== undefined &&
      (held.expiresAt === undefined || held.expiresAt - this.options.clock.now() > EXPIRY_MARGIN_MS)
    ) {
      return { token: held.value, fresh: false };
    }
    // On start a getter's cache may answer; a held token that is about to expire, or a forced call, needs a new one.
    return { token: await this.fetch(force || held !== undefined), fresh: true };
  }

  /** The token held now, if any, without calling the getter. */
  get latest(): string | undefined {
    return this.held?.value;
  }

  /** Calls `listener` with every new token after the first (open streams send it in-stream); returns its removal. */
  follow(listener: (token: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops refreshing and rejects any pending fetch with `CLOSED`. Idempotent. */
  close(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.stopped.abort();
    this.listeners.clear();
  }

  private fetch(forceRefresh: boolean): Promise<string> {
    if (this.stopped.signal.aborted) return Promise.reject(new WatchError('CLOSED', 'the token refresher is closed'));
    // One getter call at a time: every stream that needs a token at once shares it.
    this.inflight ??= this.fetchOnce(forceRefresh).finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async fetchOnce(forceRefresh: boolean): Promise<string> {
    const { clock, timeoutMs, getToken } = this.options;
    try {
      const raw = await withDeadline(Promise.resolve({ forceRefresh }).then(getToken), {
        clock,
        ms: timeoutMs,
        onTimeout: () => new WatchError('TOKEN_UNAVAILABLE', `getToken did not answer within ${timeoutMs} ms`),
        signal: this.stopped.signal,
        onAbort: () => new WatchError('CLOSED', 'closed while waiting for getToken'),
      });
      const before = this.held?.value;
      const token = this.accept(raw);
      this.schedule(token);
      if (before !== undefined && token.value !== before) {
        // Every new token goes to the open streams, however it was fetched: one fetched for a reconnect (the held one
        // was about to expire) re-arms the refresh for itself, so the streams still holding the old one would
        // otherwise see it expire under them (found by the chaos test with 3-second tokens).
        this.refreshes += 1;
        this.options.log.debug('token refreshed', { refreshes: this.refreshes });
        for (const listener of [...this.listeners]) listener(token.value);
      }
      return token.value;
    } catch (err) {
      throw toWatchError(err, 'TOKEN_UNAVAILABLE', 'getToken failed');
    }
  }

  private accept(raw: unknown): HeldToken {
    if (typeof raw !== 'string' || raw.trim() === '') {
      throw new WatchError(
        'TOKEN_UNAVAILABLE',
        `getToken returned ${typeof raw === 'string' ? 'an empty string' : typeof raw}, not a token`,
      );
    }
    // Users often keep the header form around; the wire wants the bare token after our own "Bearer ".
    const value = raw.trim().replace(/^Bearer\s+/i, '');
    registerSecret(value);
    // The token goes into gRPC metadata and an HTTP header: a character they cannot carry would make grpc-js throw
    // (and print the value) deep inside a call. Refused here, naming the getter and the position, never the token.
    const bad = unsafeHeaderChar(value, false);
    if (bad !== undefined) {
      throw new WatchError(
        'TOKEN_UNAVAILABLE',
        `getToken returned a token with a character a request header cannot carry (${bad.code} at position ${bad.index}); a token is visible ASCII without spaces`,
      );
    }
    const expiresAt = readExpiry(value);
    const now = this.options.clock.now();
    if (expiresAt !== undefined && expiresAt <= now) {
      throw new WatchError('TOKEN_EXPIRED', `getToken returned a token that expired ${now - expiresAt} ms ago`);
    }
    if (expiresAt === undefined) {
      this.options.log.warnOnce(
        'token-no-exp',
        `the token's expiry cannot be read (not a JWT with exp); refreshing every ${this.options.fallbackRefreshMs} ms`,
      );
    }
    const token = { value, expiresAt };
    this.held = token;
    return token;
  }

  private schedule(token: HeldToken): void {
    if (this.stopped.signal.aborted) return;
    const { clock, fallbackRefreshMs } = this.options;
    const delay =
      token.expiresAt === undefined
        ? fallbackRefreshMs
        : Math.max(MIN_REFRESH_DELAY_MS, Math.floor(((token.expiresAt - clock.now()) * 4) / 5));
    this.arm(delay);
  }

  private arm(delay: number): void {
    this.timer?.cancel();
    this.timer = this.options.clock.setTimeout(() => void this.refresh(), delay);
  }

  private async refresh(): Promise<void> {
    try {
      await this.fetch(true);
      this.retry.reset();
    } catch (err) {
      if (this.stopped.signal.aborted) return;
      const code = err instanceof WatchError ? err.code : 'TOKEN_UNAVAILABLE';
      const delay = this.retry.next();
      this.options.log.warn(`token refresh failed; retrying in ${delay} ms`, {
        code,
        error: errorMessage(err),
      });
      this.arm(delay);
    }
  }
}

/** The JWT's `exp` in epoch ms, read unverified (docs/wire.md#token-refresh); undefined when absent. */
function readExpiry(token: string): number | undefined {
  try {
    const { exp } = decodeJwt(token);
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
