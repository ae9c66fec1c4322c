import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  MemorySequenceStore,
  WatchError,
  WatchManager,
  type ResyncNotice,
  type WatchManagerOptions,
} from 'watch-manager';
import type { FakeWatchService, PurgedReading } from 'watch-manager/testing';
import { TOPIC, captureLogger, captured, recordError, scanForSecrets, startService, token } from './support/harness';

scanForSecrets();

type Seen = Array<number | 'live' | { resync: number; snapshot?: unknown[] }>;

async function consumer(service: FakeWatchService, extra: Partial<WatchManagerOptions> = {}) {
  const jwt = await token(service);
  const seen: Seen = [];
  const errors: WatchError[] = [];
  const manager = new WatchManager({
    target: service.target,
    tenantId: service.tenantId,
    historyUrl: service.historyUrl,
    getToken: () => jwt,
    tls: false,
    logger: captureLogger(),
    reconnect: { initialDelayMs: 5, maxDelayMs: 50 },
    ...extra,
  });
  const handlers = {
    onEvent: (e: { sequenceId: number }) => void seen.push(e.sequenceId),
    onLive: () => void seen.push('live'),
    onResync: (n: ResyncNotice) =>
      void seen.push(
        n.snapshot === undefined
          ? { resync: n.newestSequenceId }
          : { resync: n.newestSequenceId, snapshot: n.snapshot },
      ),
    onError: (e: WatchError) => void errors.push(recordError(e)),
  };
  const events = (): number[] => seen.filter((x): x is number => typeof x === 'number');
  return { manager, seen, errors, handlers, events };
}

/** 20 events published, the consumer's stored position 5, history purged through 15: position 5 is gone. */
async function purgedWhileDown() {
  const service = await startService();
  const store = new MemorySequenceStore();
  service.publishMany(TOPIC, 20);
  store.setSequence(TOPIC, 5);
  service.purgeHistory(TOPIC, 15);
  return { service, store, c: await consumer(service, { sequenceProvider: store }) };
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('catch-up and resume', () => {
  it('resumes after the acknowledged position: exactly the missed events, then live, then live events', async () => {
    const service = await startService();
    const store = new MemorySequenceStore();
    const first = await consumer(service, { sequenceProvider: store });
    await first.manager.registerWatch(TOPIC, first.handlers);
    service.publishMany(TOPIC, 100);
    await service.waitFor(() => first.events().length === 100, 5_000, 'first 100');
    await first.manager.close();
    assert.equal(store.getSequence(TOPIC), 100);

    service.publishMany(TOPIC, 250); // while nobody watches
    const second = await consumer(service, { sequenceProvider: store });
    await second.manager.registerWatch(TOPIC, second.handlers);
    await service.waitFor(() => second.seen.includes('live'), 5_000, 'live');
    service.publishMany(TOPIC, 5);
    await service.waitFor(() => second.events().length === 255, 5_000, '255 events');
    assert.deepEqual(second.seen, [...range(101, 350), 'live', ...range(351, 355)]);
    const queries = service.historyQueries.filter((q) => q.includes('sequenceID%3E100'));
    assert.ok(
      queries.some((q) => q.includes('page=3') && q.includes('pageSize=100')),
      'paged with pageSize 100',
    );
    await second.manager.close();
    await service.stop();
  });

  it("from: 'beginning' replays all of history; from: N starts after N; 'latest' replays nothing", async () => {
    const service = await startService();
    service.publishMany(TOPIC, 30);
    for (const [from, expected] of [
      ['beginning', range(1, 30)],
      [12, range(13, 30)],
      ['latest', []],
    ] as const) {
      const c = await consumer(service, { from });
      await c.manager.registerWatch(TOPIC, c.handlers);
      await service.waitFor(() => c.seen.includes('live'), 5_000, 'live');
      assert.deepEqual(c.events(), expected, `from ${String(from)}`);
      await c.manager.close();
    }
    await service.stop();
  });

  it('hand-off: events published continuously during a catch-up of 5,000 events all arrive once, in order', async () => {
    const service = await startService();
    service.publishMany(TOPIC, 5_000);
    service.setHistoryFaults({ delayMs: 3 }); // a catch-up long enough for plenty to happen meanwhile
    const c = await consumer(service, { from: 'beginning' });
    let during = 0;
    let publishing = true;
    const live = (): boolean => c.seen.includes('live');
    const publisher = (async () => {
      while (publishing) {
        service.publish(TOPIC);
        if (!live()) during += 1;
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await c.manager.registerWatch(TOPIC, {
      ...c.handlers,
      onEvent: (e) => {
        c.handlers.onEvent(e);
        // Tied to progress, so that at least 500 events are published during the catch-up whatever the speed.
        if (!live() && e.sequenceId % 10 === 0) {
          service.publish(TOPIC);
          during += 1;
        }
      },
    });
    await service.waitFor(live, 20_000, 'catch-up done');
    await service.waitFor(() => c.events().length > 5_000 + during + 50, 10_000, 'live events after the hand-off');
    publishing = false;
    await publisher;
    const total = service.topic(TOPIC)?.newestSequenceId ?? 0;
    await service.waitFor(() => c.events().length === total, 10_000, 'everything');
    assert.ok(during >= 500, `published during catch-up: ${during}`);
    assert.deepEqual(c.events(), range(1, total));
    assert.deepEqual(c.errors, []);
    await c.manager.close();
    await service.stop();
  });

  it('closes the activation window of a silent service with a final history check', async () => {
    // The service accepts without headers and starts sending live events only 300 ms later: what is published
    // in between reaches history only. A client that trusted its catch-up before any sign of life would lose it.
    const service = await startService({ sendHeaders: false, activationDelayMs: 300 });
    const c = await consumer(service, { from: 'beginning' });
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        service.publish(TOPIC);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    await c.manager.registerWatch(TOPIC, c.handlers); // accepted quietly after 2 s
    await service.waitFor(() => c.seen.includes('live'), 10_000, 'live');
    await service.waitFor(() => c.events().length > 50, 5_000, 'events');
    publishing = false;
    await publisher;
    const total = service.topic(TOPIC)?.newestSequenceId ?? 0;
    await service.waitFor(() => c.events().length === total, 5_000, 'everything');
    assert.deepEqual(c.events(), range(1, total));
    await c.manager.close();
    await service.stop();
  });

  it('a last page after whole pages, asked before the silent stream showed life, does not end the catch-up', async () => {
    // Whole pages, a short one and an empty one, all answered before the service (silent, live events only after
    // 1 s) showed any sign of life: an event published after them reaches history only, and must still come.
    const service = await startService({ sendHeaders: false, activationDelayMs: 1_000 });
    service.publishMany(TOPIC, 150);
    const c = await consumer(service, { from: 'beginning' });
    const registered = c.manager.registerWatch(TOPIC, c.handlers);
    await service.waitFor(() => c.events().length === 150, 10_000, 'the whole pages and the short one handed over');
    await service.waitFor(
      () => service.historyQueries.some((q) => q.includes('page=3&')),
      10_000,
      'the empty page after the short one',
    );
    service.publishMany(TOPIC, 1); // in the activation window: history only
    await registered;
    await service.waitFor(() => c.events().length === 151, 15_000, 'the event of the activation window');
    assert.deepEqual(c.events(), range(1, 151));
    await c.manager.close();
    await service.stop();
  });

  it('410 while the consumer was down: onResync with newestSequenceId, then the changes after it', async () => {
    const service = await startService();
    const store = new MemorySequenceStore();
    service.publishMany(TOPIC, 10);
    store.setSequence(TOPIC, 10);
    service.publishMany(TOPIC, 90);
    service.purgeHistory(TOPIC, 60);
    const c = await consumer(service, { sequenceProvider: store });
    let positionDuringResync: number | undefined;
    await c.manager.registerWatch(TOPIC, {
      ...c.handlers,
      onResync: async (n) => {
        positionDuringResync = store.getSequence(TOPIC);
        await new Promise((resolve) => setTimeout(resolve, 20));
        c.handlers.onResync(n);
      },
    });
    await service.waitFor(() => c.seen.includes('live'), 5_000, 'live');
    service.publishMany(TOPIC, 3);
    await service.waitFor(() => c.events().length === 3, 5_000, 'live events');
    assert.deepEqual(c.seen, [{ resync: 100 }, 'live', 101, 102, 103]);
    assert.equal(positionDuringResync, 10, 'the position moves only after onResync finished');
    assert.equal(store.getSequence(TOPIC), 103);
    await c.manager.close();
    await service.stop();
  });

  it('410: the position is stored at the newest id as soon as onResync resolved, before any later event', async () => {
    const { service, store, c } = await purgedWhileDown();
    await c.manager.registerWatch(TOPIC, c.handlers);
    await service.waitFor(() => c.seen.includes('live'), 5_000, 'live');
    await service.waitFor(() => store.getSequence(TOPIC) === 20, 5_000, 'the resync target stored');
    assert.deepEqual(c.seen, [{ resync: 20 }, 'live']);
    assert.equal(c.manager.metrics().watches[0]?.acknowledgedSequenceId, 20);
    await c.manager.close();
    await service.stop();
  });

  it("from: N with no stored position is stored at start, so a restart without 'from' still resumes after N", async () => {
    const service = await startService();
    service.publishMany(TOPIC, 10);
    const store = new MemorySequenceStore();
    const first = await consumer(service, { from: 6, sequenceProvider: store });
    // never acknowledges
    await first.manager.registerWatch(TOPIC, { onEvent: () => new Promise<void>(() => undefined) });
    await service.waitFor(() => store.getSequence(TOPIC) === 6, 5_000, 'position 6 stored before any acknowledgement');
    await first.manager.close();
    await service.stop();
  });

  it('retries an HTTP 500 from history like a 503 (HISTORY_UNAVAILABLE), never stops the watch', async () => {
    const service = await startService();
    service.publishMany(TOPIC, 120);
    service.setHistoryFaults({ failNext: 3, status: 500 });
    const c = await consumer(service, { from: 'beginning' });
    await c.manager.registerWatch(TOPIC, c.handlers);
    await service.waitFor(() => c.seen.includes('live'), 5_000, 'live');
    assert.deepEqual(c.events(), range(1, 120));
    assert.ok(c.errors.some((e) => e.code === 'HISTORY_UNAVAILABLE' && e.retryable && /HTTP 500/.test(e.message)));
    await c.manager.close();
    await service.stop();
  });

  it('410 with resync.list: the snapshot comes before any change, and changes after the captured id follow', async () => {
    const { service, c } = await purgedWhileDown();
    const list = async (topic: string): Promise<unknown[]> => {
      service.publishMany(TOPIC, 2); // changes during the list come again as events after the captured id
      return [{ topic, items: 20 }];
    };
    await c.manager.registerWatch(TOPIC, c.handlers, { resync: { list } });
    await service.waitFor(() => c.events().length === 2 && c.seen.includes('live'), 5_000, 'changes after the list');
    assert.deepEqual(c.seen, [{ resync: 20, snapshot: [{ topic: TOPIC, items: 20 }] }, 21, 22, 'live']);
    await c.manager.close();
    await service.stop();
  });

  it('410 without an onResync handler stops the watch with HISTORY_GONE instead of skipping silently', async () => {
    const { service, store, c } = await purgedWhileDown();
    const err = await c.manager.registerWatch(TOPIC, { onEvent: c.handlers.onEvent, onError: c.handlers.onError }).then(
      async () => {
        await service.waitFor(() => c.errors.length > 0, 5_000, 'the error');
        return c.errors[0];
      },
      (e: unknown) => e,
    );
    assert.ok(err instanceof WatchError);
    assert.equal(err.code, 'HISTORY_GONE');
    assert.deepEqual(c.events(), []);
    assert.equal(store.getSequence(TOPIC), 5, 'the position did not jump');
    await c.manager.close();
    await service.stop();
  });

  it('retries failing history pages with backoff, and stops with PROTOCOL naming the page on a malformed one', async () => {
    const service = await startService();
    service.publishMany(TOPIC, 300);
    service.setHistoryFaults({ failNext: 3, status: 503 });
    const ok = await consumer(service, { from: 'beginning' });
    await ok.manager.registerWatch(TOPIC, ok.handlers);
    await service.waitFor(() => ok.seen.includes('live'), 5_000, 'live');
    assert.deepEqual(ok.events(), range(1, 300));
    assert.ok(ok.errors.some((e) => e.code === 'HISTORY_UNAVAILABLE' && e.retryable));
    await ok.manager.close();

    service.setHistoryFaults({ malformedNext: 5 });
    const bad = await consumer(service, { from: 100 });
    // The malformed page may come before or after the subscription is accepted: a rejection or an onError.
    await bad.manager.registerWatch(TOPIC, bad.handlers).catch((e: WatchError) => void bad.errors.push(recordError(e)));
    await service.waitFor(() => bad.errors.some((e) => e.code === 'PROTOCOL'), 5_000, 'protocol error');
    const protocol = bad.errors.find((e) => e.code === 'PROTOCOL');
    assert.ok(protocol !== undefined);
    assert.match(protocol.message, /after 100, page 1/);
    assert.deepEqual(bad.events(), []);
    await bad.manager.close();
    await service.stop();
  });

  it('a page cut off mid-body by a dropped connection is retried, not waited for forever', async () => {
    const service = await startService();
    service.publishMany(TOPIC, 250);
    service.setHistoryFaults({ cutNext: 2 });
    const c = await consumer(service, { from: 'beginning', historyTimeoutMs: 60_000 });
    await c.manager.registerWatch(TOPIC, c.handlers);
    await service.waitFor(() => c.seen.includes('live'), 5_000, 'live despite cut pages');
    assert.deepEqual(c.events(), range(1, 250));
    assert.ok(c.errors.some((e) => e.code === 'HISTORY_UNAVAILABLE'));
    await c.manager.close();
    await service.stop();
  });

  it('metrics(): delivered, acknowledged, replayed by catch-up, reconnects, filtered, lag', async () => {
    const service = await startService();
    service.publishMany(TOPIC, 40);
    service.publishMany(TOPIC, 10, { kind: 'Secret' });
    const c = await consumer(service, { from: 'beginning' });
    await c.manager.registerWatch(TOPIC, c.handlers, {
      filter: {
        kinds: ['APIService', 'APIServiceRevision', 'APIServiceInstance', 'ConsumerInstance', 'AccessRequest'],
      },
    });
    await service.waitFor(() => c.seen.includes('live'), 5_000, 'live');
    let [m] = c.manager.metrics().watches;
    assert.ok(m !== undefined);
    assert.equal(m.delivered, 40);
    assert.equal(m.filtered, 10);
    assert.equal(m.acknowledgedSequenceId, 50);
    assert.deepEqual(m.catchUp, { active: false, replayed: 50 });
    assert.equal(m.reconnects, 0);
    assert.equal(m.inFlight, 0);
    assert.equal(m.buffered, 0);
    assert.ok(m.lagMs !== undefined && m.lagMs >= 0 && m.lastEventTime !== undefined);
    service.abortStreams({ topic: TOPIC });
    await service.waitFor(
      () => c.manager.metrics().watches[0]?.reconnects === 1 && c.manager.status().state === 'subscribed',
      5_000,
      'reconnected',
    );
    [m] = c.manager.metrics().watches;
    assert.equal(m?.delivered, 40, 'nothing delivered twice after the reconnect');
    await c.manager.close();
    await service.stop();
  });
});

describe('issue 20 #1: a quiet topic whose last event aged out, and a topic whose sequence restarted', () => {
  /** 10 events, the stored position 10, history purged through 10: a quiet topic whose last event aged out. */
  async function quietAgedOut(reading: PurgedReading) {
    const service = await startService({ purgedReading: reading });
    const store = new MemorySequenceStore();
    service.publishMany(TOPIC, 10);
    store.setSequence(TOPIC, 10);
    service.purgeHistory(TOPIC);
    return { service, store, c: await consumer(service, { sequenceProvider: store }) };
  }

  it("purgedReading 'position': 410 naming the position itself is nothing missed: live, no resync, counted, a debug line", async () => {
    const { service, store, c } = await quietAgedOut('position');
    const lines = captured.length;
    await c.manager.registerWatch(TOPIC, c.handlers);
    await service.waitFor(() => c.seen.includes('live'), 5_000, 'live');
    assert.ok(service.historyCounters.gone >= 1, 'the service answered 410');
    assert.deepEqual(c.seen, ['live'], 'no resync');
    assert.deepEqual(c.errors, [], 'no PROTOCOL error, no retry');
    const [m] = c.manager.metrics().watches;
    assert.ok((m?.historyGoneNothingMissed ?? 0) >= 1, 'counted in metrics()');
    assert.equal(m?.historyRetries, 0);
    assert.ok(
      captured.slice(lines).some((l) => l.includes('"level":"debug"') && l.includes('nothing was missed')),
      'a debug line',
    );
    assert.equal(c.manager.status().watches[0]?.live, true);
    service.publishMany(TOPIC, 2);
    await service.waitFor(() => c.events().length === 2, 5_000, 'live events');
    assert.deepEqual(c.seen, ['live', 11, 12]);
    assert.equal(store.getSequence(TOPIC), 12);
    await c.manager.close();
    await service.stop();
  });

  it("purgedReading 'next-event' (the default): the same quiet topic is answered with an empty page, and goes live alike", async () => {
    const { service, c } = await quietAgedOut('next-event');
    await c.manager.registerWatch(TOPIC, c.handlers);
    await service.waitFor(() => c.seen.includes('live'), 5_000, 'live');
    assert.equal(service.historyCounters.gone, 0, 'no 410 under this reading');
    assert.deepEqual(c.seen, ['live']);
    assert.equal(c.manager.metrics().watches[0]?.historyGoneNothingMissed, 0);
    service.publishMany(TOPIC, 1);
    await service.waitFor(() => c.events().length === 1, 5_000, 'a live event');
    assert.deepEqual(c.seen, ['live', 11]);
    await c.manager.close();
    await service.stop();
  });

  it("purgedReading 'position' and a silent service: a 410 answered before the stream's first sign of life does not end the catch-up", async () => {
    // The service accepts without headers and sends live events only 1 s later: an event published in between
    // reaches history only. A 410 saying "nothing missed" before any sign of life proves nothing about it.
    const service = await startService({ purgedReading: 'position', sendHeaders: false, activationDelayMs: 1_000 });
    const store = new MemorySequenceStore();
    service.publishMany(TOPIC, 10);
    store.setSequence(TOPIC, 10);
    service.purgeHistory(TOPIC);
    const c = await consumer(service, { sequenceProvider: store });
    const notices: ResyncNotice[] = [];
    const registered = c.manager.registerWatch(TOPIC, {
      ...c.handlers,
      onResync: (n) => {
        notices.push(n);
        c.handlers.onResync(n);
      },
    });
    await service.waitFor(() => service.historyCounters.gone >= 1, 10_000, 'the first 410');
    service.publishMany(TOPIC, 1); // in the activation window: history only
    await registered;
    // Delivered, or named by a resync (this reading answers 410 for the purged position 10 once 11 exists): never a
    // silent gap. The catch-up polls history while the stream stays silent.
    await service.waitFor(
      () => c.events().includes(11) || notices.some((n) => n.previousSequenceId < 11 && n.newestSequenceId >= 11),
      15_000,
      'event 11 delivered or named',
    );
    await c.manager.close();
    await service.stop();
  });

  it('a topic recreated while watched (its sequence restarted): one resync naming the range, then the new events, live: never a loop', async () => {
    const service = await startService();
    const store = new MemorySequenceStore();
    const c = await consumer(service, { sequenceProvider: store });
    const notices: ResyncNotice[] = [];
    await c.manager.registerWatch(TOPIC, {
      ...c.handlers,
      onResync: (n) => {
        notices.push(n);
        c.handlers.onResync(n);
      },
    });
    await service.waitFor(() => c.seen.includes('live'), 5_000, 'live');
    service.publishMany(TOPIC, 10);
    await service.waitFor(() => c.events().length === 10, 5_000, 'the first sequence');
    service.recreateTopic(TOPIC); // ends the stream: the reconnect's catch-up asks after 10
    service.publishMany(TOPIC, 3); // ids 1..3 of the new sequence, before the reconnect
    await service.waitFor(() => c.seen.filter((x) => x === 'live').length === 2, 5_000, 'live again');
    service.publishMany(TOPIC, 2);
    await service.waitFor(() => c.events().length === 12, 5_000, 'the new live events');
    assert.deepEqual(c.seen, ['live', ...range(1, 10), { resync: 3 }, 'live', 4, 5]);
    assert.equal(notices.length, 1);
    assert.deepEqual([notices[0]?.previousSequenceId, notices[0]?.newestSequenceId], [10, 3]);
    assert.match(notices[0]?.reason ?? '', /sequence restarted.*3.*below the position 10/);
    assert.equal(c.manager.metrics().watches[0]?.acknowledgedSequenceId, 5, 'the position is the new sequence');
    await new Promise((resolve) => setTimeout(resolve, 200)); // the pages prefetched before the answer arrive
    const requests = service.historyCounters.requests;
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(service.historyCounters.requests, requests, 'no history request once live: no loop');
    await c.manager.close();
    await service.stop();
  });

  it('a topic recreated while the consumer was down: a resync from the stored position to the new newest id, then live', async () => {
    const service = await startService();
    const store = new MemorySequenceStore();
    service.publishMany(TOPIC, 10);
    store.setSequence(TOPIC, 10);
    service.recreateTopic(TOPIC);
    service.publishMany(TOPIC, 4);
    const c = await consumer(service, { sequenceProvider: store });
    await c.manager.registerWatch(TOPIC, c.handlers);
    await service.waitFor(() => c.seen.includes('live'), 5_000, 'live');
    service.publishMany(TOPIC, 1);
    await service.waitFor(() => c.events().length === 1, 5_000, 'a live event');
    assert.deepEqual(c.seen, [{ resync: 4 }, 'live', 5]);
    assert.deepEqual(c.errors, []);
    await c.manager.close();
    await service.stop();
  });
});

describe('issue 20 #14: history pages that overlap by exactly one id', () => {
  it("a page repeating the previous page's last id raises the typed overlap error and the pass is read again; each id once", async () => {
    const service = await startService();
    // The history API of a server that offsets its pages by one less than their size: page p starts with the last id
    // of page p-1 (a one-id overlap, as a server whose page size changed by one under the numbering would give).
    const ids = range(1, 7);
    const asked: string[] = [];
    const history = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://h');
      asked.push(url.search);
      const after = Number(/^sequenceID>(\d+)$/.exec(url.searchParams.get('query') ?? '')?.[1] ?? 0);
      const page = Number(url.searchParams.get('page'));
      const size = Number(url.searchParams.get('pageSize'));
      const above = ids.filter((id) => id > after);
      const start = (page - 1) * (size - 1);
      const events = above.slice(start, start + size).map((id) => ({
        id: `e${id}`,
        type: 'ResourceUpdated',
        payload: { kind: 'K', name: `n${id}`, metadata: { selfLink: `/k/n${id}` } },
        metadata: { sequenceID: id },
      }));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(events));
    });
    await new Promise<void>((resolve) => history.listen(0, '127.0.0.1', () => resolve()));
    try {
      const c = await consumer(service, {
        historyUrl: `http://127.0.0.1:${(history.address() as AddressInfo).port}`,
        historyPageSize: 3,
        from: 'beginning',
      });
      await c.manager.registerWatch(TOPIC, c.handlers);
      await service.waitFor(() => c.seen.includes('live'), 5_000, 'live');
      const overlap = c.errors.find((e) => e.code === 'PROTOCOL' && /the pages overlap/.test(e.message));
      assert.ok(overlap !== undefined, `the typed overlap error: ${c.errors.map((e) => e.message).join('; ')}`);
      assert.equal(overlap.retryable, true);
      assert.match(
        overlap.message,
        /after 0, page 2: holds sequence id 3, not above \d+ from an earlier page; the pages overlap/,
      );
      const firstPages = asked.filter((q) => q.includes('sequenceID%3E0') && /[?&]page=1&/.test(q));
      assert.equal(firstPages.length, 2, `the pass read again from its start: ${asked.join(' ')}`);
      assert.deepEqual(c.events(), ids, 'each id once, in order');
      await c.manager.close();
    } finally {
      history.closeAllConnections();
      await new Promise<void>((resolve) => history.close(() => resolve()));
      await service.stop();
    }
  });
});
