import { WatchError, codeOfHttpStatus } from '../core/errors';
import { fromHistoryEvent } from '../transport/event-codec';
import type { Clock } from '../core/clock';
import { retryAfterMs, type HttpTransport } from '../transport/http-transport';
import type { TokenRefresher } from '../auth/token-refresher';
import type { WatchEvent } from '../core/types';
import { HistoryGone, type HistoryPage, type HistoryQuery, type HistorySource } from './history-source';

/** Options of {@link HistoryClient}. */
export interface HistoryClientOptions {
  /** `{scheme}://{host}[:{port}]`; requests go to `{baseUrl}/events{selfLink}`. */
  baseUrl: URL;
  tenantId: string;
  tokens: TokenRefresher;
  /** Carries the requests (TLS, proxy, entry address). */
  transport: HttpTransport;
  /** Deadline of one request, headers and body. */
  timeoutMs: number;
  userAgent: string;
  /** Reads `Retry-After` dates against it. */
  clock: Clock;
}

/**
 * The {@link HistorySource} of the event-history ("harvester") API (docs/wire.md#history-api):
 * `GET {baseUrl}/events{selfLink}` with the bearer token and tenant headers, `query=sequenceID>N`, `sort`, 1-based
 * `page` and `pageSize`. Connections are kept alive between pages (≈0.5 ms per request saved,
 * docs/facts.md#kept-alive-history-requests). Failures are typed: `HISTORY_UNAVAILABLE` (retryable: 5xx, 429,
 * timeouts, network), `UNAUTHENTICATED`, `PERMISSION_DENIED`, `TOPIC_NOT_FOUND`, `PROTOCOL` (malformed page), and
 * {@link HistoryGone} for 410.
 */
export class HistoryClient implements HistorySource {
  constructor(private readonly options: HistoryClientOptions) {}

  /**
   * Events after `after`, ascending, page `page` of `pageSize`. A page that breaks the query (an event not above
   * `after`, or not in strictly ascending order: a server that ignored `sort=sequenceID,ASC`) is refused as a
   * retryable `PROTOCOL` error naming the page: delivering part of it would move the position past events that were
   * never handed over.
   */
  async page(topic: string, { after, page, pageSize }: HistoryQuery, signal: AbortSignal): Promise<HistoryPage> {
    const query = new URLSearchParams({
      query: `sequenceID>${after}`,
      sort: 'sequenceID,ASC',
      page: String(page),
      pageSize: String(pageSize),
    });
    const where = `history of ${topic} after ${after}, page ${page}`;
    const events = await this.get(topic, query, where, signal, after);
    let previous = after;
    for (const event of events) {
      if (event.sequenceId <= previous) {
        const problem =
          previous === after && event === events[0]
            ? `holds sequence id ${event.sequenceId}, not above the ${after} asked for`
            : `is not in ascending sequence order (${event.sequenceId} after ${previous})`;
        throw new WatchError(
          'PROTOCOL',
          `${where}: the page ${problem}; the server did not honour query=sequenceID>${after}&sort=sequenceID,ASC`,
          { retryable: true },
        );
      }
      previous = event.sequenceId;
    }
    return { events };
  }

  /**
   * The newest sequence id of `topic` (0 when it has no event), as the reference SDK learns it for `from: latest`.
   * The highest id of the answer, so that a server that ignores `sort` or `pageSize` cannot make it older.
   */
  async newest(topic: string, signal: AbortSignal): Promise<number> {
    const query = new URLSearchParams({ sort: 'sequenceID,DESC', page: '1', pageSize: '1' });
    const where = `newest event of ${topic}`;
    let events: WatchEvent[];
    try {
      events = await this.get(topic, query, where, signal, 0);
    } catch (err) {
      // 410 answers a purged position; this query has none. A server saying it anyway is not followed
      // (docs/wire.md#410-gone).
      if (!(err instanceof HistoryGone)) throw err;
      throw new WatchError('PROTOCOL', `${where}: 410 Gone for a query without a position`, { retryable: true });
    }
    return events.reduce((max, e) => Math.max(max, e.sequenceId), 0);
  }

  /** Closes the connections (see {@link HttpTransport.close}). */
  close(): Promise<void> {
    return this.options.transport.close();
  }

  private async get(
    topic: string,
    query: URLSearchParams,
    where: string,
    signal: AbortSignal,
    after: number,
  ): Promise<WatchEvent[]> {
    const url = this.url(topic, query);
    // Failures name the URL they tried (a wrong historyUrl shows at once); without the query, which `where` says in
    // words, and never with credentials (the URL has none: historyUrl refuses them, the proxy's are not in it).
    const tried = `${where} (GET ${url.protocol}//${url.host}${url.pathname})`;
    let { token } = await this.options.tokens.current();
    for (let attempt = 0; ; attempt++) {
      const res = await this.request(url, token, tried, signal);
      if (res.status === 200) return decodePage(res.body, topic, where);
      if (attempt === 0 && codeOfHttpStatus('history', res.status) === 'UNAUTHENTICATED') {
        // The token may have expired between our check and the server's: one more try with a fresh one.
        token = (await this.options.tokens.current(true)).token;
        continue;
      }
      throw statusError(res, topic, tried, after, this.options.clock.now());
    }
  }

  /** `{baseUrl}/events{selfLink}?{query}`. */
  private url(topic: string, query: URLSearchParams): URL {
    const { baseUrl } = this.options;
    // Each segment encoded: the self link was checked (no dot segments), and encoding keeps it one path under /events.
    const path = topic.split('/').map(encodeURIComponent).join('/');
    return new URL(`${baseUrl.pathname.replace(/\/$/, '')}/events${path}?${query.toString()}`, baseUrl);
  }

  private async request(
    url: URL,
    token: string,
    where: string,
    signal: AbortSignal,
  ): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
    const { tenantId, timeoutMs, userAgent, transport } = this.options;
    const reply = await transport.request(url, {
      method: 'GET',
      headers: {
        Authorization: `Bearer ${token}`,
        'X-Axway-Tenant-Id': tenantId,
        'Content-Type': 'application/json',
        Accept: 'application/json',
        'User-Agent': userAgent,
      },
      timeoutMs,
      signal,
      where,
      unavailable: 'HISTORY_UNAVAILABLE',
    });
    return { status: reply.status, body: reply.body, headers: reply.headers };
  }
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function statusError(
  res: { status: number; headers: Record<string, string | string[] | undefined> },
  topic: string,
  where: string,
  after: number,
  now: number,
): WatchError {
  const code = codeOfHttpStatus('history', res.status);
  switch (code) {
    case 'HISTORY_GONE': {
      // The newest id must be a whole number: anything else (missing, garbled, negative) cannot be acted on, and a
      // retryable PROTOCOL error is retried with backoff (a gateway may have mangled the answer). Any whole number is
      // taken, also one not above the position: equal to it is a quiet topic whose last event aged out (nothing
      // missed), below it a topic whose sequence restarted; the catch-up tells the two apart (catch-up.ts).
      const value = header(res.headers, 'x-axway-max-sequence-id');
      const newest = value !== undefined && /^\d{1,16}$/.test(value.trim()) ? Number(value.trim()) : NaN;
      if (!Number.isSafeInteger(newest)) {
        const got = value === undefined ? 'none' : JSON.stringify(value.slice(0, 40));
        return new WatchError(
          'PROTOCOL',
          `${where}: 410 Gone with an X-Axway-Max-Sequence-Id that cannot be resumed from (${got}; it must be a whole sequence id)`,
          { retryable: true },
        );
      }
      return new HistoryGone(newest, after);
    }
    case 'UNAUTHENTICATED':
      return new WatchError(code, `${where}: the history API refused the token (${res.status})`);
    case 'PERMISSION_DENIED':
      return new WatchError(code, `${where}: permission denied (${res.status})`);
    case 'TOPIC_NOT_FOUND':
      return new WatchError(code, `${where}: no history for ${topic} (${res.status})`);
    case 'HISTORY_UNAVAILABLE': {
      const wait = retryAfterMs(header(res.headers, 'retry-after'), now);
      const asked = wait === undefined ? '' : `; the server asked to wait ${wait} ms`;
      return new WatchError(
        code,
        `${where}: HTTP ${res.status}${asked}`,
        wait === undefined ? {} : { retryAfterMs: wait },
      );
    }
    default:
      return new WatchError(code, `${where}: unexpected HTTP ${res.status}`);
  }
}

function decodePage(body: string, topic: string, where: string): WatchEvent[] {
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch {
    throw new WatchError('PROTOCOL', `${where}: the page is not valid JSON`);
  }
  if (!Array.isArray(data)) throw new WatchError('PROTOCOL', `${where}: the page is not a JSON array`);
  return data.map((item, i) => fromHistoryEvent(item, topic, `${where}, item ${i}`));
}
