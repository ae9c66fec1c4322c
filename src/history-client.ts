import { WatchError } from './errors';
import { fromHistoryEvent } from './event-codec';
import type { HttpTransport } from './http-transport';
import type { TokenRefresher } from './token-refresher';
import type { WatchEvent } from './types';

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
}

/** One page of history. */
export interface HistoryPage {
  events: WatchEvent[];
  /** True when the page was shorter than asked: the last one (WIRE.md). */
  last: boolean;
}

/** The answer to a purged position: `410 Gone` with the newest sequence id now (WIRE.md). */
export class HistoryGone extends Error {
  constructor(readonly newestSequenceId: number, readonly after: number) {
    super(`events after ${after} were purged from history; newest is ${newestSequenceId}`);
  }
}

/**
 * The event-history ("harvester") API of WIRE.md: `GET {baseUrl}/events{selfLink}` with the bearer token and
 * tenant headers, `query=sequenceID>N`, `sort`, 1-based `page` and `pageSize`. Connections are kept alive between
 * pages (≈0.5 ms per request saved, FACTS.md). Failures are typed: `HISTORY_UNAVAILABLE` (retryable: 5xx, 429,
 * timeouts, network), `UNAUTHENTICATED`, `PERMISSION_DENIED`, `TOPIC_NOT_FOUND`, `PROTOCOL` (malformed page), and
 * {@link HistoryGone} for 410.
 */
export class HistoryClient {
  constructor(private readonly options: HistoryClientOptions) {}

  /** Events after `after`, ascending, page `page` of `pageSize`. */
  async page(topic: string, after: number, page: number, pageSize: number, signal: AbortSignal): Promise<HistoryPage> {
    const query = new URLSearchParams({ query: `sequenceID>${after}`, sort: 'sequenceID,ASC', page: String(page), pageSize: String(pageSize) });
    const where = `history of ${topic} after ${after}, page ${page}`;
    const events = await this.get(topic, query, where, signal, after);
    return { events, last: events.length < pageSize };
  }

  /** The newest sequence id of `topic` (0 when it has no event), as the reference SDK learns it for `from: latest`. */
  async newest(topic: string, signal: AbortSignal): Promise<number> {
    const query = new URLSearchParams({ sort: 'sequenceID,DESC', page: '1', pageSize: '1' });
    const events = await this.get(topic, query, `newest event of ${topic}`, signal, 0);
    return events[0]?.sequenceId ?? 0;
  }

  /** Closes the connections (see {@link HttpTransport.close}). */
  close(): Promise<void> {
    return this.options.transport.close();
  }

  private async get(topic: string, query: URLSearchParams, where: string, signal: AbortSignal, after: number): Promise<WatchEvent[]> {
    let { token } = await this.options.tokens.current();
    for (let attempt = 0; ; attempt++) {
      const res = await this.request(topic, query, token, where, signal);
      if (res.status === 200) return decodePage(res.body, topic, where);
      if (res.status === 401 && attempt === 0) {
        // The token may have expired between our check and the server's: one more try with a fresh one.
        token = (await this.options.tokens.current(true)).token;
        continue;
      }
      throw statusError(res, topic, where, after);
    }
  }

  private async request(topic: string, query: URLSearchParams, token: string, where: string, signal: AbortSignal): Promise<{ status: number; body: string; header: string | undefined }> {
    const { baseUrl, tenantId, timeoutMs, userAgent, transport } = this.options;
    const url = new URL(`${baseUrl.pathname.replace(/\/$/, '')}/events${topic}?${query.toString()}`, baseUrl);
    const reply = await transport.request(url, {
      method: 'GET',
      headers: { Authorization: `Bearer ${token}`, 'X-Axway-Tenant-Id': tenantId, 'Content-Type': 'application/json', Accept: 'application/json', 'User-Agent': userAgent },
      timeoutMs,
      signal,
      where,
      unavailable: 'HISTORY_UNAVAILABLE',
    });
    const header = reply.headers['x-axway-max-sequence-id'];
    return { status: reply.status, body: reply.body, header: Array.isArray(header) ? header[0] : header };
  }
}

function statusError(res: { status: number; header: string | undefined }, topic: string, where: string, after: number): Error {
  switch (res.status) {
    case 410: {
      const newest = Number(res.header);
      if (res.header === undefined || !Number.isSafeInteger(newest) || newest < 0) {
        return new WatchError('PROTOCOL', `${where}: 410 Gone without a usable X-Axway-Max-Sequence-Id header`);
      }
      return new HistoryGone(newest, after);
    }
    case 401:
      return new WatchError('UNAUTHENTICATED', `${where}: the history API refused the token (401)`);
    case 403:
      return new WatchError('PERMISSION_DENIED', `${where}: permission denied (403)`);
    case 404:
      return new WatchError('TOPIC_NOT_FOUND', `${where}: no history for ${topic} (404)`);
    default:
      if (res.status === 429 || res.status >= 500) return new WatchError('HISTORY_UNAVAILABLE', `${where}: HTTP ${res.status}`);
      return new WatchError('PROTOCOL', `${where}: unexpected HTTP ${res.status}`);
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
