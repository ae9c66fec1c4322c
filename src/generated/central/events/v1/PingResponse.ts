// Original file: proto/watch.proto


export interface PingResponse {
  'id'?: (string);
}

export interface PingResponse__Output {
  'id': (string);
}
