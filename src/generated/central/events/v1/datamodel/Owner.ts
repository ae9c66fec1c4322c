// Original file: proto/apicentral.proto


// Original file: proto/apicentral.proto

export const _central_events_v1_datamodel_Owner_Type = {
  TEAM: 'TEAM',
} as const;

export type _central_events_v1_datamodel_Owner_Type =
  | 'TEAM'
  | 0

export type _central_events_v1_datamodel_Owner_Type__Output = typeof _central_events_v1_datamodel_Owner_Type[keyof typeof _central_events_v1_datamodel_Owner_Type]

export interface Owner {
  'id'?: (string);
  'type'?: (_central_events_v1_datamodel_Owner_Type);
}

export interface Owner__Output {
  'id': (string);
  'type': (_central_events_v1_datamodel_Owner_Type__Output);
}
