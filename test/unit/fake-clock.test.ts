import { describe, it } from 'node:test';
import '../support/harness';
import assert from 'node:assert/strict';
import { FakeClock, seededRandom } from 'watch-manager/testing';

describe('FakeClock', () => {
  it('fires timers in due order, including those scheduled while advancing, and cancels', async () => {
    const clock = new FakeClock(0);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('b@20'), 20);
    const cancelled = clock.setTimeout(() => fired.push('never'), 15);
    clock.setTimeout(() => {
      fired.push('a@10');
      clock.setTimeout(() => fired.push('c@15'), 5);
    }, 10);
    cancelled.cancel();
    await clock.advance(19);
    assert.deepEqual(fired, ['a@10', 'c@15']);
    assert.equal(clock.now(), 19);
    await clock.advance(1);
    assert.deepEqual(fired, ['a@10', 'c@15', 'b@20']);
  });

  it('a seeded random replays exactly', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const xs = Array.from({ length: 5 }, () => a());
    assert.deepEqual(
      xs,
      Array.from({ length: 5 }, () => b()),
    );
    assert.ok(xs.every((x) => x >= 0 && x < 1));
  });
});
