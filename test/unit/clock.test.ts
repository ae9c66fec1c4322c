import { describe, it } from 'node:test';
import '../support/harness';
import assert from 'node:assert/strict';
import { FakeClock } from 'watch-manager/testing';
import { MAX_TIMER_MS, boundedClock, sleep, type Clock, type Timer } from '../../src/core/clock';

const DAY_MS = 24 * 60 * 60 * 1000;

describe('clock', () => {
  it('sleep() resolves early and false when its signal aborts', async () => {
    const clock = new FakeClock(0);
    const abort = new AbortController();
    const slept = sleep(clock, 1_000, abort.signal);
    abort.abort();
    assert.equal(await slept, false);
    assert.equal(clock.pending, 0);
    const full = sleep(clock, 10);
    await clock.advance(10);
    assert.equal(await full, true);
  });

  it('#2 boundedClock arms a delay above 2^31-1 ms in pieces and fires once, at the end; cancel works in between', () => {
    const armed: number[] = [];
    const pending: Array<() => void> = [];
    const inner: Clock = {
      now: () => 0,
      random: () => 0.5,
      setTimeout(fn, ms): Timer {
        armed.push(ms);
        pending.push(fn);
        return { cancel: () => void pending.splice(pending.indexOf(fn), 1) };
      },
    };
    const clock = boundedClock(inner);
    let fired = 0;
    clock.setTimeout(() => (fired += 1), 30 * DAY_MS);
    assert.deepEqual(armed, [MAX_TIMER_MS], 'never more than Node keeps');
    (pending.shift() as () => void)();
    assert.equal(fired, 0, 'the first piece re-arms, it does not fire');
    assert.deepEqual(armed, [MAX_TIMER_MS, 30 * DAY_MS - MAX_TIMER_MS]);
    (pending.shift() as () => void)();
    assert.equal(fired, 1);
    const cancelled = clock.setTimeout(() => (fired += 1), 3 * MAX_TIMER_MS);
    (pending.shift() as () => void)();
    cancelled.cancel();
    assert.equal(pending.length, 0, 'the re-armed piece is cancelled');
    for (const odd of [Number.NaN, -5, Number.NEGATIVE_INFINITY]) clock.setTimeout(() => undefined, odd);
    assert.deepEqual(armed.slice(-3), [0, 0, 0], 'NaN and negative delays fire at once, never a Node overflow');
    assert.equal(boundedClock(clock), clock, 'wrapping twice changes nothing');
  });
});
