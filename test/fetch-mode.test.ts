import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WatchManager, type WatchError, type WatchEvent, type WatchManagerOptions } from 'watch-manager';
import { FakeClock, type FakeWatchService } from 'watch-manager/testing';
import { fetchForEvent } from '../src/resources/event-fetch';
import { TOPIC, captureLogger, recordError, scanForSecrets, startService, token, until } from './support/harness';

scanForSecrets();

// Fetch mode (registerWatch(…, { fetch })) and handlers per kind, against the fake service's resource API over real
// HTTP. Where a test must hold or count requests in flight, the manager's apiUrl points at a forwarding server of
// this file's own (HeldApi) in front of the fake.

const ENV = { kind: 'Environment', name: 'env-1' };
const link = (name: string, plural = 'apiservices'): string =>
  `/management/v1alpha1/environments/env-1/${plural}/${name}`;

/**
 * The fake's resource API behind a forwarding server that can hold requests: counts those in flight (the most at
 * once), and answers each only once `hold` resolves for it.
 */
class HeldApi {
  inFlight = 0;
  most = 0;
  readonly paths: string[] = [];
  hold: (path: string) => Promise<void> = () => Promise.resolve();
  private readonly server = http.createServer((req, res) => void this.forward(req, res));

  constructor(private readonly origin: string) {}

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/apis`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async forward(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = req.url ?? '/';
    this.paths.push(path);
    this.inFlight += 1;
    this.most = Math.max(this.most, this.inFlight);
    try {
      await this.hold(path);
      const answer = await fetch(`${this.origin}${path}`, {
        method: req.method ?? 'GET',
        headers: {
          authorization: req.headers.authorization ?? '',
          'x-axway-tenant-id': String(req.headers['x-axway-tenant-id'] ?? ''),
        },
      });
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      const retryAfter = answer.headers.get('retry-after');
      if (retryAfter !== null) headers['retry-after'] = retryAfter;
      res.writeHead(answer.status, headers);
      res.end(await answer.text());
    } catch {
      res.destroy();
    } finally {
      this.inFlight -= 1;
    }
  }
}

describe('fetch mode and handlers per kind', () => {
  let service: FakeWatchService;
  let jwt: string;
  const managers: WatchManager[] = [];
  const apis: HeldApi[] = [];

  const manager = (extra: Partial<WatchManagerOptions> = {}): WatchManager => {
    const m = new WatchManager({
      target: service.target,
      tenantId: service.tenantId,
      historyUrl: service.historyUrl,
      apiUrl: service.resourceApiUrl,
      getToken: () => jwt,
      tls: false,
      logger: captureLogger(),
      from: 'beginning',
      ...extra,
    });
    managers.push(m);
    return m;
  };
  const held = async (): Promise<{ api: HeldApi; url: string }> => {
    const api = new HeldApi(new URL(service.resourceApiUrl).origin);
    apis.push(api);
    return { api, url: await api.start() };
  };
  const create = (name: string, extra: Parameters<FakeWatchService['publish']>[1] = {}): WatchEvent =>
    service.publish(TOPIC, { type: 'CREATED', kind: 'APIService', name, scope: ENV, ...extra });
  const gets = (): string[] => service.resourceRequests.filter((r) => r.startsWith('GET '));

  before(async () => {
    service = await startService();
    jwt = await token(service);
  });
  after(async () => {
    await service.stop();
  });
  beforeEach(() => {
    service.recreateTopic(TOPIC);
    service.setResourceFaults({});
  });
  afterEach(async () => {
    await Promise.all(managers.splice(0).map((m) => m.close()));
    await Promise.all(apis.splice(0).map((a) => a.stop()));
  });

  it('hands each event with its resource as fetched after it; DELETED is never fetched; the intake event is not touched', async () => {
    const published = [
      create('svc-a', { spec: { endpoint: 'https://a.example' }, subresources: { 'x-agent-details': { n: 1 } } }),
      service.publish(TOPIC, { type: 'UPDATED', kind: 'APIService', name: 'svc-a', scope: ENV, spec: { v: 2 } }),
      create('svc-b', { spec: { endpoint: 'https://b.example' } }),
      service.publish(TOPIC, { type: 'DELETED', kind: 'APIService', name: 'svc-b', scope: ENV }),
    ];
    const got: WatchEvent[] = [];
    const m = manager();
    const before = service.resourceCounters.gets;
    await m.registerWatch(TOPIC, { onEvent: (e) => void got.push(e) }, { fetch: true });
    await until('every event', () => got.length === 4);
    assert.deepEqual(
      got.map((e) => e.sequenceId),
      published.map((e) => e.sequenceId),
    );
    // Fetched after all four were published: each fetch sees the resource as it is now.
    assert.deepEqual(got[0]?.resource?.spec, { v: 2 });
    assert.deepEqual(got[0]?.resource?.['x-agent-details'], { n: 1 });
    assert.equal(got[0]?.gone, false);
    assert.equal(got[1]?.resource?.metadata.selfLink, link('svc-a'));
    // svc-b was deleted before the watch fetched its CREATED: delivered as gone, never dropped.
    assert.equal(got[2]?.resource, undefined);
    assert.equal(got[2]?.gone, true);
    assert.equal(got[3]?.type, 'DELETED');
    assert.equal(got[3]?.resource, undefined);
    assert.equal(got[3]?.gone, false);
    assert.equal(service.resourceCounters.gets - before, 3, 'one GET per event but DELETED');
    assert.ok('resource' in (got[3] as object), 'a new object with resource and gone, also for DELETED');
    assert.equal(m.metrics().watches[0]?.delivered, 4);
    assert.equal(m.metrics().watches[0]?.fetched, 3, 'DELETED fetches nothing');
    assert.equal(m.metrics().watches[0]?.fetchedGone, 1);
  });

  it('a resource deleted between its event and the fetch is delivered as gone; one changed meanwhile as it is now', async () => {
    const m = manager();
    const got: WatchEvent[] = [];
    await m.registerWatch(TOPIC, { onEvent: (e) => void got.push(e) }, { fetch: { concurrency: 1 } });
    let deleted = false;
    let updated = false;
    service.setResourceFaults({
      beforeGet: (selfLink) => {
        if (selfLink === link('svc-x') && !deleted) {
          deleted = true;
          service.publish(TOPIC, { type: 'DELETED', kind: 'APIService', name: 'svc-x', scope: ENV });
        }
        if (selfLink === link('svc-y') && !updated) {
          updated = true;
          service.publish(TOPIC, { type: 'UPDATED', kind: 'APIService', name: 'svc-y', scope: ENV, spec: { late: 1 } });
        }
      },
    });
    create('svc-x');
    create('svc-y', { spec: { early: 1 } });
    await until('four events', () => got.length === 4);
    assert.deepEqual(
      got.map((e) => [e.type, e.payload.name, e.gone]),
      [
        ['CREATED', 'svc-x', true],
        ['CREATED', 'svc-y', false],
        ['DELETED', 'svc-x', false],
        ['UPDATED', 'svc-y', false],
      ],
    );
    assert.deepEqual(got[1]?.resource?.spec, { late: 1 }, 'the resource as the API served it at the fetch');
    assert.equal(got[0]?.resource, undefined);
  });

  it('handlers per kind: the kind handler then onEvent in one attempt; shouldHandle; events nobody takes are filtered and never fetched', async () => {
    const calls: string[] = [];
    let failOnce = true;
    const m = manager();
    await m.registerWatch(
      TOPIC,
      {
        kinds: {
          APIService: { onEvent: (e) => void calls.push(`api:${e.sequenceId}`) },
          AccessRequest: {
            onEvent: (e) => void calls.push(`ar:${e.sequenceId}`),
            shouldHandle: (e) => e.type !== 'DELETED',
          },
        },
        onEvent: (e) => {
          calls.push(`all:${e.sequenceId}`);
          if (e.payload.kind === 'Secret' && failOnce) {
            failOnce = false;
            throw new Error('once');
          }
        },
      },
      { fetch: false },
    );
    const a = create('svc-1');
    const b = service.publish(TOPIC, { type: 'CREATED', kind: 'AccessRequest', name: 'ar-1', scope: ENV });
    const c = service.publish(TOPIC, { type: 'DELETED', kind: 'AccessRequest', name: 'ar-1', scope: ENV });
    const d = service.publish(TOPIC, { type: 'CREATED', kind: 'Secret', name: 'sec-1', scope: ENV });
    await until('all handled', () => m.status().watches[0]?.acknowledgedSequenceId === d.sequenceId);
    assert.deepEqual(calls, [
      `api:${a.sequenceId}`,
      `all:${a.sequenceId}`,
      `ar:${b.sequenceId}`,
      `all:${b.sequenceId}`,
      `all:${c.sequenceId}`,
      `all:${d.sequenceId}`,
      `all:${d.sequenceId}`,
    ]);

    // Without an every-kind onEvent: what no kind handler takes is acknowledged untouched (filtered), not fetched.
    await m.close();
    service.recreateTopic(TOPIC);
    const only: WatchEvent[] = [];
    const m2 = manager();
    await m2.registerWatch(
      TOPIC,
      {
        kinds: {
          AccessRequest: { onEvent: (e) => void only.push(e), shouldHandle: (e) => e.type !== 'DELETED' },
        },
      },
      { fetch: true },
    );
    create('svc-2');
    const ar = service.publish(TOPIC, { type: 'CREATED', kind: 'AccessRequest', name: 'ar-2', scope: ENV });
    const gone = service.publish(TOPIC, { type: 'DELETED', kind: 'AccessRequest', name: 'ar-2', scope: ENV });
    await until('acknowledged', () => m2.status().watches[0]?.acknowledgedSequenceId === gone.sequenceId);
    assert.deepEqual(
      only.map((e) => e.sequenceId),
      [ar.sequenceId],
    );
    assert.equal(m2.metrics().watches[0]?.filtered, 2);
    assert.deepEqual(
      gets().filter((r) => r.includes('-2')),
      [`GET /apis${link('ar-2', 'accessrequests')}`],
    );
  });

  it('fetches the union of the taking handlers’ fields; a handler without fields gets the whole resource', async () => {
    const got = new Map<string, WatchEvent>();
    const keep = (e: WatchEvent): void => void got.set(e.payload.name, e);
    const m = manager();
    await m.registerWatch(
      TOPIC,
      {
        kinds: {
          APIService: { onEvent: keep, fields: ['spec', 'metadata.id'] },
          AccessRequest: { onEvent: keep },
          Environment: { onEvent: keep, fields: ['spec'], shouldHandle: () => false },
        },
        onEvent: keep,
      },
      { fetch: { fields: ['x-agent-details', 'spec'] } },
    );
    create('svc-f', { spec: { s: 1 }, subresources: { 'x-agent-details': { x: 1 }, status: { y: 1 } } });
    service.publish(TOPIC, { type: 'CREATED', kind: 'AccessRequest', name: 'ar-f', scope: ENV, spec: { a: 1 } });
    service.publish(TOPIC, { type: 'CREATED', kind: 'Environment', name: 'env-f', scope: null });
    await until('three events', () => got.size === 3);
    const asked = gets().filter((r) => r.includes('-f'));
    // The fields asked for, the meta keys the client always adds aside; null: the whole resource.
    const fieldsOf = (path: string): string[] | null => {
      const fields = new URL(`http://x${asked.find((r) => r.includes(path))?.slice(4) ?? ''}`).searchParams.get(
        'fields',
      );
      const meta = ['group', 'apiVersion', 'kind', 'name', 'metadata'];
      return fields === null
        ? null
        : fields
            .split(',')
            .filter((f) => !meta.includes(f))
            .sort();
    };
    assert.deepEqual(fieldsOf('/apiservices/svc-f'), ['metadata.id', 'spec', 'x-agent-details']);
    assert.equal(fieldsOf('/accessrequests/ar-f'), null, 'AccessRequest has no fields: the whole resource');
    assert.deepEqual(fieldsOf('/environments/env-f'), ['spec', 'x-agent-details'], 'shouldHandle false: onEvent’s');
    assert.deepEqual(got.get('svc-f')?.resource?.['x-agent-details'], { x: 1 });
    assert.equal(got.get('svc-f')?.resource?.status, undefined, 'not asked for');
    assert.deepEqual(got.get('ar-f')?.resource?.spec, { a: 1 });
  });

  it('at most `concurrency` fetches in flight and 4 × concurrency fetched ahead; handlers still get events in order', async () => {
    const { api, url } = await held();
    const got: WatchEvent[] = [];
    let release: () => void = () => undefined;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const first = create('svc-0');
    for (let i = 1; i < 30; i++) create(`svc-${i}`);
    // Every request waits until the bound is reached (or 2 s): the most in flight then shows the bound exactly.
    api.hold = () => until('two in flight', () => api.inFlight >= 2, 2_000).catch(() => undefined);
    const m = manager({ apiUrl: url });
    await m.registerWatch(
      TOPIC,
      {
        onEvent: async (e) => {
          got.push(e);
          if (e.sequenceId === first.sequenceId) await blocked;
        },
      },
      { fetch: { concurrency: 2 } },
    );
    await until('the first handler runs', () => got.length === 1);
    // The first event was taken; 8 (4 × 2) are fetched ahead of the blocked handler, no more.
    await until('the lookahead is full', () => api.paths.length >= 9);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(api.paths.length, 9, 'one taken by the handler and 8 ahead');
    assert.equal(api.most, 2);
    api.hold = () => Promise.resolve();
    release();
    await until('all', () => got.length === 30);
    assert.equal(api.most, 2);
    assert.deepEqual(
      got.map((e) => e.payload.name),
      Array.from({ length: 30 }, (_, i) => `svc-${i}`),
    );
    assert.ok(got.every((e) => e.resource?.name === e.payload.name));
    assert.equal(api.paths.length, 30, 'each resource fetched once');
  });

  it('order holds when the fetches finish out of order (the first the slowest); per resource with concurrency', async () => {
    const { api, url } = await held();
    for (let i = 0; i < 12; i++) create(`slow-${i}`);
    // The first resource's first fetch answers only after 8 others did.
    let firstHeld = false;
    api.hold = (path) => {
      if (!path.includes('slow-0') || firstHeld) return Promise.resolve();
      firstHeld = true;
      return until('the others answered', () => api.paths.length >= 9, 5_000);
    };
    const got: string[] = [];
    const m = manager({ apiUrl: url });
    await m.registerWatch(
      TOPIC,
      { onEvent: (e) => void got.push(`${e.payload.name}=${e.resource?.name ?? ''}`) },
      { fetch: { concurrency: 8 } },
    );
    await until('all', () => got.length === 12);
    assert.deepEqual(
      got,
      Array.from({ length: 12 }, (_, i) => `slow-${i}=slow-${i}`),
    );
    assert.ok(api.most > 1, 'fetched in parallel');
    await m.close();

    // Handlers in parallel: events of one resource still run in order, each with its own fetch.
    service.recreateTopic(TOPIC);
    firstHeld = false;
    api.paths.length = 0;
    const first = create('slow-0', { spec: { n: 0 } });
    for (let i = 1; i < 8; i++) create(`slow-${i}`);
    const second = service.publish(TOPIC, { type: 'UPDATED', kind: 'APIService', name: 'slow-0', scope: ENV });
    const seen: number[] = [];
    const m2 = manager({ apiUrl: url });
    await m2.registerWatch(
      TOPIC,
      {
        onEvent: (e) => {
          if (e.payload.name === 'slow-0') seen.push(e.sequenceId);
        },
      },
      { fetch: { concurrency: 8 }, concurrency: 4 },
    );
    await until('acknowledged', () => m2.status().watches[0]?.acknowledgedSequenceId === second.sequenceId);
    assert.deepEqual(seen, [first.sequenceId, second.sequenceId]);
  });

  it('429 with Retry-After: the fetch waits and the event is delivered with its resource', async () => {
    const got: WatchEvent[] = [];
    const m = manager();
    await m.registerWatch(TOPIC, { onEvent: (e) => void got.push(e) }, { fetch: { concurrency: 1 } });
    service.setResourceFaults({ retryAfter: { status: 429, header: '1', count: 1 } });
    const started = Date.now();
    create('svc-throttled', { spec: { t: 1 } });
    await until('delivered', () => got.length === 1);
    assert.ok(Date.now() - started >= 900, 'waited for Retry-After');
    assert.deepEqual(got[0]?.resource?.spec, { t: 1 });
    assert.equal(service.resourceCounters.throttled, 1);
    assert.equal(m.metrics().watches[0]?.reconnects, 0, 'the client absorbed it');
  });

  it('a fetch the client gives up on fails the watch: it reconnects and the event comes again, once, in order', async () => {
    const clock = new FakeClock();
    const errors: WatchError[] = [];
    const got: WatchEvent[] = [];
    const m = manager({ clock });
    await m.registerWatch(
      TOPIC,
      { onEvent: (e) => void got.push(e), onError: (e) => void errors.push(recordError(e)) },
      { fetch: true },
    );
    // Longer than the client's minute: it gives up at once with RESOURCE_UNAVAILABLE and retryAfterMs.
    service.setResourceFaults({ retryAfter: { status: 503, header: '120', count: 1 } });
    const published = [create('svc-r1'), create('svc-r2'), create('svc-r3')];
    await until('the failure told', () => errors.length === 1);
    assert.equal(errors[0]?.code, 'RESOURCE_UNAVAILABLE');
    assert.equal(errors[0]?.retryable, true);
    assert.equal(m.status().watches[0]?.state, 'reconnecting');
    const acked = m.status().watches[0]?.acknowledgedSequenceId ?? 0;
    assert.ok(acked < (published[2]?.sequenceId ?? 0), 'the event whose fetch failed is not acknowledged');
    await clock.advance(120_000);
    await until('all delivered', () => got.length === 3);
    assert.deepEqual(
      got.map((e) => e.sequenceId),
      published.map((e) => e.sequenceId),
    );
    assert.ok(got.every((e) => e.resource?.name === e.payload.name));
    assert.equal(m.metrics().watches[0]?.reconnectsByCode.RESOURCE_UNAVAILABLE, 1);
    assert.equal(m.metrics().watches[0]?.fetched, 3, 'the fetch made again counts once');
    await until('acknowledged', () => m.status().watches[0]?.acknowledgedSequenceId === published[2]?.sequenceId);
  });

  it('a permanent fetch failure stops the watch with the client’s code, the event unacknowledged', async () => {
    const errors: WatchError[] = [];
    const got: WatchEvent[] = [];
    const m = manager();
    await m.registerWatch(
      TOPIC,
      { onEvent: (e) => void got.push(e), onError: (e) => void errors.push(recordError(e)) },
      { fetch: { concurrency: 1 } },
    );
    const first = create('svc-p0');
    await until('the first delivered', () => got.length === 1);
    service.setResourceFaults({ failNext: 1, status: 403 });
    create('svc-p1');
    await until('stopped', () => m.status().watches[0]?.state === 'closed');
    assert.equal(m.status().watches[0]?.lastErrorCode, 'PERMISSION_DENIED');
    assert.deepEqual(
      errors.map((e) => e.code),
      ['PERMISSION_DENIED'],
    );
    assert.equal(got.length, 1);
    assert.equal(m.status().watches[0]?.acknowledgedSequenceId, first.sequenceId);
  });

  for (const fetch of [true, false]) {
    it(`a shouldHandle that throws stops the watch with HANDLER_FAILED naming it, the event unacknowledged (${fetch ? 'fetch mode' : 'no fetch'}): never a stuck watch`, async () => {
      const errors: WatchError[] = [];
      const got: WatchEvent[] = [];
      const m = manager();
      await m.registerWatch(
        TOPIC,
        {
          kinds: {
            APIService: {
              onEvent: (e) => void got.push(e),
              shouldHandle: (e) => {
                if (e.payload.name === 'svc-throws') throw new Error('boom in shouldHandle');
                return true;
              },
            },
          },
          onError: (e) => void errors.push(recordError(e)),
        },
        fetch ? { fetch: true } : {},
      );
      const first = create('svc-sh0');
      await until('the first delivered', () => got.length === 1);
      create('svc-throws');
      create('svc-sh2');
      await until('stopped', () => m.status().watches[0]?.state === 'closed');
      assert.equal(m.status().watches[0]?.lastErrorCode, 'HANDLER_FAILED');
      assert.ok(
        errors.some((e) => e.code === 'HANDLER_FAILED' && e.message.includes('boom in shouldHandle')),
        errors.map((e) => e.message).join(' | '),
      );
      assert.equal(got.length, 1);
      assert.equal(m.status().watches[0]?.acknowledgedSequenceId, first.sequenceId);
    });
  }

  it('an event whose self link cannot be asked for stops the watch with PROTOCOL, never a silent skip', async () => {
    const errors: WatchError[] = [];
    const m = manager();
    await m.registerWatch(
      TOPIC,
      { onEvent: () => undefined, onError: (e) => void errors.push(recordError(e)) },
      {
        fetch: true,
      },
    );
    const good = create('svc-good');
    // Sent as the service would send it, outside the fake's own publishing (which refuses such a self link).
    service.sendRaw(TOPIC, {
      id: 'bad-link',
      time: new Date().toISOString(),
      version: 'v1',
      product: 'AmplifyCentral',
      correlationId: 'c-1',
      organization: { id: 'org-1' },
      type: 'CREATED',
      payload: {
        group: 'management',
        kind: 'APIService',
        name: 'svc bad',
        metadata: { id: 'id-bad', selfLink: `${link('x')}/../../svc bad`, references: [] },
        attributes: {},
      },
      metadata: { watchTopicID: good.watchTopicId, watchTopicSelfLink: TOPIC, sequenceID: String(good.sequenceId + 1) },
    });
    await until('stopped', () => m.status().watches[0]?.state === 'closed');
    assert.deepEqual(
      errors.map((e) => e.code),
      ['PROTOCOL'],
    );
    assert.match(errors[0]?.message ?? '', /names no resource the API can be asked for/);
    assert.equal(m.status().watches[0]?.acknowledgedSequenceId, good.sequenceId);
  });

  it('close() aborts the fetches in flight: it does not wait for them and no handler runs', async () => {
    const { api, url } = await held();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    api.hold = () => gate;
    const got: WatchEvent[] = [];
    const m = manager({ apiUrl: url });
    await m.registerWatch(TOPIC, { onEvent: (e) => void got.push(e) }, { fetch: true });
    create('svc-c1');
    create('svc-c2');
    await until('fetches in flight', () => api.inFlight === 2, 5_000).catch((err: unknown) => {
      throw new Error(
        `${String(err)}: ${api.inFlight} ${JSON.stringify(api.paths)} ${JSON.stringify(m.metrics().watches[0])}`,
      );
    });
    await m.close();
    assert.equal(api.inFlight, 2, 'closed while the API still held both requests');
    assert.deepEqual(got, []);
    release();
    await until('the held requests ended', () => api.inFlight === 0);
  });

  it('a subresource name that is not a plain key never reaches a URL: the whole resource is read instead', async () => {
    const m = manager();
    const created = create('svc-s', { spec: { s: 1 }, subresources: { status: { level: 'old' } } });
    const cached = await m.resources.get(created.payload.metadata.selfLink);
    assert.ok(cached !== undefined);
    const plain = service.publish(TOPIC, {
      type: 'SUBRESOURCEUPDATED',
      kind: 'APIService',
      name: 'svc-s',
      scope: ENV,
      subresource: 'status',
      subresources: { status: { level: 'new' } },
    });
    const merged = await fetchForEvent(m.resources, plain, ['spec'], cached);
    assert.deepEqual(merged.resource?.status, { level: 'new' });
    assert.deepEqual(merged.resource?.spec, { s: 1 }, 'the rest from the cached copy');
    assert.match(gets().at(-1) ?? '', /\?fields=group%2CapiVersion%2Ckind%2Cname%2Cmetadata%2Cmetadata.id%2Cstatus$/);

    const hostile = { ...plain, subresource: 'status&embed=x/../../y' };
    const whole = await fetchForEvent(m.resources, hostile, ['spec'], cached);
    assert.equal(gets().at(-1), `GET /apis${link('svc-s')}`, 'no fields: the name is not sent');
    assert.deepEqual(whole.resource?.status, { level: 'new' });
    const dotted = await fetchForEvent(m.resources, { ...plain, subresource: 'status.level' }, undefined, cached);
    assert.equal(gets().at(-1), `GET /apis${link('svc-s')}`);
    assert.deepEqual(dotted.resource?.status, { level: 'new' });
  });

  it('refuses bad handlers and fetch options with INVALID_CONFIG naming them', async () => {
    const m = manager();
    const refused = async (handlers: unknown, options: unknown, pattern: RegExp): Promise<void> => {
      await assert.rejects(
        m.registerWatch(TOPIC, handlers as never, options as never),
        (err: WatchError) => err.code === 'INVALID_CONFIG' && pattern.test(err.message),
      );
    };
    await refused({}, {}, /'handlers'/);
    await refused({ kinds: {} }, {}, /'handlers'.*kinds/);
    await refused({ kinds: { APIService: {} } }, {}, /'handlers\.kinds\.APIService\.onEvent'/);
    await refused({ kinds: { APIService: { onEvent: () => undefined, fields: [] } } }, {}, /kinds\.APIService\.fields/);
    await refused(
      { kinds: { APIService: { onEvent: () => undefined, fields: ['a b'] } } },
      {},
      /kinds\.APIService\.fields\[0\]/,
    );
    await refused({ kinds: { APIService: { onEvent: () => undefined, shouldHandle: 1 } } }, {}, /shouldHandle/);
    await refused({ kinds: { APIService: { onEvent: () => undefined, field: ['spec'] } } }, {}, /\.field'/);
    await refused({ onEvent: () => undefined }, { fetch: 'yes' }, /'options\.fetch'/);
    await refused({ onEvent: () => undefined }, { fetch: { concurrency: 65 } }, /'options\.fetch\.concurrency'/);
    await refused({ onEvent: () => undefined }, { fetch: { concurrency: 0 } }, /'options\.fetch\.concurrency'/);
    await refused({ onEvent: () => undefined }, { fetch: { fields: ['x&y'] } }, /'options\.fetch\.fields\[0\]'/);
    await refused({ onEvent: () => undefined }, { fetch: { concurency: 2 } }, /'options\.fetch\.concurency'/);
    assert.deepEqual(m.status().watches, []);
  });
});
