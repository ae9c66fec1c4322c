import type http from 'node:http';
import { sleep, type Clock } from '../core/clock';
import type { FakeTokenIssuer } from './fake-token-issuer';
import { collectionHolds, readApiPath, type ApiTarget } from './resource-address';
import { projectFields, readFields } from './resource-projection';
import type { FakeResource, ResourceState } from './resource-state';
import { compileRsql, RsqlError, type ResourcePredicate } from './rsql-filter';

/**
 * Ways the fake's resource API misbehaves on purpose (docs/resources.md#hostile-switches), set with
 * `FakeWatchService.setResourceFaults`, which replaces the whole set (`{}` clears it). All off by default.
 */
export interface ResourceFaults {
  /**
   * The next `count` requests are answered `status` with this `Retry-After` header, before anything else (a gateway
   * shedding load), counted in `throttled`.
   */
  retryAfter?: {
    /** The status of a throttled answer. */
    status: 429 | 503;
    /** The `Retry-After` header, verbatim: seconds (`'2'`) or an HTTP date. */
    header: string;
    /** How many requests are throttled, from the `setResourceFaults` call on. @default unlimited */
    count?: number;
  };
  /**
   * Hold every answer this long (on the service's clock) before computing it: the round trip of a service across a
   * network, which a client on the loopback never pays (what fetching ahead saves is waiting). @default 0
   */
  delayMs?: number;
  /** Fail this many next requests with {@link status}, counted in `failuresInjected`. @default 0 */
  failNext?: number;
  /** The status of an injected failure. @default 503 */
  status?: number;
  /**
   * The server clamps a list's `pageSize` to this: page p (1-based) holds items (p-1)·pageCap … p·pageCap-1, so a
   * client that takes a page shorter than it asked for as the last stops early. @default no cap
   */
  pageCap?: number;
  /** Lists and `HEAD` answer without `X-Axway-Total-Count`. @default false */
  omitCount?: boolean;
  /**
   * Runs before a `GET` of one resource is answered, with its self link: publish an `UPDATED` or `DELETED` there to
   * change or delete the resource between its event and the fetch (the answer shows the state after the hook).
   */
  beforeGet?: (selfLink: string) => void;
  /**
   * Runs before each page of a list is computed (`page` 1-based), with the collection's path below `/apis`: publish
   * there to change the list while a client reads it (pages are computed on the state after the hook).
   */
  beforePage?: (page: { collection: string; page: number }) => void;
  /** Answer this many next lists with a JSON object (`{"items":[…]}`) instead of an array. @default 0 */
  notAnArrayNext?: number;
  /**
   * Every page after the first starts with the previous page's last item again (the page keeps its size; its own
   * last item moves to the next page). @default false
   */
  repeatItems?: boolean;
  /** Resources are served without `metadata.selfLink`. @default false */
  withoutSelfLink?: boolean;
  /**
   * A list or `HEAD` of a collection in a scope that does not exist answers 404 (what the real API answers there is
   * not documented: a client must take either). A scope exists when the service holds it (an unscoped resource of
   * its plural and name, in any group: `/management/v1alpha1/environments/env-1`) or any resource in it; the scope
   * name `*` always. Counted in `notFound`. @default false (an empty list, `200 []`)
   */
  unknownScopeNotFound?: boolean;
  /**
   * A scoped list (and its `HEAD` count) ignores its scope: it answers the kind's resources of every scope, each with
   * its own scope and self link (a server that lists what the collection does not hold). @default false
   */
  ignoreScope?: boolean;
}

/** Counters of the fake's resource API. */
export interface ResourceCounters {
  /** Requests under `/apis` received. */
  requests: number;
  /** `GET`s of one resource answered (200 or 404). */
  gets: number;
  /** `GET`s of a collection answered with a page. */
  lists: number;
  /** `HEAD`s of a collection answered. */
  heads: number;
  /** Items in the pages answered. */
  itemsServed: number;
  /** `404` answers: a resource deleted or never there, a missing scope (ResourceFaults.unknownScopeNotFound). */
  notFound: number;
  /** Answers of {@link ResourceFaults.retryAfter}. */
  throttled: number;
  /** Answers of {@link ResourceFaults.failNext}. */
  failuresInjected: number;
  /** `401` answers. */
  unauthorized: number;
}

/** What the resource API reads from its service. */
export interface ResourceApiBackend {
  tenantId: string;
  tokens: FakeTokenIssuer;
  state: ResourceState;
  /** The service's clock: what {@link ResourceFaults.delayMs} waits on. */
  clock: Clock;
}

/** The prefix of the resource API on the service's HTTP port. */
export const API_PATH = '/apis';

const MIN_PAGE_SIZE = 10;
const MAX_PAGE_SIZE = 100;

type Collection = ApiTarget & { target: 'collection' };

interface ListParams {
  /** The `query` and `sort` as given (what a list's pages share). */
  query: string | undefined;
  sortParam: string | undefined;
  page: number;
  pageSize: number;
  predicate: ResourcePredicate | undefined;
  sort: { path: string[]; descending: boolean } | undefined;
  fields: string[] | undefined;
}

/**
 * The resource API (docs/resources.md) over the service's HTTP server, answering from a {@link ResourceState}: `GET`
 * and `HEAD` of one resource by self link, `GET` of a collection (pages, `query`, `sort`, `fields`) and `HEAD` of it
 * (`X-Axway-Total-Count`). Bearer token and tenant are checked as the history API checks them. `embed` is accepted and
 * ignored: the fake's resources embed nothing.
 */
export class FakeResourceApi {
  readonly counters: ResourceCounters = {
    requests: 0,
    gets: 0,
    lists: 0,
    heads: 0,
    itemsServed: 0,
    notFound: 0,
    throttled: 0,
    failuresInjected: 0,
    unauthorized: 0,
  };
  /** `METHOD path?query` of the requests seen, newest last (bounded), for tests that check what a client asked. */
  readonly requests: string[] = [];
  private faults: ResourceFaults = {};
  private throttleLeft = 0;
  private failLeft = 0;
  private notAnArrayLeft = 0;
  private readonly rendered = new WeakMap<FakeResource, string>();
  /** The last list's matches, for the next page of the same list while nothing changed (a 20,000-item sync). */
  private lastMatch: { key: string; generation: number; items: FakeResource[] } | undefined;

  constructor(private readonly backend: ResourceApiBackend) {}

  /** Replaces the faults (checked: a mistyped switch would make a test pass for the wrong reason). */
  setFaults(faults: ResourceFaults): void {
    checkFaults(faults);
    this.faults = { ...faults };
    this.throttleLeft = faults.retryAfter === undefined ? 0 : (faults.retryAfter.count ?? Infinity);
    this.failLeft = faults.failNext ?? 0;
    this.notAnArrayLeft = faults.notAnArrayNext ?? 0;
  }

  /**
   * Answers a request whose path starts with {@link API_PATH}. What a test's hook throws is answered 500 with its
   * message (never an unhandled rejection in the server). `stopped` ends a {@link ResourceFaults.delayMs} wait: the
   * server is closing.
   */
  async handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL, stopped?: AbortSignal): Promise<void> {
    try {
      await this.answer(req, res, url, stopped);
    } catch (err) {
      if (!res.headersSent)
        problem(res, 500, `fake watch service: ${err instanceof Error ? err.message : String(err)}`);
      else res.destroy();
    }
  }

  private async answer(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    stopped: AbortSignal | undefined,
  ): Promise<void> {
    this.counters.requests += 1;
    this.requests.push(`${req.method ?? ''} ${url.pathname}${url.search}`);
    if (this.requests.length > 1000) this.requests.shift();
    const delayMs = this.faults.delayMs ?? 0;
    if (delayMs > 0 && !(await sleep(this.backend.clock, delayMs, stopped))) return;
    if (this.throttle(res)) return;
    if (this.failLeft > 0) {
      this.failLeft -= 1;
      this.counters.failuresInjected += 1;
      return problem(res, this.faults.status ?? 503, 'injected failure');
    }
    const auth = req.headers.authorization;
    const check = await this.backend.tokens.check(auth?.startsWith('Bearer ') === true ? auth.slice(7) : undefined);
    if (!check.ok) {
      this.counters.unauthorized += 1;
      return problem(res, 401, `token ${check.reason}`);
    }
    if (req.headers['x-axway-tenant-id'] !== this.backend.tenantId || check.tenantId !== this.backend.tenantId)
      return problem(res, 403, 'tenant not allowed');
    if (req.method !== 'GET' && req.method !== 'HEAD') return problem(res, 405, `${req.method ?? ''} is not served`);
    const target = readApiPath(url.pathname.slice(API_PATH.length));
    if (target === undefined) return problem(res, 404, `no resource or collection at ${url.pathname}`);
    if (target.target === 'resource') return this.one(req.method === 'HEAD', target.selfLink, url.searchParams, res);
    const scope = target.place.scope;
    if (this.faults.unknownScopeNotFound === true && scope !== undefined && !this.scopeExists(scope)) {
      this.counters.notFound += 1;
      return problem(res, 404, `${scope.plural}/${scope.name} not found`);
    }
    const params = readListParams(url.searchParams);
    if (typeof params === 'string') return problem(res, 400, params);
    const path = url.pathname.slice(API_PATH.length);
    if (req.method === 'HEAD') return this.head(target, path, params, res);
    this.list(target, path, params, res);
  }

  /** See {@link ResourceFaults.unknownScopeNotFound}. */
  private scopeExists(scope: { plural: string; name: string }): boolean {
    if (scope.name === '*') return true;
    for (const { resource, place } of this.backend.state.entries()) {
      const own = place.scope === undefined && place.plural === scope.plural && resource.name === scope.name;
      if (own || (place.scope?.plural === scope.plural && place.scope.name === scope.name)) return true;
    }
    return false;
  }

  private one(head: boolean, selfLink: string, search: URLSearchParams, res: http.ServerResponse): void {
    if (!head) this.faults.beforeGet?.(selfLink);
    const resource = this.backend.state.get(selfLink);
    if (!head) this.counters.gets += 1;
    if (resource === undefined) {
      this.counters.notFound += 1;
      return problem(res, 404, `${selfLink} not found`);
    }
    if (head) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end();
      return;
    }
    send(res, 200, this.render(resource, readFields(search.get('fields'))));
  }

  private head(collection: Collection, path: string, params: ListParams, res: http.ServerResponse): void {
    this.counters.heads += 1;
    const total = this.matchingMemo(collection, path, params).length;
    res.writeHead(200, { 'content-type': 'application/json', ...this.countHeader(total) });
    res.end();
  }

  private list(collection: Collection, path: string, params: ListParams, res: http.ServerResponse): void {
    this.faults.beforePage?.({ collection: path, page: params.page });
    const items = this.matchingMemo(collection, path, params);
    const size = this.faults.pageCap === undefined ? params.pageSize : Math.min(params.pageSize, this.faults.pageCap);
    const start = (params.page - 1) * size;
    const page =
      this.faults.repeatItems === true && start > 0 && start <= items.length
        ? items.slice(start - 1, start - 1 + size)
        : items.slice(start, start + size);
    this.counters.lists += 1;
    this.counters.itemsServed += page.length;
    const body = page.map((r) => this.render(r, params.fields));
    const text =
      this.notAnArrayLeft > 0 && this.notAnArrayLeft-- > 0 ? `{"items":[${body.join(',')}]}` : `[${body.join(',')}]`;
    send(res, 200, text, this.countHeader(items.length));
  }

  private matchingMemo(collection: Collection, path: string, params: ListParams): FakeResource[] {
    const key = `${path}?${params.query ?? ''}&${params.sortParam ?? ''}&${this.faults.ignoreScope === true}`;
    const generation = this.backend.state.generation;
    const last = this.lastMatch;
    if (last !== undefined && last.key === key && last.generation === generation) return last.items;
    const items = this.matching(collection, params);
    this.lastMatch = { key, generation, items };
    return items;
  }

  /** The resources `collection` holds that the query matches, in list order (or the asked sort). */
  private matching(listed: Collection, params: ListParams): FakeResource[] {
    const collection = this.faults.ignoreScope === true ? { ...listed, scoped: false } : listed;
    const out: FakeResource[] = [];
    for (const { resource, place } of this.backend.state.entries())
      if (collectionHolds(collection, place) && (params.predicate === undefined || params.predicate(resource)))
        out.push(resource);
    const sort = params.sort;
    if (sort === undefined) return out;
    const key = (r: FakeResource): string => sortKey(r, sort.path);
    return out.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0) * (sort.descending ? -1 : 1));
  }

  private countHeader(total: number): Record<string, string> {
    return this.faults.omitCount === true ? {} : { 'X-Axway-Total-Count': String(total) };
  }

  private render(resource: FakeResource, fields: string[] | undefined): string {
    const plain = fields === undefined && this.faults.withoutSelfLink !== true;
    if (plain) {
      const cached = this.rendered.get(resource);
      if (cached !== undefined) return cached;
    }
    let shown: Record<string, unknown> = fields === undefined ? resource : projectFields(resource, fields);
    if (this.faults.withoutSelfLink === true && typeof shown['metadata'] === 'object' && shown['metadata'] !== null) {
      const { selfLink: _dropped, ...metadata } = shown['metadata'] as Record<string, unknown>;
      shown = { ...shown, metadata };
    }
    const text = JSON.stringify(shown);
    if (plain) this.rendered.set(resource, text);
    return text;
  }

  private throttle(res: http.ServerResponse): boolean {
    const rule = this.faults.retryAfter;
    if (rule === undefined || this.throttleLeft <= 0) return false;
    this.throttleLeft -= 1;
    this.counters.throttled += 1;
    res.setHeader('Retry-After', rule.header);
    problem(res, rule.status, 'too many requests, retry later');
    return true;
  }
}

function readListParams(search: URLSearchParams): ListParams | string {
  const page = Number(search.get('page') ?? '1');
  const pageSize = Number(search.get('pageSize') ?? String(MAX_PAGE_SIZE));
  if (!Number.isInteger(page) || page < 1) return 'page must be a whole number >= 1';
  if (!Number.isInteger(pageSize) || pageSize < MIN_PAGE_SIZE || pageSize > MAX_PAGE_SIZE)
    return `pageSize must be ${MIN_PAGE_SIZE}..${MAX_PAGE_SIZE}`;
  let predicate: ResourcePredicate | undefined;
  const query = search.get('query');
  try {
    predicate = query === null || query === '' ? undefined : compileRsql(query);
  } catch (err) {
    if (err instanceof RsqlError) return err.message;
    throw err;
  }
  const sortParam = search.get('sort');
  let sort: ListParams['sort'];
  if (sortParam !== null) {
    const match = /^([A-Za-z0-9_.-]+),(ASC|DESC)$/.exec(sortParam);
    if (match === null) return `unsupported sort ${JSON.stringify(sortParam)} (field,ASC or field,DESC)`;
    sort = { path: (match[1] as string).split('.'), descending: match[2] === 'DESC' };
  }
  return {
    query: query ?? undefined,
    sortParam: sortParam ?? undefined,
    page,
    pageSize,
    predicate,
    sort,
    fields: readFields(search.get('fields')),
  };
}

/** A resource's value at `path` as text for sorting ('' when missing or not a scalar). */
function sortKey(resource: FakeResource, path: readonly string[]): string {
  let value: unknown = resource;
  for (const key of path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return '';
    value = (value as Record<string, unknown>)[key];
  }
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : '';
}

const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad request error',
  401: 'Unauthorized error',
  403: 'Forbidden error',
  404: 'Not found error',
  405: 'Method not allowed error',
  429: 'Too many requests error',
};

/** An error answer in the API's form: `{"errors":[{"status","title","detail"}]}`. */
function problem(res: http.ServerResponse, status: number, detail: string): void {
  const title = TITLES[status] ?? (status >= 500 ? 'Server error' : 'Error');
  send(res, status, JSON.stringify({ errors: [{ status, title, detail }] }));
}

function send(res: http.ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function checkFaults(faults: ResourceFaults): void {
  const whole = (field: string, value: number | undefined, min: number): void => {
    if (value !== undefined && !(Number.isInteger(value) && value >= min))
      throw new RangeError(
        `fake watch service: setResourceFaults: ${field} must be a whole number >= ${min}, got ${JSON.stringify(value)}`,
      );
  };
  whole('delayMs', faults.delayMs, 0);
  whole('failNext', faults.failNext, 0);
  whole('pageCap', faults.pageCap, 1);
  whole('notAnArrayNext', faults.notAnArrayNext, 0);
  whole('retryAfter.count', faults.retryAfter?.count, 0);
  if (faults.status !== undefined && !(Number.isInteger(faults.status) && faults.status >= 400 && faults.status <= 599))
    throw new RangeError(`fake watch service: setResourceFaults: status must be 400..599, got ${faults.status}`);
  const rule = faults.retryAfter;
  if (rule !== undefined && ((rule.status !== 429 && rule.status !== 503) || /[\r\n]/.test(rule.header)))
    throw new RangeError(
      'fake watch service: setResourceFaults: retryAfter needs status 429 or 503 and a one-line header',
    );
}
