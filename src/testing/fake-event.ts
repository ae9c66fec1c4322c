import type { ResourceInstance, WatchEvent } from '../core/types';
import type { EventContext } from '../delivery/watch-handlers';

/** What {@link fakeEvent} may be told: any field of the event, and of its payload one by one. */
export type FakeEventOverrides = Partial<Omit<WatchEvent, 'payload'>> & {
  /** Fields of the payload to replace, `metadata` too field by field; the others keep their defaults. */
  payload?: Partial<Omit<ResourceInstance, 'metadata'>> & {
    /** Fields of the payload's metadata to replace (a self link alone, say); the others keep their defaults. */
    metadata?: Partial<ResourceInstance['metadata']>;
  };
};

const DEFAULT_TOPIC = '/management/v1alpha1/watchtopics/test';

/**
 * A complete, valid {@link WatchEvent} for unit-testing a handler without a service: sequence id 1, type `CREATED`,
 * topic `/management/v1alpha1/watchtopics/test`, an `APIService` named `apiservice-1` in environment `env-1`, with
 * every field a delivered event has (the same keys as an event of {@link FakeWatchService}). The time is fixed, so a
 * test that compares events stays deterministic.
 *
 * @param overrides Fields to replace; `payload` is merged field by field into the default payload.
 * @example
 * ```ts
 * const event = fakeEvent({ sequenceId: 7, type: 'DELETED', payload: { name: 'gone' } });
 * await onEvent(event, fakeEventContext({ topic: event.topic, sequenceId: event.sequenceId }));
 * ```
 */
export function fakeEvent(overrides: FakeEventOverrides = {}): WatchEvent {
  const { payload, ...fields } = overrides;
  const sequenceId = fields.sequenceId ?? 1;
  const topic = fields.topic ?? DEFAULT_TOPIC;
  const type = fields.type ?? 'CREATED';
  const scope = {
    id: 'env-id-1',
    kind: 'Environment',
    name: 'env-1',
    selfLink: '/management/v1alpha1/environments/env-1',
  };
  const defaultPayload: ResourceInstance = {
    group: 'management',
    kind: 'APIService',
    name: 'apiservice-1',
    metadata: {
      id: 'apiservice-id-1',
      scope,
      selfLink: `${scope.selfLink}/apiservices/apiservice-1`,
      references: [],
    },
    attributes: {},
  };
  return {
    id: `event-${sequenceId}`,
    time: '2026-01-01T00:00:00.000Z',
    version: 'v1',
    product: 'AmplifyCentral',
    correlationId: `correlation-${sequenceId}`,
    organizationId: 'org-test',
    watchTopicId: 'watchtopic-id-test',
    subresource: type === 'SUBRESOURCEUPDATED' ? 'status' : '',
    ...fields,
    type,
    topic,
    sequenceId,
    payload: { ...defaultPayload, ...payload, metadata: { ...defaultPayload.metadata, ...payload?.metadata } },
  };
}

/**
 * The {@link EventContext} a handler gets with an event, for unit-testing it: topic and sequence id of
 * {@link fakeEvent}'s defaults unless given, `idempotencyKey` `${topic}:${sequenceId}` (as the engine forms it),
 * no fencing token and no transaction client, and a signal of its own that is not aborted. Give `signal` (an
 * `AbortController`'s) to test how the handler reacts to an abort: it must throw, not return (a handler that returns
 * after an abort acknowledges nothing, whatever it returns).
 *
 * @param overrides Fields to replace; `idempotencyKey` follows the given topic and sequence id unless given too.
 */
export function fakeEventContext(overrides: Partial<EventContext> = {}): EventContext {
  const topic = overrides.topic ?? DEFAULT_TOPIC;
  const sequenceId = overrides.sequenceId ?? 1;
  return {
    topic,
    sequenceId,
    idempotencyKey: overrides.idempotencyKey ?? `${topic}:${sequenceId}`,
    fencingToken: overrides.fencingToken,
    signal: overrides.signal ?? new AbortController().signal,
    client: overrides.client,
  };
}
