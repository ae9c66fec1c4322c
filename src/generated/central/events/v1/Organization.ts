// Original file: proto/watch.proto


export interface Organization {
  'id'?: (string);
}

export interface Organization__Output {
  'id': (string);
}
