import { describe, it } from 'node:test';
import '../support/harness';
import assert from 'node:assert/strict';
import type { EventContext, WatchEvent } from 'watch-manager';
import { fakeEvent, fakeEventContext } from 'watch-manager/testing';

/** Every field a WatchEvent has, the optional ones of other event types (rawType, actionDetails) aside. */
const EVENT_KEYS = [
  'correlationId',
  'id',
  'organizationId',
  'payload',
  'product',
  'sequenceId',
  'subresource',
  'time',
  'topic',
  'type',
  'version',
  'watchTopicId',
];

describe('fakeEvent', () => {
  it('is a complete event by default: sequence id 1, CREATED, the test topic, an APIService with its self link', () => {
    const event = fakeEvent();
    assert.deepEqual(Object.keys(event).sort(), EVENT_KEYS);
    assert.equal(event.sequenceId, 1);
    assert.equal(event.type, 'CREATED');
    assert.equal(event.topic, '/management/v1alpha1/watchtopics/test');
    assert.equal(event.subresource, '');
    assert.equal(event.payload.kind, 'APIService');
    assert.equal(event.payload.name, 'apiservice-1');
    assert.equal(event.payload.group, 'management');
    assert.equal(event.payload.metadata.selfLink, '/management/v1alpha1/environments/env-1/apiservices/apiservice-1');
    assert.equal(event.payload.metadata.scope?.kind, 'Environment');
    assert.deepEqual(event.payload.metadata.references, []);
    assert.deepEqual(event.payload.attributes, {});
    assert.ok(!Number.isNaN(Date.parse(event.time)), event.time);
    assert.deepEqual(fakeEvent(), event, 'the same every time: no clock, no counter');
  });

  it('takes any field; the payload is merged field by field into the default one', () => {
    const event = fakeEvent({
      sequenceId: 42,
      type: 'DELETED',
      topic: '/management/v1alpha1/watchtopics/other',
      organizationId: 'org-7',
      payload: { name: 'gone', attributes: { owner: 'me' } },
    });
    assert.equal(event.sequenceId, 42);
    assert.equal(event.type, 'DELETED');
    assert.equal(event.topic, '/management/v1alpha1/watchtopics/other');
    assert.equal(event.organizationId, 'org-7');
    assert.equal(event.payload.name, 'gone');
    assert.deepEqual(event.payload.attributes, { owner: 'me' });
    assert.equal(event.payload.kind, 'APIService', 'the fields not given keep their defaults');
    assert.equal(event.payload.metadata.selfLink, fakeEvent().payload.metadata.selfLink);
    assert.equal(event.id, 'event-42', 'the id follows the sequence id');
  });

  it("merges the payload's metadata field by field: a self link alone (keyOf's default key) keeps id and scope", () => {
    const event = fakeEvent({ payload: { metadata: { selfLink: '/management/v1alpha1/environments/env-1/x/y' } } });
    assert.equal(event.payload.metadata.selfLink, '/management/v1alpha1/environments/env-1/x/y');
    assert.deepEqual(event.payload.metadata.scope, fakeEvent().payload.metadata.scope);
    assert.equal(event.payload.metadata.id, fakeEvent().payload.metadata.id);
  });

  it('a SUBRESOURCEUPDATED event names its subresource, unless told otherwise', () => {
    assert.equal(fakeEvent({ type: 'SUBRESOURCEUPDATED' }).subresource, 'status');
    assert.equal(fakeEvent({ type: 'SUBRESOURCEUPDATED', subresource: 'x' }).subresource, 'x');
  });

  it('gives a new object each call: a handler that changes its event changes no other test', () => {
    const a = fakeEvent();
    a.payload.metadata.references.push({
      id: 'r',
      kind: 'Secret',
      name: 's',
      scopeKind: 'Environment',
      scopeName: 'env-1',
      selfLink: '/s',
      type: 'SOFT',
    });
    a.payload.attributes.changed = 'yes';
    assert.deepEqual(fakeEvent().payload.metadata.references, []);
    assert.deepEqual(fakeEvent().payload.attributes, {});
  });
});

describe('fakeEventContext', () => {
  it("by default: fakeEvent's topic and sequence id, the engine's idempotency key, a live signal of its own", () => {
    const ctx = fakeEventContext();
    assert.equal(ctx.topic, fakeEvent().topic);
    assert.equal(ctx.sequenceId, 1);
    assert.equal(ctx.idempotencyKey, '/management/v1alpha1/watchtopics/test:1');
    assert.equal(ctx.fencingToken, undefined);
    assert.equal(ctx.client, undefined);
    assert.equal(ctx.signal.aborted, false);
    assert.notEqual(fakeEventContext().signal, ctx.signal, 'each its own');
  });

  it('the idempotency key follows the topic and sequence id given; any field may be given', () => {
    const controller = new AbortController();
    const ctx = fakeEventContext({ topic: '/t', sequenceId: 9, fencingToken: 3, signal: controller.signal });
    assert.equal(ctx.idempotencyKey, '/t:9');
    assert.equal(ctx.fencingToken, 3);
    controller.abort();
    assert.equal(ctx.signal.aborted, true);
    assert.equal(fakeEventContext({ idempotencyKey: 'mine' }).idempotencyKey, 'mine');
  });

  it('unit-tests a handler: its effect keyed on the idempotency key, and an abort makes it throw', async () => {
    const applied = new Map<string, string>();
    const onEvent = async (event: WatchEvent, ctx: EventContext): Promise<void> => {
      await Promise.resolve();
      ctx.signal.throwIfAborted();
      applied.set(ctx.idempotencyKey, `${event.type} ${event.payload.name}`);
    };
    const event = fakeEvent({ sequenceId: 3, payload: { name: 'svc' } });
    await onEvent(event, fakeEventContext({ topic: event.topic, sequenceId: event.sequenceId }));
    await onEvent(event, fakeEventContext({ topic: event.topic, sequenceId: event.sequenceId }));
    assert.deepEqual([...applied], [['/management/v1alpha1/watchtopics/test:3', 'CREATED svc']]);
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(onEvent(fakeEvent({ sequenceId: 4 }), fakeEventContext({ signal: controller.signal })), {
      name: 'AbortError',
    });
    assert.equal(applied.size, 1);
  });
});
