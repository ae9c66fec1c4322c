import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { HttpsProxyAgent } from 'https-proxy-agent';
import type { Clock } from '../core/clock';
import { WatchError, type WatchErrorCode } from '../core/errors';
import type { ResolvedTls } from '../config/options';
import { portOf, type ProxyEndpoint } from '../config/proxy';
import { proxyRefusal, proxyUnreachable } from './proxy-probe';

/** Options of {@link HttpTransport}. */
export interface HttpTransportOptions {
  /** Whether requests go to an https origin (picks the agent and applies `tls`). */
  secure: boolean;
  /** TLS settings for https origins; false for plaintext. */
  tls: ResolvedTls | false;
  /** The proxy to tunnel through, or undefined to go direct. */
  proxy: ProxyEndpoint | undefined;
  /** Connect here instead of the URL's host (whose name is kept for SNI, certificates and `Host`). */
  entryHost?: string;
  clock: Clock;
}

/** One request of {@link HttpTransport.request}. */
export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST';
  headers: http.OutgoingHttpHeaders;
  body?: string;
  /** Deadline of the whole exchange, headers and body. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Names the request in error messages. */
  where: string;
  /** The code of a network failure or timeout (retryable), for example `HISTORY_UNAVAILABLE`. */
  unavailable: WatchErrorCode;
}

/** A complete answer: status, headers and the whole body as text. */
export interface HttpReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

type ConnectOpts = Parameters<HttpsProxyAgent<string>['connect']>[1];

/**
 * https-proxy-agent, with the socket of each pending CONNECT in reach: the agent keeps it to itself until the proxy
 * answers (the request gets no socket, and no 'close', before that), so a request abandoned meanwhile (deadline,
 * abort, close) would leave it open, holding the process, for as long as a silent proxy keeps it.
 */
class TunnelAgent extends HttpsProxyAgent<string> {
  private readonly pending = new Map<http.ClientRequest, AbortController>();

  override connect(req: http.ClientRequest, opts: ConnectOpts): Promise<net.Socket> {
    const abandon = new AbortController();
    this.pending.set(req, abandon);
    // The agent dials with `this.connectOpts` synchronously inside connect(); net sockets honour a `signal`.
    const self = this as unknown as { connectOpts: object };
    const shared = self.connectOpts;
    self.connectOpts = { ...shared, signal: abandon.signal };
    let dialled: Promise<net.Socket>;
    try {
      dialled = super.connect(req, opts);
    } finally {
      self.connectOpts = shared;
    }
    return dialled.finally(() => this.pending.delete(req));
  }

  /** Destroys the proxy connection of `req` if its tunnel is not set up yet. */
  abandon(req: http.ClientRequest): void {
    this.pending.get(req)?.abort();
  }

  /** Destroys every proxy connection whose tunnel is not set up yet. */
  abandonAll(): void {
    for (const abandon of this.pending.values()) abandon.abort();
  }
}

// The largest answer read: a history page of 1,000 large resources stays far below; anything bigger is not an
// answer of this API, and reading it would only grow memory.
const MAX_BODY_CHARS = 64 * 1024 * 1024;

// Errors of dialling a socket; with a proxy, only the proxy is ever dialled.
const CONNECT_FAILURES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** The longest `Retry-After` honoured: a server asking for an hour must not stall a watch for an hour. */
const MAX_RETRY_AFTER_MS = 300_000;

/**
 * A `Retry-After` header (RFC 9110: delay-seconds or an HTTP date) as ms from `now`, capped at
 * {@link MAX_RETRY_AFTER_MS}; undefined when absent or unreadable (the caller's own backoff applies then).
 */
export function retryAfterMs(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  let ms: number;
  if (/^\d{1,10}$/.test(text)) {
    ms = Number(text) * 1000;
  } else {
    const at = Date.parse(text);
    if (Number.isNaN(at) || !/[A-Za-z]/.test(text)) return undefined;
    ms = at - now;
  }
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}

/**
 * The SDK's HTTP/1.1 client for the history API and the token endpoint: kept-alive connections, the manager's TLS
 * settings and proxy (a CONNECT tunnel through https-proxy-agent, for http origins too, so a proxy never sees a
 * token), one deadline per exchange, and typed errors: a proxy's own refusal is `PROXY_*`, never taken for the
 * origin's answer; a network failure or timeout is the caller's `unavailable` code.
 */
export class HttpTransport {
  private readonly agent: http.Agent;
  private readonly connectOptions: https.RequestOptions = {};

  constructor(private readonly options: HttpTransportOptions) {
    const { secure, tls, proxy } = options;
    const pool = { keepAlive: true, maxSockets: 8 };
    // The proxy's credentials go in a header, not in the URL: https-proxy-agent's debug output prints the URL.
    const authorization = proxy?.authorization();
    const tunnel = { ...pool, headers: authorization === undefined ? {} : { 'Proxy-Authorization': authorization } };
    this.agent =
      proxy !== undefined
        ? new TunnelAgent(proxy.toString(), tunnel)
        : secure
          ? new https.Agent(pool)
          : new http.Agent(pool);
    // The origin's TLS settings go in each request, not in the agent: https-proxy-agent reads them there
    // (docs/facts.md#https-proxy-agent-tls-options).
    if (secure && tls !== false)
      Object.assign(this.connectOptions, {
        ca: tls.ca,
        cert: tls.cert,
        key: tls.key,
        minVersion: tls.minVersion,
        servername: tls.servername,
      });
    if (options.entryHost !== undefined) this.connectOptions.hostname = options.entryHost;
  }

  /** Sends one request and reads the whole answer; rejects with a typed {@link WatchError}. */
  request(url: URL, init: HttpRequest): Promise<HttpReply> {
    const { proxy, clock } = this.options;
    const lib = url.protocol === 'https:' ? https : http;
    const { where, signal } = init;
    return new Promise((resolve, reject) => {
      let settled = false;
      let proxyAnswer: number | undefined;
      const settle = (outcome: { ok: true; reply: HttpReply } | { ok: false; err: Error }): void => {
        if (settled) return;
        settled = true;
        deadline.cancel();
        if (outcome.ok) {
          resolve(outcome.reply);
          return;
        }
        req.destroy();
        if (this.agent instanceof TunnelAgent) this.agent.abandon(req);
        const err = outcome.err;
        if (signal?.aborted === true) reject(new WatchError('CLOSED', `${where}: cancelled`));
        else if (err instanceof WatchError) reject(err);
        else if (
          proxy !== undefined &&
          proxyAnswer === undefined &&
          CONNECT_FAILURES.has((err as { code?: string }).code ?? '')
        )
          reject(proxyUnreachable(proxy, err));
        else reject(new WatchError(init.unavailable, `${where}: ${failureText(err)}`, { cause: err }));
      };
      const servername =
        this.connectOptions.servername ??
        (url.protocol === 'https:' ? url.hostname.replace(/^\[|\]$/g, '') : undefined);
      const req = lib.request(url, {
        ...this.connectOptions,
        servername,
        method: init.method,
        agent: this.agent,
        signal,
        headers: { Host: url.host, ...init.headers },
      });
      // One deadline for headers and body: a server that trickles an answer, or a connection that dies in a way
      // Node reports only on the response, must not hold the caller forever.
      const deadline = clock.setTimeout(
        () =>
          settle({
            ok: false,
            err: Object.assign(new Error(`no answer within ${init.timeoutMs} ms`), { code: 'ETIMEDOUT' }),
          }),
        init.timeoutMs,
      );
      req.on('error', (err) => settle({ ok: false, err }));
      // https-proxy-agent replays a refused CONNECT's answer as if the origin had sent it
      // (docs/facts.md#https-proxy-agent-proxy-answers): its 'proxyConnect' event is what tells a proxy's 401/403/407
      // from the origin's.
      req.once('proxyConnect', (answer: { statusCode: number }) => (proxyAnswer = answer.statusCode));
      req.on('response', (res) => {
        if (proxyAnswer !== undefined && proxy !== undefined) {
          const refusal = proxyRefusal(proxy, proxyAnswer, `${url.hostname}:${portOf(url)}`, init.unavailable);
          if (refusal !== undefined) {
            res.resume();
            settle({ ok: false, err: refusal });
            return;
          }
        }
        let body = '';
        let ended = false;
        res.setEncoding('utf8'); // decoded per chunk, without a joined copy of the body
        res.on('data', (chunk: string) => {
          body += chunk;
          if (body.length > MAX_BODY_CHARS)
            settle({
              ok: false,
              err: new WatchError('PROTOCOL', `${where}: the answer is larger than ${MAX_BODY_CHARS} characters`),
            });
        });
        res.on('error', (err) => settle({ ok: false, err }));
        res.on('aborted', () =>
          settle({ ok: false, err: Object.assign(new Error('connection closed mid-answer'), { code: 'ECONNRESET' }) }),
        );
        res.on('end', () => {
          ended = true;
          settle({ ok: true, reply: { status: res.statusCode ?? 0, headers: res.headers, body } });
        });
        res.on('close', () => {
          if (!ended)
            settle({
              ok: false,
              err: Object.assign(new Error('connection closed mid-answer'), { code: 'ECONNRESET' }),
            });
        });
      });
      req.end(init.body);
    });
  }

  /**
   * Destroys every connection, idle or busy, and resolves once their sockets are closed, so that closing leaves no
   * handle behind.
   */
  async close(): Promise<void> {
    const sockets = [...Object.values(this.agent.sockets), ...Object.values(this.agent.freeSockets)]
      .flat()
      .filter((x) => x !== undefined);
    const closed = sockets.map((socket) =>
      socket.closed ? Promise.resolve() : new Promise<void>((resolve) => socket.once('close', () => resolve())),
    );
    if (this.agent instanceof TunnelAgent) this.agent.abandonAll();
    this.agent.destroy();
    await Promise.all(closed);
  }
}

/**
 * A network failure as a message says it. Node's HTTP parser codes (`HPE_…`) mean the address answered, but not in
 * HTTP/1.1: most often a gRPC port given where the HTTP API is (the fake service and some gateways serve them apart).
 */
function failureText(err: Error): string {
  const code = (err as { code?: string }).code;
  if (code === undefined) return err.message;
  if (code.startsWith('HPE_'))
    return `${code}: the address does not answer HTTP/1.1 (a gRPC port? set historyUrl / apiUrl to the HTTP API's address)`;
  return code;
}
