import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from './generated/watch';

/**
 * Loading of `proto/watch.proto` (written from WIRE.md), shared by the client and the fake service so that both
 * speak exactly the same contract. Generated types are used only by the stream, the codec and the fake service.
 */

// The options match the generated types (`npm run gen:proto`): int64 as string (converted with a range check in
// the codec, never silently rounded), enums as names, defaults filled in, proto3 `optional` kept visible.
const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [path.join(__dirname, '..', 'proto')],
};

let cached: ProtoGrpcType | undefined;

/** The loaded `central.events.v1` package (loaded once per process). */
export function watchProto(): ProtoGrpcType {
  if (cached === undefined) {
    const definition = protoLoader.loadSync('watch.proto', LOADER_OPTIONS);
    cached = grpc.loadPackageDefinition(definition) as unknown as ProtoGrpcType;
  }
  return cached;
}

export type { Event__Output as WireEvent } from './generated/central/events/v1/Event';
export type { Request as WireRequest, Request__Output as WireRequestOutput } from './generated/central/events/v1/Request';
export type { Event as WireEventInput } from './generated/central/events/v1/Event';
export type { watchClient as WireWatchClient } from './generated/central/events/v1/watch';
export type { watchHandlers as WireWatchHandlers } from './generated/central/events/v1/watch';
