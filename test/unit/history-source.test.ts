import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WatchError } from 'watch-manager';
import { HistoryGone } from '../../src/history/history-source';
import { scanForSecrets } from '../support/harness';

scanForSecrets();

describe('the history source contract: HistoryGone', () => {
  it('is a typed HISTORY_GONE WatchError carrying the newest id and the position asked', () => {
    const gone = new HistoryGone(120, 40);
    assert.ok(gone instanceof WatchError);
    assert.ok(gone instanceof HistoryGone);
    assert.equal(gone.code, 'HISTORY_GONE');
    assert.equal(gone.retryable, false);
    assert.equal(gone.newestSequenceId, 120);
    assert.equal(gone.after, 40);
    assert.match(gone.message, /after 40 were purged.*newest is 120/);
  });

  it('is told apart from every other WatchError, also one of the same code', () => {
    // WatchError's brand answers instanceof for all its kinds; HistoryGone has its own.
    assert.equal(new WatchError('HISTORY_GONE', 'no onResync') instanceof HistoryGone, false);
    assert.equal(new WatchError('PROTOCOL', 'x') instanceof HistoryGone, false);
    assert.equal(new Error('x') instanceof HistoryGone, false);
    assert.equal((null as unknown) instanceof HistoryGone, false);
  });
});
