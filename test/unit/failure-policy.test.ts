import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WatchError } from 'watch-manager';
import { backoffStartsOver, readStreamEnd, retryDelayMs, verdictOn } from '../../src/engine/failure-policy';
import { scanForSecrets } from '../support/harness';

scanForSecrets();

describe('failure-policy: what follows a failure of a watch', () => {
  it('the error says whether it may pass: a retryable one is tried again, a permanent one stops the watch', () => {
    for (const started of [false, true]) {
      assert.equal(verdictOn(new WatchError('CONNECTION_LOST', 'x'), { started }), 'retry');
      assert.equal(verdictOn(new WatchError('TOPIC_NOT_FOUND', 'x'), { started }), 'stop');
      // The flag of the error decides, not its code's default.
      assert.equal(verdictOn(new WatchError('PROTOCOL', 'x', { retryable: true }), { started }), 'retry');
      assert.equal(verdictOn(new WatchError('CONNECTION_LOST', 'x', { retryable: false }), { started }), 'stop');
    }
  });

  it('an unreachable proxy stops a watch that never started, and is tried again once it ran', () => {
    const unreachable = new WatchError('PROXY_UNREACHABLE', 'x');
    assert.equal(verdictOn(unreachable, { started: false }), 'stop');
    assert.equal(verdictOn(unreachable, { started: true }), 'retry');
  });

  it('a refused token that was not fresh, or was taken before, reads as expired: the next attempt takes a fresh one', () => {
    const refused = new WatchError('UNAUTHENTICATED', 'token refused', { grpcCode: 16 });
    for (const stream of [
      { subscribed: true, shownLife: true, tokenWasFresh: true },
      { subscribed: false, shownLife: false, tokenWasFresh: false },
    ]) {
      const end = readStreamEnd('/t', refused, stream);
      assert.equal(end.error.code, 'TOKEN_EXPIRED');
      assert.equal(end.error.retryable, true);
      assert.equal(end.error.grpcCode, 16);
      assert.equal(end.error.cause, refused);
      assert.match(end.error.message, /watch \/t: the service ended the stream for its token \(token refused\)/);
      assert.deepEqual([end.freshToken, end.diagnose], [true, false]);
    }
    // A fresh token refused before the subscription: the refusal stands (permanent).
    const end = readStreamEnd('/t', refused, { subscribed: false, shownLife: true, tokenWasFresh: true });
    assert.deepEqual(end, { error: refused, freshToken: false, diagnose: false });
  });

  it('a connection lost before any sign of life is diagnosed first; after one, or another error, it is not', () => {
    const lost = new WatchError('CONNECTION_LOST', 'x');
    const stream = { subscribed: false, tokenWasFresh: true };
    assert.deepEqual(readStreamEnd('/t', lost, { ...stream, shownLife: false }), {
      error: lost,
      freshToken: false,
      diagnose: true,
    });
    assert.equal(readStreamEnd('/t', lost, { ...stream, shownLife: true }).diagnose, false);
    assert.equal(readStreamEnd('/t', new WatchError('STALLED', 'x'), { ...stream, shownLife: false }).diagnose, false);
  });

  it('the backoff starts over after an attempt that moved forward or stayed subscribed resetAfterMs, else escalates', () => {
    assert.equal(backoffStartsOver({ progressed: true, subscribedMs: undefined }, 60_000), true);
    assert.equal(backoffStartsOver({ progressed: false, subscribedMs: 60_000 }, 60_000), true);
    assert.equal(backoffStartsOver({ progressed: false, subscribedMs: 59_999 }, 60_000), false);
    assert.equal(backoffStartsOver({ progressed: false, subscribedMs: undefined }, 0), false);
  });

  it('the wait is the backoff, or longer when the server asked for a pause', () => {
    assert.equal(retryDelayMs(500, new WatchError('HISTORY_UNAVAILABLE', 'x')), 500);
    assert.equal(retryDelayMs(500, new WatchError('HISTORY_UNAVAILABLE', 'x', { retryAfterMs: 2_000 })), 2_000);
    assert.equal(retryDelayMs(5_000, new WatchError('HISTORY_UNAVAILABLE', 'x', { retryAfterMs: 2_000 })), 5_000);
  });
});
