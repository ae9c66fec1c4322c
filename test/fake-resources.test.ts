import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WatchManager, type WatchEvent } from 'watch-manager';
import { FakeClock, type FakeResource, type FakeWatchService, type WatchTopicFilter } from 'watch-manager/testing';
import { TOPIC, captureLogger, scanForSecrets, startService, token } from './support/harness';

scanForSecrets();

// Every test reads the fake's resource API over real HTTP (global fetch) as a raw client would: these tests prove what
// the fake serves (docs/resources.md), whatever the SDK makes of it.

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

const ENV1 = '/management/v1alpha1/environments/env-1';

describe('the fake resource API (docs/resources.md)', () => {
  let service: FakeWatchService;
  let clock: FakeClock;
  let jwt: string;

  const call = async (
    path: string,
    init: { method?: string; headers?: Record<string, string> } = {},
  ): Promise<Answer> => {
    const res = await fetch(`${service.resourceApiUrl}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        Authorization: `Bearer ${jwt}`,
        'X-Axway-Tenant-Id': service.tenantId,
        'Content-Type': 'application/json',
        ...init.headers,
      },
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) };
  };
  const items = async (path: string): Promise<FakeResource[]> => {
    const answer = await call(path);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.ok(Array.isArray(answer.body), 'a list is a bare JSON array');
    return answer.body as FakeResource[];
  };
  const names = async (path: string): Promise<string[]> => (await items(path)).map((r) => r.name);
  const create = (name: string, extra: Parameters<FakeWatchService['publish']>[1] = {}): WatchEvent =>
    service.publish(TOPIC, {
      type: 'CREATED',
      kind: 'APIService',
      name,
      scope: { kind: 'Environment', name: 'env-1' },
      ...extra,
    });

  before(async () => {
    clock = new FakeClock();
    service = await startService({ clock });
    jwt = await token(service);
  });
  after(async () => {
    await service.stop();
  });
  beforeEach(() => {
    service.setResourceFaults({});
    deleteAll();
  });

  it('each published event changes the resource it names, and every event about it carries its one id', async () => {
    const created = create('svc-a', {
      title: 'Service A',
      spec: { endpoint: 'https://a.example' },
      attributes: { team: 'blue' },
      tags: ['t1'],
    });
    const link = `${ENV1}/apiservices/svc-a`;
    assert.equal(created.payload.metadata.selfLink, link);
    const first = (await call(link)).body as FakeResource;
    assert.deepEqual(Object.keys(first).sort(), [
      'apiVersion',
      'attributes',
      'finalizers',
      'group',
      'kind',
      'metadata',
      'name',
      'spec',
      'tags',
      'title',
    ]);
    assert.equal(first.apiVersion, 'v1alpha1');
    assert.equal(first.title, 'Service A');
    assert.deepEqual(first.spec, { endpoint: 'https://a.example' });
    assert.deepEqual(first.attributes, { team: 'blue' });
    assert.deepEqual(first.tags, ['t1']);
    assert.equal(first.metadata.id, created.payload.metadata.id);
    assert.deepEqual(first.metadata.scope, created.payload.metadata.scope);
    assert.deepEqual(first.metadata.references, created.payload.metadata.references);
    assert.match(first.metadata.resourceVersion, /^\d+$/);
    assert.equal(first.metadata.audit.createTimestamp, first.metadata.audit.modifyTimestamp);
    assert.match(first.metadata.audit.createTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/);
    assert.deepEqual(first, service.resource(link));

    await clock.advance(1000);
    const updated = service.publish(TOPIC, {
      type: 'UPDATED',
      kind: 'APIService',
      name: 'svc-a',
      scope: { kind: 'Environment', name: 'env-1' },
      spec: { endpoint: 'https://b.example' },
    });
    assert.equal(updated.payload.metadata.id, first.metadata.id, 'an update keeps the id');
    const second = (await call(link)).body as FakeResource;
    assert.deepEqual(second.spec, { endpoint: 'https://b.example' });
    assert.equal(second.title, 'Service A', 'what the update does not give is kept');
    assert.deepEqual(second.attributes, updated.payload.attributes, 'the attributes are the event’s');
    assert.ok(Number(second.metadata.resourceVersion) > Number(first.metadata.resourceVersion));
    assert.equal(second.metadata.audit.createTimestamp, first.metadata.audit.createTimestamp);
    assert.notEqual(second.metadata.audit.modifyTimestamp, first.metadata.audit.modifyTimestamp);

    const sub = service.publish(TOPIC, {
      type: 'SUBRESOURCEUPDATED',
      kind: 'APIService',
      name: 'svc-a',
      scope: { kind: 'Environment', name: 'env-1' },
      subresource: 'x-agent-details',
      subresources: { 'x-agent-details': { externalId: 'ext-1' } },
    });
    assert.equal(sub.subresource, 'x-agent-details');
    assert.equal(sub.payload.metadata.id, first.metadata.id);
    assert.deepEqual(sub.payload.attributes, second.attributes, 'a subresource event carries the resource as stored');
    const third = (await call(link)).body as FakeResource;
    assert.deepEqual(third, { ...second, 'x-agent-details': { externalId: 'ext-1' } }, 'only the subresource changed');

    const deleted = service.publish(TOPIC, {
      type: 'DELETED',
      kind: 'APIService',
      name: 'svc-a',
      scope: { kind: 'Environment', name: 'env-1' },
    });
    assert.equal(deleted.payload.metadata.id, first.metadata.id, 'the DELETED event names what was deleted');
    const gone = await call(link);
    assert.equal(gone.status, 404);
    assert.deepEqual(gone.body, {
      errors: [{ status: 404, title: 'Not found error', detail: `${link} not found` }],
    });
    assert.equal(service.resource(link), undefined);

    const again = create('svc-a');
    assert.notEqual(again.payload.metadata.id, first.metadata.id, 'created again: a new resource');
  });

  it('a SUBRESOURCEUPDATED of a resource not held creates it; TRIGGERACTION changes nothing', async () => {
    const event = service.publish(TOPIC, {
      type: 'SUBRESOURCEUPDATED',
      kind: 'APIService',
      name: 'svc-sub',
      scope: { kind: 'Environment', name: 'env-1' },
    });
    const link = `${ENV1}/apiservices/svc-sub`;
    const held = (await call(link)).body as FakeResource;
    assert.equal(event.subresource, 'status');
    assert.deepEqual(Object.keys(held['status'] as object), ['revision'], 'a default subresource is drawn');
    const trigger = service.publish(TOPIC, {
      type: 'TRIGGERACTION',
      kind: 'APIService',
      name: 'svc-sub',
      scope: { kind: 'Environment', name: 'env-1' },
    });
    assert.equal(trigger.payload.metadata.id, held.metadata.id);
    assert.deepEqual((await call(link)).body, held);
  });

  it('unscoped resources, and the default publishing keeps the state equal to the events (a model replay)', async () => {
    const unscoped = service.publish(TOPIC, { type: 'CREATED', kind: 'Environment', name: 'env-9', scope: null });
    assert.equal(unscoped.payload.metadata.selfLink, '/management/v1alpha1/environments/env-9');
    assert.equal(unscoped.payload.metadata.scope, null);
    const env = (await call('/management/v1alpha1/environments/env-9')).body as FakeResource;
    assert.equal(env.metadata.scope, undefined);
    service.publish(TOPIC, { type: 'DELETED', kind: 'Environment', name: 'env-9', scope: null });

    // The default event mix (five kinds, three environments, names recurring mod 97): what the events say is held.
    const before = new Map(service.resources().map((r) => [r.metadata.selfLink, r]));
    const model = new Map<string, WatchEvent>();
    const deleted = new Set<string>();
    for (const event of service.publishMany(TOPIC, 3000)) {
      const link = event.payload.metadata.selfLink;
      if (event.type === 'DELETED') {
        model.delete(link);
        deleted.add(link);
      } else model.set(link, event);
    }
    const after = new Map(service.resources().map((r) => [r.metadata.selfLink, r]));
    for (const [link, event] of model) {
      const held = after.get(link);
      assert.ok(held !== undefined, link);
      assert.equal(held.metadata.id, event.payload.metadata.id, link);
      if (event.type !== 'SUBRESOURCEUPDATED') assert.deepEqual(held.attributes, event.payload.attributes, link);
    }
    for (const link of after.keys()) assert.ok(model.has(link) || (before.has(link) && !deleted.has(link)), link);
    assert.ok(model.size > 500, `${model.size} resources`);
  });

  it('an event about an unscoped resource, with its stable id, reaches a watch live and through history', async () => {
    const real = await startService(); // the manager checks tokens on the real clock
    const first = real.publish(TOPIC, { type: 'CREATED', kind: 'Environment', name: 'env-live', scope: null });
    const jwt2 = await token(real);
    const seen: WatchEvent[] = [];
    const manager = new WatchManager({
      target: real.target,
      tenantId: real.tenantId,
      historyUrl: real.historyUrl,
      getToken: () => jwt2,
      tls: false,
      logger: captureLogger(),
    });
    try {
      await manager.registerWatch(TOPIC, { onEvent: (e) => void seen.push(e) }, { from: 0 });
      const live = real.publish(TOPIC, { type: 'UPDATED', kind: 'Environment', name: 'env-live', scope: null });
      await real.waitFor(() => seen.length === 2, 10_000, 'both events');
      assert.deepEqual(
        seen.map((e) => [e.sequenceId, e.payload.metadata.scope, e.payload.metadata.id]),
        [
          [first.sequenceId, null, first.payload.metadata.id],
          [live.sequenceId, null, first.payload.metadata.id],
        ],
      );
    } finally {
      await manager.close();
      await real.stop();
    }
  });

  it('WatchTopic resources: their id is the events’ watchTopicId, their filters settable', async () => {
    const event = service.publish(TOPIC, {});
    const topic = (await call(TOPIC)).body as FakeResource;
    assert.equal(topic.kind, 'WatchTopic');
    assert.equal(topic.metadata.id, event.watchTopicId);
    assert.equal(topic.metadata.scope, undefined);
    const filters = topic.spec['filters'] as WatchTopicFilter[];
    assert.deepEqual(
      filters.map((f) => `${f.group}/${f.kind} ${f.scope?.kind}/${f.scope?.name} ${f.name}`),
      [
        'management/APIService Environment/* *',
        'management/APIServiceRevision Environment/* *',
        'management/APIServiceInstance Environment/* *',
        'catalog/ConsumerInstance Environment/* *',
        'management/AccessRequest Environment/* *',
      ],
    );
    const mine: WatchTopicFilter[] = [
      {
        group: 'management',
        kind: 'APIService',
        name: '*',
        scope: { kind: 'Environment', name: 'env-1' },
        type: ['created'],
      },
      { group: 'management', kind: 'Environment', name: '*', type: ['updated'] },
    ];
    const other = '/management/v1alpha1/watchtopics/other';
    service.createTopic(other, { filters: mine });
    assert.deepEqual(((await call(other)).body as FakeResource).spec['filters'], mine);
    service.createTopic(other);
    assert.deepEqual(
      ((await call(other)).body as FakeResource).spec['filters'],
      mine,
      'createTopic without filters keeps them',
    );
    service.createTopic(other, { filters: [] });
    assert.deepEqual(((await call(other)).body as FakeResource).spec['filters'], []);
    const listed = await names('/management/v1alpha1/watchtopics');
    assert.deepEqual(listed.sort(), ['demo', 'other']);
  });

  it('coveredResources: what the WatchTopic’s filters cover, the oracle of a cache', () => {
    const topic = '/management/v1alpha1/watchtopics/covered';
    service.createTopic(topic, {
      filters: [
        {
          group: 'management',
          kind: 'APIService',
          name: 'only-this',
          scope: { kind: 'Environment', name: 'env-1' },
          type: ['created'],
        },
        { group: 'catalog', kind: 'Category', name: '*', type: ['created'] },
        {
          group: 'management',
          kind: 'Secret',
          name: '*',
          scope: { kind: 'Environment', name: '*' },
          type: ['updated'],
        },
      ],
    });
    create('in-1');
    service.publish(TOPIC, {
      type: 'CREATED',
      kind: 'APIService',
      name: 'in-2',
      scope: { kind: 'Environment', name: 'env-2' },
    });
    service.publish(TOPIC, { type: 'CREATED', group: 'catalog', kind: 'Category', name: 'cat', scope: null });
    service.publish(TOPIC, {
      type: 'CREATED',
      kind: 'Secret',
      name: 's1',
      scope: { kind: 'Environment', name: 'env-7' },
    });
    service.publish(TOPIC, { type: 'CREATED', kind: 'Secret', name: 's2', scope: null });
    assert.deepEqual(
      service.coveredResources(topic).map((r) => r.metadata.selfLink),
      [
        `${ENV1}/apiservices/in-1`,
        '/catalog/v1alpha1/categories/cat',
        '/management/v1alpha1/environments/env-7/secrets/s1',
      ],
    );
    assert.throws(() => service.coveredResources('/management/v1alpha1/watchtopics/none'), /no WatchTopic/);
  });

  describe('lists', () => {
    beforeEach(() => {
      for (let i = 0; i < 25; i++) create(`svc-${String(i).padStart(2, '0')}`, { attributes: { n: String(i % 3) } });
      for (let i = 0; i < 5; i++)
        service.publish(TOPIC, {
          type: 'CREATED',
          kind: 'APIService',
          name: `two-${i}`,
          scope: { kind: 'Environment', name: 'env-2' },
        });
    });

    it('pages a collection (1-based page, pageSize 10..100, default 100) with X-Axway-Total-Count; no match is 200 []', async () => {
      const page = (p: number): Promise<string[]> => names(`${ENV1}/apiservices?page=${p}&pageSize=10`);
      const pages = [await page(1), await page(2), await page(3), await page(4)];
      assert.deepEqual(
        pages.map((p) => p.length),
        [10, 10, 5, 0],
      );
      assert.equal(pages[0]?.[0], 'svc-00', 'oldest creation first');
      assert.equal(new Set(pages.flat()).size, 25);
      assert.equal((await names(`${ENV1}/apiservices`)).length, 25, 'pageSize defaults to 100');
      const answer = await call(`${ENV1}/apiservices?pageSize=10`);
      assert.equal(answer.headers.get('x-axway-total-count'), '25');
      assert.deepEqual(await items(`${ENV1}/apiinstances`), []);
      assert.deepEqual(await items('/management/v1alpha1/environments/nowhere/apiservices'), []);
      for (const bad of ['pageSize=9', 'pageSize=101', 'pageSize=x', 'page=0', 'page=1.5']) {
        const refused = await call(`${ENV1}/apiservices?${bad}`);
        assert.equal(refused.status, 400, bad);
        assert.equal((refused.body as { errors: Array<{ status: number }> }).errors[0]?.status, 400);
      }
    });

    it('scope name * and the scope-less collection list across scopes; HEAD answers the count', async () => {
      assert.equal((await names('/management/v1alpha1/environments/*/apiservices')).length, 30);
      assert.equal((await names('/management/v1alpha1/apiservices')).length, 30);
      const head = await call(`${ENV1}/apiservices`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('x-axway-total-count'), '25');
      assert.equal(head.body, undefined);
      const all = await call('/management/v1alpha1/environments/*/apiservices', { method: 'HEAD' });
      assert.equal(all.headers.get('x-axway-total-count'), '30');
    });

    it('query: the documented RSQL subset; anything else is 400', async () => {
      const q = (query: string): Promise<string[]> => names(`${ENV1}/apiservices?query=${encodeURIComponent(query)}`);
      assert.deepEqual(await q('name=="svc-03"'), ['svc-03']);
      assert.deepEqual(await q('name=in=(\'svc-01\',"svc-02",svc-99)'), ['svc-01', 'svc-02']);
      assert.equal((await q('name=out=("svc-01","svc-02")')).length, 23);
      assert.equal((await q('attributes.n=="1"')).length, 8);
      assert.deepEqual(await q('attributes.n==1;name=="svc-1*"'), ['svc-10', 'svc-13', 'svc-16', 'svc-19']);
      assert.deepEqual(await q('name=="svc-00",name=="svc-24"'), ['svc-00', 'svc-24']);
      assert.deepEqual(await q('name=="svc-00",attributes.n=="2";name=="svc-2*"'), ['svc-00', 'svc-20', 'svc-23']);
      assert.equal((await q('name!="svc-00"')).length, 24);
      const ref = (service.resource(`${ENV1}/apiservices/svc-07`) as FakeResource).metadata.references[0]?.name ?? '';
      const referencing = await q(`metadata.references.name==${ref}`);
      assert.ok(referencing.includes('svc-07') && referencing.length < 25, referencing.join());
      for (const bad of ['(name=="a")', 'name>"a"', 'name==', 'name=in="a"', 'name=="a']) {
        const refused = await call(`${ENV1}/apiservices?query=${encodeURIComponent(bad)}`);
        assert.equal(refused.status, 400, bad);
      }
      const head = await call(`${ENV1}/apiservices?query=${encodeURIComponent('attributes.n==0')}`, { method: 'HEAD' });
      assert.equal(head.headers.get('x-axway-total-count'), '9', 'HEAD counts what the query matches');
    });

    it('sort=field,ASC|DESC', async () => {
      const desc = await names(`${ENV1}/apiservices?sort=name,DESC&pageSize=10`);
      assert.deepEqual(desc.slice(0, 2), ['svc-24', 'svc-23']);
      const byAttribute = await names(`${ENV1}/apiservices?sort=attributes.n,ASC`);
      assert.equal(byAttribute[0], 'svc-00');
      assert.equal(byAttribute[9], 'svc-01', 'stable within equal keys');
      assert.equal((await call(`${ENV1}/apiservices?sort=name`)).status, 400);
    });

    it('fields: a strict projection of top-level keys and dotted paths, on one resource and on lists', async () => {
      const one = await call(`${ENV1}/apiservices/svc-01?fields=name,metadata.id,x-agent-details&embed=whatever`);
      const held = service.resource(`${ENV1}/apiservices/svc-01`) as FakeResource;
      assert.deepEqual(one.body, { name: 'svc-01', metadata: { id: held.metadata.id } });
      const listed = await items(`${ENV1}/apiservices?fields=name,spec&pageSize=10`);
      assert.deepEqual(Object.keys(listed[0] as object), ['name', 'spec']);
      const both = await call(`${ENV1}/apiservices/svc-01?fields=metadata,metadata.id`);
      assert.deepEqual(both.body, { metadata: held.metadata });
    });
  });

  it('checks the token and the tenant as the history API does', async () => {
    const none = await call(TOPIC, { headers: { Authorization: '' } });
    assert.equal(none.status, 401);
    assert.equal((none.body as { errors: Array<{ title: string }> }).errors[0]?.title, 'Unauthorized error');
    const tenant = await call(TOPIC, { headers: { 'X-Axway-Tenant-Id': 'someone-else' } });
    assert.equal(tenant.status, 403);
    assert.equal((await call(TOPIC, { method: 'DELETE' })).status, 405);
    assert.equal((await call('/management/v1alpha1')).status, 404);
  });

  describe('hostile switches', () => {
    beforeEach(() => {
      for (let i = 0; i < 25; i++) create(`h-${String(i).padStart(2, '0')}`);
    });

    it('retryAfter: 429 with Retry-After for the next count requests, then served', async () => {
      const before = service.resourceCounters.throttled;
      service.setResourceFaults({ retryAfter: { status: 429, header: '2', count: 2 } });
      for (let i = 0; i < 2; i++) {
        const answer = await call(`${ENV1}/apiservices/h-01`);
        assert.equal(answer.status, 429);
        assert.equal(answer.headers.get('retry-after'), '2');
        assert.equal((answer.body as { errors: Array<{ status: number }> }).errors[0]?.status, 429);
      }
      assert.equal((await call(`${ENV1}/apiservices/h-01`)).status, 200);
      assert.equal(service.resourceCounters.throttled - before, 2);
    });

    it('delayMs: every answer held that long on the service clock (a network round trip)', async () => {
      service.setResourceFaults({ delayMs: 500 });
      const { requests, gets } = service.resourceCounters;
      const due = clock.now() + 500;
      const answer = call(`${ENV1}/apiservices/h-01`);
      await service.waitFor(() => service.resourceCounters.requests === requests + 1, 10_000, 'the request');
      await service.waitFor(() => clock.nextDueAt() === due, 10_000, 'the delay armed');
      assert.equal(service.resourceCounters.gets, gets, 'not answered before the delay');
      await clock.advance(500);
      assert.equal((await answer).status, 200);
      assert.equal(service.resourceCounters.gets, gets + 1);
    });

    it('failNext: server errors of the given status', async () => {
      service.setResourceFaults({ failNext: 2, status: 500 });
      assert.equal((await call(`${ENV1}/apiservices`)).status, 500);
      assert.equal((await call(`${ENV1}/apiservices`, { method: 'HEAD' })).status, 500);
      assert.equal((await call(`${ENV1}/apiservices`)).status, 200);
      service.setResourceFaults({ failNext: 1 });
      assert.equal((await call(`${ENV1}/apiservices`)).status, 503, 'the default status');
    });

    it('pageCap: pages shorter than asked, numbered by the cap, the count still whole', async () => {
      service.setResourceFaults({ pageCap: 7 });
      const p1 = await call(`${ENV1}/apiservices?pageSize=10`);
      assert.deepEqual(
        (p1.body as FakeResource[]).map((r) => r.name),
        ['h-00', 'h-01', 'h-02', 'h-03', 'h-04', 'h-05', 'h-06'],
      );
      assert.equal(p1.headers.get('x-axway-total-count'), '25');
      assert.equal((await names(`${ENV1}/apiservices?pageSize=10&page=2`))[0], 'h-07');
    });

    it('omitCount: neither HEAD nor a list carries X-Axway-Total-Count', async () => {
      service.setResourceFaults({ omitCount: true });
      assert.equal((await call(`${ENV1}/apiservices`, { method: 'HEAD' })).headers.get('x-axway-total-count'), null);
      assert.equal((await call(`${ENV1}/apiservices`)).headers.get('x-axway-total-count'), null);
    });

    it('unknownScopeNotFound: a list or HEAD in a scope that does not exist is 404, until the scope or a resource in it does', async () => {
      const nosuch = '/management/v1alpha1/environments/nosuch';
      assert.deepEqual(await names(`${nosuch}/apiservices`), [], 'without the switch: an empty list');
      service.setResourceFaults({ unknownScopeNotFound: true });
      const notFound = service.resourceCounters.notFound;
      const list = await call(`${nosuch}/apiservices`);
      assert.equal(list.status, 404);
      assert.equal((list.body as { errors: Array<{ status: number }> }).errors[0]?.status, 404);
      assert.equal((await call(`${nosuch}/apiservices`, { method: 'HEAD' })).status, 404);
      assert.equal(service.resourceCounters.notFound - notFound, 2);
      assert.equal((await names(`${ENV1}/apiservices`)).length, 25, 'a scope with resources in it exists');
      assert.equal((await names('/management/v1alpha1/environments/*/apiservices')).length, 25);
      assert.equal((await names('/management/v1alpha1/apiservices')).length, 25, 'an unscoped path has no scope');
      // The scope made: its (empty) collections are lists.
      service.publish(TOPIC, { type: 'CREATED', kind: 'Environment', name: 'nosuch', scope: null });
      assert.deepEqual(await names(`${nosuch}/apiservices`), []);
      assert.equal((await call(`${nosuch}/apiservices`, { method: 'HEAD' })).headers.get('x-axway-total-count'), '0');
    });

    it('beforeGet: a resource changed or deleted between its event and the fetch', async () => {
      const link = `${ENV1}/apiservices/h-03`;
      const event = service.publish(TOPIC, {
        type: 'UPDATED',
        kind: 'APIService',
        name: 'h-03',
        scope: { kind: 'Environment', name: 'env-1' },
        spec: { v: 1 },
      });
      let later: WatchEvent | undefined;
      service.setResourceFaults({
        beforeGet: (selfLink) => {
          if (selfLink === link && later === undefined)
            later = service.publish(TOPIC, {
              type: 'UPDATED',
              kind: 'APIService',
              name: 'h-03',
              scope: { kind: 'Environment', name: 'env-1' },
              spec: { v: 2 },
            });
        },
      });
      assert.deepEqual(((await call(link)).body as FakeResource).spec, { v: 2 }, 'the fetch shows the later state');
      assert.ok(later !== undefined && later.sequenceId > event.sequenceId);
      const notFound = service.resourceCounters.notFound;
      service.setResourceFaults({
        beforeGet: (selfLink) =>
          void service.publish(TOPIC, {
            type: 'DELETED',
            kind: 'APIService',
            name: selfLink.split('/').at(-1) ?? '',
            scope: { kind: 'Environment', name: 'env-1' },
          }),
      });
      assert.equal((await call(`${ENV1}/apiservices/h-04`)).status, 404);
      assert.equal(service.resourceCounters.notFound, notFound + 1);
    });

    it('beforePage: a list that changes while it is read (a delete on page 1 hides an item from page 2)', async () => {
      service.setResourceFaults({
        beforePage: ({ collection, page }) => {
          assert.equal(collection, `${ENV1}/apiservices`);
          if (page === 2)
            service.publish(TOPIC, {
              type: 'DELETED',
              kind: 'APIService',
              name: 'h-00',
              scope: { kind: 'Environment', name: 'env-1' },
            });
        },
      });
      const read = [
        ...(await names(`${ENV1}/apiservices?pageSize=10`)),
        ...(await names(`${ENV1}/apiservices?pageSize=10&page=2`)),
      ];
      assert.ok(!read.includes('h-10'), 'h-10 moved to page 1 after it was read: on no page of this reading');
      assert.ok(service.resource(`${ENV1}/apiservices/h-10`) !== undefined);
    });

    it('bad bodies: not an array, a repeated item, no self link', async () => {
      service.setResourceFaults({ notAnArrayNext: 1 });
      const object = await call(`${ENV1}/apiservices?pageSize=10`);
      assert.ok(!Array.isArray(object.body) && Array.isArray((object.body as { items: unknown }).items));
      assert.ok(Array.isArray((await call(`${ENV1}/apiservices?pageSize=10`)).body), 'only the next one');
      service.setResourceFaults({ repeatItems: true });
      const p1 = await names(`${ENV1}/apiservices?pageSize=10`);
      const p2 = await names(`${ENV1}/apiservices?pageSize=10&page=2`);
      assert.equal(p2[0], p1.at(-1));
      assert.equal(p2.length, 10);
      service.setResourceFaults({ withoutSelfLink: true });
      const one = (await call(`${ENV1}/apiservices/h-01`)).body as FakeResource;
      assert.equal(one.metadata.selfLink, undefined);
      assert.equal(one.metadata.id, service.resource(`${ENV1}/apiservices/h-01`)?.metadata.id);
    });

    it('a hook that throws answers 500; a malformed escape in a path is 404', async () => {
      service.setResourceFaults({
        beforeGet: () => {
          throw new Error('hook failed');
        },
      });
      const answer = await call(`${ENV1}/apiservices/h-01`);
      assert.equal(answer.status, 500);
      assert.match(JSON.stringify(answer.body), /hook failed/);
      service.setResourceFaults({});
      assert.equal((await call(`${ENV1}/apiservices/%E0%A4%A`)).status, 404);
    });

    it('refuses a mistyped switch', () => {
      assert.throws(() => service.setResourceFaults({ pageCap: 0 }), RangeError);
      assert.throws(() => service.setResourceFaults({ failNext: -1 }), RangeError);
      assert.throws(() => service.setResourceFaults({ delayMs: 0.5 }), RangeError);
      assert.throws(() => service.setResourceFaults({ status: 200 }), RangeError);
      assert.throws(() => service.setResourceFaults({ retryAfter: { status: 500 as 429, header: '1' } }), RangeError);
    });
  });

  it('counts requests by kind', async () => {
    create('c-1');
    const before = { ...service.resourceCounters };
    await call(`${ENV1}/apiservices/c-1`);
    await call(`${ENV1}/apiservices/c-2`);
    await call(`${ENV1}/apiservices`);
    await call(`${ENV1}/apiservices`, { method: 'HEAD' });
    const now = service.resourceCounters;
    assert.deepEqual(
      [now.requests, now.gets, now.lists, now.heads, now.notFound].map(
        (n, i) => n - [before.requests, before.gets, before.lists, before.heads, before.notFound][i]!,
      ),
      [4, 2, 1, 1, 1],
    );
    assert.equal(service.resourceRequests.at(-1), `HEAD /apis${ENV1}/apiservices`);
    assert.equal(service.historyCounters.requests, 0, 'the history API counts none of them');
  });

  it('resourceApi: false keeps no resources and serves no /apis; events are as they were', async () => {
    const bare = await startService({ resourceApi: false, clock: new FakeClock() });
    try {
      const first = bare.publish(TOPIC, { type: 'CREATED', kind: 'APIService', name: 'same' });
      const again = bare.publish(TOPIC, { type: 'UPDATED', kind: 'APIService', name: 'same', skip: 2 });
      assert.equal(first.payload.metadata.selfLink, again.payload.metadata.selfLink);
      assert.notEqual(first.payload.metadata.id, again.payload.metadata.id, 'ids drawn per event, as before');
      assert.deepEqual(bare.resources(), []);
      const res = await fetch(`${bare.resourceApiUrl}${TOPIC}`, {
        headers: { Authorization: `Bearer ${await token(bare)}`, 'X-Axway-Tenant-Id': bare.tenantId },
      });
      assert.equal(res.status, 404);
      await res.arrayBuffer();
      assert.equal(bare.resourceCounters.requests, 0);
    } finally {
      await bare.stop();
    }
  });

  it('a topic whose self link is not a resource’s still works, without a WatchTopic', () => {
    service.createTopic('/odd-topic');
    assert.equal(service.publish('/odd-topic', { type: 'CREATED', kind: 'APIService', name: 'odd' }).sequenceId, 1);
    assert.equal(service.resource('/odd-topic'), undefined);
  });

  /** Deletes (by events) every resource held but the WatchTopics, so that each test starts without them. */
  function deleteAll(): void {
    for (const r of service.resources())
      if (r.kind !== 'WatchTopic')
        service.publish(TOPIC, {
          type: 'DELETED',
          group: r.group,
          kind: r.kind,
          name: r.name,
          scope: r.metadata.scope === undefined ? null : { kind: r.metadata.scope.kind, name: r.metadata.scope.name },
        });
    assert.ok(service.resources().every((r) => r.kind === 'WatchTopic'));
  }
});
