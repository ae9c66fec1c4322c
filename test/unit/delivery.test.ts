import { describe, it } from 'node:test';
import '../support/harness';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Delivery } from '../../src/delivery/delivery';
import { PositionKeeper } from '../../src/state/position-keeper';
import { MemorySequenceStore } from '../../src/state/memory-sequence-store';
import { DEFAULT_BACKOFF } from '../../src/core/backoff';
import { FakeClock } from 'watch-manager/testing';
import { defaultKeyOf } from '../../src/engine/topic-watch';
import type { WatchEvent } from 'watch-manager';
import { WatchError, type EventContext } from 'watch-manager';

const TOPIC = '/management/v1alpha1/watchtopics/concurrency';

function event(seq: number, key: string): WatchEvent {
  return {
    id: `e${seq}`,
    time: '',
    version: '',
    product: '',
    correlationId: '',
    organizationId: '',
    type: 'UPDATED',
    topic: TOPIC,
    watchTopicId: 'wt',
    sequenceId: seq,
    subresource: '',
    payload: {
      group: 'g',
      kind: 'K',
      name: key,
      metadata: { id: '', scope: null, selfLink: `/k/${key}`, references: [] },
      attributes: {},
    },
  };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Harness {
  delivery: Delivery;
  store: MemorySequenceStore;
  running: Array<{ event: WatchEvent; resolve: () => void; reject: (e: Error) => void; ctx: EventContext }>;
  started: WatchEvent[];
  failures: WatchError[];
  clock: FakeClock;
}

function harness(concurrency: number, maxAttempts = 1, timeoutMs = 0): Harness {
  const store = new MemorySequenceStore();
  const clock = new FakeClock();
  const h: Harness = {
    delivery: undefined as unknown as Delivery,
    store,
    running: [],
    started: [],
    failures: [],
    clock,
  };
  h.delivery = new Delivery({
    topic: TOPIC,
    handlers: {
      onEvent: (e, ctx) =>
        new Promise<void>((resolve, reject) => {
          h.started.push(e);
          h.running.push({ event: e, resolve, reject, ctx });
        }),
    },
    keeper: new PositionKeeper({ provider: store, topic: TOPIC, maxUnsaved: 1_000, onError: () => undefined }),
    onFailure: (err) => void h.failures.push(err),
    maxBufferedEvents: 1_000,
    concurrency,
    keyOf: defaultKeyOf,
    policy: { maxAttempts, timeoutMs, backoff: DEFAULT_BACKOFF, clock },
  });
  return h;
}

describe('concurrent handlers', () => {
  it('property: the stored position is always the contiguous acknowledged prefix; per-key order holds; at most 8 run (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 120 }), // the key of each event
        fc.array(fc.nat(), { minLength: 1, maxLength: 400 }), // which running handler finishes next
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 120 }), // gaps between sequence ids
        async (keys, picks, gaps) => {
          const h = harness(8);
          let seq = 0;
          const events = keys.map((k, i) => event((seq += gaps[i % gaps.length] as number), `r${k}`));
          for (const e of events) h.delivery.intake.push({ kind: 'event', event: e });
          await settle();
          const done = new Set<number>();
          for (let step = 0; h.running.length > 0; step++) {
            // Invariants at every moment:
            assert.ok(h.running.length <= 8, 'at most `concurrency` handlers run');
            const keysRunning = h.running.map((r) => r.event.payload.name);
            assert.equal(new Set(keysRunning).size, keysRunning.length, 'two events of one resource never overlap');
            const expected = events.find((e) => !done.has(e.sequenceId));
            const prefix = expected === undefined ? seq : (events[events.indexOf(expected) - 1]?.sequenceId ?? 0);
            assert.equal(h.delivery.acked, prefix, 'the position is the contiguous done prefix');
            assert.equal(h.store.getSequence(TOPIC) ?? 0, prefix, 'and it is what the store holds');
            const pick = h.running.splice((picks[step % picks.length] as number) % h.running.length, 1)[0];
            if (pick === undefined) break;
            done.add(pick.event.sequenceId);
            pick.resolve();
            await settle();
          }
          assert.equal(done.size, events.length, 'every event was handled');
          assert.equal(h.delivery.acked, seq);
          for (const key of new Set(keys)) {
            const order = h.started.filter((e) => e.payload.name === `r${key}`).map((e) => e.sequenceId);
            assert.deepEqual(
              order,
              [...order].sort((a, b) => a - b),
              `resource r${key} in order`,
            );
          }
        },
      ),
      { numRuns: 150, seed: 20261123 },
    );
  });

  it('runs different resources in parallel and the same resource in order', async () => {
    const h = harness(4);
    const events = [event(1, 'a'), event(2, 'a'), event(3, 'b'), event(4, 'c'), event(5, 'b')];
    for (const e of events) h.delivery.intake.push({ kind: 'event', event: e });
    await settle();
    assert.deepEqual(
      h.running.map((r) => r.event.sequenceId),
      [1, 3, 4],
      'a, b and c run; the second a and b wait',
    );
    const finish = async (seq: number): Promise<void> => {
      const at = h.running.findIndex((r) => r.event.sequenceId === seq);
      h.running.splice(at, 1)[0]?.resolve();
      await settle();
    };
    await finish(3);
    assert.deepEqual(
      h.running.map((r) => r.event.sequenceId),
      [1, 4, 5],
    );
    assert.equal(h.delivery.acked, 0, 'nothing acknowledged while 1 runs');
    await finish(1);
    assert.equal(h.delivery.acked, 1);
    assert.deepEqual(
      h.running.map((r) => r.event.sequenceId),
      [4, 5, 2],
    );
  });

  it('retries a failing handler with backoff, then stops with HANDLER_FAILED, the position before it', async () => {
    const h = harness(2, 3);
    h.delivery.intake.push({ kind: 'event', event: event(1, 'a') });
    h.delivery.intake.push({ kind: 'event', event: event(2, 'b') });
    await settle();
    h.running.find((r) => r.event.sequenceId === 1)?.resolve();
    for (let attempt = 1; attempt <= 3; attempt++) {
      const two = h.running.find((r) => r.event.sequenceId === 2);
      assert.ok(two !== undefined, `attempt ${attempt} runs`);
      h.running.splice(h.running.indexOf(two), 1);
      two.reject(new Error(`boom ${attempt}`));
      await settle();
      await h.clock.advance(DEFAULT_BACKOFF.maxDelayMs);
    }
    assert.equal(h.started.filter((e) => e.sequenceId === 2).length, 3);
    assert.equal(h.failures.length, 1);
    assert.equal(h.failures[0]?.code, 'HANDLER_FAILED');
    assert.match(h.failures[0]?.message ?? '', /sequence id 2 after 3 attempt\(s\): boom 3/);
    assert.equal(h.delivery.acked, 1);
  });

  it('#11 a handler that settles after stop(reason) aborted its ctx.signal acknowledges nothing; a drain (no reason) lets it finish and count', async () => {
    for (const reason of [new WatchError('CLOSED', 'closed'), undefined]) {
      const h = harness(3, 3);
      for (const [seq, key] of [
        [1, 'a'],
        [2, 'b'],
        [3, 'c'],
      ] as const)
        h.delivery.intake.push({ kind: 'event', event: event(seq, key) });
      await settle();
      const [one, two, three] = h.running;
      one?.resolve(); // before the stop: acknowledged either way
      await settle();
      const stopping = h.delivery.stop(undefined, reason);
      assert.equal(two?.ctx.signal.aborted, reason !== undefined, 'the signal is aborted only with a reason');
      assert.equal(two?.ctx.signal.reason, reason);
      two?.resolve(); // settles after the stop
      three?.reject(new Error('failed during the stop')); // not retried, not reported
      await stopping;
      await h.clock.advance(DEFAULT_BACKOFF.maxDelayMs);
      await settle();
      const drained = reason === undefined;
      assert.equal(h.delivery.acked, drained ? 2 : 1, `acked after a stop ${drained ? 'without' : 'with'} a reason`);
      assert.equal(h.store.getSequence(TOPIC), drained ? 2 : 1, 'what the store holds');
      assert.equal(h.delivery.delivered, drained ? 2 : 1);
      assert.equal(h.started.filter((e) => e.sequenceId === 3).length, 1, 'no retry once stopped');
      assert.deepEqual(h.failures, [], 'a failure after the stop stops nothing more');
    }
  });

  it('#11 settled before or after the abort, to the microtask: one resolved just before stop() counts, one resolved by the abort does not', async () => {
    const h = harness(3, 1, 60_000);
    for (const [seq, key] of [
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
    ] as const)
      h.delivery.intake.push({ kind: 'event', event: event(seq, key) });
    await settle();
    const [one, two, three] = h.running;
    // 1 resolves, and the stop comes in the same turn before delivery saw the outcome (an application that closes as
    // soon as its handler told it it is done).
    one?.resolve();
    // 2 is resolved by its abort listener itself, in the abort (a handler that gives up at once).
    two?.ctx.signal.addEventListener('abort', () => two.resolve(), { once: true });
    const stopping = h.delivery.stop(undefined, new WatchError('CLOSED', 'closed'));
    three?.resolve(); // after the abort
    await stopping;
    await settle();
    assert.equal(h.delivery.acked, 1, 'only the handler that settled before the abort counts');
    assert.equal(h.delivery.delivered, 1);
  });

  it('counts a handler that exceeds handlerTimeoutMs as failed', async () => {
    const h = harness(1, 1, 5_000);
    h.delivery.intake.push({ kind: 'event', event: event(1, 'a') });
    await settle();
    await h.clock.advance(5_000);
    await settle();
    assert.equal(h.failures[0]?.code, 'HANDLER_FAILED');
    assert.match(h.failures[0]?.message ?? '', /within 5000 ms/);
    assert.equal(h.delivery.acked, 0);
  });

  it('a retry that succeeds acknowledges the event once', async () => {
    const h = harness(1, 3);
    h.delivery.intake.push({ kind: 'event', event: event(1, 'a') });
    await settle();
    h.running.shift()?.reject(new Error('transient'));
    await settle();
    await h.clock.advance(DEFAULT_BACKOFF.maxDelayMs);
    h.running.shift()?.resolve();
    await settle();
    assert.equal(h.delivery.acked, 1);
    assert.deepEqual(h.failures, []);
    assert.equal(h.delivery.delivered, 1);
  });

  it('a timed-out attempt is not retried while it may still run (no double execution)', async () => {
    const h = harness(1, 3, 1_000);
    h.delivery.intake.push({ kind: 'event', event: event(1, 'a') });
    await settle();
    await h.clock.advance(1_000);
    await settle();
    await h.clock.advance(DEFAULT_BACKOFF.maxDelayMs);
    assert.equal(h.started.length, 1, 'one attempt only');
    assert.equal(h.failures[0]?.code, 'HANDLER_FAILED');
  });

  it('a keyOf that throws stops the watch with HANDLER_FAILED instead of crashing', async () => {
    const h = harness(2);
    const bad = new Delivery({
      ...(h.delivery as unknown as { options: ConstructorParameters<typeof Delivery>[0] }).options,
      keyOf: () => {
        throw new Error('no selfLink');
      },
    });
    bad.intake.push({ kind: 'event', event: event(1, 'a') });
    await settle();
    assert.equal(h.failures[0]?.code, 'HANDLER_FAILED');
    assert.match(h.failures[0]?.message ?? '', /keyOf threw/);
    assert.equal(bad.acked, 0);
  });

  it('a timed-out attempt keeps its slot and resource busy until it really ends (no overlap), when set aside', async () => {
    const clock = new FakeClock();
    const running: Array<() => void> = [];
    const started: number[] = [];
    const setAside: number[] = [];
    const d = new Delivery({
      topic: TOPIC,
      handlers: {
        onEvent: (e) =>
          new Promise<void>((resolve) => {
            started.push(e.sequenceId);
            running.push(resolve);
          }),
      },
      keeper: new PositionKeeper({
        provider: new MemorySequenceStore(),
        topic: TOPIC,
        maxUnsaved: 1_000,
        onError: () => undefined,
      }),
      onFailure: () => undefined,
      maxBufferedEvents: 1_000,
      concurrency: 1,
      keyOf: defaultKeyOf,
      policy: { maxAttempts: 3, timeoutMs: 50, backoff: DEFAULT_BACKOFF, clock },
      deadLetter: async (e) => void setAside.push(e.sequenceId),
    });
    d.intake.push({ kind: 'event', event: event(1, 'a') });
    d.intake.push({ kind: 'event', event: event(2, 'a') });
    await settle();
    await clock.advance(50);
    await settle();
    assert.deepEqual(setAside, [1], 'timed out: set aside, not retried');
    assert.equal(d.acked, 1, 'the position moves past the set-aside event');
    assert.deepEqual(started, [1], 'but event 2 waits while attempt 1 may still run');
    running.shift()?.();
    await settle();
    await settle();
    assert.deepEqual(started, [1, 2]);
  });

  it('filtered events wait behind a slow handler instead of growing the watermark without bound', async () => {
    const h = harness(1);
    const hung = new Delivery({
      ...(h.delivery as unknown as { options: ConstructorParameters<typeof Delivery>[0] }).options,
      accept: (e) => e.sequenceId === 1,
    });
    for (let i = 1; i <= 1_000; i++) hung.intake.push({ kind: 'event', event: event(i, `r${i}`) });
    await settle();
    assert.ok(hung.size >= 1_000 - 8 - 1, `filtered events beyond the window wait in the queue: ${hung.size} queued`);
    assert.equal(hung.acked, 0);
  });

  it('a handler returning null counts as done', async () => {
    const h = harness(1);
    const d = new Delivery({
      ...(h.delivery as unknown as { options: ConstructorParameters<typeof Delivery>[0] }).options,
      handlers: { onEvent: () => null as unknown as void },
    });
    d.intake.push({ kind: 'event', event: event(1, 'a') });
    await settle();
    assert.equal(d.acked, 1);
    assert.deepEqual(h.failures, []);
  });
});
