import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { WatchManager, WatchError, type Logger, type Resource, type WatchManagerOptions } from 'watch-manager';
import { FakeClock, type FakeWatchService } from 'watch-manager/testing';
import {
  captured,
  captureLogger,
  recordError,
  scanForSecrets,
  secret,
  serviceOptions,
  startService,
  token,
} from './support/harness';
import { startTinyproxy } from './support/tinyproxy';
import { HttpTransport } from '../src/transport/http-transport';
import { systemClock } from '../src/core/clock';

scanForSecrets();

// The resource client (manager.resources) against a resource API of this file's own, over real HTTP: pages, HEAD
// counts, and what a hostile or broken service answers. Backoff waits run on a FakeClock.

const TOKEN = secret('resource-token-5309');
const FRESH_TOKEN = secret('resource-token-fresh-7741');
const TENANT = 'tenant-r';
const COLLECTION = '/management/v1alpha1/environments/env-1/apiservices';

function resource(i: number): Resource {
  return {
    group: 'management',
    apiVersion: 'v1alpha1',
    kind: 'APIService',
    name: `svc-${i}`,
    metadata: {
      id: `id-${i}`,
      selfLink: `${COLLECTION}/svc-${i}`,
      scope: { id: 'env-id', kind: 'Environment', name: 'env-1', selfLink: '/management/v1alpha1/environments/env-1' },
      resourceVersion: String(i),
      references: [],
      audit: { createTimestamp: '2026-01-01T00:00:00.000+0000' },
    },
    attributes: {},
    spec: { n: i },
    'x-agent-details': { seen: true },
  };
}

interface Seen {
  /** The clock's time when the request arrived. */
  at: number;
  method: string;
  path: string;
  params: URLSearchParams;
  headers: http.IncomingHttpHeaders;
}

type Answer = (req: Seen, res: http.ServerResponse) => boolean | void;

/**
 * The resource API: the collection's items paged by `page`/`pageSize`, `HEAD` with `X-Axway-Total-Count`, one
 * resource by self link (404 when absent). `hostile` answers before it when it returns true.
 */
class ResourceApi {
  items: Resource[] = [];
  count: (() => string | undefined) | undefined;
  hostile: Answer | undefined;
  /** The clock requests are timed by (a test's FakeClock). */
  clock: { now(): number } = Date;
  readonly seen: Seen[] = [];
  private readonly waiting: Array<{ n: number; resolve: () => void }> = [];
  readonly server = http.createServer((req, res) => this.answer(req, res));

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  reset(items: Resource[]): void {
    this.items = items;
    this.count = undefined;
    this.hostile = undefined;
    this.clock = Date;
    this.seen.length = 0;
  }

  /** Resolves once `n` requests arrived in all. */
  requests(n: number): Promise<void> {
    if (this.seen.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push({ n, resolve }));
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const seen: Seen = {
      at: this.clock.now(),
      method: req.method ?? '',
      path: url.pathname,
      params: url.searchParams,
      headers: req.headers,
    };
    this.seen.push(seen);
    for (const w of this.waiting.filter((w) => this.seen.length >= w.n)) {
      this.waiting.splice(this.waiting.indexOf(w), 1);
      w.resolve();
    }
    if (this.hostile?.(seen, res) === true) return;
    const link = url.pathname.replace(/^\/apis/, '');
    if (link === COLLECTION) {
      if (req.method === 'HEAD') {
        const total = this.count === undefined ? String(this.items.length) : this.count();
        res.writeHead(200, total === undefined ? {} : { 'X-Axway-Total-Count': total });
        res.end();
        return;
      }
      const page = Number(url.searchParams.get('page') ?? 1);
      const size = Number(url.searchParams.get('pageSize') ?? 100);
      json(res, 200, this.items.slice((page - 1) * size, page * size));
      return;
    }
    const found = this.items.find((r) => r.metadata.selfLink === link);
    if (found === undefined) json(res, 404, { errors: [{ status: 404, title: 'Not found error', detail: link }] });
    else json(res, 200, found);
  }
}

function json(res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** Answers every request with `status`. */
function always(status: number, headers: http.OutgoingHttpHeaders = {}): Answer {
  return (_req, res) => {
    json(res, status, {}, headers);
    return true;
  };
}

async function rejection(promise: Promise<unknown>): Promise<WatchError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof WatchError, `not a WatchError: ${String(err)}`);
    return recordError(err);
  }
  assert.fail('expected a rejection');
}

const pages = (api: ResourceApi, method = 'GET'): number[] =>
  api.seen.filter((s) => s.method === method && s.params.has('page')).map((s) => Number(s.params.get('page')));

describe('manager.resources (the resource client) over real HTTP', () => {
  const api = new ResourceApi();
  let address = '';
  let managers: WatchManager[] = [];

  function manager(options: Partial<WatchManagerOptions> = {}): WatchManager {
    const m = new WatchManager({
      target: address,
      tenantId: TENANT,
      getToken: () => TOKEN,
      tls: false,
      logger: captureLogger(),
      ...options,
    });
    managers.push(m);
    return m;
  }

  before(async () => {
    address = await api.start();
  });
  after(async () => {
    api.server.closeAllConnections();
    await new Promise((resolve) => api.server.close(resolve));
  });
  beforeEach(() => api.reset(Array.from({ length: 7 }, (_, i) => resource(i))));
  afterEach(async () => {
    await Promise.all(managers.map((m) => m.close()));
    managers = [];
  });

  it('gets a resource at {target}/apis{selfLink} with the token, tenant, user agent and JSON headers', async () => {
    const got = await manager().resources.get(`${COLLECTION}/svc-3`);
    assert.deepEqual(got, resource(3));
    const [req] = api.seen;
    assert.equal(req?.path, `/apis${COLLECTION}/svc-3`);
    assert.equal(req?.headers.authorization, `Bearer ${TOKEN}`);
    assert.equal(req?.headers['x-axway-tenant-id'], TENANT);
    assert.match(req?.headers['user-agent'] ?? '', /^watch-manager\//);
    assert.equal(req?.headers.accept, 'application/json');
  });

  it('asks for fields (the meta keys added) and embed', async () => {
    await manager().resources.get(`${COLLECTION}/svc-1`, { fields: ['x-agent-details'], embed: ['scope'] });
    const params = api.seen[0]?.params;
    assert.equal(params?.get('fields'), 'group,apiVersion,kind,name,metadata,x-agent-details');
    assert.equal(params?.get('embed'), 'scope');
  });

  it('answers undefined for a 404 (a resource that is gone), after one request, no retry', async () => {
    assert.equal(await manager().resources.get(`${COLLECTION}/gone`), undefined);
    assert.equal(api.seen.length, 1);
  });

  it('apiUrl overrides the base (a path of its own)', async () => {
    api.hostile = (req, res) => {
      if (!req.path.startsWith('/gateway/apis/')) return false;
      json(res, 200, resource(2));
      return true;
    };
    const got = await manager({
      target: 'elsewhere.invalid:443',
      apiUrl: `http://${address}/gateway/apis`,
    }).resources.get(`${COLLECTION}/svc-2`);
    assert.equal(got?.name, 'svc-2');
    assert.equal(api.seen[0]?.path, `/gateway/apis${COLLECTION}/svc-2`);
  });

  it('lists a short first page with one request', async () => {
    const items = await manager().resources.list(COLLECTION, { pageSize: 10 });
    assert.deepEqual(items, api.items);
    assert.deepEqual(pages(api), [1]);
    assert.equal(api.seen.filter((s) => s.method === 'HEAD').length, 0);
  });

  it('a full first page: HEAD for the count, then pages 2..N at most `concurrency` at once', async () => {
    api.reset(Array.from({ length: 95 }, (_, i) => resource(i)));
    let open = 0;
    let most = 0;
    api.hostile = (req, res) => {
      if (req.method !== 'GET' || req.params.get('page') === '1') return false;
      open++;
      most = Math.max(most, open);
      // Held a moment so that the reads overlap, then answered from the collection.
      setTimeout(() => {
        open--;
        const page = Number(req.params.get('page'));
        json(res, 200, api.items.slice((page - 1) * 10, page * 10));
      }, 20);
      return true;
    };
    const items = await manager().resources.list(COLLECTION, { pageSize: 10, concurrency: 4 });
    assert.deepEqual(items, api.items);
    assert.equal(api.seen[1]?.method, 'HEAD');
    assert.equal(api.seen[1]?.params.size, 0, 'the HEAD carries no query');
    assert.deepEqual(
      pages(api).sort((a, b) => a - b),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
    assert.equal(most, 4);
  });

  it('a count that is a multiple of the page size: the last counted page full, one more page confirms the end', async () => {
    api.reset(Array.from({ length: 20 }, (_, i) => resource(i)));
    const items = await manager().resources.list(COLLECTION, { pageSize: 10 });
    assert.deepEqual(items, api.items);
    assert.deepEqual(
      pages(api).sort((a, b) => a - b),
      [1, 2, 3],
    );
  });

  for (const [name, count] of [
    ['missing', () => undefined],
    ['unreadable', () => 'lots'],
  ] as const) {
    it(`a ${name} count header: page by page until a short page`, async () => {
      api.reset(Array.from({ length: 25 }, (_, i) => resource(i)));
      api.count = count;
      const items = await manager().resources.list(COLLECTION, { pageSize: 10 });
      assert.deepEqual(items, api.items);
      assert.deepEqual(pages(api), [1, 2, 3]);
    });
  }

  for (const [name, count] of [
    ['high', '60'],
    ['absurdly high', '999999999999'],
  ] as const) {
    it(`a count that lies ${name} (empty pages where it promised items): read again page by page, the right list`, async () => {
      api.reset(Array.from({ length: 25 }, (_, i) => resource(i)));
      api.count = () => count;
      // A page far past the end is refused (a broken page fails the list at once): only a client that asks for a page
      // per promised item gets there.
      api.hostile = (req, res) => {
        if (Number(req.params.get('page')) <= 50) return false;
        json(res, 200, { far: true });
        return true;
      };
      const items = await manager().resources.list(COLLECTION, { pageSize: 10 });
      assert.deepEqual(items, api.items);
      const read = pages(api);
      assert.deepEqual(read.slice(-3), [1, 2, 3], 'the second read went page by page');
      // The first read stops taking pages at the first short one: a few in flight, not one per promised page.
      assert.ok(read.length <= 1 + 3 + 3 + 3, `${read.length} pages read`);
    });
  }

  it('a count that lies low: the pages after it are read until a short page', async () => {
    api.reset(Array.from({ length: 45 }, (_, i) => resource(i)));
    api.count = () => '12';
    const items = await manager().resources.list(COLLECTION, { pageSize: 10 });
    assert.deepEqual(items, api.items);
    assert.deepEqual(pages(api), [1, 2, 3, 4, 5]);
  });

  it('a list with a query is read page by page (the count would be the collection’s) and carries the query', async () => {
    api.reset(Array.from({ length: 15 }, (_, i) => resource(i)));
    const items = await manager().resources.list(COLLECTION, {
      pageSize: 10,
      query: 'name=="svc-*"',
      fields: ['spec'],
    });
    assert.deepEqual(items, api.items);
    assert.equal(api.seen.filter((s) => s.method === 'HEAD').length, 0);
    assert.equal(api.seen[0]?.params.get('query'), 'name=="svc-*"');
    assert.equal(api.seen[0]?.params.get('fields'), 'group,apiVersion,kind,name,metadata,spec');
  });

  it('a service that ignores `page` (every page repeats the first): a retryable PROTOCOL error, never a wrong list', async () => {
    api.reset(Array.from({ length: 25 }, (_, i) => resource(i)));
    api.count = () => undefined;
    api.hostile = (req, res) => {
      if (req.method !== 'GET') return false;
      json(res, 200, api.items.slice(0, 10));
      return true;
    };
    const err = await rejection(manager().resources.list(COLLECTION, { pageSize: 10 }));
    assert.equal(err.code, 'PROTOCOL');
    assert.equal(err.retryable, true);
    assert.match(err.message, /page 2 repeats \/management\/v1alpha1\/environments\/env-1\/apiservices\/svc-0/);
    assert.deepEqual(pages(api), [1, 2, 1, 2, 1, 2], 'three reads, each stopped at the first repeat');
  });

  it('an item that moved to the next page while the list was read (a repeat once): read again, the right list', async () => {
    api.reset(Array.from({ length: 25 }, (_, i) => resource(i)));
    let shifted = false;
    api.hostile = (req, res) => {
      if (req.method !== 'GET' || req.params.get('page') !== '2' || shifted) return false;
      shifted = true;
      json(res, 200, api.items.slice(9, 19)); // a resource created on page 1 pushed svc-9 onto page 2
      return true;
    };
    const items = await manager().resources.list(COLLECTION, { pageSize: 10 });
    assert.deepEqual(items, api.items);
  });

  it('a list holding a resource of another collection (another scope, kind or name): re-read, then a retryable PROTOCOL error', async () => {
    const elsewhere = (r: Resource, selfLink: string): Resource => ({ ...r, metadata: { ...r.metadata, selfLink } });
    const strays: Array<[string, Resource]> = [
      ['another scope', elsewhere(resource(3), '/management/v1alpha1/environments/env-2/apiservices/svc-3')],
      ['another collection', elsewhere(resource(3), '/management/v1alpha1/environments/env-1/secrets/svc-3')],
      ['another name', elsewhere(resource(3), `${COLLECTION}/svc-9`)],
      ['the collection itself', elsewhere(resource(3), COLLECTION)],
    ];
    for (const [name, stray] of strays) {
      api.reset(Array.from({ length: 7 }, (_, i) => (i === 3 ? stray : resource(i))));
      const err = await rejection(manager().resources.list(COLLECTION));
      assert.equal(err.code, 'PROTOCOL', name);
      assert.equal(err.retryable, true, name);
      assert.ok(err.message.includes(`page 1 holds ${stray.metadata.selfLink}, not a resource of ${COLLECTION}`), name);
      assert.deepEqual(pages(api), [1, 1, 1], `${name}: three reads`);
    }
  });

  it('a list across scopes holds the resources of every scope at their own scope; one at another scope than it names is PROTOCOL', async () => {
    const ACROSS = '/management/v1alpha1/apiservices';
    const inScope = (i: number, env: string, linkEnv = env): Resource => {
      const r = resource(i);
      const selfLink = `/management/v1alpha1/environments/${linkEnv}/apiservices/svc-${i}`;
      return { ...r, metadata: { ...r.metadata, selfLink, scope: { ...r.metadata.scope!, name: env } } };
    };
    const unscoped: Resource = { ...resource(9), metadata: { ...resource(9).metadata, selfLink: `${ACROSS}/svc-9` } };
    delete unscoped.metadata.scope;
    let items = [inScope(1, 'env-1'), inScope(2, 'env-2'), unscoped];
    api.hostile = (req, res) => {
      if (req.method !== 'GET' || req.path !== `/apis${ACROSS}`) return false;
      json(res, 200, items);
      return true;
    };
    assert.deepEqual(await manager().resources.list(ACROSS), items);
    items = [inScope(1, 'env-1'), inScope(2, 'env-2', 'env-1')];
    const err = await rejection(manager().resources.list(ACROSS));
    assert.equal(err.code, 'PROTOCOL');
    assert.match(
      err.message,
      /page 1 holds \/management\/v1alpha1\/environments\/env-1\/apiservices\/svc-2, not a resource of/,
    );
  });

  const broken: Array<[string, unknown, RegExp]> = [
    ['an object instead of an array', { items: [] }, /not a JSON array/],
    ['an array of strings', ['x'], /item 0: not a JSON object/],
    ['a resource without a self link', [{ ...resource(1), metadata: { id: 'x' } }], /without metadata.selfLink/],
    ['a resource without an id', [{ ...resource(1), metadata: { selfLink: '/a/b/c/d' } }], /has no metadata.id/],
    ['a resource without a kind', [{ ...resource(1), kind: 3 }], /has no kind/],
  ];
  for (const [name, body, message] of broken) {
    it(`a page holding ${name}: PROTOCOL`, async () => {
      api.hostile = (req, res) => {
        if (req.method !== 'GET') return false;
        json(res, 200, body);
        return true;
      };
      const err = await rejection(manager().resources.list(COLLECTION));
      assert.equal(err.code, 'PROTOCOL');
      assert.match(err.message, message);
    });
  }

  it('a page that is not JSON, and a get answered with another resource: PROTOCOL', async () => {
    api.hostile = (req, res) => {
      res.writeHead(200);
      res.end(req.params.has('page') ? '[{"group": ' : JSON.stringify(resource(5)));
      return true;
    };
    const m = manager();
    assert.match((await rejection(m.resources.list(COLLECTION))).message, /not valid JSON/);
    const other = await rejection(m.resources.get(`${COLLECTION}/svc-1`));
    assert.equal(other.code, 'PROTOCOL');
    assert.match(other.message, /another resource/);
  });

  it('count() is the HEAD count; missing is PROTOCOL; an unknown collection is RESOURCE_NOT_FOUND', async () => {
    const m = manager();
    assert.equal(await m.resources.count(COLLECTION), 7);
    api.count = () => undefined;
    assert.equal((await rejection(m.resources.count(COLLECTION))).code, 'PROTOCOL');
    const missing = await rejection(m.resources.list('/management/v1alpha1/environments/nope/apiservices'));
    assert.equal(missing.code, 'RESOURCE_NOT_FOUND');
    assert.equal(missing.retryable, false);
  });

  it('401: once more with a fresh token; refused again, UNAUTHENTICATED; 403 PERMISSION_DENIED; no token in errors', async () => {
    let calls = 0;
    const m = manager({ getToken: () => (++calls === 1 ? TOKEN : FRESH_TOKEN) });
    api.hostile = (req, res) => {
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return false;
      json(res, 401, {});
      return true;
    };
    assert.equal((await m.resources.get(`${COLLECTION}/svc-1`))?.name, 'svc-1');
    assert.deepEqual(
      api.seen.map((s) => s.headers.authorization),
      [`Bearer ${TOKEN}`, `Bearer ${FRESH_TOKEN}`],
    );
    api.hostile = always(401);
    const refused = await rejection(m.resources.get(`${COLLECTION}/svc-1`));
    assert.equal(refused.code, 'UNAUTHENTICATED');
    assert.doesNotMatch(`${refused.message} ${String(refused.cause)}`, /resource-token/);
    api.hostile = always(403);
    assert.equal((await rejection(m.resources.get(`${COLLECTION}/svc-1`))).code, 'PERMISSION_DENIED');
  });

  it('429 with Retry-After: the next try waits exactly that long (FakeClock), then succeeds', async () => {
    const clock = new FakeClock();
    const m = manager({ clock });
    let first = true;
    api.hostile = (_req, res) => {
      if (!first) return false;
      first = false;
      json(res, 429, {}, { 'retry-after': '7' });
      return true;
    };
    const got = m.resources.get(`${COLLECTION}/svc-4`);
    await api.requests(1);
    await until(() => clock.nextDueAt() === clock.now() + 7_000);
    await clock.advance(6_999);
    assert.equal(api.seen.length, 1, 'no second try before the Retry-After');
    await clock.advance(1);
    assert.equal((await got)?.name, 'svc-4');
    assert.equal(api.seen.length, 2);
  });

  it('5xx then success: retried with backoff on the clock', async () => {
    const clock = new FakeClock();
    const m = manager({ clock, reconnect: { initialDelayMs: 1_000, maxDelayMs: 1_000 } });
    let failures = 2;
    api.hostile = (_req, res) => {
      if (failures === 0) return false;
      failures--;
      json(res, 503, {});
      return true;
    };
    const got = m.resources.list(COLLECTION);
    for (let n = 1; n <= 2; n++) {
      await api.requests(n);
      await until(() => clock.nextDueAt() !== undefined && clock.nextDueAt()! <= clock.now() + 1_000);
      await clock.advance(1_000);
    }
    assert.deepEqual(await got, api.items);
    assert.equal(api.seen.length, 3);
  });

  it('a 429 with Retry-After on one page quiets the whole list: no other page starts before it is over', async () => {
    const clock = new FakeClock();
    api.reset(Array.from({ length: 60 }, (_, i) => resource(i)));
    api.clock = clock;
    const m = manager({ clock });
    await m.resources.count(COLLECTION); // the token fetched, its refresh timer armed: the baseline of timers
    const baseline = clock.pending;
    const start = clock.now();
    let refused = false;
    let slowAnswered = 0;
    api.hostile = (req, res) => {
      const page = Number(req.params.get('page'));
      if (page === 2 && !refused) {
        refused = true;
        json(res, 429, {}, { 'retry-after': '5' });
        return true;
      }
      if (page !== 3 && page !== 4) return false;
      // Pages 3 and 4 were sent with page 2; answered after its 429, they free two workers for pages 5 and 6.
      setTimeout(() => {
        slowAnswered++;
        json(res, 200, api.items.slice((page - 1) * 10, page * 10));
      }, 30);
      return true;
    };
    const got = m.resources.list(COLLECTION, { pageSize: 10 });
    const later = (): number[] => pages(api).filter((p) => p > 4);
    // Steady: the 429's own wait and the two freed workers' waits armed (or, without a shared quiet, pages 5+ sent).
    let steady = 0;
    await until(() => {
      steady = slowAnswered === 2 && clock.pending === baseline + 3 ? steady + 1 : 0;
      return steady >= 3 || later().length > 0;
    });
    assert.deepEqual(later(), [], 'no page started during the quiet');
    await clock.advance(5_000);
    assert.deepEqual(await got, api.items);
    const early = api.seen.filter((r) => Number(r.params.get('page')) > 4 && r.at < start + 5_000);
    assert.deepEqual(early, []);
  });

  it('a service that stays unavailable: RESOURCE_UNAVAILABLE (retryable) once the minute of retries is over', async () => {
    const clock = new FakeClock();
    const m = manager({ clock });
    // Retry-After 10 s is longer than any backoff delay: every wait is exactly 10 s, so the minute allows 7 requests.
    api.hostile = always(500, { 'retry-after': '10' });
    const got = rejection(m.resources.get(`${COLLECTION}/svc-1`));
    let settled = false;
    void got.finally(() => (settled = true));
    for (let n = 1; !settled; n++) {
      await until(() => settled || (api.seen.length >= n && clock.nextDueAt() === clock.now() + 10_000));
      if (!settled) await clock.advance(10_000);
    }
    const err = await got;
    assert.equal(err.code, 'RESOURCE_UNAVAILABLE');
    assert.equal(err.retryable, true);
    assert.equal(err.retryAfterMs, 10_000);
    assert.match(err.message, /HTTP 500; the server asked to wait 10000 ms \(gave up after 7 attempts\)/);
    assert.equal(api.seen.length, 7);
  });

  it('the first retryable failure is told at once (warn: the URL, the cause, the apiUrl option), not per attempt', async () => {
    const clock = new FakeClock();
    const warnings: string[] = [];
    const m = manager({
      clock,
      reconnect: { initialDelayMs: 1_000, maxDelayMs: 1_000 },
      logger: warnLogger(warnings),
    });
    // The token's own warning (not a JWT) aside.
    const told = (): string[] => warnings.filter((w) => w.includes('resource API'));
    // Retry-After 1 s is longer than any backoff delay here: each wait is exactly 1 s.
    api.hostile = always(503, { 'retry-after': '1' });
    const start = clock.now();
    const listed = rejection(m.resources.list(COLLECTION, { query: 'name=="svc-1"' }));
    // Waiting for its second try: the warning is out already, no time has passed.
    await api.requests(1);
    await until(() => clock.nextDueAt() === clock.now() + 1_000);
    assert.equal(clock.now(), start);
    assert.equal(told().length, 1, warnings.join('\n'));
    const [warning] = told();
    assert.match(warning ?? '', new RegExp(`^the resource API at http://${address}/apis failed: `));
    assert.match(warning ?? '', new RegExp(`GET http://${address}/apis${COLLECTION}\\): HTTP 503`));
    assert.match(warning ?? '', /retrying for up to 60 s.*set the apiUrl option if the resource API is elsewhere/);
    assert.doesNotMatch(warning ?? '', /svc-1|query|resource-token/, 'no query, no token');
    // Its second attempt, and another call failing meanwhile: told once.
    const waits = clock.pending;
    await clock.advance(1_000);
    await api.requests(2);
    await until(() => clock.pending === waits && clock.nextDueAt() === clock.now() + 1_000);
    const got = rejection(m.resources.get(`${COLLECTION}/svc-2`));
    await api.requests(3);
    await until(() => clock.pending === waits + 1);
    assert.equal(told().length, 1, warnings.join('\n'));
    await m.close();
    assert.equal((await listed).code, 'CLOSED');
    assert.equal((await got).code, 'CLOSED');
  });

  it('an address that does not answer HTTP/1.1 (a gRPC port given as apiUrl) says so, and which option to set', async () => {
    // An HTTP/2 frame header where an HTTP/1.1 status line belongs: what a gRPC port answers.
    const notHttp = net.createServer((socket) => {
      socket.on('error', () => undefined);
      socket.end(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]));
    });
    await new Promise<void>((resolve) => notHttp.listen(0, '127.0.0.1', resolve));
    try {
      // One request of the HTTP stack the resource client and the history client share (their retries aside).
      const transport = new HttpTransport({ secure: false, tls: false, proxy: undefined, clock: systemClock });
      const port = (notHttp.address() as AddressInfo).port;
      const err = recordError(
        await transport
          .request(new URL(`http://127.0.0.1:${port}/apis${COLLECTION}/svc-1`), {
            method: 'GET',
            headers: {},
            timeoutMs: 30_000,
            where: 'resource',
            unavailable: 'RESOURCE_UNAVAILABLE',
          })
          .then(
            () => undefined,
            (e: unknown) => e,
          ),
      );
      assert.ok(err instanceof WatchError);
      assert.equal(err.code, 'RESOURCE_UNAVAILABLE');
      assert.match(
        err.message,
        /^resource: HPE_\w+: the address does not answer HTTP\/1\.1 \(a gRPC port\? set historyUrl \/ apiUrl/,
      );
    } finally {
      notHttp.close();
    }
  });

  it('a Retry-After longer than the call retries: RESOURCE_UNAVAILABLE at once, with retryAfterMs for the caller', async () => {
    const clock = new FakeClock();
    api.hostile = always(503, { 'retry-after': '120' });
    const err = await rejection(manager({ clock }).resources.get(`${COLLECTION}/svc-1`));
    assert.equal(err.code, 'RESOURCE_UNAVAILABLE');
    assert.equal(err.retryAfterMs, 120_000);
    assert.equal(api.seen.length, 1);
  });

  it('a HEAD the service does not serve (405): the list goes on page by page', async () => {
    api.reset(Array.from({ length: 25 }, (_, i) => resource(i)));
    api.hostile = (req, res) => {
      if (req.method !== 'HEAD') return false;
      res.writeHead(405);
      res.end();
      return true;
    };
    const items = await manager().resources.list(COLLECTION, { pageSize: 10 });
    assert.deepEqual(items, api.items);
    assert.deepEqual(pages(api), [1, 2, 3]);
  });

  it('close() ends a call waiting for its retry with CLOSED; the getter then throws CLOSED', async () => {
    const clock = new FakeClock();
    const m = manager({ clock });
    api.hostile = always(503, { 'retry-after': '30' });
    const got = rejection(m.resources.get(`${COLLECTION}/svc-1`));
    await api.requests(1);
    await until(() => clock.nextDueAt() === clock.now() + 30_000);
    await m.close();
    assert.equal((await got).code, 'CLOSED');
    assert.throws(() => m.resources, { code: 'CLOSED' });
  });

  it('a signal cancels a list reading pages in parallel: CLOSED', async () => {
    api.reset(Array.from({ length: 50 }, (_, i) => resource(i)));
    const abort = new AbortController();
    api.hostile = (req) => {
      // Pages after the first never answer: only the signal ends the call.
      if (req.method === 'GET' && req.params.get('page') !== '1') {
        abort.abort();
        return true;
      }
      return false;
    };
    const err = await rejection(manager().resources.list(COLLECTION, { pageSize: 10, signal: abort.signal }));
    assert.equal(err.code, 'CLOSED');
  });

  const badArguments: Array<[string, (m: WatchManager) => Promise<unknown>, RegExp]> = [
    ['a relative self link', (m) => m.resources.get('management/v1alpha1/x/y'), /'selfLink'/],
    ['a dot segment', (m) => m.resources.get('/management/v1alpha1/../watchtopics/x'), /'selfLink'/],
    ['a query in the self link', (m) => m.resources.get(`${COLLECTION}/a?x=1`), /'selfLink'/],
    ['a collection for get', (m) => m.resources.get(COLLECTION.split('/').slice(0, 3).join('/')), /'selfLink'/],
    ['an encoded slash', (m) => m.resources.list('/management/v1alpha1/a%2Fb'), /'collection'/],
    ['empty fields', (m) => m.resources.get(`${COLLECTION}/a`, { fields: [] }), /'fields'/],
    ['a field with a comma', (m) => m.resources.get(`${COLLECTION}/a`, { fields: ['spec,status'] }), /'fields\[0\]'/],
    ['a query with a line break', (m) => m.resources.list(COLLECTION, { query: 'a\nb' }), /'query'/],
    ['pageSize 101', (m) => m.resources.list(COLLECTION, { pageSize: 101 }), /'pageSize'/],
    ['pageSize 9 (the API answers 400 below 10)', (m) => m.resources.list(COLLECTION, { pageSize: 9 }), /'pageSize'/],
    ['concurrency 11', (m) => m.resources.list(COLLECTION, { concurrency: 11 }), /'concurrency'/],
    ['an unknown option', (m) => m.resources.list(COLLECTION, { size: 3 } as never), /'size'/],
  ];
  for (const [name, call, field] of badArguments) {
    it(`refuses ${name} before any request: INVALID_CONFIG`, async () => {
      const err = await rejection(call(manager()));
      assert.equal(err.code, 'INVALID_CONFIG');
      assert.match(err.message, field);
      assert.equal(api.seen.length, 0);
    });
  }

  it("a 4xx's message carries the API's own explanation, made safe; a body not in the API's form leaves it as it was", async () => {
    const m = manager();
    let body = '';
    api.hostile = (_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(body);
      return true;
    };
    const tried = `(GET http://${address}/apis${COLLECTION})`;
    // Server text: line breaks, an escape sequence, a bidi override and the echoed token go; the rest is cut.
    const detail = `bad query\r\n\u001b[2J\u202eat token ${TOKEN} of ${TENANT}: ${'x'.repeat(400)}`;
    body = JSON.stringify({ errors: [{ status: 400, title: 'Bad request error', detail }, { title: 'second' }] });
    const cut = await rejection(m.resources.list(COLLECTION));
    assert.equal(cut.code, 'PROTOCOL');
    const says = /; the API says: (.*)$/.exec(cut.message)?.[1] ?? '';
    assert.match(says, /^Bad request error: bad query \[2J at token \[token\] of tenant-r: x+…$/);
    assert.equal([...says].length, 201, '200 characters and the ellipsis');
    assert.doesNotMatch(cut.message, /resource-token|[\p{Cc}\p{Cf}]/u);
    assert.ok(cut.message.includes(tried), cut.message);

    // Not the API's form: the message as before, nothing of the body.
    for (const other of ['<html>Bad Request</html>', '{"errors":[]}', '{"errors":[{"detail":42}]}', '', '[1]']) {
      body = other;
      const plain = await rejection(m.resources.list(COLLECTION));
      assert.equal(plain.code, 'PROTOCOL');
      assert.match(plain.message, /: unexpected HTTP 400$/, other);
    }
  });

  it('through tinyproxy (a CONNECT tunnel: the proxy never sees the token)', async () => {
    const port = Number(address.split(':')[1]);
    const proxy = await startTinyproxy({ allowPorts: [port] });
    try {
      const items = await manager({ proxy: proxy.url() }).resources.list(COLLECTION);
      assert.deepEqual(items, api.items);
      assert.deepEqual(proxy.connects(), [address]);
    } finally {
      await proxy.stop();
    }
  });
});

/** A logger that keeps its warnings (each message with its fields), and hands every line to the secret scan. */
function warnLogger(warnings: string[]): Logger {
  const keep = (message: string, fields?: Record<string, unknown>): void =>
    void captured.push(`${message} ${JSON.stringify(fields ?? {})}`);
  return {
    error: keep,
    warn: (message, fields) => {
      keep(message, fields);
      warnings.push(message);
    },
    info: keep,
    debug: keep,
  };
}

/** Waits (real time, a few ms per turn) until `check` holds: for a wait armed on the FakeClock by I/O. */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; !check(); i++) {
    assert.ok(i < 2_000, 'timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("manager.resources against the fake service: a request the API refuses, in the API's words", () => {
  let service: FakeWatchService;
  let m: WatchManager;

  before(async () => {
    service = await startService();
    m = new WatchManager({
      ...serviceOptions(service, await token(service)),
      apiUrl: service.resourceApiUrl,
      logger: captureLogger(),
    });
  });
  after(async () => {
    await m.close();
    await service.stop();
  });

  it("a query outside the RSQL the API knows: PROTOCOL, with the 400 answer's title and detail", async () => {
    const err = await rejection(m.resources.list(COLLECTION, { query: 'name~"svc"' }));
    assert.equal(err.code, 'PROTOCOL');
    assert.match(err.message, /: unexpected HTTP 400; the API says: Bad request error: unsupported query term .*svc/);
  });
});
