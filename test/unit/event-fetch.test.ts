import { describe, it } from 'node:test';
import '../support/harness';
import assert from 'node:assert/strict';
import { mergeSubresource } from '../../src/resources/event-fetch';
import type { Resource } from '../../src/core/resource';

function resource(id: string, extra: Record<string, unknown>): Resource {
  return {
    group: 'management',
    apiVersion: 'v1alpha1',
    kind: 'APIService',
    name: 'svc',
    metadata: { id, selfLink: '/management/v1alpha1/environments/e/apiservices/svc' },
    ...extra,
  };
}

describe('mergeSubresource', () => {
  it('takes the named key of the projection, keeps the rest of the held copy, never changes the copy', () => {
    const held = resource('a', { spec: { x: 1 }, status: { level: 'old' } });
    const merged = mergeSubresource(held, resource('a', { status: { level: 'new' } }), 'status');
    assert.deepEqual(merged, resource('a', { spec: { x: 1 }, status: { level: 'new' } }));
    assert.deepEqual(held.status, { level: 'old' });
  });

  it('removes a key the projection lacks, and refuses a projection of another id', () => {
    const held = resource('a', { spec: {}, status: { level: 'old' } });
    assert.deepEqual(mergeSubresource(held, resource('a', {}), 'status'), resource('a', { spec: {} }));
    assert.equal(mergeSubresource(held, resource('b', { status: {} }), 'status'), undefined);
  });

  it('a subresource named __proto__ (from the service) is an own key: it never sets the prototype', () => {
    const held = resource('a', { spec: {} });
    const part = JSON.parse(
      '{"group":"management","apiVersion":"v1alpha1","kind":"APIService","name":"svc","metadata":{"id":"a","selfLink":"/x"},"__proto__":{"polluted":true}}',
    ) as Resource;
    const merged = mergeSubresource(held, part, '__proto__') as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(merged), Object.prototype);
    assert.equal(merged['polluted'], undefined);
    assert.deepEqual(Object.getOwnPropertyDescriptor(merged, '__proto__')?.value, { polluted: true });
  });
});
