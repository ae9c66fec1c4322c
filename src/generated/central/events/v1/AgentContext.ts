// Original file: proto/watch.proto


export interface AgentContext {
  'environmentName'?: (string);
  'agentName'?: (string);
}

export interface AgentContext__Output {
  'environmentName': (string);
  'agentName': (string);
}
