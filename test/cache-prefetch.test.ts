import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  WatchManager,
  type ResourceCache,
  type ResourceChange,
  type WatchError,
  type WatchManagerOptions,
} from 'watch-manager';
import { FakeClock, type FakeWatchService, type WatchTopicFilter } from 'watch-manager/testing';
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

// How the resource cache fetches its events: ahead of their application, through fetch mode's prefetch
// (`fetchConcurrency` at once, 4 × that ahead), each still applied in order. The manager's apiUrl points at a
// forwarding server of this file's own (Forwarder) in front of the fake, which counts the requests in flight and can
// hold a request or its answer: fetches answered out of order are made on purpose. The oracle is the fake's state
// (service.coveredResources).

let topicSeq = 0;

/**
 * The fake's resource API behind a forwarding server: counts requests in flight (the most at once), holds each until
 * `hold` resolves for it, then reads the fake, then holds the answer until `holdAnswer` resolves for it.
 */
class Forwarder {
  inFlight = 0;
  most = 0;
  readonly paths: string[] = [];
  /** Paths whose answer was sent, in order. */
  readonly answered: string[] = [];
  hold: (path: string) => Promise<void> = () => Promise.resolve();
  holdAnswer: (path: string) => Promise<void> = () => Promise.resolve();
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
      const body = await answer.text();
      await this.holdAnswer(path);
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      for (const name of ['retry-after', 'x-axway-total-count']) {
        const value = answer.headers.get(name);
        if (value !== null) headers[name] = value;
      }
      res.writeHead(answer.status, headers);
      res.end(body);
      this.answered.push(path);
    } catch {
      res.destroy();
    } finally {
      this.inFlight -= 1;
    }
  }
}

describe('the cache fetches its events ahead (fetch mode), applies them in order', () => {
  let service: FakeWatchService;
  let jwt: string;
  let env = { kind: 'Environment', name: 'env-p0' };
  const managers: WatchManager[] = [];
  const forwarders: Forwarder[] = [];

  const newManager = (apiUrl: string, extra: Partial<WatchManagerOptions> = {}): WatchManager => {
    const manager = new WatchManager({
      ...serviceOptions(service, jwt),
      apiUrl,
      logger: captureLogger(),
      reconnect: { initialDelayMs: 10, maxDelayMs: 50 },
      ...extra,
    });
    managers.push(manager);
    return manager;
  };
  const forwarder = async (): Promise<{ api: Forwarder; url: string }> => {
    const api = new Forwarder(new URL(service.resourceApiUrl).origin);
    forwarders.push(api);
    return { api, url: await api.start() };
  };
  /** A new topic of its own, covering the APIServices of an environment of its own. */
  const newTopic = (): string => {
    const topic = `/management/v1alpha1/watchtopics/prefetch-${++topicSeq}`;
    env = { kind: 'Environment', name: `env-p${topicSeq}` };
    const filter: WatchTopicFilter = {
      group: 'management',
      kind: 'APIService',
      name: '*',
      scope: env,
      type: ['created', 'updated', 'deleted'],
    };
    service.createTopic(topic, { filters: [filter] });
    return topic;
  };
  const publish = (
    topic: string,
    type: 'CREATED' | 'UPDATED' | 'DELETED' | 'SUBRESOURCEUPDATED',
    name: string,
    extra: Record<string, unknown> = {},
  ): number =>
    service.publish(topic, { type, kind: 'APIService', group: 'management', name, scope: env, ...extra }).sequenceId;
  const newest = (topic: string): number => service.topic(topic)?.newestSequenceId ?? 0;
  const bySelfLink = (a: { metadata: { selfLink: string } }, b: { metadata: { selfLink: string } }): number =>
    a.metadata.selfLink < b.metadata.selfLink ? -1 : 1;
  const assertInStep = async (cache: ResourceCache, topic: string): Promise<void> => {
    const last = newest(topic);
    await until(`the cache at ${last}`, () => (cache.sequenceId ?? -1) >= last);
    assert.deepEqual(
      cache.list().map((r) => structuredClone(r)),
      service.coveredResources(topic).sort(bySelfLink),
      'the cache equals the service',
    );
  };
  /** GETs of one resource of the environment (not the lists, not the topic). */
  const fetchesOf = (api: Forwarder, name?: string): string[] =>
    api.paths.filter(
      (p) => p.includes('/apiservices/') && (name === undefined || p.split('?')[0]?.endsWith(`/${name}`)),
    );

  before(async () => {
    service = await startService();
    jwt = await token(service);
  });
  after(async () => {
    await service.stop();
  });
  afterEach(async () => {
    await Promise.all(managers.splice(0).map((m) => m.close()));
    await Promise.all(forwarders.splice(0).map((f) => f.stop()));
    service.setResourceFaults({});
  });

  for (const fetchConcurrency of [1, 3]) {
    it(`fetchConcurrency ${fetchConcurrency}: that many fetches in flight, 4 × that fetched ahead of a cache held back`, async () => {
      const topic = newTopic();
      const { api, url } = await forwarder();
      const cache = await newManager(url).cache(topic, { fetchConcurrency, maxPendingChanges: 1 });
      await cache.ready();
      const total = 30;
      // The first event applied, the second taken (its handler waits for room), 4 × fetchConcurrency fetched ahead.
      const expected = 2 + 4 * fetchConcurrency;
      // How many fetches there can be by now: `expected` while nobody reads, every event's once the test reads.
      let ceiling = expected;
      // Each fetch answered once as many as allowed are in flight: the bound is reached, never passed. Or once the
      // ceiling is reached: no fetch can join the ones in flight then (the last of the lookahead, the last events),
      // which the 2 s would otherwise be sat out for (twice a run); the 2 s stay for any other moment.
      api.hold = () =>
        until(
          'fetches in flight',
          () => api.inFlight >= fetchConcurrency || fetchesOf(api).length >= ceiling,
          2_000,
          2,
        ).catch(() => undefined);
      // Nobody reads: the first change fills it, and the cache waits before applying the second event.
      const changes = cache.changes();
      for (let i = 0; i < total; i++) publish(topic, 'CREATED', `svc-${i}`);
      await until('the lookahead', () => fetchesOf(api).length >= expected);
      // Time for more fetches, were they not bounded (nothing the correct code waits for).
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(fetchesOf(api).length, expected, 'fetched ahead at most 4 × fetchConcurrency');
      assert.equal(cache.size, 1);
      const read: string[] = [];
      ceiling = total;
      for await (const change of changes) {
        read.push(change.selfLink.split('/').pop() ?? '');
        if (read.length === total) break;
      }
      assert.deepEqual(
        read,
        Array.from({ length: total }, (_, i) => `svc-${i}`),
        'applied in order',
      );
      await assertInStep(cache, topic);
      assert.equal(api.most, fetchConcurrency, 'the most fetches in flight at once');
      assert.equal(fetchesOf(api).length, total, 'one fetch per event');
    });
  }

  it('two events of one resource fetched at once, answered in reverse order: applied in order, the cache exact', async () => {
    const topic = newTopic();
    const { api, url } = await forwarder();
    publish(topic, 'CREATED', 'svc-a', { spec: { v: 1 } });
    const cache = await newManager(url).cache(topic);
    await cache.ready();
    const told: ResourceChange[] = [];
    cache.on('change', (c) => told.push(c));
    const start = fetchesOf(api, 'svc-a').length;
    // The first fetch reads the service (v2), then its answer waits until the second fetch (v3) was answered.
    let firstRead = false;
    api.holdAnswer = (path) => {
      if (!path.includes('/svc-a') || firstRead) return Promise.resolve();
      firstRead = true;
      return until('the second answer', () => api.answered.some((p) => p.includes('/svc-a')), 5_000);
    };
    publish(topic, 'UPDATED', 'svc-a', { spec: { v: 2 } });
    // Read by the first fetch before this change is made: an older answer than the second's, sent after it.
    await until('the first fetch read', () => firstRead);
    publish(topic, 'UPDATED', 'svc-a', { spec: { v: 3 } });
    await assertInStep(cache, topic);
    assert.equal(fetchesOf(api, 'svc-a').length - start, 2);
    assert.deepEqual(
      told.map((c) => [c.type, c.after?.['spec']]),
      [
        ['UPDATED', { v: 2 }],
        ['UPDATED', { v: 3 }],
      ],
    );
    assert.deepEqual(cache.get(told[0]?.selfLink ?? '')?.['spec'], { v: 3 });
  });

  it('a subresource event fetched ahead of an update of its resource: merged onto the copy held when applied', async () => {
    const topic = newTopic();
    const { api, url } = await forwarder();
    publish(topic, 'CREATED', 'svc-a', { spec: { v: 1 }, subresource: 'status', subresources: { status: { s: 1 } } });
    const cache = await newManager(url).cache(topic);
    await cache.ready();
    const told: ResourceChange[] = [];
    cache.on('change', (c) => told.push(c));
    const start = fetchesOf(api, 'svc-a').length;
    // The update's fetch (the whole resource) is answered only after the subresource's (a projection merged, when it
    // started, onto the copy held then: spec v1).
    api.holdAnswer = (path) =>
      path.includes('/svc-a') && !path.includes('fields=')
        ? until('the projection answered', () => api.answered.some((p) => p.includes('fields=')), 5_000)
        : Promise.resolve();
    publish(topic, 'UPDATED', 'svc-a', { spec: { v: 2 } });
    publish(topic, 'SUBRESOURCEUPDATED', 'svc-a', { subresource: 'status', subresources: { status: { s: 2 } } });
    await assertInStep(cache, topic);
    const reads = fetchesOf(api, 'svc-a').slice(start);
    assert.equal(reads.length, 2, reads.join(' | '));
    assert.ok(reads[1]?.includes('fields='), 'the subresource read is a projection');
    assert.ok(api.answered.indexOf(reads[1] ?? '') < api.answered.indexOf(reads[0] ?? ''), 'answered in reverse order');
    // The update's fetch already held the new status; the subresource event changes only the status: nothing.
    assert.deepEqual(
      told.map((c) => [c.type, c.after?.['spec'], c.after?.['status']]),
      [['UPDATED', { v: 2 }, { s: 2 }]],
    );
  });

  it('a fetch the client gives up on (retryable): the cache’s watch reconnects, fetches again, the cache exact', async () => {
    const topic = newTopic();
    const clock = new FakeClock();
    const errors: WatchError[] = [];
    const manager = newManager(service.resourceApiUrl, { clock });
    const cache = await manager.cache(topic, { onError: (e) => void errors.push(recordError(e)) });
    await cache.ready();
    // Longer than the client's minute: it gives up at once with RESOURCE_UNAVAILABLE and retryAfterMs.
    service.setResourceFaults({ retryAfter: { status: 503, header: '120', count: 1 } });
    publish(topic, 'CREATED', 'svc-r1');
    publish(topic, 'CREATED', 'svc-r2');
    await until('the failure told', () => errors.length === 1);
    assert.equal(errors[0]?.code, 'RESOURCE_UNAVAILABLE');
    assert.equal(errors[0]?.retryable, true);
    assert.equal(manager.status().watches[0]?.state, 'reconnecting');
    assert.equal(cache.sequenceId, newest(topic) - 2, 'nothing applied past the event whose fetch failed');
    await clock.advance(120_000);
    await assertInStep(cache, topic);
    assert.equal(cache.size, 2);
    assert.equal(manager.metrics().watches[0]?.reconnectsByCode.RESOURCE_UNAVAILABLE, 1);
    assert.equal(errors.length, 1, 'told once, the cache not stopped');
    assert.equal(cache.live, true);
  });
});
