// Original file: proto/watch.proto

import type { Organization as _central_events_v1_Organization, Organization__Output as _central_events_v1_Organization__Output } from '../../../central/events/v1/Organization';
import type { ResourceInstance as _central_events_v1_datamodel_ResourceInstance, ResourceInstance__Output as _central_events_v1_datamodel_ResourceInstance__Output } from '../../../central/events/v1/datamodel/ResourceInstance';
import type { EventMeta as _central_events_v1_EventMeta, EventMeta__Output as _central_events_v1_EventMeta__Output } from '../../../central/events/v1/EventMeta';

// Original file: proto/watch.proto

export const _central_events_v1_Event_Type = {
  CREATED: 'CREATED',
  UPDATED: 'UPDATED',
  DELETED: 'DELETED',
  SUBRESOURCEUPDATED: 'SUBRESOURCEUPDATED',
  TRIGGERACTION: 'TRIGGERACTION',
  PING: 'PING',
} as const;

export type _central_events_v1_Event_Type =
  | 'CREATED'
  | 0
  | 'UPDATED'
  | 1
  | 'DELETED'
  | 2
  | 'SUBRESOURCEUPDATED'
  | 3
  | 'TRIGGERACTION'
  | 4
  | 'PING'
  | 5

export type _central_events_v1_Event_Type__Output = typeof _central_events_v1_Event_Type[keyof typeof _central_events_v1_Event_Type]

export interface Event {
  'id'?: (string);
  'time'?: (string);
  'version'?: (string);
  'product'?: (string);
  'correlationId'?: (string);
  'organization'?: (_central_events_v1_Organization | null);
  'type'?: (_central_events_v1_Event_Type);
  'payload'?: (_central_events_v1_datamodel_ResourceInstance | null);
  'metadata'?: (_central_events_v1_EventMeta | null);
}

export interface Event__Output {
  'id': (string);
  'time': (string);
  'version': (string);
  'product': (string);
  'correlationId': (string);
  'organization': (_central_events_v1_Organization__Output | null);
  'type': (_central_events_v1_Event_Type__Output);
  'payload': (_central_events_v1_datamodel_ResourceInstance__Output | null);
  'metadata': (_central_events_v1_EventMeta__Output | null);
}
