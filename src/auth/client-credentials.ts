import { KeyObject, createPrivateKey, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { systemClock, type Clock } from '../core/clock';
import { WatchError, codeOfHttpStatus } from '../core/errors';
import { HttpTransport } from '../transport/http-transport';
import { duration, httpUrl, invalid as invalidField, nonEmptyString } from '../core/option-checks';
import { resolveTlsOption, type ResolvedTls, type TlsOptions } from '../config/options';
import type { TokenRequest } from '../config/token-getter';
import type {
  ClientAssertionCredentials,
  ClientCredentials,
  ClientSecretCredentials,
  InheritedSettings,
} from '../config/credentials';
import { parseProxyUrl, proxyForUrl, readProxyEnvironment, type ProxyEndpoint } from '../config/proxy';
import { registerSecret } from '../logging/redact';

/** Transport settings of {@link clientCredentialsToken}. */
export interface ClientCredentialsOptions {
  /**
   * HTTP CONNECT proxy for the token endpoint, or false. @default the proxy of the manager it is given to (and,
   * before that or without one, the environment's, as for the manager)
   */
  proxy?: string | false;
  /** TLS settings for the token endpoint. @default the manager's (system roots without one) */
  tls?: TlsOptions;
  /** Deadline of one token request. @default 10000 */
  timeoutMs?: number;
  /** Time, injectable for tests. @default the manager's clock, else the system clock */
  clock?: Clock;
}

interface Cached {
  token: string;
  refreshAt: number;
}

/**
 * How validation errors name what was given: `credentials` of an argument, or the manager's `clientCredentials` option.
 */
interface Naming {
  base: 'credentials' | 'clientCredentials';
  what: 'argument' | 'option';
}

const AS_ARGUMENT: Naming = { base: 'credentials', what: 'argument' };
const AS_OPTION: Naming = { base: 'clientCredentials', what: 'option' };

const invalid = (field: string, problem: string, n: Naming = AS_ARGUMENT): WatchError =>
  invalidField(field.replace(/^credentials/, n.base), problem, n.what);

const EC_ALGORITHMS: Readonly<Record<string, ClientAssertionCredentials['algorithm']>> = {
  prime256v1: 'ES256',
  secp384r1: 'ES384',
  secp521r1: 'ES512',
};

function algorithmOf(
  key: KeyObject,
  given: ClientAssertionCredentials['algorithm'],
  n: Naming,
): NonNullable<ClientAssertionCredentials['algorithm']> {
  if (given !== undefined) return given;
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  const byCurve =
    key.asymmetricKeyType === 'ec' ? EC_ALGORITHMS[key.asymmetricKeyDetails?.namedCurve ?? ''] : undefined;
  if (byCurve === undefined)
    throw invalid(
      'credentials.algorithm',
      `cannot be chosen for a ${key.asymmetricKeyType ?? 'unknown'} key; give it`,
      n,
    );
  return byCurve;
}

/** The grant's form fields, minus the client authentication that {@link clientCredentialsToken} adds per request. */
type Authenticate = (now: number) => Promise<Record<string, string>>;

function authentication(credentials: ClientCredentials, tokenUrl: string, n: Naming): Authenticate {
  if ('clientSecret' in credentials && credentials.clientSecret !== undefined) {
    if ('privateKey' in credentials) throw invalid('credentials', 'give clientSecret or privateKey, not both', n);
    const secret = nonEmptyString(credentials.clientSecret, `${n.base}.clientSecret`, n.what);
    registerSecret(secret, { pinned: true });
    return async () => ({ client_secret: secret });
  }
  if (!('privateKey' in credentials) || credentials.privateKey === undefined)
    throw invalid('credentials', 'needs clientSecret or privateKey with keyId', n);
  let key: KeyObject;
  try {
    const given = credentials.privateKey;
    key = given instanceof KeyObject ? given : createPrivateKey(given);
  } catch {
    // The parser's message may quote the key material: never repeat it.
    throw invalid('credentials.privateKey', 'is not a PEM private key', n);
  }
  if (key.type !== 'private') throw invalid('credentials.privateKey', 'is not a private key', n);
  const keyId = nonEmptyString(credentials.keyId, `${n.base}.keyId`, n.what);
  const alg = algorithmOf(key, credentials.algorithm, n);
  const audience = credentials.audience ?? tokenUrl;
  const clientId = credentials.clientId;
  return async (now) => {
    const iat = Math.floor(now / 1000);
    // Short-lived and unique (jti), so that a captured assertion is worth nothing.
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg, kid: keyId, typ: 'JWT' })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(audience)
      .setJti(randomUUID())
      .setIssuedAt(iat)
      .setExpirationTime(iat + 60)
      .sign(key);
    return {
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    };
  };
}

function oauthError(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: unknown; error_description?: unknown };
    const parts = [parsed.error, parsed.error_description].filter(
      (p): p is string => typeof p === 'string' && p !== '',
    );
    return parts.length > 0 ? `: ${parts.join(': ')}` : '';
  } catch {
    return '';
  }
}

/**
 * A `getToken` for {@link WatchManager} that users do not have to write: the OAuth2 client-credentials grant against
 * `tokenUrl`, with a client secret or a signed JWT client assertion. The token is cached until 4/5 of its
 * `expires_in` and then fetched again; concurrent calls share one request. It goes through its own `options` (by
 * default the environment's proxy variables and the system's roots), not a manager's: to share a manager's proxy,
 * TLS settings and clock, give the credentials to the manager as its `clientCredentials` option instead.
 *
 * Errors: the endpoint refusing the client (400/401/403) is `UNAUTHENTICATED` (not retried: the credentials are
 * wrong); 404 is `INVALID_CONFIG` (a wrong `tokenUrl`); 429, 5xx, a malformed answer, a network failure or timeout
 * is `TOKEN_UNAVAILABLE` (retried by the manager); a proxy's refusal is `PROXY_*`. The secret, the key and the
 * tokens never appear in messages or logs.
 */
export function clientCredentialsToken(
  credentials: ClientSecretCredentials | ClientAssertionCredentials,
  options: ClientCredentialsOptions = {},
): (request?: TokenRequest) => Promise<string> {
  const getToken = credentialsToken(credentials, options, undefined, AS_ARGUMENT);
  standalone.add(getToken);
  return getToken;
}

/**
 * The getter a manager makes of its `clientCredentials` option: through the manager's proxy, TLS settings and
 * clock. Validation errors name the option.
 */
export function managerCredentialsToken(
  credentials: unknown,
  settings: InheritedSettings,
): (request?: TokenRequest) => Promise<string> {
  return credentialsToken(credentials, {}, settings, AS_OPTION);
}

// Getters made by clientCredentialsToken, only to warn a manager given one that it does not share the manager's
// settings (looked up, never changed).
const standalone = new WeakSet<object>();

/** Whether `getToken` was made by {@link clientCredentialsToken}. */
export function isStandaloneCredentialsToken(getToken: unknown): boolean {
  return typeof getToken === 'function' && standalone.has(getToken);
}

function credentialsToken(
  given: unknown,
  options: ClientCredentialsOptions,
  inherited: InheritedSettings | undefined,
  n: Naming,
): (request?: TokenRequest) => Promise<string> {
  if (typeof given !== 'object' || given === null) throw invalid('credentials', 'must be an object', n);
  const credentials = given as ClientCredentials;
  const url = httpUrl(credentials.tokenUrl, `${n.base}.tokenUrl`, n.what);
  const tokenUrl = url.href;
  const clientId = nonEmptyString(credentials.clientId, `${n.base}.clientId`, n.what);
  const authenticate = authentication(credentials, tokenUrl, n);
  const scope = credentials.scope;
  const timeoutMs = duration(options.timeoutMs, 'options.timeoutMs', 10_000, 1, undefined, 'argument');
  const ownProxy: ProxyEndpoint | false | undefined =
    options.proxy === undefined || options.proxy === false
      ? options.proxy
      : parseProxyUrl(options.proxy, "argument 'options.proxy'");
  const ownTls = options.tls === undefined ? undefined : resolveTlsOption(options.tls, 'options.tls');

  let transport: HttpTransport | undefined;
  let cached: Cached | undefined;
  let inFlight: Promise<string> | undefined;

  const clock = (): Clock => options.clock ?? inherited?.clock ?? systemClock;
  const http = (): HttpTransport => {
    if (transport === undefined) {
      const proxy = proxyForUrl(ownProxy ?? inherited?.proxy, inherited?.proxyEnv ?? readProxyEnvironment(), url);
      const base = resolveTlsOption({}, 'options.tls');
      const tls: ResolvedTls =
        ownTls ??
        (inherited === undefined || inherited.tls === false
          ? base
          : { ...base, ca: inherited.tls.ca, minVersion: inherited.tls.minVersion });
      transport = new HttpTransport({ secure: url.protocol === 'https:', tls, proxy, clock: clock() });
    }
    return transport;
  };

  const fetchToken = async (): Promise<string> => {
    const started = clock().now();
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      ...(await authenticate(started)),
    });
    if (scope !== undefined) form.set('scope', scope);
    const reply = await http().request(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: form.toString(),
      timeoutMs,
      where: `token request for client ${clientId}`,
      unavailable: 'TOKEN_UNAVAILABLE',
    });
    const where = `token endpoint ${url.host}`;
    if (reply.status !== 200) {
      const code = codeOfHttpStatus('token-endpoint', reply.status);
      if (code === 'UNAUTHENTICATED')
        throw new WatchError(code, `${where} refused client ${clientId} (${reply.status}${oauthError(reply.body)})`);
      if (code === 'INVALID_CONFIG')
        throw new WatchError(code, `invalid ${n.what} '${n.base}.tokenUrl': ${where} answered ${reply.status}`);
      throw new WatchError(code, `${where} answered ${reply.status}${oauthError(reply.body)}`);
    }
    let body: { access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(reply.body) as typeof body;
    } catch {
      throw new WatchError('TOKEN_UNAVAILABLE', `${where}: the answer is not JSON`);
    }
    if (typeof body.access_token !== 'string' || body.access_token === '')
      throw new WatchError('TOKEN_UNAVAILABLE', `${where}: the answer has no access_token`);
    registerSecret(body.access_token);
    const expiresIn = typeof body.expires_in === 'number' ? body.expires_in : Number(body.expires_in);
    // Without a usable expires_in the token is used once; the manager reads its JWT exp for the refresh anyway.
    const lifetimeMs = Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn * 1000 : 0;
    cached = { token: body.access_token, refreshAt: started + Math.floor((lifetimeMs * 4) / 5) };
    return body.access_token;
  };

  return (request) => {
    // A forced call means the holder found the token unusable (refused, revoked, about to expire): never hand it back.
    if (request?.forceRefresh === true && cached !== undefined && inFlight === undefined) cached = undefined;
    if (cached !== undefined && clock().now() < cached.refreshAt) return Promise.resolve(cached.token);
    // One request at a time: a hundred watches starting at once share it.
    inFlight ??= fetchToken().finally(() => (inFlight = undefined));
    return inFlight;
  };
}
