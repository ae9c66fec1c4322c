import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  MemorySequenceStore,
  type WatchError,
  WatchManager,
  type ResyncNotice,
  type WatchEvent,
  type WatchManagerOptions,
} from 'watch-manager';
import { FakeClock, type FakeWatchService } from 'watch-manager/testing';
import { TOPIC, captureLogger, captured, recordError, scanForSecrets, startService, token } from './support/harness';

scanForSecrets();

// A real service is not our fake: the misbehaviour of issue 11 (a gateway, a newer service version, a server that
// ignores parameters), made by the fake's hostile switches. Each must end in every event exactly once and in order,
// a resync naming the range, or a typed error: never a silent gap, a hot loop or a crash.

type Seen = Array<number | 'live' | { resync: number }>;

async function consumer(service: FakeWatchService, extra: Partial<WatchManagerOptions> = {}) {
  const jwt = await token(service);
  const seen: Seen = [];
  const events: WatchEvent[] = [];
  const errors: WatchError[] = [];
  const resyncs: ResyncNotice[] = [];
  const manager = new WatchManager({
    target: service.target,
    tenantId: service.tenantId,
    historyUrl: service.historyUrl,
    getToken: () => jwt,
    tls: false,
    logger: captureLogger(),
    reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
    ...extra,
  });
  const handlers = {
    onEvent: (e: WatchEvent) => {
      events.push(e);
      seen.push(e.sequenceId);
    },
    onLive: () => void seen.push('live'),
    onResync: (n: ResyncNotice) => {
      resyncs.push(n);
      seen.push({ resync: n.newestSequenceId });
    },
    onError: (e: WatchError) => void errors.push(recordError(e)),
  };
  const ids = (): number[] => seen.filter((x): x is number => typeof x === 'number');
  return { manager, seen, events, errors, resyncs, handlers, ids };
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('a 410 Gone that cannot be resumed from (#3)', () => {
  for (const header of ['abc', '-5', null] as const) {
    it(`#3 a 410 with X-Axway-Max-Sequence-Id ${header === null ? 'missing' : JSON.stringify(header)}: retryable PROTOCOL with backoff, a bounded number of requests, no resync`, async () => {
      const service = await startService();
      service.publishMany(TOPIC, 30);
      const store = new MemorySequenceStore();
      store.setSequence(TOPIC, 5);
      const c = await consumer(service, { sequenceProvider: store });
      service.setHostile({ gone: { maxSequenceId: header } });
      await c.manager.registerWatch(TOPIC, c.handlers);
      const before = service.historyCounters.requests;
      await sleep(1_000);
      const requests = service.historyCounters.requests - before;
      assert.ok(requests < 40, `history requests in 1 s: ${requests}`);
      assert.deepEqual(c.resyncs, [], 'never a resync to a position that cannot be read');
      const protocol = c.errors.filter((e) => e.code === 'PROTOCOL');
      assert.ok(protocol.length >= 1);
      assert.ok(protocol.every((e) => e.retryable));
      assert.match(
        protocol[0]?.message ?? '',
        /410 Gone with an X-Axway-Max-Sequence-Id that cannot be resumed from .*a whole sequence id/,
      );
      // The gateway heals: the same watch goes on from its position, without a gap.
      service.setHostile({});
      await service.waitFor(() => c.seen.includes('live'), 5_000, 'live after the healing');
      assert.deepEqual(c.ids(), range(6, 30));
      assert.equal(store.getSequence(TOPIC), 30);
      await c.manager.close();
      await service.stop();
    });
  }

  it('issue 20 #1: a 410 naming the position itself as the newest id is "nothing missed": live at once, no resync, no error, counted', async () => {
    const service = await startService();
    service.publishMany(TOPIC, 5);
    const store = new MemorySequenceStore();
    store.setSequence(TOPIC, 5);
    const c = await consumer(service, { sequenceProvider: store });
    service.setHostile({ gone: { maxSequenceId: 'asked' } });
    await c.manager.registerWatch(TOPIC, c.handlers);
    await service.waitFor(() => c.seen.includes('live'), 5_000, 'live');
    assert.ok(service.historyCounters.gone >= 1, 'the 410 was answered');
    assert.deepEqual(c.seen, ['live']);
    assert.deepEqual(c.resyncs, []);
    assert.deepEqual(
      c.errors.map((e) => e.code),
      [],
    );
    assert.ok((c.manager.metrics().watches[0]?.historyGoneNothingMissed ?? 0) >= 1, 'counted in metrics()');
    assert.equal(c.manager.status().watches[0]?.live, true);
    // Never a loop: no more history requests once live (but the pages prefetched before the answer).
    await sleep(200);
    const requests = service.historyCounters.requests;
    await sleep(300);
    assert.equal(service.historyCounters.requests, requests, 'no history request once live');
    service.setHostile({});
    service.publishMany(TOPIC, 2);
    await service.waitFor(() => c.ids().length === 2, 5_000, 'live events');
    assert.deepEqual(c.seen, ['live', 6, 7]);
    await c.manager.close();
    await service.stop();
  });

  it('issue 20 #1: a 410 naming a newest id below the position (the sequence restarted) is one resync naming the range, then live: never a loop', async () => {
    const service = await startService();
    service.publishMany(TOPIC, 5);
    const store = new MemorySequenceStore();
    store.setSequence(TOPIC, 5);
    const c = await consumer(service, { sequenceProvider: store });
    service.setHostile({ gone: { maxSequenceId: '0' } });
    await c.manager.registerWatch(TOPIC, c.handlers);
    await service.waitFor(() => c.seen.includes('live'), 5_000, 'live');
    await sleep(200); // the pages prefetched before the answer arrive
    const requests = service.historyCounters.requests;
    await sleep(300);
    assert.equal(service.historyCounters.requests, requests, 'no history request once live: no loop');
    assert.deepEqual(c.seen, [{ resync: 0 }, 'live']);
    assert.equal(c.resyncs.length, 1);
    assert.deepEqual([c.resyncs[0]?.previousSequenceId, c.resyncs[0]?.newestSequenceId], [5, 0]);
    assert.match(c.resyncs[0]?.reason ?? '', /sequence restarted/);
    assert.deepEqual(c.errors, []);
    assert.equal(c.manager.metrics().watches[0]?.acknowledgedSequenceId, 0, 'the position is the newest id');
    await c.manager.close();
    await service.stop();
  });
});

describe('order violations (#6)', () => {
  for (const order of ['desc', 'shuffle'] as const) {
    it(`#6 a history page out of order (pageOrder '${order}') is a retryable PROTOCOL error naming the page; nothing of it is skipped`, async () => {
      const service = await startService();
      service.publishMany(TOPIC, 250);
      service.setHostile({ pageOrder: order });
      const c = await consumer(service, { from: 'beginning' });
      await c.manager.registerWatch(TOPIC, c.handlers);
      await service.waitFor(() => c.errors.some((e) => e.code === 'PROTOCOL'), 5_000, 'the violation reported');
      const error = c.errors.find((e) => e.code === 'PROTOCOL') as WatchError;
      assert.equal(error.retryable, true);
      assert.match(error.message, /history of .* after 0, page \d+: the page is not in ascending sequence order/);
      assert.deepEqual(c.ids(), [], 'no event of a page out of order was handed over');
      assert.equal(
        c.manager.metrics().watches[0]?.acknowledgedSequenceId,
        0,
        'the position did not move past anything',
      );
      service.setHostile({});
      await service.waitFor(() => c.seen.includes('live'), 5_000, 'live once the server sorts again');
      assert.deepEqual(c.ids(), range(1, 250));
      await c.manager.close();
      await service.stop();
    });
  }

  it('#6 single-event pages newest first (a server ignoring sort, capped at 1): each id once, every one out of order named by a typed error', async () => {
    const service = await startService();
    service.publishMany(TOPIC, 10);
    service.setHostile({ pageOrder: 'desc', pageCap: 1 }); // each page alone is "ascending": only the next page shows it
    const c = await consumer(service, { from: 'beginning' });
    await c.manager.registerWatch(TOPIC, c.handlers);
    await service.waitFor(() => c.seen.includes('live'), 10_000, 'live');
    assert.deepEqual(
      [...c.ids()].sort((a, b) => a - b),
      range(1, 10),
      'each id exactly once',
    );
    const named = new Set(
      c.errors.flatMap((e) => (/sequence id (\d+) arrived after/.exec(e.message)?.slice(1) ?? []).map(Number)),
    );
    const highest: number[] = [];
    for (const id of c.ids()) {
      if (id < Math.max(0, ...highest)) assert.ok(named.has(id), `${id} out of order without a typed error naming it`);
      highest.push(id);
    }
    assert.ok(
      c.errors.some((e) => e.code === 'PROTOCOL' && /the pages overlap/.test(e.message)),
      'the page is named too',
    );
    assert.equal(c.manager.metrics().watches[0]?.acknowledgedSequenceId, 10);
    await c.manager.close();
    await service.stop();
  });

  it('#6 a server that changes how it pages during a pass (newest first, then as asked): the pass is read again, nothing skipped', async () => {
    // Pages 1-4 come newest first, one event each; then the server pages as asked, and page 5 of that numbering
    // starts far beyond what pages 1-4 would have held: only reading the pass again from its start fetches those.
    const service = await startService();
    service.publishMany(TOPIC, 50);
    service.setHostile({ pageOrder: 'desc', pageCap: 1 });
    service.setHistoryFaults({ delayMs: 40 });
    const c = await consumer(service, { from: 'beginning', historyPageSize: 10 });
    await c.manager.registerWatch(TOPIC, c.handlers);
    await service.waitFor(
      () => service.historyCounters.pagesServed >= 4,
      5_000,
      'the four pages in flight served newest first',
    );
    service.setHostile({});
    await service.waitFor(() => c.seen.includes('live'), 10_000, 'live');
    assert.deepEqual(
      [...c.ids()].sort((a, b) => a - b),
      range(1, 50),
      'each id exactly once',
    );
    const named = new Set(
      c.errors.flatMap((e) => (/sequence id (\d+) arrived after/.exec(e.message)?.slice(1) ?? []).map(Number)),
    );
    let highest = 0;
    for (const id of c.ids()) {
      if (id < highest) assert.ok(named.has(id), `${id} out of order without a typed error naming it`);
      highest = Math.max(highest, id);
    }
    await c.manager.close();
    await service.stop();
  });

  it('#6 history purged while ids the broken order jumped over are read again: a resync names them, none goes missing silently', async () => {
    // Pages newest first (one event each) hand over 50, 49, 48, 47 while 6..46 were never fetched; then history is
    // purged through 45 and pages as asked: reading the pass again from 5 meets 410. Only a resync can tell the
    // consumer about 6..45 now.
    const service = await startService();
    service.publishMany(TOPIC, 50);
    const store = new MemorySequenceStore();
    store.setSequence(TOPIC, 5);
    service.setHostile({ pageOrder: 'desc', pageCap: 1 });
    service.setHistoryFaults({ delayMs: 40 });
    const c = await consumer(service, { sequenceProvider: store, historyPageSize: 10 });
    await c.manager.registerWatch(TOPIC, c.handlers);
    await service.waitFor(
      () => service.historyCounters.pagesServed >= 4,
      5_000,
      'the four pages in flight served newest first',
    );
    service.purgeHistory(TOPIC, 45);
    service.setHostile({});
    await service.waitFor(() => c.seen.includes('live'), 10_000, 'live');
    const named = (id: number): boolean => c.resyncs.some((n) => id > n.previousSequenceId && id <= n.newestSequenceId);
    const missing = range(6, 50).filter((id) => !c.ids().includes(id) && !named(id));
    assert.deepEqual(missing, [], 'every id delivered or named by a resync');
    assert.ok(
      c.resyncs.some((n) => n.previousSequenceId === 5),
      `a resync from where the reading started: ${JSON.stringify(c.resyncs)}`,
    );
    assert.equal(new Set(c.ids()).size, c.ids().length, 'nothing twice');
    await c.manager.close();
    await service.stop();
  });

  it('#6 stream ids out of order (5,3,4,6…) are handed over late, never dropped: a retryable PROTOCOL error, a log line and a metric each', async () => {
    const service = await startService();
    service.publishMany(TOPIC, 2);
    const c = await consumer(service, { from: 'beginning' });
    await c.manager.registerWatch(TOPIC, c.handlers);
    await service.waitFor(() => c.seen.includes('live'), 5_000, 'live');
    service.setHostile({ reorder: { hold: 2, every: 4 } });
    const linesBefore = captured.length;
    service.publishMany(TOPIC, 8); // 3..10 go out as 5,3,4,6,9,7,8,10
    await service.waitFor(() => c.ids().length === 10, 5_000, 'every event');
    assert.deepEqual(c.ids(), [1, 2, 5, 3, 4, 6, 9, 7, 8, 10], 'each id exactly once, the late ones late');
    const late = c.errors.filter((e) => e.code === 'PROTOCOL');
    assert.deepEqual(
      late.map((e) => /sequence id (\d+) arrived after (\d+)/.exec(e.message)?.slice(1).map(Number)),
      [
        [3, 5],
        [4, 5],
        [7, 9],
        [8, 9],
      ],
    );
    assert.ok(late.every((e) => e.retryable));
    assert.equal(c.manager.metrics().watches[0]?.lateEvents, 4);
    assert.equal(
      captured
        .slice(linesBefore)
        .filter((l) => l.includes('"level":"warn"') && l.includes('handed over late, out of order')).length,
      4,
      'a log line each',
    );
    assert.equal(c.manager.metrics().watches[0]?.acknowledgedSequenceId, 10);
    await c.manager.close();
    await service.stop();
  });

  it('#6 repeated stream ids are dropped as repeats (counted), never handed over twice', async () => {
    const service = await startService();
    const c = await consumer(service, { from: 'beginning' });
    await c.manager.registerWatch(TOPIC, c.handlers);
    await service.waitFor(() => c.seen.includes('live'), 5_000, 'live');
    service.setHostile({ repeatEvery: 3 });
    service.publishMany(TOPIC, 9);
    await service.waitFor(
      () => service.counters.repeated === 3 && c.ids().length === 9,
      5_000,
      'everything and the repeats',
    );
    await sleep(50);
    assert.deepEqual(c.ids(), range(1, 9));
    assert.equal(c.manager.metrics().watches[0]?.duplicates, 3);
    assert.equal(c.manager.metrics().watches[0]?.lateEvents, 0);
    assert.deepEqual(c.errors, []);
    await c.manager.close();
    await service.stop();
  });
});

describe('a server that caps its pages (#7)', () => {
  for (const cap of [1, 7, 50]) {
    it(`#7 history capped at ${cap} events a page (pageSize 100): no gap, the page size adapts, live events follow`, async () => {
      const service = await startService();
      service.publishMany(TOPIC, 300);
      service.setHostile({ pageCap: cap });
      const c = await consumer(service, { from: 'beginning' });
      const linesBefore = captured.length;
      await c.manager.registerWatch(TOPIC, c.handlers);
      await service.waitFor(() => c.seen.includes('live'), 20_000, 'live');
      service.publishMany(TOPIC, 3);
      await service.waitFor(() => c.ids().length === 303, 5_000, 'live events');
      assert.deepEqual(c.ids(), range(1, 303));
      assert.ok(
        captured
          .slice(linesBefore)
          .some((l) => l.includes(`serves at most ${cap} events per page (asked 100); page size lowered to ${cap}`)),
        'the adaptation is logged',
      );
      assert.ok(
        service.historyQueries.some((q) => q.includes(`pageSize=${cap}`)),
        'later pages ask for what the server serves',
      );
      await c.manager.close();
      await service.stop();
    });
  }

  for (const total of [250, 100]) {
    it(`#7 a server that offsets pages by the size asked but truncates them to 30 (${total} events): no gap`, async () => {
      // With 100 events, page 2 of the first numbering is empty although events 31..100 exist: only asking again
      // from the last id handed over shows that the short page was not the last.
      const service = await startService();
      service.publishMany(TOPIC, total);
      service.setHostile({ pageLimit: 30 });
      const c = await consumer(service, { from: 'beginning' });
      await c.manager.registerWatch(TOPIC, c.handlers);
      await service.waitFor(() => c.seen.includes('live'), 10_000, 'live');
      assert.deepEqual(c.ids(), range(1, total));
      await c.manager.close();
      await service.stop();
    });
  }

  it('#7 a short page followed by a non-empty one is never the end, also while events are appended during the catch-up', async () => {
    const service = await startService();
    service.publishMany(TOPIC, 500);
    service.setHostile({ pageCap: 30 });
    service.setHistoryFaults({ delayMs: 2 });
    const c = await consumer(service, { from: 'beginning' });
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        service.publish(TOPIC);
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await c.manager.registerWatch(TOPIC, c.handlers);
    await service.waitFor(() => c.seen.includes('live'), 20_000, 'live');
    publishing = false;
    await publisher;
    const total = service.topic(TOPIC)?.newestSequenceId ?? 0;
    await service.waitFor(() => c.ids().length === total, 10_000, 'everything');
    assert.deepEqual(c.ids(), range(1, total));
    await c.manager.close();
    await service.stop();
  });
});

describe('event types this SDK does not know (#8)', () => {
  it('#8 unknown types are skipped by default: the watch goes on, the position moves past them, warned once per type, counted; a restart does not meet them again', async () => {
    const service = await startService();
    service.setHostile({ unknownTypeEvery: 5 });
    service.publishMany(TOPIC, 12); // 5 and 10 from history as ResourceArchived
    const store = new MemorySequenceStore();
    const c = await consumer(service, { from: 'beginning', sequenceProvider: store });
    const linesBefore = captured.length;
    await c.manager.registerWatch(TOPIC, c.handlers);
    await service.waitFor(() => c.seen.includes('live'), 5_000, 'live');
    service.publishMany(TOPIC, 8); // 15 and 20 on the stream as type 42
    await service.waitFor(() => c.ids().length === 16, 5_000, 'the known ones');
    await service.waitFor(() => store.getSequence(TOPIC) === 20, 5_000, 'the position past the last one (20, unknown)');
    assert.deepEqual(
      c.ids(),
      range(1, 20).filter((n) => n % 5 !== 0),
    );
    assert.equal(c.manager.metrics().watches[0]?.unknownTypes, 4);
    assert.deepEqual(c.errors, [], 'not an error');
    const warnings = captured.slice(linesBefore).filter((l) => l.includes('events of a type this SDK does not know'));
    assert.equal(warnings.length, 2, 'once per type: ResourceArchived (history) and 42 (stream)');
    assert.ok(warnings.some((l) => l.includes('ResourceArchived')) && warnings.some((l) => l.includes('\\"42\\"')));
    await c.manager.close();
    const again = await consumer(service, { sequenceProvider: store });
    await again.manager.registerWatch(TOPIC, again.handlers);
    await service.waitFor(() => again.seen.includes('live'), 5_000, 'live after the restart');
    service.publishMany(TOPIC, 1);
    await service.waitFor(() => again.ids().length === 1, 5_000, 'the next event');
    assert.deepEqual(again.ids(), [21]);
    await again.manager.close();
    await service.stop();
  });

  it("#8 unknownEventTypes: 'deliver' counts each unknown event once, also one that waits for a handler's slot", async () => {
    const service = await startService();
    service.setHostile({ unknownTypeEvery: 2 });
    service.publishMany(TOPIC, 6);
    const c = await consumer(service, { from: 'beginning', unknownEventTypes: 'deliver' });
    // Each handler run takes a few turns of the event loop, so the next event (every second one is of an unknown
    // type) is looked at while the one slot is busy and again once it is free.
    const handled: number[] = [];
    await c.manager.registerWatch(TOPIC, {
      onEvent: async (e: WatchEvent) => {
        await new Promise((resolve) => setImmediate(resolve));
        handled.push(e.sequenceId);
      },
    });
    await service.waitFor(() => handled.length === 6, 10_000, 'all six');
    assert.deepEqual(handled, [1, 2, 3, 4, 5, 6]);
    assert.equal(c.manager.metrics().watches[0]?.unknownTypes, 3, 'three unknown events, each counted once');
    await c.manager.close();
    await service.stop();
  });

  it("#8 unknownEventTypes: 'deliver' hands them over as UNKNOWN with the service's raw type", async () => {
    const service = await startService();
    service.setHostile({ unknownTypeEvery: 3 });
    service.publishMany(TOPIC, 4);
    const c = await consumer(service, { from: 'beginning', unknownEventTypes: 'deliver' });
    await c.manager.registerWatch(TOPIC, c.handlers);
    await service.waitFor(() => c.seen.includes('live'), 5_000, 'live');
    service.publishMany(TOPIC, 2);
    await service.waitFor(() => c.ids().length === 6, 5_000, 'all six');
    assert.deepEqual(
      c.events.map((e) => [e.sequenceId, e.type, e.rawType]),
      [
        [1, c.events[0]?.type, undefined],
        [2, c.events[1]?.type, undefined],
        [3, 'UNKNOWN', 'ResourceArchived'],
        [4, c.events[3]?.type, undefined],
        [5, c.events[4]?.type, undefined],
        [6, 'UNKNOWN', '42'],
      ],
    );
    assert.equal(c.manager.metrics().watches[0]?.unknownTypes, 2);
    await assert.rejects(
      async () =>
        new WatchManager({ target: 'h:1', tenantId: 't', getToken: () => 'x', unknownEventTypes: 'keep' as never }),
      /unknownEventTypes/,
    );
    await c.manager.close();
    await service.stop();
  });
});

describe('Retry-After (#9)', () => {
  for (const [form, header, waitMs] of [
    ['seconds', '30', 30_000],
    ['an HTTP date', 'date+20s', 20_000],
    ['a huge value, capped', '100000', 300_000],
  ] as const) {
    it(`#9 a 429 with Retry-After as ${form} pauses every page in flight of the topic until it is over`, async () => {
      const clock = new FakeClock();
      const service = await startService();
      service.publishMany(TOPIC, 250);
      const value = header === 'date+20s' ? new Date(clock.now() + 20_000).toUTCString() : header;
      service.setHostile({ retryAfter: { status: 429, header: value, count: 4 } });
      const linesBefore = captured.length;
      const c = await consumer(service, { from: 'beginning', clock });
      await c.manager.registerWatch(TOPIC, c.handlers);
      const retrying = (): number =>
        captured.slice(linesBefore).filter((l) => l.includes('history request failed; retrying in')).length;
      // Throttled by the server, and each answer read by the client (the pause starts when it is read).
      await service.waitFor(
        () => service.historyCounters.throttled === 4 && retrying() === 4,
        5_000,
        'the four pages in flight throttled',
      );
      const requests = service.historyCounters.requests;
      await clock.advance(waitMs - 1_000);
      await sleep(100);
      assert.equal(service.historyCounters.requests, requests, `no request during the ${waitMs} ms asked for`);
      await clock.advance(1_000);
      await service.waitFor(() => c.seen.includes('live'), 5_000, 'live after the pause');
      assert.deepEqual(c.ids(), range(1, 250));
      const throttled = c.errors.filter((e) => e.code === 'HISTORY_UNAVAILABLE');
      assert.ok(
        throttled.length >= 1 && throttled.every((e) => e.retryAfterMs === waitMs && e.retryable),
        throttled.map((e) => e.message).join('; '),
      );
      await c.manager.close();
      await service.stop();
    });
  }
});

describe('a service that ends every healthy stream (#15)', () => {
  it('#15 streams ended after 50 events each (a maximum connection age): 2,000 events promptly, the backoff never escalates', async () => {
    const service = await startService();
    service.setHostile({ abortAfterEvents: 50 });
    // A long cap: a backoff that escalated over these healthy streams would reach seconds within a few ends.
    const c = await consumer(service, { from: 'beginning', reconnect: { initialDelayMs: 100, maxDelayMs: 30_000 } });
    await c.manager.registerWatch(TOPIC, c.handlers);
    await service.waitFor(() => c.seen.includes('live'), 5_000, 'live');
    const delays: number[] = [];
    c.manager.on('state', (change) => {
      const next = c.manager.status().watches[0]?.nextAttemptAt;
      if (change.to === 'reconnecting' && next !== undefined) delays.push(next - Date.now());
    });
    const started = performance.now();
    // Paced (1,000 a second), so that each stream carries its 50 live events before the service ends it.
    for (let i = 0; i < 100; i++) {
      service.publishMany(TOPIC, 20);
      await sleep(20);
    }
    await service.waitFor(() => c.ids().length === 2_000, 20_000, 'all 2,000 events');
    const elapsed = performance.now() - started;
    assert.deepEqual(c.ids(), range(1, 2_000));
    assert.ok(
      service.counters.abortedAfterEvents >= 8,
      `streams ended by the service: ${service.counters.abortedAfterEvents}`,
    );
    assert.ok(delays.length >= 8, `reconnects seen: ${delays.length}`);
    assert.ok(
      Math.max(...delays) <= 110,
      `every delay within the first cap (100 ms): ${delays.map((d) => d.toFixed(0)).join(',')}`,
    );
    assert.ok(elapsed < 10_000, `delivered in ${elapsed.toFixed(0)} ms`);
    await c.manager.close();
    await service.stop();
  });
});

describe('a stream that stays open but stops delivering (#16)', () => {
  it('#16 with pings every 200 ms the watchdog follows them: silence on a healthy connection is STALLED, then a catch-up', async () => {
    const service = await startService({ pingIntervalMs: 200 });
    const c = await consumer(service, { from: 'beginning' });
    await c.manager.registerWatch(TOPIC, c.handlers);
    await service.waitFor(() => c.seen.includes('live'), 5_000, 'live');
    await sleep(2_000); // pings only, no event for 2 s: not a stall
    assert.equal(c.errors.length, 0, 'no stall while the service pings');
    service.publishMany(TOPIC, 3);
    await service.waitFor(() => c.ids().length === 3, 5_000, 'three live events');
    service.setHostile({ silent: true }); // neither events nor pings; the connection stays healthy
    service.publishMany(TOPIC, 4); // history only
    const started = performance.now();
    await service.waitFor(() => c.errors.some((e) => e.code === 'STALLED'), 5_000, 'the stall noticed');
    const after = performance.now() - started;
    assert.ok(
      after >= 900 && after < 3_000,
      `noticed after ${after.toFixed(0)} ms (3 × the 200 ms ping gap, at least 1 s)`,
    );
    const stalled = c.errors.find((e) => e.code === 'STALLED') as WatchError;
    assert.equal(stalled.retryable, true);
    assert.match(stalled.message, /neither an event nor a ping for \d+ ms/);
    // The replacement catches up from history what the silent stream never sent.
    await service.waitFor(() => c.ids().length === 7, 5_000, 'the missed events by catch-up');
    service.setHostile({});
    service.publishMany(TOPIC, 2);
    await service.waitFor(() => c.ids().length === 9, 5_000, 'live again');
    assert.deepEqual(c.ids(), range(1, 9));
    assert.ok((c.manager.metrics().watches[0]?.reconnects ?? 0) >= 1);
    await c.manager.close();
    await service.stop();
  });

  it('#16 stallTimeoutMs given: a silent stream without pings is replaced; time the SDK itself stopped reading never counts', async () => {
    const service = await startService({ pingIntervalMs: 100 });
    // A slow consumer and a small buffer: the SDK pauses the stream for far longer than the stall timeout.
    const c = await consumer(service, { from: 'beginning', stallTimeoutMs: 300, maxBufferedEvents: 4 });
    await c.manager.registerWatch(TOPIC, {
      ...c.handlers,
      onEvent: async (e) => {
        c.handlers.onEvent(e);
        await sleep(25);
      },
    });
    await service.waitFor(() => c.seen.includes('live'), 5_000, 'live');
    service.publishMany(TOPIC, 60); // 1.5 s of work, the stream paused most of it
    await service.waitFor(() => c.ids().length === 60, 10_000, 'all of them');
    assert.deepEqual(
      c.errors.filter((e) => e.code === 'STALLED'),
      [],
      'paused by the SDK is not stalled',
    );
    service.setHostile({ silent: true });
    await service.waitFor(() => c.errors.some((e) => e.code === 'STALLED'), 3_000, 'the stall noticed');
    await c.manager.close();
    await service.stop();
  });
});

describe('#16 the stall watchdog after backpressure (issue 20)', () => {
  it('a pause of the SDK longer than stallTimeoutMs, the service quiet at the resume: no stall until a full timeout of real silence, no reconnect', async () => {
    const service = await startService({ pingIntervalMs: 100 });
    // A slow handler and a buffer of 4: five events pause the stream for two handler runs (1.8 s), longer than the
    // stall timeout (1.5 s).
    const c = await consumer(service, { from: 'beginning', stallTimeoutMs: 1_500, maxBufferedEvents: 4 });
    let serviceResumed: Promise<void> | undefined;
    await c.manager.registerWatch(TOPIC, {
      ...c.handlers,
      onEvent: async (e) => {
        c.handlers.onEvent(e);
        // Taking event 3 brought the queue to the low mark: the SDK reads again from here on. The service stays
        // quiet for 100 ms more (then its pings flow), far less than a stall timeout.
        if (e.sequenceId === 3) serviceResumed = sleep(100).then(() => service.resume());
        await sleep(900);
      },
    });
    await service.waitFor(() => c.seen.includes('live'), 5_000, 'live');
    service.publishMany(TOPIC, 5);
    service.pause(); // nothing more, not even a ping, until after the SDK's resume
    await service.waitFor(() => c.ids().length === 5, 20_000, 'all five');
    await serviceResumed;
    await sleep(300); // pings again
    assert.deepEqual(
      c.errors.map((e) => e.code),
      [],
      'no stall: the silence before the resume was the SDK not reading',
    );
    assert.equal(c.manager.metrics().watches[0]?.reconnects, 0);
    await c.manager.close();
    await service.stop();
  });
});

describe('test holes found by mutation', () => {
  it('backpressure during catch-up: small buffer, slow pages, busy publisher: buffered stays bounded, and after live too', async () => {
    const service = await startService();
    service.publishMany(TOPIC, 2_000);
    service.setHistoryFaults({ delayMs: 15 });
    const maxBufferedEvents = 20;
    const c = await consumer(service, { from: 'beginning', maxBufferedEvents });
    let publishing = true;
    let during = 0;
    const live = (): boolean => c.seen.includes('live');
    const publisher = (async () => {
      while (publishing) {
        for (let i = 0; i < 20; i++) service.publish(TOPIC);
        if (!live()) during += 20;
        await sleep(1);
      }
    })();
    let maxBeforeLive = 0;
    let maxAfterLive = 0;
    const sampler = setInterval(() => {
      const buffered = c.manager.metrics().watches[0]?.buffered ?? 0;
      if (live()) maxAfterLive = Math.max(maxAfterLive, buffered);
      else maxBeforeLive = Math.max(maxBeforeLive, buffered);
    }, 2);
    await c.manager.registerWatch(TOPIC, {
      ...c.handlers,
      onEvent: async (e) => {
        c.handlers.onEvent(e);
        if (e.sequenceId % 50 === 0) await sleep(1);
      },
    });
    await service.waitFor(live, 30_000, 'live');
    await sleep(300); // a busy publisher after live too
    publishing = false;
    await publisher;
    const total = service.topic(TOPIC)?.newestSequenceId ?? 0;
    await service.waitFor(() => c.ids().length === total, 20_000, 'everything (the stream resumed after each pause)');
    clearInterval(sampler);
    assert.ok(during >= 200, `published during the catch-up: ${during}`);
    // A page (100) may be handed to delivery above the mark; held-back live events stop at the mark.
    assert.ok(
      maxBeforeLive <= maxBufferedEvents + 100 + maxBufferedEvents + 5,
      `buffered during the catch-up: max ${maxBeforeLive}`,
    );
    assert.ok(maxAfterLive <= maxBufferedEvents + 5, `buffered after live: max ${maxAfterLive}`);
    assert.deepEqual(c.ids(), range(1, total));
    await c.manager.close();
    await service.stop();
  });

  it('a repeat of an event the filter or unknownEventTypes kept away is counted as a repeat, not filtered or warned twice', async () => {
    const service = await startService();
    const c = await consumer(service, { from: 'beginning' });
    const linesBefore = captured.length;
    await c.manager.registerWatch(TOPIC, c.handlers, { filter: { kinds: ['APIService'] } });
    await service.waitFor(() => c.seen.includes('live'), 5_000, 'live');
    service.setHostile({ repeatEvery: 2, unknownTypeEvery: 4 });
    service.publishMany(TOPIC, 4, { kind: 'Secret' }); // 1,2,(2),3,4,(4): 4 is of an unknown type
    service.publish(TOPIC, { kind: 'APIService' }); // 5
    await service.waitFor(() => c.ids().length === 1, 5_000, 'the one that passes the filter');
    await service.waitFor(() => (c.manager.metrics().watches[0]?.duplicates ?? 0) === 2, 5_000, 'both repeats seen');
    const m = c.manager.metrics().watches[0];
    assert.equal(m?.filtered, 3, 'each filtered event once');
    assert.equal(m?.unknownTypes, 1, 'the unknown type once');
    assert.equal(m?.duplicates, 2);
    assert.equal(
      captured.slice(linesBefore).filter((l) => l.includes('events of a type this SDK does not know')).length,
      1,
    );
    assert.deepEqual(c.ids(), [5]);
    await c.manager.close();
    await service.stop();
  });

  it('a quiet service, the position up to date: events published before the stream is active are fetched, not taken as nothing', async () => {
    // The usual reconnect: nothing to catch up at connect, so the first page is empty; it is asked before the
    // stream's first sign of life (no headers, activation 300 ms later), so it proves nothing about what comes
    // in between, and those events reach history only.
    const service = await startService({ sendHeaders: false, activationDelayMs: 300 });
    service.publishMany(TOPIC, 10);
    const store = new MemorySequenceStore();
    store.setSequence(TOPIC, 10);
    const c = await consumer(service, { sequenceProvider: store });
    const registering = c.manager.registerWatch(TOPIC, c.handlers);
    await service.waitFor(() => service.counters.subscribes === 1, 5_000, 'subscribing');
    await sleep(50);
    service.publishMany(TOPIC, 5); // during the activation window: history only
    await registering;
    await service.waitFor(() => c.ids().length === 5, 10_000, 'the five events of the activation window');
    assert.deepEqual(c.ids(), range(11, 15));
    await c.manager.close();
    await service.stop();
  });

  it('after a 410, pages are numbered anew from the resync target: events published during the resync are not skipped', async () => {
    // The stream is silent and activates late: what is published during the list reaches history only, so the
    // catch-up after the resync must fetch it page by page from the newest id, numbered from page 1.
    const service = await startService({ sendHeaders: false, activationDelayMs: 400 });
    service.publishMany(TOPIC, 20);
    const store = new MemorySequenceStore();
    store.setSequence(TOPIC, 5);
    service.purgeHistory(TOPIC, 15);
    const c = await consumer(service, { sequenceProvider: store });
    const list = async (): Promise<unknown[]> => {
      service.publishMany(TOPIC, 450); // after the captured newest id (20), during the list
      return [];
    };
    await c.manager.registerWatch(TOPIC, c.handlers, { resync: { list } });
    await service.waitFor(() => c.ids().length === 450, 10_000, 'every event after the resync target');
    assert.deepEqual(c.seen.slice(0, 1), [{ resync: 20 }]);
    assert.deepEqual(c.ids(), range(21, 470));
    await c.manager.close();
    await service.stop();
  });
});
