import type { WireEventInput } from '../proto';
import type { WatchEvent, WatchEventType } from '../types';

/** The fields the stream and the history API carry alike. */
function envelope(event: WatchEvent): { id: string; time: string; version: string; product: string; correlationId: string; organization: { id: string } } {
  return { id: event.id, time: event.time, version: event.version, product: event.product, correlationId: event.correlationId, organization: { id: event.organizationId } };
}

/** The event as the watch stream carries it (WIRE.md `Event`). */
export function toWireEvent(event: WatchEvent): WireEventInput {
  return {
    ...envelope(event),
    type: event.type,
    payload: event.payload,
    metadata: {
      watchTopicID: event.watchTopicId,
      watchTopicSelfLink: event.topic,
      sequenceID: String(event.sequenceId),
      subresource: event.subresource,
    },
  };
}

const HISTORY_TYPES: Readonly<Record<WatchEventType, string>> = {
  CREATED: 'ResourceCreated',
  UPDATED: 'ResourceUpdated',
  DELETED: 'ResourceDeleted',
  SUBRESOURCEUPDATED: 'SubResourceUpdated',
  TRIGGERACTION: 'TriggerAction',
};

/**
 * The event as the event-history API returns it (WIRE.md "Event JSON"), with the extra fields real payloads carry
 * (`spec`, `finalizers`, audit metadata), which a client must tolerate.
 */
export function toHistoryJson(event: WatchEvent): Record<string, unknown> {
  return {
    ...envelope(event),
    type: HISTORY_TYPES[event.type],
    payload: {
      ...event.payload,
      metadata: { ...event.payload.metadata, audit: { createTimestamp: event.time, createUserId: 'fake' }, resourceVersion: String(event.sequenceId) },
      spec: { description: `${event.payload.kind} ${event.payload.name}` },
      finalizers: [],
    },
    metadata: {
      watchTopicID: event.watchTopicId,
      watchTopicSelfLink: event.topic,
      sequenceID: event.sequenceId,
      subresource: event.subresource,
    },
  };
}
