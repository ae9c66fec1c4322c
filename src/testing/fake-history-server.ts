import http from 'node:http';
import type https from 'node:https';
import type { AddressInfo } from 'node:net';
import { sleep, type Clock } from '../core/clock';
import type { FakeTokenIssuer } from './fake-token-issuer';
import { TOKEN_PATH, type FakeTokenEndpoint } from './fake-token-endpoint';
import type { PurgedReading, TopicLog } from './topic-log';
import type { WatchEvent } from '../core/types';
import { cappedPageSize, goneHeader, hasUnknownType, shuffledPage, type HostileBehaviour } from './hostile';
import { toHistoryJson } from './wire-render';
import { API_PATH, type FakeResourceApi } from './fake-resource-api';

/** Faults the history server injects, for resilience tests. */
export interface HistoryFaults {
  /** Fail this many next requests. @default 0 */
  failNext?: number;
  /** Fail each request with this probability (drawn from the service's seeded random). @default 0 */
  failRate?: number;
  /** The status of an injected failure. @default 503 */
  status?: number;
  /** Delay every answer by this long. @default 0 */
  delayMs?: number;
  /** Answer with a body that is not JSON (a malformed page) this many times. @default 0 */
  malformedNext?: number;
  /** Send half a page, then drop the connection, this many times. @default 0 */
  cutNext?: number;
}

/** Counters of the history server. */
export interface HistoryCounters {
  /** Requests received (the token endpoint's not counted). */
  requests: number;
  /** Pages answered with 200. */
  pagesServed: number;
  /** Events in those pages. */
  eventsServed: number;
  /** Failures injected by {@link HistoryFaults}. */
  failuresInjected: number;
  /** `410 Gone` answers (purged positions and hostile `gone`). */
  gone: number;
  /** Requests answered with a `Retry-After` header (hostile `retryAfter`), not counted in `failuresInjected`. */
  throttled: number;
  /** `401` answers. */
  unauthorized: number;
}

/** What the history server reads from its service. */
export interface HistoryBackend {
  tenantId: string;
  tokens: FakeTokenIssuer;
  topic(selfLink: string): TopicLog | undefined;
  clock: Clock;
  random: () => number;
  /** Serves the token endpoint's path, when the service has one. */
  tokenEndpoint?: FakeTokenEndpoint;
  /** Serves the resource API under `/apis`, when the service has one. */
  resourceApi?: FakeResourceApi;
  /** How "purged" is read for a `410 Gone` (see {@link PurgedReading}). */
  purgedReading: () => PurgedReading;
}

const MAX_PAGE_SIZE = 1000;

/**
 * The event-history ("harvester") API (docs/wire.md#history-api) over real HTTP: `GET /events{selfLink}` with
 * `query=sequenceID>N`, `sort=sequenceID,ASC|DESC`, `page`, `pageSize`; `410 Gone` with `X-Axway-Max-Sequence-Id`
 * for a purged position (as the service's {@link PurgedReading} says) or one above the topic's newest id (a topic
 * recreated since); 401/403 for a bad token or tenant.
 */
export class FakeHistoryServer {
  private readonly server: http.Server | https.Server;
  private faults: Required<HistoryFaults> = {
    failNext: 0,
    failRate: 0,
    status: 503,
    delayMs: 0,
    malformedNext: 0,
    cutNext: 0,
  };
  readonly counters: HistoryCounters = {
    requests: 0,
    pagesServed: 0,
    eventsServed: 0,
    failuresInjected: 0,
    gone: 0,
    throttled: 0,
    unauthorized: 0,
  };
  /** The query strings seen, newest last (bounded), for tests that check what a client asked. */
  readonly queries: string[] = [];
  private readonly stopped = new AbortController();
  private readonly cache = new WeakMap<WatchEvent, string>();
  private hostile: HostileBehaviour = {};
  private throttleLeft = 0;

  /** `server`: an https server for TLS tests; a plain http one by default. */
  constructor(
    private readonly backend: HistoryBackend,
    server?: http.Server | https.Server,
  ) {
    this.server = server ?? http.createServer();
    this.server.on('request', (req, res) => void this.handle(req, res));
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    return (this.server.address() as AddressInfo).port;
  }

  /** Replaces the injected faults (fields left out are reset to none). */
  setFaults(faults: HistoryFaults): void {
    this.faults = { failNext: 0, failRate: 0, status: 503, delayMs: 0, malformedNext: 0, cutNext: 0, ...faults };
  }

  /** Replaces the hostile behaviour (checked by the service); `retryAfter.count` counts from now. */
  setHostile(behaviour: HostileBehaviour): void {
    this.hostile = behaviour;
    this.throttleLeft = behaviour.retryAfter?.count ?? Infinity;
  }

  async close(): Promise<void> {
    this.stopped.abort();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    // The token endpoint shares the port but not the history API's faults or counters.
    if (url.pathname === TOKEN_PATH && this.backend.tokenEndpoint !== undefined)
      return this.backend.tokenEndpoint.handle(req, res, this.stopped.signal);
    // So does the resource API, with faults and counters of its own.
    if (
      (url.pathname === API_PATH || url.pathname.startsWith(`${API_PATH}/`)) &&
      this.backend.resourceApi !== undefined
    )
      return this.backend.resourceApi.handle(req, res, url, this.stopped.signal);
    this.counters.requests += 1;
    this.queries.push(url.search);
    if (this.queries.length > 1000) this.queries.shift();
    if (this.faults.delayMs > 0) await sleep(this.backend.clock, this.faults.delayMs, this.stopped.signal);
    if (this.stopped.signal.aborted) return;
    if (this.throttle(res)) return;
    if (this.injectFailure()) return reply(res, this.faults.status, { error: 'injected failure' });
    if (req.method !== 'GET' || !url.pathname.startsWith('/events/')) return reply(res, 404, { error: 'not found' });

    const auth = req.headers.authorization;
    const check = await this.backend.tokens.check(auth?.startsWith('Bearer ') === true ? auth.slice(7) : undefined);
    if (!check.ok) {
      this.counters.unauthorized += 1;
      return reply(res, 401, { error: `token ${check.reason}` });
    }
    if (req.headers['x-axway-tenant-id'] !== this.backend.tenantId || check.tenantId !== this.backend.tenantId) {
      return reply(res, 403, { error: 'tenant not allowed' });
    }
    const topic = this.backend.topic(url.pathname.slice('/events'.length));
    if (topic === undefined) return reply(res, 404, { error: 'watch topic not found' });

    const params = parseParams(url.searchParams);
    if (typeof params === 'string') return reply(res, 400, { error: params });
    if (params.after !== undefined && this.hostile.gone !== undefined)
      return this.gone(res, params.after, goneHeader(this.hostile.gone, params.after));
    if (params.after !== undefined && topic.isGone(params.after, this.backend.purgedReading()))
      return this.gone(res, params.after, String(topic.newestSequenceId));
    const events = this.page(topic, params);
    if (this.faults.malformedNext > 0) {
      this.faults.malformedNext -= 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('[{"id": "truncated');
      return;
    }
    if (this.faults.cutNext > 0) {
      this.faults.cutNext -= 1;
      const text = `[${events.map((e) => this.rendered(e)).join(',')}]`;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.write(text.slice(0, Math.floor(text.length / 2)), () => res.socket?.destroy());
      return;
    }
    this.counters.pagesServed += 1;
    this.counters.eventsServed += events.length;
    replyJson(res, 200, `[${events.map((e) => this.rendered(e)).join(',')}]`);
  }

  /**
   * The events of the page `params` asks for, as the hostile `pageCap`, `pageLimit` and `pageOrder` make the server
   * answer.
   */
  private page(topic: TopicLog, params: PageParams): WatchEvent[] {
    const pageSize = cappedPageSize(this.hostile, params.pageSize);
    if (params.descending) return topic.newest(params.page * pageSize).slice((params.page - 1) * pageSize);
    const order = this.hostile.pageOrder ?? 'asc';
    if (order === 'desc') return topic.afterNewestFirst(params.after ?? 0, params.page, pageSize);
    const limited = topic.after(params.after ?? 0, params.page, pageSize);
    // pageLimit: offsets by the size asked, answers truncated to the limit (the events in between are on no page).
    const events = this.hostile.pageLimit === undefined ? limited : limited.slice(0, this.hostile.pageLimit);
    return order === 'shuffle' ? shuffledPage(events, this.backend.random) : events;
  }

  /** `410 Gone` for a resume after `after`; `maxSequenceId` undefined leaves the header out. */
  private gone(res: http.ServerResponse, after: number, maxSequenceId: string | undefined): void {
    this.counters.gone += 1;
    if (maxSequenceId !== undefined) res.setHeader('X-Axway-Max-Sequence-Id', maxSequenceId);
    reply(res, 410, { error: `events after ${after} were purged` });
  }

  /**
   * Hostile `retryAfter`: answers `status` with `Retry-After` while the count lasts. First of all checks, as a
   * gateway in front of the service sheds load before the service (or its injected faults) sees the request.
   */
  private throttle(res: http.ServerResponse): boolean {
    const rule = this.hostile.retryAfter;
    if (rule === undefined || this.throttleLeft <= 0) return false;
    this.throttleLeft -= 1;
    this.counters.throttled += 1;
    res.setHeader('Retry-After', rule.header);
    reply(res, rule.status, { error: 'too many requests, retry later' });
    return true;
  }

  /** An event's JSON, rendered once: a page costs the server a join, so a benchmark measures the client. */
  private rendered(event: WatchEvent): string {
    // Hostile `unknownTypeEvery` renders some events differently: those bypass the cache, which holds the faithful
    // form.
    if (hasUnknownType(this.hostile, event.sequenceId)) return JSON.stringify(toHistoryJson(event, true));
    let text = this.cache.get(event);
    if (text === undefined) {
      text = JSON.stringify(toHistoryJson(event));
      this.cache.set(event, text);
    }
    return text;
  }

  private injectFailure(): boolean {
    if (this.faults.failNext > 0) {
      this.faults.failNext -= 1;
    } else if (!(this.faults.failRate > 0 && this.backend.random() < this.faults.failRate)) {
      return false;
    }
    this.counters.failuresInjected += 1;
    return true;
  }
}

interface PageParams {
  after: number | undefined;
  descending: boolean;
  page: number;
  pageSize: number;
}

function parseParams(search: URLSearchParams): PageParams | string {
  const query = search.get('query');
  let after: number | undefined;
  if (query !== null) {
    const match = /^sequenceID>(\d+)$/.exec(query);
    if (match === null) return `unsupported query ${JSON.stringify(query)}`;
    after = Number(match[1]);
  }
  const sort = search.get('sort') ?? 'sequenceID,ASC';
  if (sort !== 'sequenceID,ASC' && sort !== 'sequenceID,DESC') return `unsupported sort ${JSON.stringify(sort)}`;
  const page = Number(search.get('page') ?? '1');
  const pageSize = Number(search.get('pageSize') ?? '100');
  if (!Number.isInteger(page) || page < 1) return 'page must be a whole number >= 1';
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE)
    return `pageSize must be 1..${MAX_PAGE_SIZE}`;
  return { after, descending: sort.endsWith('DESC'), page, pageSize };
}

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  replyJson(res, status, JSON.stringify(body));
}

function replyJson(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
