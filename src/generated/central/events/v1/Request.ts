// Original file: proto/watch.proto

import type { RequestType as _central_events_v1_RequestType, RequestType__Output as _central_events_v1_RequestType__Output } from '../../../central/events/v1/RequestType';
import type { AgentStatus as _central_events_v1_AgentStatus, AgentStatus__Output as _central_events_v1_AgentStatus__Output } from '../../../central/events/v1/AgentStatus';
import type { PingResponse as _central_events_v1_PingResponse, PingResponse__Output as _central_events_v1_PingResponse__Output } from '../../../central/events/v1/PingResponse';

export interface Request {
  'selfLink'?: (string);
  'token'?: (string);
  'requestType'?: (_central_events_v1_RequestType);
  'agentStatus'?: (_central_events_v1_AgentStatus | null);
  'capabilities'?: (string)[];
  'pingResponse'?: (_central_events_v1_PingResponse | null);
  '_requestType'?: "requestType";
  '_agentStatus'?: "agentStatus";
  '_pingResponse'?: "pingResponse";
}

export interface Request__Output {
  'selfLink': (string);
  'token': (string);
  'requestType'?: (_central_events_v1_RequestType__Output);
  'agentStatus'?: (_central_events_v1_AgentStatus__Output | null);
  'capabilities': (string)[];
  'pingResponse'?: (_central_events_v1_PingResponse__Output | null);
  '_requestType'?: "requestType";
  '_agentStatus'?: "agentStatus";
  '_pingResponse'?: "pingResponse";
}
