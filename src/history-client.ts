import http from 'node:http';
import https from 'node:https';
import type { Clock } from './clock';
import { WatchError } from './errors';
import { fromHistoryEvent } from './event-codec';
import { HttpsProxyAgent } from 'https-proxy-agent';
import type { ResolvedTls } from './options';
import type { ProxyEndpoint } from './proxy';
import { proxyRefusal, proxyUnreachable } from './proxy-probe';
import type { TokenRefresher } from './token-refresher';
import type { WatchEvent } from './types';

/** Options of {@link HistoryClient}. */
export interface HistoryClientOptions {
  /** `{scheme}://{host}[:{port}]`; requests go to `{baseUrl}/events{selfLink}`. */
  baseUrl: URL;
  tenantId: string;
  tokens: TokenRefresher;
  /** The channel's TLS settings, applied to https requests; false for plaintext. */
  tls: ResolvedTls | false;
  /** The proxy to tunnel through, or undefined to go direct. */
  proxy: ProxyEndpoint | undefined;
  /** Connect here instead of the URL's host (whose name is kept for SNI, certificates and `Host`). */
  entryHost: string | undefined;
  /** Deadline of one request, headers and body. */
  timeoutMs: number;
  userAgent: string;
  clock: Clock;
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
  private readonly agent: http.Agent;
  private readonly proxy: ProxyEndpoint | undefined;
  private readonly connectOptions: https.RequestOptions;

  constructor(private readonly options: HistoryClientOptions) {
    const { baseUrl, tls } = options;
    const secure = baseUrl.protocol === 'https:';
    this.proxy = options.proxy;
    const pool = { keepAlive: true, maxSockets: 8 };
    // Through a proxy every request is a CONNECT tunnel (https-proxy-agent), for http URLs too: a proxy then never
    // sees the token, and a refusal is always the proxy's own answer to CONNECT (told apart below).
    this.agent = this.proxy !== undefined ? new HttpsProxyAgent(this.proxy.url(), pool) : secure ? new https.Agent(pool) : new http.Agent(pool);
    // The origin's TLS settings go in each request, not in the agent: https-proxy-agent reads them there (FACTS.md).
    const connect: https.RequestOptions = {};
    if (secure && tls !== false) {
      Object.assign(connect, { ca: tls.ca, cert: tls.cert, key: tls.key, minVersion: tls.minVersion });
      connect.servername = tls.servername ?? baseUrl.hostname.replace(/^\[|\]$/g, '');
    }
    if (options.entryHost !== undefined) connect.hostname = options.entryHost;
    this.connectOptions = connect;
  }

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

  /**
   * Destroys every connection, idle or busy, and resolves once their sockets are closed, so that a manager's
   * `close()` leaves no handle behind.
   */
  async close(): Promise<void> {
    const sockets = [...Object.values(this.agent.sockets), ...Object.values(this.agent.freeSockets)].flat().filter((x) => x !== undefined);
    const closed = sockets.map((socket) => (socket.closed ? Promise.resolve() : new Promise<void>((resolve) => socket.once('close', () => resolve()))));
    this.agent.destroy();
    await Promise.all(closed);
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

  private request(topic: string, query: URLSearchParams, token: string, where: string, signal: AbortSignal): Promise<{ status: number; body: string; header: string | undefined }> {
    const { baseUrl, tenantId, timeoutMs, userAgent, clock } = this.options;
    const url = new URL(`${baseUrl.pathname.replace(/\/$/, '')}/events${topic}?${query.toString()}`, baseUrl);
    const lib = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (outcome: { ok: true; status: number; body: string; header: string | undefined } | { ok: false; err: Error }): void => {
        if (settled) return;
        settled = true;
        deadline.cancel();
        if (outcome.ok) {
          resolve({ status: outcome.status, body: outcome.body, header: outcome.header });
          return;
        }
        req.destroy();
        const err = outcome.err;
        if (signal.aborted) reject(new WatchError('CLOSED', `${where}: cancelled`));
        else if (err instanceof WatchError) reject(err);
        // Through a proxy, every connection is to the proxy: failing to make one is the proxy's unreachability.
        else if (this.proxy !== undefined && proxyAnswer === undefined && isConnectFailure(err)) reject(proxyUnreachable(this.proxy, err));
        else reject(new WatchError('HISTORY_UNAVAILABLE', `${where}: ${(err as { code?: string }).code ?? err.message}`, { cause: err }));
      };
      let proxyAnswer: number | undefined;
      const req = lib.request(url, {
        ...this.connectOptions,
        method: 'GET',
        agent: this.agent,
        signal,
        headers: {
          Host: url.host,
          Authorization: `Bearer ${token}`,
          'X-Axway-Tenant-Id': tenantId,
          'Content-Type': 'application/json',
          Accept: 'application/json',
          'User-Agent': userAgent,
        },
      });
      // One deadline for headers and body, settling the page itself: a server that trickles a page, or a
      // connection that dies in a way Node reports only on the response, must not hold the catch-up forever.
      const deadline = clock.setTimeout(() => settle({ ok: false, err: Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }) }), timeoutMs);
      req.on('error', (err) => settle({ ok: false, err }));
      // https-proxy-agent replays a refused CONNECT's answer as if the origin had sent it (FACTS.md): its
      // 'proxyConnect' event is what tells a proxy's 401/403/407 from the history server's.
      req.once('proxyConnect', (answer: { statusCode: number }) => (proxyAnswer = answer.statusCode));
      req.on('response', (res) => {
        if (proxyAnswer !== undefined && this.proxy !== undefined) {
          const refusal = proxyRefusal(this.proxy, proxyAnswer, `${url.hostname}:${url.port || (url.protocol === 'https:' ? 443 : 80)}`);
          if (refusal !== undefined) {
            res.resume();
            settle({ ok: false, err: refusal.code === 'CONNECTION_LOST' ? new WatchError('HISTORY_UNAVAILABLE', `${where}: ${refusal.message}`) : refusal });
            return;
          }
        }
        let body = '';
        let ended = false;
        res.setEncoding('utf8'); // decoded per chunk, without a joined copy of the page
        res.on('data', (chunk: string) => (body += chunk));
        res.on('error', (err) => settle({ ok: false, err }));
        res.on('aborted', () => settle({ ok: false, err: Object.assign(new Error('connection closed mid-page'), { code: 'ECONNRESET' }) }));
        res.on('end', () => {
          ended = true;
          const header = res.headers['x-axway-max-sequence-id'];
          settle({ ok: true, status: res.statusCode ?? 0, body, header: Array.isArray(header) ? header[0] : header });
        });
        res.on('close', () => {
          if (!ended) settle({ ok: false, err: Object.assign(new Error('connection closed mid-page'), { code: 'ECONNRESET' }) });
        });
      });
      req.end();
    });
  }
}

// Errors of dialling a socket; with a proxy, only the proxy is ever dialled.
const CONNECT_FAILURES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

function isConnectFailure(err: Error): boolean {
  return CONNECT_FAILURES.has((err as { code?: string }).code ?? '');
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
