import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WATCH_COUNTERS, addCounts, zeroCounts, type WatchCounts } from '../../src/core/watch-counters';
import { scanForSecrets } from '../support/harness';

scanForSecrets();

/** Counts with `n` in every counter and the given reconnects by code. */
function counts(n: number, reconnectsByCode: WatchCounts['reconnectsByCode']): WatchCounts {
  return { ...zeroCounts(), ...Object.fromEntries(WATCH_COUNTERS.map((c) => [c, n])), reconnectsByCode };
}

describe('watch-counters: the one list of counters and its add-up', () => {
  it('zero counts every counter of the list at 0, with no reconnects, each time a new object', () => {
    const zero = zeroCounts();
    assert.deepEqual(Object.keys(zero), [...WATCH_COUNTERS, 'reconnectsByCode']);
    for (const c of WATCH_COUNTERS) assert.equal(zero[c], 0);
    assert.deepEqual(zero.reconnectsByCode, {});
    assert.notEqual(zeroCounts().reconnectsByCode, zero.reconnectsByCode);
  });

  it('adds every counter and every code into the first, the second untouched', () => {
    const into = counts(2, { CONNECTION_LOST: 1 });
    const from = counts(3, { CONNECTION_LOST: 2, STALLED: 1 });
    addCounts(into, from);
    for (const c of WATCH_COUNTERS) assert.equal(into[c], 5, c);
    assert.deepEqual(into.reconnectsByCode, { CONNECTION_LOST: 3, STALLED: 1 });
    assert.deepEqual(from.reconnectsByCode, { CONNECTION_LOST: 2, STALLED: 1 });
    for (const c of WATCH_COUNTERS) assert.equal(from[c], 3, c);
  });
});
