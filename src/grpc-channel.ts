import * as grpc from '@grpc/grpc-js';
import type { Log } from './logger';
import type { ResolvedOptions } from './options';
import { decodeEvent, watchProto, type DecodedEvent, type WireRequest } from './proto';

// Watch payloads carry whole resources; grpc-js's 4 MiB default would end the stream on one large resource.
const MAX_RECEIVE_BYTES = 64 * 1024 * 1024;

function credentials(options: ResolvedOptions, log: Log): grpc.ChannelCredentials {
  if (options.tls === false) {
    log.warnOnce('plaintext', `TLS is off (tls: false): the token travels in clear text to ${options.target}; use this for local testing only`);
    return grpc.credentials.createInsecure();
  }
  const { ca, key, cert } = options.tls;
  const asBuffer = (v: string | Buffer | undefined): Buffer | null => (v === undefined ? null : Buffer.from(v));
  return grpc.credentials.createSsl(asBuffer(ca), asBuffer(key), asBuffer(cert));
}

/** The grpc-js channel options the SDK sets (exported for the throughput bench's like-for-like bare client). */
export function channelOptions(options: ResolvedOptions): grpc.ChannelOptions {
  const channel: grpc.ChannelOptions = {
    'grpc.primary_user_agent': options.userAgent,
    'grpc.max_receive_message_length': MAX_RECEIVE_BYTES,
    // Reconnection is ours (backoff with jitter, resume from the acknowledged position); grpc-js's transparent
    // retries and service config are not wanted on a stream whose position we track.
    'grpc.enable_retries': 0,
    'grpc.service_config_disable_resolution': 1,
    // A 1 MiB HTTP/2 flow-control window instead of 64 KiB: ~1.4x the events/s of grpc-js's default on a busy topic
    // (FACTS.md). Memory stays bounded: the SDK stops reading past maxBufferedEvents.
    'grpc-node.flow_control_window': 1024 * 1024,
  };
  if (options.keepalive !== false) {
    // On by default, unlike grpc-js (#2578, #2785): a dropped network must be noticed.
    channel['grpc.keepalive_time_ms'] = options.keepalive.intervalMs;
    channel['grpc.keepalive_timeout_ms'] = options.keepalive.timeoutMs;
    channel['grpc.keepalive_permit_without_calls'] = 1;
  }
  if (options.tls !== false && options.tls.servername !== undefined) {
    channel['grpc.ssl_target_name_override'] = options.tls.servername;
    channel['grpc.default_authority'] = options.tls.servername;
  }
  return channel;
}

/**
 * The one gRPC channel of a manager: every watch's stream is multiplexed over its single HTTP/2 connection. Requests
 * are encoded by proto-loader; events are decoded by protobufjs alone ({@link decodeEvent}).
 */
export class WatchClient extends grpc.Client {
  private readonly method = watchProto().central.events.v1.watch.service.subscribe;

  /** Opens one `subscribe` call. */
  subscribe(metadata: grpc.Metadata): grpc.ClientDuplexStream<WireRequest, DecodedEvent> {
    return this.makeBidiStreamRequest(this.method.path, this.method.requestSerialize, decodeEvent, metadata);
  }
}

/** The manager's client, with every grpc-js channel option the SDK sets. */
export function createWatchClient(options: ResolvedOptions, log: Log): WatchClient {
  return new WatchClient(options.target, credentials(options, log), channelOptions(options));
}
