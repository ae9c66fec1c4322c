import { describe, it } from 'node:test';
import '../support/harness';
import assert from 'node:assert/strict';
import { FakeClock } from 'watch-manager/testing';
import type { Clock } from '../../src/core/clock';
import { afterFirst, afterThrow, type HandlerOutcome, type HandlerPolicy } from '../../src/delivery/handler-runner';

/** Every backoff delay is 50 ms exactly (cap 100, random 0.5). */
function policy(
  maxAttempts: number,
  timeoutMs = 0,
  isCut?: () => boolean,
): { policy: HandlerPolicy; clock: FakeClock } {
  const fake = new FakeClock();
  const clock: Clock = { now: () => fake.now(), setTimeout: (fn, ms) => fake.setTimeout(fn, ms), random: () => 0.5 };
  const backoff = { initialDelayMs: 100, maxDelayMs: 100, multiplier: 1 };
  return { policy: { maxAttempts, timeoutMs, backoff, clock, ...(isCut === undefined ? {} : { isCut }) }, clock: fake };
}

/** A handler whose attempts fail `failures` times (rejecting), then succeed; counts its calls. */
function flaky(failures: number): { fn: () => Promise<void>; calls: () => number } {
  let calls = 0;
  return {
    fn: () => {
      calls += 1;
      return calls <= failures ? Promise.reject(new Error(`attempt ${calls}`)) : Promise.resolve();
    },
    calls: () => calls,
  };
}

/** Tracks whether a pending outcome has arrived. */
function watch(outcome: Promise<HandlerOutcome>): { value: () => HandlerOutcome | undefined } {
  let value: HandlerOutcome | undefined;
  void outcome.then((o) => (value = o));
  return { value: () => value };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const never = new AbortController().signal;

describe('handler runner: retries after the first attempt the caller made', () => {
  it('a first attempt that returned a value is a success at once, with no promise', () => {
    const { policy: p } = policy(3);
    const outcome = afterFirst(() => assert.fail('not called again'), p, never, undefined);
    assert.deepEqual(outcome, { ok: true });
  });

  it('a first attempt that resolves is a success, the handler not called again', async () => {
    const { policy: p } = policy(3);
    const outcome = afterFirst(() => assert.fail('not called again'), p, never, Promise.resolve());
    assert.ok(outcome instanceof Promise);
    assert.deepEqual(await outcome, { ok: true });
  });

  it('a rejected first attempt is retried after the backoff, and a retry that succeeds is the outcome', async () => {
    const { policy: p, clock } = policy(3);
    const handler = flaky(1);
    const outcome = watch(afterFirst(handler.fn, p, never, handler.fn()) as Promise<HandlerOutcome>);
    await turn(); // the retry's backoff is armed once the failure is seen
    await clock.advance(49);
    assert.deepEqual([handler.calls(), outcome.value()], [1, undefined], 'no retry before the backoff');
    await clock.advance(1);
    assert.deepEqual([handler.calls(), outcome.value()], [2, { ok: true }]);
  });

  it('after maxAttempts failures the outcome is the last error and the count; a thrown first attempt counts as one', async () => {
    const { policy: p, clock } = policy(3);
    const handler = flaky(10);
    const outcome = watch(afterThrow(handler.fn, p, never, new Error('attempt 0')));
    await turn(); // the retry's backoff is armed once the failure is seen
    await clock.advance(1_000);
    const value = outcome.value();
    assert.equal(handler.calls(), 2, 'the first attempt (the throw) and two retries: three in all');
    assert.ok(value !== undefined && !value.ok);
    assert.equal(value.attempts, 3);
    assert.equal((value.error as Error).message, 'attempt 2');
  });

  it('a retry that throws synchronously is a failed attempt like a rejection', async () => {
    const { policy: p, clock } = policy(2);
    let calls = 0;
    const outcome = watch(
      afterThrow(
        () => {
          calls += 1;
          throw new Error('sync');
        },
        p,
        never,
        new Error('first'),
      ),
    );
    await turn();
    await clock.advance(1_000);
    const value = outcome.value();
    assert.ok(value !== undefined && !value.ok);
    assert.deepEqual([calls, value.attempts, (value.error as Error).message], [1, 2, 'sync']);
  });

  it('an aborted signal stops the retries, also one waiting in its backoff', async () => {
    const { policy: p, clock } = policy(5);
    const handler = flaky(10);
    const stop = new AbortController();
    const outcome = watch(afterThrow(handler.fn, p, stop.signal, new Error('first')));
    await turn(); // the retry's backoff is armed once the failure is seen
    await clock.advance(50);
    assert.equal(handler.calls(), 1);
    stop.abort();
    await turn();
    const value = outcome.value();
    assert.ok(value !== undefined && !value.ok, 'over without waiting for the backoff');
    assert.equal(value.attempts, 2);
    await clock.advance(1_000);
    assert.equal(handler.calls(), 1, 'never retried after the abort');
  });

  it('an attempt past timeoutMs fails for good: never retried while it may still run, handed back as abandoned', async () => {
    const { policy: p, clock } = policy(3, 100);
    let calls = 0;
    let finish = (): void => undefined;
    const first = new Promise<void>((resolve) => (finish = resolve));
    const outcome = watch(afterFirst(() => void (calls += 1), p, never, first) as Promise<HandlerOutcome>);
    await clock.advance(99);
    assert.equal(outcome.value(), undefined);
    await clock.advance(1);
    const value = outcome.value();
    assert.ok(value !== undefined && !value.ok);
    assert.equal(value.attempts, 1);
    assert.match(String(value.error), /did not finish within 100 ms/);
    assert.ok(value.abandoned instanceof Promise, 'the caller can wait for the attempt that still runs');
    await clock.advance(1_000);
    assert.equal(calls, 0, 'not retried');
    finish();
    await value.abandoned;
  });

  it('a success that settles once the handlers were cut short is marked afterCut (asked when it settles)', async () => {
    let cut = false;
    const { policy: p } = policy(1, 0, () => cut);
    let finish = (): void => undefined;
    const running = new Promise<void>((resolve) => (finish = resolve));
    const outcome = afterFirst(() => undefined, p, never, running) as Promise<HandlerOutcome>;
    cut = true;
    finish();
    assert.deepEqual(await outcome, { ok: true, afterCut: true });
    const before = afterFirst(() => undefined, policy(1, 0, () => false).policy, never, Promise.resolve());
    assert.deepEqual(await before, { ok: true });
  });
});
