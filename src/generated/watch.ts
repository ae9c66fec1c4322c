import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { AgentContext as _central_events_v1_AgentContext, AgentContext__Output as _central_events_v1_AgentContext__Output } from './central/events/v1/AgentContext';
import type { AgentStatus as _central_events_v1_AgentStatus, AgentStatus__Output as _central_events_v1_AgentStatus__Output } from './central/events/v1/AgentStatus';
import type { Event as _central_events_v1_Event, Event__Output as _central_events_v1_Event__Output } from './central/events/v1/Event';
import type { EventMeta as _central_events_v1_EventMeta, EventMeta__Output as _central_events_v1_EventMeta__Output } from './central/events/v1/EventMeta';
import type { Organization as _central_events_v1_Organization, Organization__Output as _central_events_v1_Organization__Output } from './central/events/v1/Organization';
import type { PingResponse as _central_events_v1_PingResponse, PingResponse__Output as _central_events_v1_PingResponse__Output } from './central/events/v1/PingResponse';
import type { Request as _central_events_v1_Request, Request__Output as _central_events_v1_Request__Output } from './central/events/v1/Request';
import type { Metadata as _central_events_v1_datamodel_Metadata, Metadata__Output as _central_events_v1_datamodel_Metadata__Output } from './central/events/v1/datamodel/Metadata';
import type { Owner as _central_events_v1_datamodel_Owner, Owner__Output as _central_events_v1_datamodel_Owner__Output } from './central/events/v1/datamodel/Owner';
import type { Reference as _central_events_v1_datamodel_Reference, Reference__Output as _central_events_v1_datamodel_Reference__Output } from './central/events/v1/datamodel/Reference';
import type { ResourceInstance as _central_events_v1_datamodel_ResourceInstance, ResourceInstance__Output as _central_events_v1_datamodel_ResourceInstance__Output } from './central/events/v1/datamodel/ResourceInstance';
import type { ScopeKind as _central_events_v1_datamodel_ScopeKind, ScopeKind__Output as _central_events_v1_datamodel_ScopeKind__Output } from './central/events/v1/datamodel/ScopeKind';
import type { watchClient as _central_events_v1_watchClient, watchDefinition as _central_events_v1_watchDefinition } from './central/events/v1/watch';
import type { Any as _google_protobuf_Any, Any__Output as _google_protobuf_Any__Output } from './google/protobuf/Any';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  central: {
    events: {
      v1: {
        AgentContext: MessageTypeDefinition<_central_events_v1_AgentContext, _central_events_v1_AgentContext__Output>
        AgentStatus: MessageTypeDefinition<_central_events_v1_AgentStatus, _central_events_v1_AgentStatus__Output>
        Event: MessageTypeDefinition<_central_events_v1_Event, _central_events_v1_Event__Output>
        EventMeta: MessageTypeDefinition<_central_events_v1_EventMeta, _central_events_v1_EventMeta__Output>
        Organization: MessageTypeDefinition<_central_events_v1_Organization, _central_events_v1_Organization__Output>
        PingResponse: MessageTypeDefinition<_central_events_v1_PingResponse, _central_events_v1_PingResponse__Output>
        Request: MessageTypeDefinition<_central_events_v1_Request, _central_events_v1_Request__Output>
        RequestType: EnumTypeDefinition
        datamodel: {
          Metadata: MessageTypeDefinition<_central_events_v1_datamodel_Metadata, _central_events_v1_datamodel_Metadata__Output>
          Owner: MessageTypeDefinition<_central_events_v1_datamodel_Owner, _central_events_v1_datamodel_Owner__Output>
          Reference: MessageTypeDefinition<_central_events_v1_datamodel_Reference, _central_events_v1_datamodel_Reference__Output>
          ResourceInstance: MessageTypeDefinition<_central_events_v1_datamodel_ResourceInstance, _central_events_v1_datamodel_ResourceInstance__Output>
          ScopeKind: MessageTypeDefinition<_central_events_v1_datamodel_ScopeKind, _central_events_v1_datamodel_ScopeKind__Output>
        }
        watch: SubtypeConstructor<typeof grpc.Client, _central_events_v1_watchClient> & { service: _central_events_v1_watchDefinition }
      }
    }
  }
  google: {
    protobuf: {
      Any: MessageTypeDefinition<_google_protobuf_Any, _google_protobuf_Any__Output>
    }
  }
}

