// Original file: proto/watch.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { Event as _central_events_v1_Event, Event__Output as _central_events_v1_Event__Output } from '../../../central/events/v1/Event';
import type { Request as _central_events_v1_Request, Request__Output as _central_events_v1_Request__Output } from '../../../central/events/v1/Request';

export interface watchClient extends grpc.Client {
  subscribe(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_central_events_v1_Request, _central_events_v1_Event__Output>;
  subscribe(options?: grpc.CallOptions): grpc.ClientDuplexStream<_central_events_v1_Request, _central_events_v1_Event__Output>;
  
}

export interface watchHandlers extends grpc.UntypedServiceImplementation {
  subscribe: grpc.handleBidiStreamingCall<_central_events_v1_Request__Output, _central_events_v1_Event>;
  
}

export interface watchDefinition extends grpc.ServiceDefinition {
  subscribe: MethodDefinition<_central_events_v1_Request, _central_events_v1_Event, _central_events_v1_Request__Output, _central_events_v1_Event__Output>
}
