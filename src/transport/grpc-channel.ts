import { createSecureContext } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { WatchError } from '../core/errors';
import type { Log } from '../logging/logger';
import type { ResolvedOptions } from '../config/options';
import { proxyFor, type ProxyEndpoint } from '../config/proxy';
import { decodeEvent, watchProto, type DecodedEvent, type WireRequest } from './proto';

// Watch payloads carry whole resources; grpc-js's 4 MiB default would end the stream on one large resource.
const MAX_RECEIVE_BYTES = 64 * 1024 * 1024;

function credentials(options: ResolvedOptions, log: Log): grpc.ChannelCredentials {
  if (options.tls === false) {
    log.warnOnce(
      'plaintext',
      `TLS is off (tls: false): the token travels in clear text to ${options.target}; use this for local testing only`,
    );
    return grpc.credentials.createInsecure();
  }
  const { ca, key, cert, minVersion } = options.tls;
  // A secure context rather than createSsl(): it is the only way to set the minimum TLS version.
  return grpc.credentials.createFromSecureContext(createSecureContext({ ca, key, cert, minVersion }));
}

/** Where the channel connects, and through which proxy. */
export interface ChannelRoute {
  /** The address grpc-js dials: the proxy, the entry address, or the target. */
  address: string;
  /** The `host:port` the connection reaches in the end (asked of the proxy in CONNECT). */
  destination: string;
  proxy: ProxyEndpoint | undefined;
}

/** The route of the manager's channel: the proxy decision (option or environment) and `entryAddress` applied. */
export function channelRoute(options: ResolvedOptions): ChannelRoute {
  const destination = options.entryAddress === undefined ? options.target : formatAddress(options.entryAddress);
  const dialled = options.entryAddress ?? options;
  // Exempt by no_proxy when either the service's name or the address actually dialled is.
  const proxy = proxyFor(options.proxy, options.proxyEnv, 'grpc', options.host, options.port, dialled.host);
  if (proxy !== undefined && dialled.host.startsWith('[')) {
    // grpc-js writes the CONNECT target without the brackets an IPv6 literal needs (`CONNECT ::1:443`): refuse
    // rather than fail later with an unexplained lost connection.
    throw new WatchError(
      'INVALID_CONFIG',
      `invalid option '${options.entryAddress === undefined ? 'target' : 'entryAddress'}': an IPv6 address cannot be reached through a proxy (use a host name)`,
    );
  }
  return { address: proxy === undefined ? destination : proxy.address, destination, proxy };
}

/**
 * The proxy's `user:password` in a form only grpc-js's CONNECT can read. grpc-js prints every channel option with
 * `JSON.stringify` in its tracing (`GRPC_TRACE=channel,subchannel GRPC_VERBOSITY=DEBUG`), so a plain string would put
 * the password on stderr. It reads this option only as `Buffer.from(value)` (http_proxy.ts), which takes an object's
 * `valueOf()`; every way to print the object (JSON, string conversion, inspect) shows `[REDACTED]` instead.
 * test/proxy.test.ts runs a proxied watch with grpc-js tracing on and checks both that the proxy accepted the
 * credentials and that they appear nowhere.
 */
function sealedCredentials(credentials: string): string {
  const shown = '[REDACTED]';
  // Typed as the string grpc-js declares; it only ever hands the value to Buffer.from.
  return Object.freeze({
    valueOf: () => credentials,
    toString: () => shown,
    toJSON: () => shown,
    [Symbol.toPrimitive]: () => shown,
    [Symbol.for('nodejs.util.inspect.custom')]: () => shown,
  }) as unknown as string;
}

function formatAddress({ host, port }: { host: string; port: number }): string {
  return `${host}:${port}`;
}

/** The grpc-js channel options the SDK sets (exported for the throughput bench's like-for-like bare client). */
export function channelOptions(options: ResolvedOptions, route = channelRoute(options)): grpc.ChannelOptions {
  const channel: grpc.ChannelOptions = {
    'grpc.primary_user_agent': options.userAgent,
    'grpc.max_receive_message_length': MAX_RECEIVE_BYTES,
    // Reconnection is ours (backoff with jitter, resume from the acknowledged position); grpc-js's transparent
    // retries and service config are not wanted on a stream whose position we track.
    'grpc.enable_retries': 0,
    'grpc.service_config_disable_resolution': 1,
    // A 1 MiB HTTP/2 flow-control window instead of 64 KiB: ~1.4x the events/s of grpc-js's default on a busy topic
    // (docs/facts.md#grpc-js-backpressure). Memory stays bounded: the SDK stops reading past maxBufferedEvents.
    'grpc-node.flow_control_window': 1024 * 1024,
    // grpc-js's own proxy support reads the environment (lower case only) with a matcher of its own; the SDK
    // decides instead (channelRoute), with the one matcher it shares with the history client.
    'grpc.enable_http_proxy': 0,
  };
  if (options.keepalive !== false) {
    // On by default, unlike grpc-js (#2578, #2785): a dropped network must be noticed.
    channel['grpc.keepalive_time_ms'] = options.keepalive.intervalMs;
    channel['grpc.keepalive_timeout_ms'] = options.keepalive.timeoutMs;
    channel['grpc.keepalive_permit_without_calls'] = 1;
  }
  if (route.address !== options.target) {
    // Dialling a proxy or an entry address: the service must still see its own name as :authority (the name the
    // certificate is checked against is set below: grpc-js would take the dialled address's).
    channel['grpc.default_authority'] = options.target;
  }
  if (route.proxy !== undefined) {
    // grpc-js's HTTP CONNECT support, per channel (docs/facts.md#grpc-js-proxy-per-channel): internal option names,
    // unchanged since 1.1.
    channel['grpc.http_connect_target'] = `dns:${route.destination}`;
    if (route.proxy.credentials !== undefined)
      channel['grpc.http_connect_creds'] = sealedCredentials(route.proxy.credentials);
  }
  if (options.tls !== false && (options.tls.servername !== undefined || route.address !== options.target)) {
    // The name for the certificate check and SNI: grpc-js takes the dialled address's otherwise, which through an
    // entry address is an IP the certificate does not name. :authority stays the target's.
    channel['grpc.ssl_target_name_override'] = options.tls.servername ?? options.host.replace(/^\[|\]$/g, '');
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
export function createWatchClient(options: ResolvedOptions, log: Log, route = channelRoute(options)): WatchClient {
  if (route.proxy !== undefined)
    log.info('gRPC channel through proxy', { proxy: route.proxy.toString(), destination: route.destination });
  return new WatchClient(route.address, credentials(options, log), channelOptions(options, route));
}
