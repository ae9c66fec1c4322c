import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RateSampler } from '../../src/opentelemetry/rate-sampler';
import { scanForSecrets } from '../support/harness';

scanForSecrets();

/** Runs `perMs` takes each ms for `ms` ms on a hand-moved clock; returns how many were taken each 100 ms. */
function drive(sampler: RateSampler, clock: { t: number }, perMs: number, ms: number): number[] {
  const taken: number[] = [];
  for (let i = 0; i < ms; i++) {
    if (i % 100 === 0) taken.push(0);
    for (let j = 0; j < perMs; j++) if (sampler.take()) taken[taken.length - 1] = (taken.at(-1) as number) + 1;
    clock.t += 1;
  }
  return taken;
}

describe('RateSampler: which handler runs go into the duration histogram', () => {
  it('takes every run up to the limit', () => {
    const clock = { t: 0 };
    const sampler = new RateSampler(1_000, () => clock.t);
    // 1 run per ms = 1,000/s: exactly the limit.
    assert.deepEqual(drive(sampler, clock, 1, 1_000), Array(10).fill(100));
  });

  it('above the limit takes every Nth run, about the limit per second, and every run again when the rate drops', () => {
    const clock = { t: 0 };
    const sampler = new RateSampler(1_000, () => clock.t);
    // 50 runs per ms = 50,000/s: the first window takes all (no rate known yet), then 1 in 50.
    const fast = drive(sampler, clock, 50, 1_000);
    assert.equal(fast[0], 5_000);
    for (const n of fast.slice(2)) assert.ok(n >= 95 && n <= 105, `taken per 100 ms: ${n}`);
    // Back to 1 per ms: after one window at the old stride, every run again.
    const slow = drive(sampler, clock, 1, 500);
    assert.deepEqual(slow.slice(2), [100, 100, 100]);
  });

  it('a stride never makes a run wait longer than the new stride after it drops', () => {
    const clock = { t: 0 };
    const sampler = new RateSampler(10, () => clock.t);
    drive(sampler, clock, 100, 300); // stride ≈ 10,000
    clock.t += 10_000; // quiet for 10 s
    // The next window's rate is tiny: the very next runs are taken again.
    assert.equal(sampler.take(), true);
  });
});
