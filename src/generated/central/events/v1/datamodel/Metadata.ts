// Original file: proto/apicentral.proto

import type { ScopeKind as _central_events_v1_datamodel_ScopeKind, ScopeKind__Output as _central_events_v1_datamodel_ScopeKind__Output } from '../../../../central/events/v1/datamodel/ScopeKind';
import type { Reference as _central_events_v1_datamodel_Reference, Reference__Output as _central_events_v1_datamodel_Reference__Output } from '../../../../central/events/v1/datamodel/Reference';

export interface Metadata {
  'id'?: (string);
  'scope'?: (_central_events_v1_datamodel_ScopeKind | null);
  'selfLink'?: (string);
  'references'?: (_central_events_v1_datamodel_Reference)[];
}

export interface Metadata__Output {
  'id': (string);
  'scope': (_central_events_v1_datamodel_ScopeKind__Output | null);
  'selfLink': (string);
  'references': (_central_events_v1_datamodel_Reference__Output)[];
}
