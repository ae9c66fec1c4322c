// Original file: proto/apicentral.proto


export interface ScopeKind {
  'id'?: (string);
  'kind'?: (string);
  'name'?: (string);
  'selfLink'?: (string);
}

export interface ScopeKind__Output {
  'id': (string);
  'kind': (string);
  'name': (string);
  'selfLink': (string);
}
