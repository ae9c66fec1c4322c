import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff, DEFAULT_BACKOFF, backoffDelay } from '../src/backoff';
import { FakeClock, seededRandom } from '../src/testing';
import { WatchError, fromGrpcStatus, isRetryable } from '../src/errors';
import { fromWireEvent, parseSequenceId } from '../src/event-codec';
import { sleep } from '../src/clock';
import { status } from '@grpc/grpc-js';

describe('backoff', () => {
  it('is uniform in [0, min(max, initial * multiplier^attempt))', () => {
    const policy = { initialDelayMs: 100, maxDelayMs: 1_000, multiplier: 2 };
    assert.equal(backoffDelay(policy, 0, 0.5), 50);
    assert.equal(backoffDelay(policy, 3, 0.999), 799);
    assert.equal(backoffDelay(policy, 10, 0.5), 500, 'capped');
    assert.equal(backoffDelay(policy, 2, 0), 0);
  });

  it('counts attempts and resets', () => {
    const b = new Backoff(DEFAULT_BACKOFF, () => 0.999999);
    assert.ok(b.next() < 500);
    assert.ok(b.next() < 1_000 && b.next() < 2_000);
    assert.equal(b.attempts, 3);
    b.reset();
    assert.ok(b.next() < 500);
  });

  it('a seeded random replays exactly', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const xs = Array.from({ length: 5 }, () => a());
    assert.deepEqual(xs, Array.from({ length: 5 }, () => b()));
    assert.ok(xs.every((x) => x >= 0 && x < 1));
  });
});

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

describe('errors', () => {
  it('maps gRPC statuses to codes in one place', () => {
    const cases: Array<[number, string, boolean]> = [
      [status.UNAUTHENTICATED, 'UNAUTHENTICATED', false],
      [status.PERMISSION_DENIED, 'PERMISSION_DENIED', false],
      [status.NOT_FOUND, 'TOPIC_NOT_FOUND', false],
      [status.INVALID_ARGUMENT, 'PROTOCOL', false],
      [status.UNAVAILABLE, 'CONNECTION_LOST', true],
      [status.RESOURCE_EXHAUSTED, 'CONNECTION_LOST', true],
      [status.CANCELLED, 'CONNECTION_LOST', true],
      [status.OK, 'CONNECTION_LOST', true],
    ];
    for (const [code, ours, retryable] of cases) {
      const err = fromGrpcStatus({ code, details: 'x' }, '/t');
      assert.equal(err.code, ours, `gRPC ${code}`);
      assert.equal(isRetryable(err), retryable);
      assert.equal(err.grpcCode, code);
    }
  });

  it('instanceof holds across copies of the class (Symbol.for brand)', () => {
    const foreign = Object.create(Error.prototype) as Record<symbol, unknown>;
    foreign[Symbol.for('watch-manager.WatchError')] = true;
    assert.ok(foreign instanceof WatchError);
    assert.ok(!(new Error('x') instanceof WatchError));
  });
});

describe('event codec', () => {
  it('refuses sequence ids that are not positive safe integers', () => {
    for (const bad of ['0', '-1', '1.5', '9007199254740993', '', 'abc', null]) {
      assert.throws(() => parseSequenceId(bad, 'e'), { code: 'PROTOCOL' });
    }
    assert.equal(parseSequenceId('9007199254740991', 'e'), 9007199254740991);
  });

  it('refuses an unknown event type and a missing metadata', () => {
    const base = { id: 'e', time: '', version: '', product: '', correlationId: '', organization: null, payload: null };
    assert.throws(() => fromWireEvent({ ...base, type: 'CREATED', metadata: null }, '/t'), { code: 'PROTOCOL' });
    assert.throws(
      () => fromWireEvent({ ...base, type: 'EXPLODED' as 'CREATED', metadata: { watchTopicID: '', watchTopicSelfLink: '/t', sequenceID: '1', subresource: '' } }, '/t'),
      /unknown event type/,
    );
  });
});
