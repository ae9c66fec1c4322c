import { describe, it } from 'node:test';
import '../support/harness';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { WatchError, fromGrpcStatus, isRetryable } from '../../src/core/errors';

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
