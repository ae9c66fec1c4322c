import http from 'node:http';
import type { Clock } from '../core/clock';
import { WatchError, codeOfHttpStatus, errorMessage, type WatchErrorCode } from '../core/errors';
import type { ProxyEndpoint } from '../config/proxy';

/**
 * The typed error for a proxy's non-2xx answer to `CONNECT destination`, or undefined for a 2xx. Shared by the gRPC
 * channel's diagnosis and the history client, so that both name a refusal the same way. Names the proxy by
 * `host:port`, never with its credentials.
 */
export function proxyRefusal(
  proxy: ProxyEndpoint,
  statusCode: number,
  destination: string,
  transient: WatchErrorCode = 'CONNECTION_LOST',
): WatchError | undefined {
  if (statusCode >= 200 && statusCode < 300) return undefined;
  const who = `proxy ${proxy.address}`;
  const code = codeOfHttpStatus('proxy', statusCode);
  if (code === 'PROXY_AUTH') {
    const why =
      proxy.credentials === undefined ? 'requires credentials and none were given' : 'refused the credentials';
    return new WatchError(code, `${who} ${why} (${statusCode})`);
  }
  if (code === 'PROXY_REFUSED' && statusCode === 403)
    return new WatchError(code, `${who} refused to connect to ${destination} (403: host or port not allowed)`);
  // A proxy that does not do CONNECT at all, or not for this request: asking again will not change its mind.
  if (code !== undefined)
    return new WatchError(code, `${who} does not tunnel to ${destination} (${statusCode}: no HTTP CONNECT)`);
  // 502/503/504 and the like: the proxy is fine but could not reach the service, a transient network failure
  // (`transient` names it as the caller does: a lost stream, an unavailable history API…).
  return new WatchError(transient, `${who} could not reach ${destination} (${statusCode})`);
}

/** The typed error for a failure to reach the proxy itself (connection refused, unknown host, timeout). */
export function proxyUnreachable(proxy: ProxyEndpoint, err: unknown): WatchError {
  const code = (err as { code?: unknown } | undefined)?.code;
  const detail = typeof code === 'string' ? code : errorMessage(err);
  return new WatchError('PROXY_UNREACHABLE', `proxy ${proxy.address} cannot be reached (${detail})`, { cause: err });
}

/**
 * Asks the proxy for a tunnel to `destination` (`host:port`) and closes it at once: grpc-js reports a proxy's
 * refusal only as a bare `UNAVAILABLE` (docs/facts.md#grpc-js-proxy-per-channel), so when a proxied stream fails before
 * any sign of life this finds out why. Resolves with the proxy's error, or undefined when the proxy would tunnel (the
 * failure is then beyond it); a proxy that takes the connection but does not answer within `timeoutMs` is a retryable
 * `CONNECTION_LOST` (busy, or its own upstream hangs), not an unreachable one. Never rejects; `signal` ends it early.
 */
export function probeProxy(
  proxy: ProxyEndpoint,
  destination: string,
  timeoutMs: number,
  clock: Clock,
  signal: AbortSignal,
): Promise<WatchError | undefined> {
  return new Promise((resolve) => {
    const headers: http.OutgoingHttpHeaders = { host: destination };
    const authorization = proxy.authorization();
    if (authorization !== undefined) headers['proxy-authorization'] = authorization;
    const req = http.request({
      host: proxy.host,
      port: proxy.port,
      method: 'CONNECT',
      path: destination,
      headers,
      agent: false,
      signal,
    });
    let connected = false;
    req.once('socket', (socket) => socket.once('connect', () => (connected = true)));
    const timer = clock.setTimeout(() => {
      done(
        connected
          ? new WatchError(
              'CONNECTION_LOST',
              `proxy ${proxy.address} did not answer CONNECT to ${destination} within ${timeoutMs} ms`,
            )
          : proxyUnreachable(proxy, new Error(`no connection within ${timeoutMs} ms`)),
      );
    }, timeoutMs);
    let settled = false;
    function done(error: WatchError | undefined): void {
      if (settled) return;
      settled = true;
      timer.cancel();
      req.destroy();
      resolve(error);
    }
    // Node reports every answer to CONNECT through 'connect', whatever its status.
    req.on('connect', (res, socket) => {
      socket.destroy();
      done(proxyRefusal(proxy, res.statusCode ?? 0, destination));
    });
    req.on('error', (err) => {
      if (signal.aborted) return done(undefined);
      if (!connected) return done(proxyUnreachable(proxy, err));
      // Reached, but no usable answer: not an HTTP proxy at that address (a parse error), or one that dropped the
      // connection (transient). Neither is "unreachable", which at start means a wrong address.
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && code.startsWith('HPE_')) {
        return done(
          new WatchError(
            'PROXY_REFUSED',
            `proxy ${proxy.address} answered CONNECT with something that is not HTTP (${code}): is it an HTTP proxy?`,
            { cause: err },
          ),
        );
      }
      done(
        new WatchError(
          'CONNECTION_LOST',
          `proxy ${proxy.address} closed the connection without answering CONNECT to ${destination}`,
          { cause: err },
        ),
      );
    });
    req.end();
  });
}
