import { describe, it } from 'node:test';
import '../support/harness';
import assert from 'node:assert/strict';
import { FakeClock } from 'watch-manager/testing';
import { sleep } from '../../src/core/clock';

describe('sleep', () => {
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
});
