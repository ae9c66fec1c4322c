import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { MemorySequenceStore, WatchError, WatchManager, type ResyncNotice, type WatchErrorCode } from 'watch-manager';
import type { FakeWatchService, HostileBehaviour, PurgedReading } from 'watch-manager/testing';
import { captureLogger, recordError, scanForSecrets, secret, startService } from './support/harness';

scanForSecrets();

// The randomized protocol test of issue 11. A model server (the fake service with its hostile switches and faults)
// mixes legal behaviour (page caps and truncated pages, delays, non-dense ids, stream aborts, a GOAWAY, refused
// subscriptions, repeats of ids already sent, 410 purges, token expiry, stalled streams, Retry-After, a quiet service
// that activates late, short tokens) with illegal behaviour (pages out of order, ids out of order on the stream, a 410
// that cannot be resumed from, unknown event types). Whatever the mix, every event is delivered exactly once, in
// order — or was named by a resync notice's exact range, or was handed over late with a typed error naming it — every
// error is a typed WatchError, and no stream outlives its token: never a silent gap, never a duplicate, never an
// unhandled rejection.
//
// Replay a failure with its seed (printed, and in fast-check's report): WM_PROPERTY_SEED=<seed> npm test, or run
// more: WM_PROPERTY_RUNS=1000 node --import tsx --test test/protocol-property.test.ts

const SEED = Number(process.env.WM_PROPERTY_SEED ?? 20_261_130);
const RUNS = Number(process.env.WM_PROPERTY_RUNS ?? 200);

type Step =
  | { kind: 'publish'; count: number; skip: number }
  | { kind: 'abort'; how: 'UNAVAILABLE' | 'OK' | 'GOAWAY' | 'CANCELLED' }
  | { kind: 'expireToken' }
  | { kind: 'purge'; keep: number }
  | { kind: 'silence'; ms: number }
  | { kind: 'history'; failNext: number; delayMs: number }
  | { kind: 'hostile'; behaviour: HostileBehaviour }
  | { kind: 'wait'; ms: number };

interface Scenario {
  /** Against the quiet service: no response headers, live events only 30 ms after a subscription is accepted. */
  quiet: boolean;
  /** Token lifetime: short ones live on in-stream refreshes during the run. */
  tokenTtlMs: number;
  initial: number;
  skip: number;
  stored: number | undefined;
  pageSize: number;
  maxBufferedEvents: number;
  concurrency: number;
  steps: Step[];
  /**
   * How the service reads "purged" (left out in scenarios printed before it existed: 'next-event'). With
   * 'position', a purge that keeps nothing answers a consumer at the newest id 410 naming its own position.
   */
  purgedReading?: PurgedReading;
}

const legalHostile = fc.record(
  {
    pageCap: fc.integer({ min: 1, max: 12 }),
    repeatEvery: fc.integer({ min: 2, max: 6 }),
    retryAfter: fc.record({
      status: fc.constantFrom(429 as const, 503 as const),
      header: fc.constant('0'),
      count: fc.integer({ min: 1, max: 3 }),
    }),
    abortAfterEvents: fc.integer({ min: 3, max: 20 }),
    pageLimit: fc.integer({ min: 1, max: 12 }),
    refuseSubscriptions: fc.integer({ min: 1, max: 3 }),
  },
  { requiredKeys: [] },
);
const illegalHostile = fc.record(
  {
    pageOrder: fc.constantFrom('desc' as const, 'shuffle' as const),
    reorder: fc
      .integer({ min: 1, max: 3 })
      .chain((hold) => fc.record({ hold: fc.constant(hold), every: fc.integer({ min: hold + 1, max: hold + 4 }) })),
    // A newest id at or below the position is legal since issue 20 (nothing missed; a restarted sequence) and a
    // server lying so about a topic that holds events is a gap no client can see: only headers that cannot be read.
    gone: fc.record({ maxSequenceId: fc.constantFrom<string | null>('-5', 'x', null) }),
    unknownTypeEvery: fc.integer({ min: 2, max: 7 }),
  },
  { requiredKeys: [] },
);

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('publish' as const),
      count: fc.integer({ min: 1, max: 40 }),
      skip: fc.integer({ min: 0, max: 3 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('abort' as const),
      how: fc.constantFrom('UNAVAILABLE' as const, 'OK' as const, 'GOAWAY' as const, 'CANCELLED' as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('expireToken' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('purge' as const), keep: fc.integer({ min: 0, max: 10 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('silence' as const), ms: fc.integer({ min: 100, max: 600 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('history' as const),
      failNext: fc.integer({ min: 0, max: 3 }),
      delayMs: fc.integer({ min: 0, max: 15 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        legalHostile,
        illegalHostile,
        fc.tuple(legalHostile, illegalHostile).map(([a, b]) => ({ ...a, ...b })),
      )
      // A stream that reorders and also ends on its own (abortAfterEvents) loses the events it held back: see below.
      .filter((b: HostileBehaviour) => !(b.reorder !== undefined && b.abortAfterEvents !== undefined))
      .map((behaviour) => ({ kind: 'hostile' as const, behaviour })),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 60 }) }) },
);

const scenario: fc.Arbitrary<Scenario> = fc.record({
  quiet: fc.boolean(),
  tokenTtlMs: fc.constantFrom(60_000, 1_500),
  initial: fc.integer({ min: 0, max: 60 }),
  skip: fc.integer({ min: 0, max: 2 }),
  stored: fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined }),
  pageSize: fc.integer({ min: 1, max: 25 }),
  maxBufferedEvents: fc.integer({ min: 2, max: 50 }),
  concurrency: fc.constantFrom(1, 1, 4),
  steps: fc.array(step, { minLength: 1, maxLength: 8 }),
  purgedReading: fc.constantFrom<PurgedReading>('next-event', 'position'),
});

const CODES: ReadonlySet<WatchErrorCode> = new Set<WatchErrorCode>([
  'INVALID_CONFIG',
  'TOKEN_UNAVAILABLE',
  'TOKEN_EXPIRED',
  'UNAUTHENTICATED',
  'PERMISSION_DENIED',
  'TOPIC_NOT_FOUND',
  'CONNECTION_LOST',
  'STALLED',
  'PROTOCOL',
  'PROXY_AUTH',
  'PROXY_REFUSED',
  'PROXY_UNREACHABLE',
  'HISTORY_UNAVAILABLE',
  'HISTORY_GONE',
  'STATE_CORRUPT',
  'STATE_IO',
  'STATE_LOCKED',
  'HANDLER_FAILED',
  'CLOSED',
  'INTERNAL',
]);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
const onUncaught = (err: unknown): void => void unhandled.push(err);

describe('randomized protocol test (fast-check)', { timeout: 900_000 }, () => {
  let loud: FakeWatchService;
  let quiet: FakeWatchService;
  let runs = 0;
  const mixed = new Map<string, number>();
  const count = (what: string): void => void mixed.set(what, (mixed.get(what) ?? 0) + 1);

  before(async () => {
    loud = await startService({ pingIntervalMs: 100 });
    quiet = await startService({ pingIntervalMs: 100, sendHeaders: false, activationDelayMs: 30 });
    process.on('unhandledRejection', onUnhandled);
    process.on('uncaughtException', onUncaught);
  });
  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUncaught);
    await loud.stop();
    await quiet.stop();
  });

  /** Runs one scenario against a topic of its own; throws (with the details) when the invariant breaks. */
  async function run(s: Scenario): Promise<void> {
    runs += 1;
    const service = s.quiet ? quiet : loud;
    count(s.quiet ? 'service:quiet' : 'service:loud');
    if (s.tokenTtlMs < 60_000) count('tokens:short');
    const topic = `/management/v1alpha1/watchtopics/p${runs}`;
    service.createTopic(topic);
    service.setHostile({});
    service.setHistoryFaults({});
    service.setPurgedReading(s.purgedReading ?? 'next-event');
    count(`purged:${s.purgedReading ?? 'next-event'}`);
    const published: number[] = [];
    const publish = (n: number, skip: number): void => {
      for (let i = 0; i < n; i++) published.push(service.publish(topic, { skip: i % 3 === 0 ? skip : 0 }).sequenceId);
    };
    publish(s.initial, s.skip);
    const store = new MemorySequenceStore();
    const start = s.stored === undefined ? 0 : Math.min(s.stored, published.at(-1) ?? 0);
    if (s.stored !== undefined) store.setSequence(topic, start);
    let current = secret(await service.issueToken({ ttlMs: s.tokenTtlMs }));
    const expiredBefore = service.counters.expiredStreams;
    let expiredOnPurpose = 0;
    const delivered: number[] = [];
    const resyncs: Array<{ notice: ResyncNotice; deliveredBefore: number }> = [];
    const errors: WatchError[] = [];
    const unhandledBefore = unhandled.length;
    const manager = new WatchManager({
      target: service.target,
      tenantId: service.tenantId,
      historyUrl: service.historyUrl,
      tls: false,
      logger: captureLogger(),
      getToken: async ({ forceRefresh }) =>
        forceRefresh ? (current = secret(await service.issueToken({ ttlMs: s.tokenTtlMs }))) : current,
      sequenceProvider: store,
      from: 'beginning',
      historyPageSize: s.pageSize,
      maxBufferedEvents: s.maxBufferedEvents,
      reconnect: { initialDelayMs: 5, maxDelayMs: 50 },
      stallTimeoutMs: 300,
      unknownEventTypes: 'deliver',
      connectTimeoutMs: 10_000,
    });
    try {
      await manager.registerWatch(
        topic,
        {
          onEvent: (e) => void delivered.push(e.sequenceId),
          onResync: (notice) => void resyncs.push({ notice, deliveredBefore: delivered.length }),
          onError: (e) => void errors.push(recordError(e)),
        },
        { concurrency: s.concurrency, keyOf: (e) => String(e.sequenceId) },
      );
      for (const st of s.steps) {
        count(st.kind);
        // A server holding events back out of order (reorder) and then ending the stream loses them after it sent a
        // later id: data loss no client can see, since ids need not be dense. The model ends its illegal phase (the
        // held events go out) before it ends or stalls a stream; illegal order itself stays in every other step.
        if (st.kind === 'abort' || st.kind === 'silence' || st.kind === 'expireToken') service.setHostile({});
        switch (st.kind) {
          case 'publish':
            publish(st.count, st.skip);
            break;
          case 'abort': {
            const code = {
              UNAVAILABLE: grpc.status.UNAVAILABLE,
              OK: grpc.status.OK,
              GOAWAY: grpc.status.RESOURCE_EXHAUSTED,
              CANCELLED: grpc.status.CANCELLED,
            }[st.how];
            service.abortStreams({
              topic,
              code,
              details: st.how === 'GOAWAY' ? 'GOAWAY too_many_pings' : 'aborted by the model',
            });
            count(`abort:${st.how}`);
            break;
          }
          case 'expireToken': {
            const before = service.counters.expiredStreams;
            service.expireToken(current);
            expiredOnPurpose += service.counters.expiredStreams - before;
            break;
          }
          case 'purge': {
            const newest = published.at(-1) ?? 0;
            service.purgeHistory(topic, Math.max(0, newest - st.keep));
            break;
          }
          case 'silence':
            // The open stream stalls for good (a silence that resumed after dropping events would be data loss
            // no client can see with non-dense ids; a stalled stream is what happens, and must be replaced).
            service.stallStreams({ topic });
            publish(3, 0);
            await sleep(st.ms);
            break;
          case 'history':
            service.setHistoryFaults({ failNext: st.failNext, delayMs: st.delayMs });
            break;
          case 'hostile':
            service.setHostile(st.behaviour);
            for (const key of Object.keys(st.behaviour)) count(`hostile:${key}`);
            publish(5, 1);
            break;
          case 'wait':
            await sleep(st.ms);
            break;
        }
        await sleep(5);
      }
      // The service behaves again: everything must arrive (or have been named by a resync, or reported late).
      service.setHostile({});
      service.setHistoryFaults({});
      publish(1, 0);
      const last = published.at(-1) as number;
      const stopped = (): boolean => errors.some((e) => !e.retryable);
      const done = (): boolean =>
        stopped() || delivered.includes(last) || resyncs.some((r) => r.notice.newestSequenceId >= last);
      const deadline = performance.now() + 15_000;
      while (!done() && performance.now() < deadline) await sleep(5);
      await sleep(30); // late repeats, if any, arrive now and must be dropped
      check(s, { published, start, delivered, resyncs, errors, stopped: stopped(), done: done() });
      // Refresh timing: no stream outlived its token (with 1.5 s tokens, runs past 1.2 s refresh in-stream).
      assert.equal(
        service.counters.expiredStreams - expiredBefore,
        expiredOnPurpose,
        `a stream outlived its token: ${JSON.stringify(s)}`,
      );
    } finally {
      await manager.close();
    }
    assert.equal(unhandled.length, unhandledBefore, `no unhandled rejection or exception: ${String(unhandled.at(-1))}`);
  }

  function check(
    s: Scenario,
    r: {
      published: number[];
      start: number;
      delivered: number[];
      resyncs: Array<{ notice: ResyncNotice; deliveredBefore: number }>;
      errors: WatchError[];
      stopped: boolean;
      done: boolean;
    },
  ): void {
    const context = (): string =>
      JSON.stringify({
        scenario: s,
        delivered: r.delivered,
        resyncs: r.resyncs.map((x) => [x.notice.previousSequenceId, x.notice.newestSequenceId]),
        errors: r.errors.map((e) => `${e.code}: ${e.message}`).slice(0, 10),
      });
    for (const e of r.errors) assert.ok(e instanceof WatchError && CODES.has(e.code), `an untyped error: ${String(e)}`);
    assert.ok(
      r.done,
      `neither delivered nor named nor a final typed error within 15 s (a silent gap or a hang): ${context()}`,
    );
    const seen = new Set<number>();
    for (const id of r.delivered) {
      assert.ok(!seen.has(id), `sequence id ${id} delivered twice: ${context()}`);
      seen.add(id);
    }
    const late = new Set(
      r.errors.flatMap((e) => {
        const m = /sequence id (\d+) arrived after \d+ and was not handed over before/.exec(e.message);
        return e.code === 'PROTOCOL' && m !== null ? [Number(m[1])] : [];
      }),
    );
    let highest = r.start;
    for (const id of r.delivered) {
      if (id > highest) highest = id;
      else assert.ok(late.has(id), `sequence id ${id} out of order without a typed error naming it: ${context()}`);
    }
    for (const { notice } of r.resyncs) {
      assert.ok(
        notice.newestSequenceId > notice.previousSequenceId,
        `a resync range that is empty or backwards: ${context()}`,
      );
    }
    const naming = (id: number): Array<{ notice: ResyncNotice; deliveredBefore: number }> =>
      r.resyncs.filter(({ notice }) => id > notice.previousSequenceId && id <= notice.newestSequenceId);
    if (r.stopped) return; // a typed final error: what came before it was checked above
    // With a server that kept the order, a resync names exactly the ids not delivered. Once it broke the order,
    // ids below the position may have gaps that a purge then takes: the notice names the whole range that was read
    // again, which may also hold ids delivered before it (out of order), never one delivered after it. A legal
    // server looks the same to a client when its page size changed under a catch-up (a `pageCap` switched on while
    // pages were in flight, as replicas with different caps would): pages overlap. Only after the SDK reported that
    // with a typed error may its notice name ids it delivered.
    const overlapReported = r.errors.some((e) => e.code === 'PROTOCOL' && e.message.includes('the pages overlap'));
    const illegal =
      overlapReported ||
      s.steps.some(
        (st) =>
          st.kind === 'hostile' &&
          (st.behaviour.pageOrder !== undefined ||
            st.behaviour.reorder !== undefined ||
            st.behaviour.gone !== undefined),
      );
    for (const id of r.published) {
      if (id <= r.start) continue;
      const got = seen.has(id);
      const notices = naming(id);
      if (!got) {
        assert.ok(
          notices.length > 0,
          `sequence id ${id} was neither delivered nor named by a resync (a silent gap): ${context()}`,
        );
        continue;
      }
      if (notices.length === 0) continue;
      assert.ok(
        illegal,
        `sequence id ${id} was delivered and also named by a resync, from a server that kept the order: ${context()}`,
      );
      const at = r.delivered.indexOf(id);
      assert.ok(
        notices.every((n) => at < n.deliveredBefore),
        `sequence id ${id} was delivered after a resync that named it: ${context()}`,
      );
    }
    for (const id of seen) assert.ok(id > r.start, `sequence id ${id} at or below the start position ${r.start}`);
    if (r.resyncs.length > 0) count('outcome:resync');
    if (late.size > 0) count('outcome:late');
  }

  const replay = process.env.WM_PROPERTY_SCENARIO;
  if (replay !== undefined) {
    it('the scenario in WM_PROPERTY_SCENARIO (a counterexample, as fast-check printed it)', async () => {
      await run(JSON.parse(replay) as Scenario);
    });
    return;
  }

  it(`${RUNS} scenarios (seed ${SEED}): exactly once and in order, or a resync naming the range, or a typed error`, async (t) => {
    t.diagnostic(`seed ${SEED}, ${RUNS} runs (replay: WM_PROPERTY_SEED=${SEED})`);
    await fc.assert(fc.asyncProperty(scenario, run), {
      seed: SEED,
      numRuns: RUNS,
      endOnFailure: true,
      includeErrorInReport: true,
    });
    t.diagnostic(
      `behaviours mixed: ${[...mixed]
        .sort()
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    );
  });
});
