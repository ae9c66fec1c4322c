import { describe, it } from 'node:test';
import '../support/harness';
import assert from 'node:assert/strict';
import { ChangeStreams } from '../../src/cache/change-stream';
import type { ResourceChange } from 'watch-manager';

const change = (n: number): ResourceChange => {
  const selfLink = `/management/v1alpha1/environments/e/apiservices/s-${n}`;
  const after = {
    group: 'management',
    apiVersion: 'v1alpha1',
    kind: 'APIService',
    name: `s-${n}`,
    metadata: { id: `id-${n}`, selfLink },
  };
  return Object.freeze({
    type: 'CREATED',
    selfLink,
    kind: 'APIService',
    before: undefined,
    after,
    sequenceId: n,
    cause: 'event',
  });
};

describe('ChangeStreams: the changes() iterators of one cache', () => {
  it('an iterator made with an already-aborted signal is never kept: not listening, holds nothing back', async () => {
    const streams = new ChangeStreams(1);
    const aborted = AbortSignal.abort();
    const its = Array.from({ length: 100 }, () => streams.iterator(aborted));
    assert.equal(streams.listening, false, 'an ended iterator is no listener');
    for (const it of its) assert.equal((await it.next()).done, true);
    // Changes told now reach nobody: the bound of 1 is never reached, nothing waits for room.
    for (let n = 1; n <= 3; n++) streams.tell(change(n));
    await streams.whenRoom();
    // A live iterator is kept, and goes once it ends.
    const live = streams.iterator(undefined);
    assert.equal(streams.listening, true);
    await live.return?.();
    assert.equal(streams.listening, false);
  });

  it('an iterator made after close() ends at once (with the error) and is not kept', async () => {
    const streams = new ChangeStreams(1);
    streams.close(undefined);
    const it = streams.iterator(undefined);
    assert.equal(streams.listening, false);
    assert.equal((await it.next()).done, true);
  });
});
