// Original file: proto/apicentral.proto


// Original file: proto/apicentral.proto

export const _central_events_v1_datamodel_Reference_Type = {
  SOFT: 'SOFT',
  HARD: 'HARD',
} as const;

export type _central_events_v1_datamodel_Reference_Type =
  | 'SOFT'
  | 0
  | 'HARD'
  | 1

export type _central_events_v1_datamodel_Reference_Type__Output = typeof _central_events_v1_datamodel_Reference_Type[keyof typeof _central_events_v1_datamodel_Reference_Type]

export interface Reference {
  'id'?: (string);
  'kind'?: (string);
  'name'?: (string);
  'scopeKind'?: (string);
  'scopeName'?: (string);
  'selfLink'?: (string);
  'type'?: (_central_events_v1_datamodel_Reference_Type);
}

export interface Reference__Output {
  'id': (string);
  'kind': (string);
  'name': (string);
  'scopeKind': (string);
  'scopeName': (string);
  'selfLink': (string);
  'type': (_central_events_v1_datamodel_Reference_Type__Output);
}
