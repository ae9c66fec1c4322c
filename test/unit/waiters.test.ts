import { describe, it } from 'node:test';
import '../support/harness';
import assert from 'node:assert/strict';
import { Waiters } from '../../src/core/waiters';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('Waiters: callers parked until something happened, let go all at once', () => {
  it('releaseAll lets every parked caller go, once; those parked after wait for the next release', async () => {
    const waiters = new Waiters();
    assert.equal(waiters.waiting, false);
    const resumed: string[] = [];
    void waiters.wait().then(() => resumed.push('a'));
    void waiters.wait().then(() => resumed.push('b'));
    assert.equal(waiters.waiting, true);
    await turn();
    assert.equal(resumed.length, 0, 'nobody resumes before a release');
    waiters.releaseAll();
    assert.equal(waiters.waiting, false, 'released callers no longer count as waiting');
    assert.equal(resumed.length, 0, 'none resumes inside releaseAll');
    void waiters.wait().then(() => resumed.push('c'));
    await turn();
    assert.deepEqual(resumed, ['a', 'b'], 'in the order they came');
    waiters.releaseAll();
    await turn();
    assert.deepEqual(resumed, ['a', 'b', 'c']);
    waiters.releaseAll(); // nobody waits: nothing happens
  });
});
