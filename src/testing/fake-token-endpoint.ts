import { createPublicKey, type KeyObject } from 'node:crypto';
import type http from 'node:http';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { sleep, type Clock } from '../core/clock';
import type { FakeTokenIssuer } from './fake-token-issuer';

/** A service account the fake token endpoint knows: a client secret, or a public key for JWT client assertions. */
export type FakeClient =
  | {
      /** The client id. */
      clientId: string;
      /** Its secret (`client_secret_post` or Basic). */
      clientSecret: string;
      /** Lifetime of the tokens it gets. @default 60000 */
      tokenTtlMs?: number;
    }
  | {
      /** The client id. */
      clientId: string;
      /** The public key its JWT assertions are checked with. */
      publicKey: string | Buffer | KeyObject;
      /** The `kid` its assertions must carry. */
      keyId: string;
      /** Lifetime of the tokens it gets. @default 60000 */
      tokenTtlMs?: number;
    };

/** Faults of the token endpoint, for error tests. */
export interface TokenEndpointFaults {
  /** Fail this many next requests with `status`. @default 0 */
  failNext?: number;
  /** @default 500 */
  status?: number;
  /** Delay every answer by this long (to see concurrent callers share one request). @default 0 */
  delayMs?: number;
}

/** Counters of the token endpoint. */
export interface TokenEndpointCounters {
  /** Requests received. */
  requests: number;
  /** Tokens issued. */
  issued: number;
  /** Requests refused (400/401). */
  refused: number;
  /** Failures injected by {@link TokenEndpointFaults}. */
  failuresInjected: number;
}

const MAX_REQUEST_CHARS = 64 * 1024;

/** The path the fake service serves its token endpoint on (Axway's identity provider's, on the history port). */
export const TOKEN_PATH = '/auth/realms/Broker/protocol/openid-connect/token';

/**
 * An OAuth2 token endpoint for the client-credentials grant (RFC 6749 4.4): `client_secret_post`,
 * `client_secret_basic`, or `private_key_jwt` assertions (RFC 7523, checked with the registered public key: issuer,
 * subject, audience, expiry, `kid`, and no `jti` twice). Issues the service's own short-lived JWTs, so the stream
 * and the history API accept them. Answers errors as the spec says: 400 `invalid_request` /
 * `unsupported_grant_type`, 401 `invalid_client`.
 */
export class FakeTokenEndpoint {
  private readonly clients = new Map<string, FakeClient>();
  private readonly seenJti = new Set<string>();
  private faults: Required<TokenEndpointFaults> = { failNext: 0, status: 500, delayMs: 0 };
  readonly counters: TokenEndpointCounters = { requests: 0, issued: 0, refused: 0, failuresInjected: 0 };

  constructor(
    private readonly tokens: FakeTokenIssuer,
    private readonly clock: Clock,
    private readonly url: () => string,
  ) {}

  register(client: FakeClient): void {
    this.clients.set(client.clientId, client);
  }

  setFaults(faults: TokenEndpointFaults): void {
    this.faults = { failNext: 0, status: 500, delayMs: 0, ...faults };
  }

  async handle(req: http.IncomingMessage, res: http.ServerResponse, signal: AbortSignal): Promise<void> {
    this.counters.requests += 1;
    let body = '';
    req.setEncoding('utf8');
    for await (const chunk of req) {
      body += chunk as string;
      // A token request is a few hundred bytes; a client that sends more is refused, not buffered.
      if (body.length > MAX_REQUEST_CHARS) return this.refuse(res, 413, 'invalid_request', 'request too large');
    }
    if (this.faults.delayMs > 0) await sleep(this.clock, this.faults.delayMs, signal);
    if (signal.aborted) return;
    if (this.faults.failNext > 0) {
      this.faults.failNext -= 1;
      this.counters.failuresInjected += 1;
      return answer(res, this.faults.status, { error: 'server_error', error_description: 'injected failure' });
    }
    if (req.method !== 'POST' || !String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded')) {
      return this.refuse(res, 400, 'invalid_request', 'POST a form');
    }
    const form = new URLSearchParams(body);
    if (form.get('grant_type') !== 'client_credentials')
      return this.refuse(res, 400, 'unsupported_grant_type', 'only client_credentials');
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
    const [basicId, basicSecret] =
      basic === null
        ? []
        : Buffer.from(basic[1] as string, 'base64')
            .toString()
            .split(':')
            .map(decodeURIComponent);
    const clientId = form.get('client_id') ?? basicId;
    const client = clientId === undefined ? undefined : this.clients.get(clientId);
    if (client === undefined) return this.refuse(res, 401, 'invalid_client', 'unknown client');
    if ('clientSecret' in client) {
      if ((form.get('client_secret') ?? basicSecret) !== client.clientSecret)
        return this.refuse(res, 401, 'invalid_client', 'bad credentials');
    } else if (!(await this.assertionValid(client, form))) {
      return this.refuse(res, 401, 'invalid_client', 'bad client assertion');
    }
    const ttlMs = client.tokenTtlMs ?? 60_000;
    const token = await this.tokens.issue({ ttlMs, subject: client.clientId });
    this.counters.issued += 1;
    answer(res, 200, { access_token: token, token_type: 'Bearer', expires_in: Math.floor(ttlMs / 1000) });
  }

  private async assertionValid(
    client: Extract<FakeClient, { publicKey: unknown }>,
    form: URLSearchParams,
  ): Promise<boolean> {
    const assertion = form.get('client_assertion');
    if (
      form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' ||
      assertion === null
    )
      return false;
    try {
      if (decodeProtectedHeader(assertion).kid !== client.keyId) return false;
      const key =
        typeof client.publicKey === 'object' && !Buffer.isBuffer(client.publicKey)
          ? client.publicKey
          : createPublicKey(client.publicKey);
      const { payload } = await jwtVerify(assertion, key, {
        issuer: client.clientId,
        subject: client.clientId,
        audience: this.url(),
        currentDate: new Date(this.clock.now()),
        requiredClaims: ['jti', 'exp'],
      });
      if (this.seenJti.has(payload.jti as string)) return false;
      this.seenJti.add(payload.jti as string);
      return true;
    } catch {
      return false;
    }
  }

  private refuse(res: http.ServerResponse, status: number, error: string, description: string): void {
    this.counters.refused += 1;
    answer(res, status, { error, error_description: description });
  }
}

function answer(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}
