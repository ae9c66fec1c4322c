// Original file: proto/apicentral.proto

import type { Metadata as _central_events_v1_datamodel_Metadata, Metadata__Output as _central_events_v1_datamodel_Metadata__Output } from '../../../../central/events/v1/datamodel/Metadata';

export interface ResourceInstance {
  'group'?: (string);
  'kind'?: (string);
  'name'?: (string);
  'metadata'?: (_central_events_v1_datamodel_Metadata | null);
  'attributes'?: ({[key: string]: string});
}

export interface ResourceInstance__Output {
  'group': (string);
  'kind': (string);
  'name': (string);
  'metadata': (_central_events_v1_datamodel_Metadata__Output | null);
  'attributes': ({[key: string]: string});
}
