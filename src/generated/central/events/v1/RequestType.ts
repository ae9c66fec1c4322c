// Original file: proto/watch.proto

export const RequestType = {
  TOKEN_REFRESH: 'TOKEN_REFRESH',
  AGENT_STATUS: 'AGENT_STATUS',
  PING_RESPONSE: 'PING_RESPONSE',
} as const;

export type RequestType =
  | 'TOKEN_REFRESH'
  | 0
  | 'AGENT_STATUS'
  | 1
  | 'PING_RESPONSE'
  | 2

export type RequestType__Output = typeof RequestType[keyof typeof RequestType]
