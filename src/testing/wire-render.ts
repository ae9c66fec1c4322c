import type { WireEventInput } from '../transport/proto';
import type { WatchEvent, WatchEventType } from '../core/types';

/** The fields the stream and the history API carry alike. */
function envelope(event: WatchEvent): {
  id: string;
  time: string;
  version: string;
  product: string;
  correlationId: string;
  organization: { id: string };
} {
  return {
    id: event.id,
    time: event.time,
    version: event.version,
    product: event.product,
    correlationId: event.correlationId,
    organization: { id: event.organizationId },
  };
}

/** An `Event.Type` number the contract does not define: a newer service's type, as an older client sees it. */
const UNKNOWN_WIRE_TYPE: number = 42;

/** A history `type` string the contract does not define. */
const UNKNOWN_HISTORY_TYPE = 'ResourceArchived';

/**
 * The event as the watch stream carries it (`Event`, docs/wire.md#event); `unknownType` (or a type the contract does
 * not name): with {@link UNKNOWN_WIRE_TYPE} instead of its type.
 */
export function toWireEvent(event: WatchEvent, unknownType = false): WireEventInput {
  const type = event.type;
  return {
    ...envelope(event),
    // A number, not a name: protobufjs's fromObject writes an unknown enum number as it is, but turns an unknown name
    // into the default (CREATED). The generated type lists only the known numbers.
    type: unknownType || !isContractType(type) ? (UNKNOWN_WIRE_TYPE as WireEventInput['type']) : type,
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

/** Whether the contract names `type` (an event a test built by hand may carry one it does not). */
function isContractType(type: string): type is WatchEventType {
  return Object.hasOwn(HISTORY_TYPES, type);
}

/**
 * The event as the event-history API returns it (docs/wire.md#event-json), with the extra fields real payloads carry
 * (`spec`, `finalizers`, audit metadata), which a client must tolerate; `unknownType` (or a type the contract does
 * not name): with {@link UNKNOWN_HISTORY_TYPE} instead of its type.
 */
export function toHistoryJson(event: WatchEvent, unknownType = false): Record<string, unknown> {
  const type = event.type;
  return {
    ...envelope(event),
    type: unknownType || !isContractType(type) ? UNKNOWN_HISTORY_TYPE : HISTORY_TYPES[type],
    payload: {
      ...event.payload,
      metadata: {
        ...event.payload.metadata,
        audit: { createTimestamp: event.time, createUserId: 'fake' },
        resourceVersion: String(event.sequenceId),
      },
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
