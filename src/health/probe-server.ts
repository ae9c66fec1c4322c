import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WatchError } from '../core/errors';
import { invalid, isRecord, nonEmptyString, tcpPort } from '../core/option-checks';
import type { HealthReport } from './health-report';

/** What the probe server asks: a manager (or anything that answers `health()` the same way). */
export interface HealthSource {
  /** The report a probe answers from, asked once per request. */
  health(): HealthReport;
}

/** Options of {@link serveProbes}. */
export interface ProbeServerOptions {
  /** The port to listen on (0: any free one, see {@link ProbeServer.port}). */
  port: number;
  /** The address to listen on. @default all interfaces (the kubelet probes the pod's address) */
  host?: string;
}

/** A running probe server. */
export interface ProbeServer {
  /** The port it listens on. */
  readonly port: number;
  /** Stops listening and ends its connections. */
  close(): Promise<void>;
}

/**
 * Serves Kubernetes probes over `node:http`, on a port of its own: `GET /healthz` answers 200 while
 * `health().healthy` (else 503: the process should be restarted), `GET /readyz` 200 while `health().ready` (else
 * 503). The body is the report's `healthy`, `ready` and `reasons` as JSON (codes, topics and states: no secret), and
 * `live`, the same value as `healthy` (deprecated since 0.2, gone in 0.3). It only
 * reads the manager's state, so a probe never waits for delivery nor delays it. Unref'd: it keeps no process alive.
 */
export async function serveProbes(source: HealthSource, options: ProbeServerOptions): Promise<ProbeServer> {
  if (!isRecord(options)) throw invalid('options', 'must be an object', 'serveProbes argument');
  if (options.port === undefined) throw invalid('port', 'is required', 'serveProbes option');
  const port = tcpPort(options.port, 'port', 0, 'serveProbes option');
  const host = options.host === undefined ? undefined : nonEmptyString(options.host, 'host', 'serveProbes option');
  const server = createServer((req, res) => answer(source, req, res));
  // A probe is one small request: a client that holds a connection open must not hold the server.
  server.requestTimeout = 5_000;
  server.headersTimeout = 5_000;
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new WatchError('INVALID_CONFIG', `invalid serveProbes option 'port': cannot listen on ${port} (${err.code})`, {
          cause: err,
        }),
      ),
    );
    server.listen(port, host, () => resolve());
  });
  server.unref();
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function answer(source: HealthSource, req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? '';
  const probe = url === '/healthz' ? 'healthy' : url === '/readyz' ? 'ready' : undefined;
  if (probe === undefined) {
    reply(res, 404, { error: 'not found: /healthz or /readyz' });
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    reply(res, 405, { error: 'GET or HEAD' });
    return;
  }
  let report: HealthReport;
  try {
    report = source.health();
  } catch {
    reply(res, 503, { healthy: false, live: false, ready: false, reasons: ['the health report failed'] });
    return;
  }
  const { healthy, ready, reasons } = report;
  // `live`: the deprecated name of `healthy` (same value), kept in the body until 0.3.
  reply(res, report[probe] ? 200 : 503, { healthy, live: healthy, ready, reasons }, req.method === 'HEAD');
}

function reply(res: ServerResponse, status: number, body: unknown, headOnly = false): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(headOnly ? undefined : text);
}
