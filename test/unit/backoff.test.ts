import { describe, it } from 'node:test';
import '../support/harness';
import assert from 'node:assert/strict';
import { Backoff, DEFAULT_BACKOFF, backoffDelay } from '../../src/core/backoff';

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
});
