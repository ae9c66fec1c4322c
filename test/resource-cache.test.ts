import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  MemoryResourceStore,
  WatchError,
  WatchManager,
  type Resource,
  type ResourceCache,
  type ResourceChange,
  type ResourceReference,
  type ResourceStore,
  type WatchManagerOptions,
} from 'watch-manager';
import { FakeClock, pluralOf, type FakeWatchService, type WatchTopicFilter } from 'watch-manager/testing';
import { CACHE_DEFAULTS, resolveCacheOptions } from '../src/config/cache-options';
import { KIND_PLURALS } from '../src/resources/kind-plurals';
import { ScriptedCoordinator } from './support/scripted-coordinator';
import {
  captureLogger,
  recordError,
  scanForSecrets,
  serviceOptions,
  startService,
  token,
  until,
} from './support/harness';

scanForSecrets();

// The resource cache (manager.cache) against the fake service over real gRPC and HTTP: the initial sync, the events
// applied on top, re-lists, validation, the changes told, and what broken input does. The oracle is the fake's own
// state: once the service is quiet and the cache has applied the last event, the cache equals
// service.coveredResources(topic), every resource, every field.

// The fake keeps one set of resources for all its topics: each test works in an environment of its own.
let ENV = { kind: 'Environment', name: 'env-c0' };
let SERVICES: WatchTopicFilter = {
  group: 'management',
  kind: 'APIService',
  name: '*',
  scope: ENV,
  type: ['created', 'updated', 'deleted'],
};
const CONSUMERS: WatchTopicFilter = {
  group: 'catalog',
  kind: 'ConsumerInstance',
  name: '*',
  scope: { kind: 'Environment', name: '*' },
  type: ['created', 'updated', 'deleted'],
};

let topicSeq = 0;

async function nextChange(it: AsyncIterator<ResourceChange>): Promise<ResourceChange | undefined> {
  const next = await it.next();
  return next.done === true ? undefined : next.value;
}

describe('the resource cache (manager.cache)', () => {
  let service: FakeWatchService;
  let jwt: string;
  const managers: WatchManager[] = [];

  const newManager = (extra: Partial<WatchManagerOptions> = {}): WatchManager => {
    const manager = new WatchManager({
      ...serviceOptions(service, jwt),
      apiUrl: service.resourceApiUrl,
      logger: captureLogger(),
      reconnect: { initialDelayMs: 10, maxDelayMs: 50 },
      ...extra,
    });
    managers.push(manager);
    return manager;
  };
  /** A new topic of its own per test, with `filters`. */
  const newTopic = (filters?: WatchTopicFilter[]): string => {
    const topic = `/management/v1alpha1/watchtopics/cache-${++topicSeq}`;
    ENV = { kind: 'Environment', name: `env-c${topicSeq}` };
    SERVICES = {
      group: 'management',
      kind: 'APIService',
      name: '*',
      scope: ENV,
      type: ['created', 'updated', 'deleted'],
    };
    filters = (filters ?? [SERVICES, CONSUMERS]).map((f) => (f.scope?.name === '*' ? f : { ...f, scope: ENV }));
    service.createTopic(topic, { filters });
    return topic;
  };
  const publishService = (
    topic: string,
    type: 'CREATED' | 'UPDATED' | 'DELETED' | 'SUBRESOURCEUPDATED',
    name: string,
    extra: Record<string, unknown> = {},
  ): number =>
    service.publish(topic, { type, kind: 'APIService', group: 'management', name, scope: ENV, ...extra }).sequenceId;
  const publishConsumer = (topic: string, name: string, env: string): number =>
    service.publish(topic, {
      type: 'CREATED',
      kind: 'ConsumerInstance',
      group: 'catalog',
      name,
      scope: { kind: 'Environment', name: env },
    }).sequenceId;
  const newest = (topic: string): number => service.topic(topic)?.newestSequenceId ?? 0;
  const bySelfLink = (a: { metadata: { selfLink: string } }, b: { metadata: { selfLink: string } }): number =>
    a.metadata.selfLink < b.metadata.selfLink ? -1 : 1;
  /** Waits until the cache applied every event of `topic`, then checks it equals what the topic covers. */
  const assertInStep = async (cache: ResourceCache, topic: string): Promise<void> => {
    const last = newest(topic);
    await until(`the cache at ${last}`, () => (cache.sequenceId ?? -1) >= last);
    assert.deepEqual(
      cache.list().map((r) => structuredClone(r)),
      service.coveredResources(topic).sort(bySelfLink),
      'the cache equals the service',
    );
  };

  /**
   * Runs validations (`validateEveryMs: 60_000` on `clock`) until `heads` more HEADs were asked (one per collection
   * and validation); a validation ends before the next starts.
   */
  const validations = async (clock: FakeClock, heads: number): Promise<void> => {
    const target = service.resourceCounters.heads + heads;
    let advancing = Promise.resolve();
    await until(`${heads} HEADs of validations`, () => {
      if (service.resourceCounters.heads >= target) return true;
      // The next validation is armed when the one before it ended.
      advancing = advancing.then(() => clock.advance(60_000));
      return false;
    });
    await advancing;
  };

  before(async () => {
    service = await startService();
    jwt = await token(service);
  });
  after(async () => {
    await Promise.all(managers.map((m) => m.close()));
    await service.stop();
  });

  it('syncs what the topic covers, then applies every event in order on top of it', async () => {
    const topic = newTopic();
    publishService(topic, 'CREATED', 'svc-a', { spec: { n: 1 } });
    publishService(topic, 'CREATED', 'svc-b');
    publishConsumer(topic, 'ci-1', 'env-2');
    // Not covered: another environment's service.
    service.publish(topic, {
      type: 'CREATED',
      kind: 'APIService',
      name: 'svc-x',
      scope: { kind: 'Environment', name: 'env-9' },
    });
    const manager = newManager();
    const cache = await manager.cache(topic);
    const told: ResourceChange[] = [];
    const synced: unknown[] = [];
    cache.on('change', (c) => told.push(c));
    cache.on('synced', (s) => synced.push(s));
    await cache.ready();
    assert.equal(cache.live, true);
    assert.equal(cache.size, 3);
    assert.deepEqual(synced, [{ topic, resources: 3, sequenceId: 4, cause: 'sync' }]);
    assert.deepEqual(
      told.map((c) => [c.type, c.cause, c.sequenceId]),
      [
        ['CREATED', 'sync', 4],
        ['CREATED', 'sync', 4],
        ['CREATED', 'sync', 4],
      ],
    );
    await assertInStep(cache, topic);
    const status = manager.status().watches.find((w) => w.topic === topic);
    assert.equal(status?.cache, true);
    assert.equal(manager.health().ready, true);

    told.length = 0;
    // One at a time: a resource created and deleted before its CREATED is applied is never seen (its fetch is a 404).
    const created = publishService(topic, 'CREATED', 'svc-c', { spec: { n: 3 } });
    await assertInStep(cache, topic);
    const updated = publishService(topic, 'UPDATED', 'svc-a', { spec: { n: 2 } });
    const sub = publishService(topic, 'SUBRESOURCEUPDATED', 'svc-b', {
      subresource: 'x-agent-details',
      subresources: { 'x-agent-details': { seen: 1 } },
    });
    await assertInStep(cache, topic);
    const deleted = publishService(topic, 'DELETED', 'svc-c');
    await assertInStep(cache, topic);
    assert.deepEqual(
      told.map((c) => [c.type, c.selfLink.split('/').pop(), c.sequenceId, c.cause]),
      [
        ['CREATED', 'svc-c', created, 'event'],
        ['UPDATED', 'svc-a', updated, 'event'],
        ['UPDATED', 'svc-b', sub, 'event'],
        ['DELETED', 'svc-c', deleted, 'event'],
      ],
    );
    const a = cache.get(`/management/v1alpha1/environments/${ENV.name}/apiservices/svc-a`);
    assert.deepEqual(a?.spec, { n: 2 });
    assert.equal(told[1]?.before?.spec?.['n'], 1, 'before is what the cache held');
    assert.equal(cache.getById(a?.metadata.id ?? '')?.name, 'svc-a');
    assert.deepEqual(
      cache.list({ kind: 'APIService', scope: { name: ENV.name } }).map((r) => r.name),
      ['svc-a', 'svc-b'],
    );
    assert.deepEqual(
      cache.list({ group: 'catalog' }).map((r) => r.name),
      ['ci-1'],
    );
    assert.deepEqual(
      cache.list({ scope: { kind: 'Environment', name: 'env-2' } }).map((r) => r.name),
      ['ci-1'],
    );
    assert.deepEqual(cache.list({ kind: 'APIService', scope: { kind: 'Catalog', name: ENV.name } }), []);
    // Frozen: a reader cannot corrupt the cache.
    assert.throws(() => {
      (a as { name: string }).name = 'changed';
    }, TypeError);
    assert.throws(() => {
      (a?.spec as Record<string, unknown>)['n'] = 9;
    }, TypeError);
    await manager.close();
  });

  it('takes the newest id before listing: a change while the list is read is applied after it', async () => {
    const topic = newTopic([SERVICES]);
    for (let i = 0; i < 30; i++) publishService(topic, 'CREATED', `svc-${i}`);
    let changed = false;
    service.setResourceFaults({
      beforePage: ({ page }) => {
        if (page !== 2 || changed) return;
        changed = true;
        publishService(topic, 'UPDATED', 'svc-0', { spec: { late: true } });
        publishService(topic, 'DELETED', 'svc-29');
        publishService(topic, 'CREATED', 'svc-new');
      },
    });
    try {
      const cache = await newManager().cache(topic, { pageSize: 10, listConcurrency: 1 });
      await cache.ready();
      assert.ok(changed);
      await assertInStep(cache, topic);
      assert.deepEqual(cache.get(`/management/v1alpha1/environments/${ENV.name}/apiservices/svc-0`)?.spec, {
        late: true,
      });
    } finally {
      service.setResourceFaults({});
    }
  });

  it('a resource deleted between its event and the fetch (404) leaves the cache', async () => {
    const topic = newTopic([SERVICES]);
    const cache = await newManager().cache(topic);
    await cache.ready();
    const told: ResourceChange[] = [];
    cache.on('change', (c) => told.push(c));
    publishService(topic, 'CREATED', 'svc-a');
    await assertInStep(cache, topic);
    let deleted = false;
    service.setResourceFaults({
      beforeGet: (link) => {
        if (deleted || !link.endsWith('/svc-a')) return;
        deleted = true;
        publishService(topic, 'DELETED', 'svc-a');
      },
    });
    try {
      publishService(topic, 'UPDATED', 'svc-a', { spec: { v: 2 } });
      await assertInStep(cache, topic);
    } finally {
      service.setResourceFaults({});
    }
    assert.ok(deleted);
    assert.equal(cache.size, 0);
    assert.deepEqual(
      told.map((c) => c.type),
      ['CREATED', 'DELETED'],
      'the 404 removed it; its DELETED event then found nothing',
    );
  });

  it('a restart resumes from the stored position without listing; a purged history re-lists with made-up deletes', async () => {
    const topic = newTopic([SERVICES]);
    publishService(topic, 'CREATED', 'svc-a');
    publishService(topic, 'CREATED', 'svc-b');
    const store = new MemoryResourceStore();
    const first = newManager();
    const cache1 = await first.cache(topic, { store });
    await cache1.ready();
    await assertInStep(cache1, topic);
    await first.close();

    // Missed while nobody watched: resumed from the store, the events applied, nothing listed.
    publishService(topic, 'CREATED', 'svc-c');
    const lists = service.resourceCounters.lists;
    const second = newManager();
    const cache2 = await second.cache(topic, { store });
    assert.equal(cache2.size, 2, 'loaded from the store');
    await cache2.ready();
    await assertInStep(cache2, topic);
    assert.equal(service.resourceCounters.lists, lists, 'no list on a resume');
    assert.equal(second.metrics().watches[0]?.delivered, 1, 'the watch resumed after the stored position');
    await second.close();

    // Missed and purged: the resume is 410, the topic is listed again and the differences told.
    publishService(topic, 'DELETED', 'svc-a');
    publishService(topic, 'UPDATED', 'svc-b', { spec: { v: 2 } });
    publishService(topic, 'CREATED', 'svc-d');
    service.purgeHistory(topic);
    const third = newManager();
    const cache3 = await third.cache(topic, { store });
    const told: ResourceChange[] = [];
    const synced: unknown[] = [];
    cache3.on('change', (c) => told.push(c));
    cache3.on('synced', (s) => synced.push(s));
    await cache3.ready();
    await assertInStep(cache3, topic);
    assert.deepEqual(told.map((c) => [c.type, c.selfLink.split('/').pop(), c.cause]).sort(), [
      ['CREATED', 'svc-d', 'resync'],
      ['DELETED', 'svc-a', 'resync'],
      ['UPDATED', 'svc-b', 'resync'],
    ]);
    assert.deepEqual(synced, [{ topic, resources: 3, sequenceId: newest(topic), cause: 'resync' }]);
    const stored = await store.load(topic);
    assert.equal(stored?.position, newest(topic));
    assert.deepEqual(stored?.resources.map((r) => r.name).sort(), ['svc-b', 'svc-c', 'svc-d']);
  });

  it('a topic whose sequence restarted (recreated) is listed again and followed from the new sequence', async () => {
    const topic = newTopic([SERVICES]);
    publishService(topic, 'CREATED', 'svc-a');
    publishService(topic, 'CREATED', 'svc-b');
    publishService(topic, 'UPDATED', 'svc-b');
    const store = new MemoryResourceStore();
    const first = newManager();
    const cache1 = await first.cache(topic, { store });
    await cache1.ready();
    await assertInStep(cache1, topic);
    await first.close();
    service.recreateTopic(topic);
    publishService(topic, 'DELETED', 'svc-a');
    const second = newManager();
    const cache2 = await second.cache(topic, { store });
    const synced: unknown[] = [];
    cache2.on('synced', (s) => synced.push(s));
    await cache2.ready();
    await assertInStep(cache2, topic);
    assert.deepEqual(synced, [{ topic, resources: 1, sequenceId: 1, cause: 'resync' }]);
    assert.equal((await store.load(topic))?.position, 1, 'stored at the new sequence, below the old position');
    // The new sequence's next events are applied, not taken for repeats of the old one.
    publishService(topic, 'CREATED', 'svc-c');
    publishService(topic, 'UPDATED', 'svc-b', { spec: { v: 3 } });
    await assertInStep(cache2, topic);
    assert.equal(cache2.size, 2);
  });

  it('validation lists a collection again when its count differs from the cache', async () => {
    const topic = newTopic([SERVICES]);
    publishService(topic, 'CREATED', 'svc-a');
    publishService(topic, 'CREATED', 'svc-b');
    // A store that lost a write: it holds svc-a only, at the newest position.
    const store = new MemoryResourceStore();
    const held = service.resource(
      `/management/v1alpha1/environments/${ENV.name}/apiservices/svc-a`,
    ) as unknown as Resource;
    await store.replace(topic, [held], newest(topic));
    const clock = new FakeClock();
    const manager = newManager({ clock });
    const cache = await manager.cache(topic, { store, validateEveryMs: 60_000 });
    const told: ResourceChange[] = [];
    cache.on('change', (c) => told.push(c));
    await cache.ready();
    assert.equal(cache.size, 1);
    const heads = service.resourceCounters.heads;
    await clock.advance(60_000);
    await until('validation', () => cache.size === 2);
    assert.ok(service.resourceCounters.heads > heads);
    assert.deepEqual(
      told.map((c) => [c.type, c.selfLink.split('/').pop(), c.cause]),
      [['CREATED', 'svc-b', 'validation']],
    );
    await assertInStep(cache, topic);
    assert.equal((await store.load(topic))?.resources.length, 2, 'stored');
    await manager.close();
  });

  it("a filter across one scope kind's scopes (scope name *) holds that scope kind's only: initial sync, re-list, validation", async () => {
    // The API lists a kind across scopes at one address for every scope kind (`/management/v1alpha1/secrets`): the
    // secrets of an Integration are in the list, not in a topic of the Environments' secrets.
    const secrets: WatchTopicFilter = {
      group: 'management',
      kind: 'Secret',
      name: '*',
      scope: { kind: 'Environment', name: '*' },
      type: ['created', 'updated', 'deleted'],
    };
    const topic = newTopic([secrets]);
    // The other scope kind's secrets are published on a topic of their own: this topic's stream never tells them.
    const elsewhere = `${topic}-integrations`;
    service.createTopic(elsewhere, { filters: [{ ...secrets, scope: { kind: 'Integration', name: '*' } }] });
    const integration = { kind: 'Integration', name: `int-c${topicSeq}` };
    const secret = (on: string, name: string, scope: { kind: string; name: string }): number =>
      service.publish(on, { type: 'CREATED', kind: 'Secret', group: 'management', name, scope }).sequenceId;
    secret(topic, 's-e1', ENV);
    secret(elsewhere, 's-i1', integration);
    const store = new MemoryResourceStore();
    const first = newManager();
    const cache1 = await first.cache(topic, { store });
    await cache1.ready();
    await assertInStep(cache1, topic);
    assert.deepEqual(
      cache1.list().map((r) => r.name),
      ['s-e1'],
    );
    await first.close();

    // A re-list (history purged) keeps to the scope kind too.
    secret(topic, 's-e2', ENV);
    secret(elsewhere, 's-i2', integration);
    service.purgeHistory(topic);
    const second = newManager();
    const cache2 = await second.cache(topic, { store });
    const told2: ResourceChange[] = [];
    cache2.on('change', (c) => told2.push(c));
    await cache2.ready();
    await assertInStep(cache2, topic);
    assert.deepEqual(
      told2.map((c) => [c.type, c.selfLink.split('/').pop(), c.cause]),
      [['CREATED', 's-e2', 'resync']],
    );
    await second.close();

    // Validation: the collection's count (HEAD) counts every scope kind's secrets. A store that lost a write holds
    // s-e1 only: the first validation lists the collection (it has not been listed in this process) and finds s-e2.
    const held = service.resource(`/management/v1alpha1/environments/${ENV.name}/secrets/s-e1`) as unknown as Resource;
    await store.replace(topic, [held], newest(topic));
    const clock = new FakeClock();
    const third = newManager({ clock });
    const cache3 = await third.cache(topic, { store, validateEveryMs: 60_000 });
    const told3: ResourceChange[] = [];
    cache3.on('change', (c) => told3.push(c));
    await cache3.ready();
    assert.equal(cache3.size, 1);
    await validations(clock, 1);
    await until('the validation', () => cache3.size === 2);
    await assertInStep(cache3, topic);
    // The counts agree now (the other scope kind's counted from the list): no list at each validation.
    let lists = service.resourceCounters.lists;
    await validations(clock, 2);
    assert.equal(service.resourceCounters.lists, lists, 'a validation that agrees lists nothing');
    // Another scope kind's secret changes the count, not the cache: listed once, nothing told.
    secret(elsewhere, 's-i3', integration);
    lists = service.resourceCounters.lists;
    await validations(clock, 3);
    assert.equal(service.resourceCounters.lists, lists + 1, 'listed once for the moved count');
    assert.deepEqual(
      told3.map((c) => [c.type, c.selfLink.split('/').pop(), c.cause]),
      [['CREATED', 's-e2', 'validation']],
    );
    await assertInStep(cache3, topic);
    await third.close();
  });

  it('filters of one kind: across two scope kinds one list; across one and in a scope of another, both', async () => {
    const filter = (scope: { kind: string; name: string }): WatchTopicFilter => ({
      group: 'management',
      kind: 'Webhook',
      name: '*',
      scope,
      type: ['created'],
    });
    const topic = newTopic([filter({ kind: 'Environment', name: '*' })]);
    const [intA, intB] = [`int-a${topicSeq}`, `int-b${topicSeq}`];
    const elsewhere = `${topic}-elsewhere`;
    service.createTopic(elsewhere, { filters: [filter({ kind: 'Integration', name: '*' })] });
    const hook = (name: string, scope: { kind: string; name: string }): void =>
      void service.publish(elsewhere, { type: 'CREATED', kind: 'Webhook', group: 'management', name, scope });
    hook('w-e', ENV);
    hook('w-a', { kind: 'Integration', name: intA });
    hook('w-b', { kind: 'Integration', name: intB });
    const names = async (filters: WatchTopicFilter[]): Promise<{ names: string[]; lists: string[] }> => {
      service.createTopic(topic, { filters });
      const requests = service.resourceRequests.length;
      const manager = newManager();
      const cache = await manager.cache(topic);
      await cache.ready();
      await assertInStep(cache, topic);
      const lists = service.resourceRequests
        .slice(requests)
        .filter((r) => r.startsWith('GET ') && r.includes('webhooks?'))
        .map((r) => r.slice(4, r.indexOf('?')));
      await manager.close();
      return {
        names: cache
          .list()
          .map((r) => r.name)
          .sort(),
        lists: lists.sort(),
      };
    };
    const all = '/apis/management/v1alpha1/webhooks';
    assert.deepEqual(
      await names([filter({ kind: 'Environment', name: '*' }), filter({ kind: 'Integration', name: intA })]),
      { names: ['w-a', 'w-e'], lists: [`/apis/management/v1alpha1/integrations/${intA}/webhooks`, all] },
    );
    assert.deepEqual(
      await names([filter({ kind: 'Environment', name: '*' }), filter({ kind: 'Integration', name: '*' })]),
      { names: ['w-a', 'w-b', 'w-e'], lists: [all] },
    );
    assert.deepEqual(
      await names([filter({ kind: 'Environment', name: '*' }), filter({ kind: 'Environment', name: ENV.name })]),
      { names: ['w-e'], lists: [all] },
    );
  });

  it('a filter naming a scope that does not exist (yet) covers nothing: its list or count answered 404 is empty', async () => {
    // What the API answers there is not documented (an empty list, or 404): the fake's switch answers 404.
    const topic = newTopic([SERVICES]);
    const later = { kind: 'Environment', name: `${ENV.name}-later` };
    const never = { kind: 'Environment', name: `${ENV.name}-never` };
    service.createTopic(topic, { filters: [SERVICES, { ...SERVICES, scope: later }, { ...SERVICES, scope: never }] });
    publishService(topic, 'CREATED', 'svc-a');
    const errors: WatchError[] = [];
    const onError = (e: WatchError): void => void errors.push(e);
    const store = new MemoryResourceStore();
    service.setResourceFaults({ unknownScopeNotFound: true });
    try {
      const first = newManager();
      const cache1 = await first.cache(topic, { store, onError });
      await cache1.ready();
      await assertInStep(cache1, topic);
      assert.equal(cache1.size, 1);
      assert.ok(service.resourceCounters.notFound >= 2, 'the lists of both scopes were 404');
      // The scope created: its resources come as events.
      service.publish(topic, { type: 'CREATED', kind: 'APIService', group: 'management', name: 'svc-l', scope: later });
      await assertInStep(cache1, topic);
      assert.equal(cache1.size, 2);
      await first.close();

      // A re-list (history purged) with one scope still missing.
      publishService(topic, 'CREATED', 'svc-b');
      service.purgeHistory(topic);
      const second = newManager();
      const cache2 = await second.cache(topic, { store, onError });
      const synced: unknown[] = [];
      cache2.on('synced', (x) => synced.push(x));
      await cache2.ready();
      await assertInStep(cache2, topic);
      assert.deepEqual(synced, [{ topic, resources: 3, sequenceId: newest(topic), cause: 'resync' }]);
      await second.close();

      // Validation: the missing scope's count (HEAD) is 404 too, taken as 0: the cache agrees and lists nothing.
      const clock = new FakeClock();
      const third = newManager({ clock });
      const cache3 = await third.cache(topic, { store, validateEveryMs: 60_000, onError });
      await cache3.ready();
      const lists = service.resourceCounters.lists;
      const notFound = service.resourceCounters.notFound;
      await validations(clock, 6);
      assert.ok(service.resourceCounters.notFound > notFound, 'the count of the missing scope was 404');
      assert.equal(service.resourceCounters.lists, lists, 'nothing listed');
      assert.equal(cache3.live, true);
      await assertInStep(cache3, topic);
      await third.close();
    } finally {
      service.setResourceFaults({});
    }
    // Retryable failures may be told (the fake clock's minutes pass while requests are in flight), never a 404.
    assert.deepEqual(
      errors.filter((e) => e.retryable !== true || e.code === 'RESOURCE_NOT_FOUND').map((e) => e.code),
      [],
      'no failure of the missing scopes told',
    );
  });

  it('changes() buffers at most maxPendingChanges: a slow reader holds the events back', async () => {
    const topic = newTopic([SERVICES]);
    const cache = await newManager().cache(topic, { maxPendingChanges: 2 });
    await cache.ready();
    let told = 0;
    cache.on('change', () => (told += 1));
    const changes = cache.changes();
    for (let i = 0; i < 8; i++) publishService(topic, 'CREATED', `svc-${i}`);
    await until('a full buffer', () => told >= 2);
    // Time for the other six to be applied, were they not held back (nothing the correct code waits for).
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.ok(told <= 3, `${told} told with nothing read`);
    assert.ok((cache.sequenceId ?? 0) < newest(topic));
    const read: string[] = [];
    for await (const change of changes) {
      // Never more than the bound waits unread (one event's change may come on top of a full buffer).
      assert.ok(told - read.length <= 3, `${told} told, ${read.length} read`);
      read.push(change.selfLink.split('/').pop() ?? '');
      if (read.length === 8) break;
    }
    assert.deepEqual(read, ['svc-0', 'svc-1', 'svc-2', 'svc-3', 'svc-4', 'svc-5', 'svc-6', 'svc-7']);
    await assertInStep(cache, topic);
    // break ended the iterator: it holds nothing back any more.
    for (let i = 8; i < 12; i++) publishService(topic, 'CREATED', `svc-${i}`);
    await assertInStep(cache, topic);
  });

  it('store writes: one apply at a time, what comes meanwhile coalesced into the next at the highest position', async () => {
    const topic = newTopic([SERVICES]);
    const inner = new MemoryResourceStore();
    const applies: Array<{ changes: number; position: number }> = [];
    let inFlight = 0;
    let maxInFlight = 0;
    let open: (() => void) | undefined;
    // Holds every write back until opened (the sync's replace does not wait for it).
    const gate = new Promise<void>((resolve) => (open = resolve));
    const store: ResourceStore = {
      load: (t) => inner.load(t),
      replace: (t, r, p) => inner.replace(t, r, p),
      apply: async (t, c, p) => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        applies.push({ changes: c.length, position: p });
        await gate;
        await inner.apply(t, c, p);
        inFlight -= 1;
      },
    };
    const cache = await newManager().cache(topic, { store });
    await cache.ready();
    const first = publishService(topic, 'CREATED', 'svc-0');
    await until('the first write', () => applies.length === 1);
    for (let i = 1; i < 4; i++) publishService(topic, 'CREATED', `svc-${i}`);
    await until('the cache applied them', () => cache.sequenceId === newest(topic));
    assert.equal(applies.length, 1, 'the others wait for the write in flight');
    open?.();
    await until('the second write', () => applies.length === 2 && inFlight === 0);
    assert.deepEqual(applies, [
      { changes: 1, position: first },
      { changes: 3, position: newest(topic) },
    ]);
    assert.equal(maxInFlight, 1);
    assert.equal((await inner.load(topic))?.resources.length, 4);
  });

  it('close() does not wait for a reader that stopped reading', async () => {
    const topic = newTopic([SERVICES]);
    const manager = newManager({ closeTimeoutMs: 10_000 });
    const cache = await manager.cache(topic, { maxPendingChanges: 1 });
    await cache.ready();
    let told = 0;
    cache.on('change', () => (told += 1));
    const unread = cache.changes();
    for (let i = 0; i < 3; i++) publishService(topic, 'CREATED', `svc-${i}`);
    await until('a full buffer', () => told >= 1);
    const started = Date.now();
    await cache.close();
    assert.ok(Date.now() - started < 5_000, `close took ${Date.now() - started} ms`);
    assert.equal((await nextChange(unread))?.type, 'CREATED', 'what was buffered is still read out');
    await manager.close();
  });

  it('changes() ends at its signal and at close()', async () => {
    const topic = newTopic([SERVICES]);
    const manager = newManager();
    const cache = await manager.cache(topic);
    await cache.ready();
    const aborter = new AbortController();
    const it1 = cache.changes({ signal: aborter.signal });
    const it2 = cache.changes();
    publishService(topic, 'CREATED', 'svc-a');
    assert.equal((await nextChange(it1))?.type, 'CREATED');
    aborter.abort();
    assert.equal((await it1.next()).done, true);
    assert.equal((await nextChange(it2))?.type, 'CREATED');
    const pending = it2.next();
    await cache.close();
    assert.equal((await pending).done, true);
    assert.equal(manager.status().watches.length, 0, 'a closed cache leaves status()');
  });

  it('changes() with an already-aborted signal ends at once and is no listener, however many are made', async () => {
    const topic = newTopic([SERVICES]);
    const inner = new MemoryResourceStore();
    // What the store is given to put: frozen only if the change was handed out (to a listener or an iterator).
    const frozen: boolean[] = [];
    const store: ResourceStore = {
      load: (t) => inner.load(t),
      replace: (t, r, p) => inner.replace(t, r, p),
      apply: async (t, changes, p) => {
        for (const c of changes) if (c.op === 'put') frozen.push(Object.isFrozen(c.resource));
        await inner.apply(t, changes, p);
      },
    };
    const cache = await newManager().cache(topic, { store, maxPendingChanges: 1 });
    await cache.ready();
    const aborted = AbortSignal.abort();
    for (let i = 0; i < 50; i++) assert.equal((await cache.changes({ signal: aborted }).next()).done, true);
    for (let i = 0; i < 3; i++) publishService(topic, 'CREATED', `svc-${i}`);
    await assertInStep(cache, topic);
    await until('the store wrote them', () => frozen.length === 3);
    // Kept as listeners, the ended iterators would have each change frozen for them: told to nobody, none is.
    assert.deepEqual(frozen, [false, false, false]);
  });

  it('a topic may have a cache and a registerWatch at once; a second cache of it is refused', async () => {
    const topic = newTopic([SERVICES]);
    const manager = newManager();
    const seen: number[] = [];
    await manager.registerWatch(topic, { onEvent: (e) => void seen.push(e.sequenceId) });
    const cache = await manager.cache(topic);
    await cache.ready();
    const id = publishService(topic, 'CREATED', 'svc-a');
    await assertInStep(cache, topic);
    await until('the watch', () => seen.includes(id));
    const err = recordError(
      await manager.cache(topic).then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    assert.ok(err instanceof WatchError);
    assert.equal(err.code, 'INVALID_CONFIG');
    assert.match(err.message, /already cached/);
    assert.equal(manager.status().watches.length, 2);
    await manager.ready({ timeoutMs: 10_000 });
  });

  it("close() during the initial sync waits for the sync's store write, and nothing is told after it", async () => {
    const topic = newTopic([SERVICES]);
    publishService(topic, 'CREATED', 'svc-a');
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const writes: string[] = [];
    const inner = new MemoryResourceStore();
    const store: ResourceStore = {
      load: (t) => inner.load(t),
      replace: async (t, resources, position) => {
        writes.push('replace starts');
        await gate;
        await inner.replace(t, resources, position);
        writes.push('replace ends');
      },
      apply: (t, changes, position) => inner.apply(t, changes, position),
      close: () => {
        writes.push('store closed');
        return Promise.resolve();
      },
    };
    const manager = newManager();
    const cache = await manager.cache(topic, { store });
    const told: string[] = [];
    cache.on('change', (c) => void told.push(c.type));
    cache.on('synced', () => void told.push('synced'));
    await until('the sync writes', () => writes.length === 1);
    let closed = false;
    const closing = manager.close().then(() => (closed = true));
    // Only the buggy close can end while the write is held: waiting cannot make the right one fail.
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(closed, false, "close() waits for the sync's write");
    release();
    await closing;
    assert.deepEqual(writes, ['replace starts', 'replace ends', 'store closed']);
    assert.deepEqual(told, [], 'nothing told after close()');
  });

  it("fetch mode of a watch on a cached topic merges a subresource onto the cache's copy once the cache applied the event, into the handler's own copy", async () => {
    const topic = newTopic([SERVICES]);
    publishService(topic, 'CREATED', 'svc-a', { spec: { n: 1 } });
    const manager = newManager();
    const cache = await manager.cache(topic);
    await cache.ready();
    const from = newest(topic);
    publishService(topic, 'SUBRESOURCEUPDATED', 'svc-a', { subresource: 'status', subresources: { status: { s: 2 } } });
    await assertInStep(cache, topic);
    const requests = service.resourceRequests.length;
    const got: Array<Resource | undefined> = [];
    // From before the event: the watch reads it in its catch-up, after the cache applied it.
    const failures: string[] = [];
    await manager.registerWatch(
      topic,
      {
        onEvent: (e) => {
          got.push(e.resource);
          // The handler's own resource, as a whole fetch gives it: writable, and nothing of it shared with the cache.
          const spec = e.resource?.spec as Record<string, unknown>;
          spec['n'] = 5;
        },
        onError: (error) => void failures.push(error.message),
      },
      { fetch: true, from },
    );
    await until('the event', () => got.length >= 1);
    assert.deepEqual(failures, []);
    assert.deepEqual(got[0]?.spec, { n: 5 }, 'the whole resource: the cached copy with the subresource merged');
    assert.deepEqual(got[0]?.['status'], { s: 2 });
    assert.deepEqual(cache.list()[0]?.spec, { n: 1 }, "the cache's copy is not the handler's");
    const watchReads = service.resourceRequests.slice(requests).filter((r) => r.includes('svc-a'));
    assert.equal(watchReads.length, 1, watchReads.join(' | '));
    assert.ok(watchReads[0]?.includes('fields='), `a projection: ${watchReads.join(' | ')}`);
  });

  it('fetch mode of a watch on a cached topic reads the whole resource when the cache is behind the event (never an older rest with the new subresource)', async () => {
    const topic = newTopic([SERVICES]);
    publishService(topic, 'CREATED', 'svc-a', { spec: { v: 1 } });
    const manager = newManager();
    // An iterator nobody reads, of one change at most: the cache applies one event and then waits.
    const cache = await manager.cache(topic, { maxPendingChanges: 1 });
    await cache.ready();
    const unread = cache.changes();
    publishService(topic, 'UPDATED', 'svc-a', { spec: { v: 2 } });
    await until('the cache at v2', () => cache.get(cache.list()[0]?.metadata.selfLink ?? '')?.spec?.['v'] === 2);
    publishService(topic, 'UPDATED', 'svc-a', { spec: { v: 3 } });
    const from = newest(topic);
    publishService(topic, 'SUBRESOURCEUPDATED', 'svc-a', { subresource: 'status', subresources: { status: { s: 9 } } });
    const got: Array<Resource | undefined> = [];
    await manager.registerWatch(topic, { onEvent: (e) => void got.push(e.resource) }, { fetch: true, from });
    await until('the event', () => got.length === 1);
    assert.ok((cache.sequenceId ?? 0) < newest(topic), 'the cache was behind the event');
    assert.deepEqual(got[0]?.spec, { v: 3 }, 'the resource as the service holds it, not the cached v2');
    assert.deepEqual(got[0]?.['status'], { s: 9 });
    await unread.return?.();
    await assertInStep(cache, topic);
  });

  it('options: the defaults object is what the resolver applies; the plurals table agrees with the fake', () => {
    assert.deepEqual({ ...resolveCacheOptions({}) }, { ...CACHE_DEFAULTS });
    // The fake's rule holds for every kind of the table: a cache of any of them lists what the fake serves.
    for (const [kind, plural] of Object.entries(KIND_PLURALS)) assert.equal(plural, pluralOf(kind), kind);
    assert.equal(KIND_PLURALS['Mesh'], 'meshes');
  });

  it('refuses bad options, naming them, before anything runs', async () => {
    const manager = newManager();
    const topic = newTopic([SERVICES]);
    for (const [options, field] of [
      [{ pageSize: 0 }, 'options.pageSize'],
      [{ pageSize: 9 }, 'options.pageSize'],
      [{ listConcurrency: 11 }, 'options.listConcurrency'],
      [{ maxPendingChanges: 0 }, 'options.maxPendingChanges'],
      [{ validateEveryMs: -1 }, 'options.validateEveryMs'],
      [{ plurals: { MyKind: '../x' } }, 'options.plurals.MyKind'],
      [{ store: {} }, 'options.store'],
      [{ pagesize: 10 }, 'options.pagesize'],
      [{ concurrency: 2 }, 'options.concurrency'],
    ] as const) {
      const err = recordError(
        await manager.cache(topic, options as never).then(
          () => undefined,
          (e: unknown) => e,
        ),
      );
      assert.ok(err instanceof WatchError, field);
      assert.equal(err.code, 'INVALID_CONFIG');
      assert.ok(err.message.includes(`'${field}'`), `${field}: ${err.message}`);
    }
    const err = recordError(
      await manager.cache('not a link').then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    assert.ok(err instanceof WatchError && err.code === 'INVALID_CONFIG');
    assert.equal(manager.status().watches.length, 0);
    const coordinated = newManager({ coordinator: new ScriptedCoordinator('member-cache') });
    const refused = recordError(
      await coordinated.cache(topic).then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    assert.ok(refused instanceof WatchError && refused.code === 'INVALID_CONFIG');
    assert.match(refused.message, /coordinator/);
  });

  // Random histories (creates, updates, subresources, deletes, 404s, aborted streams, restarts, purges, lists moving
  // while read): test/cache-property.test.ts, and after kill -9: test/cache-crash.test.ts.

  describe('bad input: typed errors, never a wrong cache', () => {
    const failure = async (cache: ResourceCache): Promise<WatchError> => {
      const err = recordError(
        await cache.ready().then(
          () => undefined,
          (e: unknown) => e,
        ),
      );
      assert.ok(err instanceof WatchError, String(err));
      return err;
    };

    it('a WatchTopic without filters', async () => {
      const topic = newTopic([]);
      const manager = newManager();
      const err = await failure(await manager.cache(topic));
      assert.equal(err.code, 'INVALID_CONFIG');
      assert.ok(err.message.includes(topic));
      assert.match(err.message, /spec\.filters/);
      assert.equal(manager.health().healthy, false, 'a stopped cache is told to health()');
      assert.equal(manager.status().watches[0]?.lastErrorCode, 'INVALID_CONFIG');
      // The topic given filters, a new cache of it replaces the stopped one.
      service.createTopic(topic, { filters: [SERVICES] });
      const cache = await manager.cache(topic);
      await cache.ready();
      assert.equal(manager.status().watches.length, 1);
      assert.equal(manager.health().healthy, true);
    });

    it('a filter of a kind without a known plural (and the plurals option that adds it)', async () => {
      const filter: WatchTopicFilter = { ...SERVICES, kind: 'Gadget', group: 'management' };
      const topic = newTopic([filter]);
      const err = await failure(await newManager().cache(topic));
      assert.equal(err.code, 'INVALID_CONFIG');
      assert.match(err.message, /"Gadget"/);
      assert.match(err.message, /plurals/);
      service.publish(topic, { type: 'CREATED', kind: 'Gadget', group: 'management', name: 'g-1', scope: ENV });
      const cache = await newManager().cache(topic, { plurals: { Gadget: 'gadgets' } });
      await cache.ready();
      await assertInStep(cache, topic);
      assert.equal(cache.size, 1);
    });

    it('a list body that is not an array, a resource without a self link', async () => {
      for (const faults of [{ notAnArrayNext: 1 }, { withoutSelfLink: true }] as const) {
        const topic = newTopic([SERVICES]);
        publishService(topic, 'CREATED', 'svc-a');
        const store = new MemoryResourceStore();
        let cache: ResourceCache;
        service.setResourceFaults(faults);
        try {
          cache = await newManager().cache(topic, { store });
          const err = await failure(cache);
          assert.equal(err.code, 'PROTOCOL', JSON.stringify(faults));
        } finally {
          service.setResourceFaults({});
        }
        assert.equal(cache.size, 0);
        assert.equal(await store.load(topic), undefined, 'nothing stored');
      }
    });

    it('pages that repeat items: retried, told, never taken', async () => {
      const topic = newTopic([SERVICES]);
      for (let i = 0; i < 25; i++) publishService(topic, 'CREATED', `svc-${i}`);
      const errors: WatchError[] = [];
      service.setResourceFaults({ repeatItems: true });
      let cache: ResourceCache;
      try {
        cache = await newManager().cache(topic, { pageSize: 10, onError: (e) => void errors.push(e) });
        await until('a told error', () => errors.length > 0);
        assert.equal(errors[0]?.code, 'PROTOCOL');
        assert.equal(errors[0]?.retryable, true);
        assert.equal(cache.size, 0);
      } finally {
        service.setResourceFaults({});
      }
      await cache.ready();
      await assertInStep(cache, topic);
      assert.equal(cache.size, 25);
    });

    it('a list that answers resources of another scope (ignoreScope): retried, told, never taken', async () => {
      const topic = newTopic([SERVICES]);
      publishService(topic, 'CREATED', 'svc-a');
      // Another environment's service: the topic's scoped collection does not hold it.
      service.publish(topic, {
        type: 'CREATED',
        kind: 'APIService',
        group: 'management',
        name: 'svc-other',
        scope: { kind: 'Environment', name: `${ENV.name}-other` },
      });
      const errors: WatchError[] = [];
      service.setResourceFaults({ ignoreScope: true });
      let cache: ResourceCache;
      try {
        cache = await newManager().cache(topic, { onError: (e) => void errors.push(e) });
        await until('a told error', () => errors.length > 0);
        assert.equal(errors[0]?.code, 'PROTOCOL');
        assert.equal(errors[0]?.retryable, true);
        assert.match(
          errors[0]?.message ?? '',
          /holds \/management\/v1alpha1\/environments\/[^/]+\/apiservices\/svc-[^,]+, not a resource of/,
        );
        assert.equal(cache.size, 0);
      } finally {
        service.setResourceFaults({});
      }
      await cache.ready();
      await assertInStep(cache, topic);
      assert.deepEqual(
        cache.list().map((r) => r.name),
        ['svc-a'],
      );
    });

    it('a fetch the service refuses for good (403) stops the cache with that code', async () => {
      const topic = newTopic([SERVICES]);
      const errors: WatchError[] = [];
      const manager = newManager();
      const cache = await manager.cache(topic, { onError: (e) => void errors.push(e) });
      await cache.ready();
      // The cache stopped, not only its watch: its iterators end with the code.
      let ended: unknown;
      cache
        .changes()
        .next()
        .then(
          () => (ended = 'done'),
          (e: unknown) => (ended = e),
        );
      service.setResourceFaults({ failNext: 1, status: 403 });
      try {
        publishService(topic, 'CREATED', 'svc-a');
        await until('the failure', () => errors.length > 0);
      } finally {
        service.setResourceFaults({});
      }
      await until('the iterator ends', () => ended !== undefined);
      assert.equal((ended as WatchError).code, 'PERMISSION_DENIED');
      assert.equal(errors[0]?.code, 'PERMISSION_DENIED');
      assert.equal(cache.size, 0);
      assert.equal(cache.live, false);
      assert.equal(manager.status().watches[0]?.lastErrorCode, 'PERMISSION_DENIED');
    });

    it('a store write that fails stops the cache: told, not healthy, its iterators throw', async () => {
      const topic = newTopic([SERVICES]);
      const inner = new MemoryResourceStore();
      let failApply = false;
      const store: ResourceStore = {
        load: (t) => inner.load(t),
        replace: (t, r, p) => inner.replace(t, r, p),
        apply: (t, c, p) => (failApply ? Promise.reject(new Error('disk full')) : inner.apply(t, c, p)),
      };
      const errors: WatchError[] = [];
      const manager = newManager();
      const cache = await manager.cache(topic, { store, onError: (e) => void errors.push(e) });
      await cache.ready();
      const changes = cache.changes();
      failApply = true;
      publishService(topic, 'CREATED', 'svc-a');
      await until('the failure', () => errors.length > 0);
      assert.equal(errors[0]?.code, 'STATE_IO');
      assert.match(errors[0]?.message ?? '', /disk full/);
      assert.equal((await nextChange(changes))?.type, 'CREATED');
      const thrown = recordError(
        await changes.next().then(
          () => undefined,
          (e: unknown) => e,
        ),
      );
      assert.ok(thrown instanceof WatchError && thrown.code === 'STATE_IO');
      assert.equal(manager.health().healthy, false);
      assert.equal(cache.live, false);
    });
  });

  it('referencing() follows the references a publish sets: an update that drops one leaves the index', async () => {
    const topic = newTopic([SERVICES]);
    const env = `/management/v1alpha1/environments/${ENV.name}`;
    const to = (name: string): ResourceReference => ({
      id: `id-${name}`,
      kind: 'APIService',
      name,
      scopeKind: 'Environment',
      scopeName: ENV.name,
      selfLink: `${env}/apiservices/${name}`,
      type: 'HARD',
    });
    publishService(topic, 'CREATED', 'target', { references: [] });
    publishService(topic, 'CREATED', 'other', { references: [] });
    const manager = newManager();
    const cache = await manager.cache(topic);
    await cache.ready();
    assert.deepEqual(cache.referencing(`${env}/apiservices/target`), []);

    publishService(topic, 'CREATED', 'user', { references: [to('target'), to('other')] });
    await assertInStep(cache, topic);
    // What the resource API serves (GET, list): the references as published.
    assert.deepEqual(cache.get(`${env}/apiservices/user`)?.metadata.references, [to('target'), to('other')]);
    assert.deepEqual(
      cache.referencing(`${env}/apiservices/target`).map((r) => r.name),
      ['user'],
    );
    assert.deepEqual(
      cache.referencing(`${env}/apiservices/other`).map((r) => r.name),
      ['user'],
    );

    publishService(topic, 'UPDATED', 'user', { references: [to('other')] });
    await assertInStep(cache, topic);
    assert.deepEqual(cache.referencing(`${env}/apiservices/target`), [], 'the dropped reference left the index');
    assert.deepEqual(
      cache.referencing(`${env}/apiservices/other`).map((r) => r.name),
      ['user'],
    );
  });

  it('referencing() and getById() read the indexes; close() of the manager closes each store once', async () => {
    const topic = newTopic([SERVICES]);
    const env = `/management/v1alpha1/environments/${ENV.name}`;
    const make = (name: string, refs: string[]): Resource => ({
      group: 'management',
      apiVersion: 'v1alpha1',
      kind: 'APIService',
      name,
      metadata: {
        id: `id-${name}`,
        selfLink: `${env}/apiservices/${name}`,
        scope: { id: 'e1', kind: 'Environment', name: ENV.name, selfLink: env },
        references: refs.map((r) => ({
          id: `id-${r}`,
          kind: 'APIService',
          name: r,
          scopeKind: 'Environment',
          scopeName: ENV.name,
          selfLink: `${env}/apiservices/${r}`,
          type: 'SOFT' as const,
        })),
      },
    });
    let closes = 0;
    const inner = new MemoryResourceStore();
    const store: ResourceStore = {
      load: (t) => inner.load(t),
      replace: (t, r, p) => inner.replace(t, r, p),
      apply: (t, c, p) => inner.apply(t, c, p),
      close: () => {
        closes += 1;
        return Promise.resolve();
      },
    };
    await store.replace(topic, [make('a', []), make('b', ['a']), make('c', ['a', 'b'])], 0);
    const manager = newManager();
    const cache = await manager.cache(topic, { store });
    assert.deepEqual(
      cache.referencing(`${env}/apiservices/a`).map((r) => r.name),
      ['b', 'c'],
    );
    assert.deepEqual(
      cache.referencing(`${env}/apiservices/b`).map((r) => r.name),
      ['c'],
    );
    assert.equal(cache.getById('id-c')?.name, 'c');
    await manager.close();
    assert.equal(closes, 1);
  });
});
