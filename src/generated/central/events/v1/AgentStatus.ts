// Original file: proto/watch.proto

import type { AgentContext as _central_events_v1_AgentContext, AgentContext__Output as _central_events_v1_AgentContext__Output } from '../../../central/events/v1/AgentContext';

export interface AgentStatus {
  'state'?: (string);
  'message'?: (string);
  'context'?: (_central_events_v1_AgentContext | null);
  '_context'?: "context";
}

export interface AgentStatus__Output {
  'state': (string);
  'message': (string);
  'context'?: (_central_events_v1_AgentContext__Output | null);
  '_context'?: "context";
}
