// Original file: proto/watch.proto

import type { Any as _google_protobuf_Any, Any__Output as _google_protobuf_Any__Output } from '../../../google/protobuf/Any';
import type { Long } from '@grpc/proto-loader';

export interface EventMeta {
  'watchTopicID'?: (string);
  'watchTopicSelfLink'?: (string);
  'sequenceID'?: (number | string | Long);
  'subresource'?: (string);
  'actionDetails'?: (_google_protobuf_Any | null);
  '_actionDetails'?: "actionDetails";
}

export interface EventMeta__Output {
  'watchTopicID': (string);
  'watchTopicSelfLink': (string);
  'sequenceID': (string);
  'subresource': (string);
  'actionDetails'?: (_google_protobuf_Any__Output | null);
  '_actionDetails'?: "actionDetails";
}
