import { WatchError } from '../core/errors';
import { bypassesProxy, fromEnv, type Environment } from './no-proxy';
import { registerSecret } from '../logging/redact';

export type { Environment } from './no-proxy';

/**
 * An HTTP CONNECT proxy the SDK tunnels through. `toString()` and `util.inspect` show only `http://host:port`: the
 * credentials are kept out of every message, log line and inspected object.
 */
export class ProxyEndpoint {
  /** `host:port` of the proxy, the form that names it in errors. */
  readonly address: string;
  /** The proxy's host name or IP (an IPv6 address without brackets). */
  readonly host: string;
  readonly port: number;
  /** `user:password`, percent-decoded, or undefined without credentials. Not enumerable. */
  declare readonly credentials: string | undefined;

  constructor(host: string, port: number, credentials: string | undefined) {
    this.host = host;
    this.port = port;
    this.address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    Object.defineProperty(this, 'credentials', { value: credentials, enumerable: false });
    if (credentials !== undefined) {
      // Pinned: credentials live as long as the process, unlike tokens, which rotate out of the scrub list.
      registerSecret(credentials, { pinned: true });
      registerSecret(credentials.slice(credentials.indexOf(':') + 1), { pinned: true });
      registerSecret(Buffer.from(credentials).toString('base64'), { pinned: true });
    }
  }

  /** The `Proxy-Authorization` header value, when the proxy has credentials. */
  authorization(): string | undefined {
    return this.credentials === undefined ? undefined : `Basic ${Buffer.from(this.credentials).toString('base64')}`;
  }

  toString(): string {
    return `http://${this.address}`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `ProxyEndpoint(${this.toString()})`;
  }

  toJSON(): string {
    return this.toString();
  }
}

/**
 * Parses `http://[user:pass@]host:port` (a bare `host:port` is taken as http, as curl does). `source` names where
 * the value came from (the option or an environment variable) in the `INVALID_CONFIG` error; the value itself is
 * never quoted, it may hold a password.
 */
export function parseProxyUrl(value: string, source: string): ProxyEndpoint {
  let url: URL;
  try {
    url = new URL(value.includes('://') ? value : `http://${value}`);
  } catch {
    throw new WatchError('INVALID_CONFIG', `invalid ${source}: not a URL (expected http://[user:pass@]host:port)`);
  }
  if (url.protocol !== 'http:') {
    throw new WatchError(
      'INVALID_CONFIG',
      `invalid ${source}: only http:// proxies (HTTP CONNECT) are supported, got ${url.protocol}//`,
    );
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
    throw new WatchError('INVALID_CONFIG', `invalid ${source}: a proxy URL has no path, query or fragment`);
  }
  if (url.hostname === '') throw new WatchError('INVALID_CONFIG', `invalid ${source}: no host`);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port === '' ? 80 : Number(url.port);
  let credentials: string | undefined;
  if (url.username !== '' || url.password !== '') {
    try {
      credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    } catch {
      throw new WatchError('INVALID_CONFIG', `invalid ${source}: the credentials are not valid percent-encoding`);
    }
  }
  return new ProxyEndpoint(host, port, credentials);
}

/** What a connection is for: it picks the environment variable, as the tools users know do. */
export type ProxyUse = 'grpc' | 'https' | 'http';

const VARIABLES: Readonly<Record<ProxyUse, readonly string[]>> = {
  // grpc-js's own order: grpc_proxy first, then the HTTPS and HTTP ones.
  grpc: ['grpc_proxy', 'https_proxy', 'http_proxy'],
  https: ['https_proxy'],
  http: ['http_proxy'],
};

/**
 * The proxy for a connection to `host:port` (or its `alias`, the address actually dialled), or undefined to go
 * direct. An explicit proxy (the parsed `proxy` option) applies to every connection of the manager; `false` turns
 * proxies off; without either the environment variables (read once, when the manager is created) and `no_proxy`
 * decide. Never reads or writes `process.env` itself: the caller passes it.
 */
export function proxyFor(
  option: ProxyEndpoint | false | undefined,
  env: Environment,
  use: ProxyUse,
  host: string,
  port: number,
  alias?: string,
): ProxyEndpoint | undefined {
  if (option !== undefined) return option === false ? undefined : option;
  // grpc-js's own rule: no_grpc_proxy, when set, takes the place of no_proxy for gRPC.
  const exemptions = use === 'grpc' && fromEnv(env, 'no_grpc_proxy') !== undefined ? 'no_grpc_proxy' : 'no_proxy';
  if (
    bypassesProxy(env, host, port, exemptions) ||
    (alias !== undefined && bypassesProxy(env, alias, port, exemptions))
  )
    return undefined;
  for (const name of VARIABLES[use]) {
    const found = fromEnv(env, name);
    if (found !== undefined) return parseProxyUrl(found.value, `environment variable ${found.name}`);
  }
  return undefined;
}

/** The port an http(s) URL reaches: its own, or the scheme's default. */
export function portOf(url: URL): number {
  return Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
}

/** The proxy for requests to `url` (its scheme picks the variable): the history API, the token endpoint. */
export function proxyForUrl(
  option: ProxyEndpoint | false | undefined,
  env: Environment,
  url: URL,
): ProxyEndpoint | undefined {
  return proxyFor(option, env, url.protocol === 'https:' ? 'https' : 'http', url.hostname, portOf(url));
}

// Every variable proxyFor reads: the proxies of each use, and the two exemption lists.
const PROXY_VARIABLES = [...new Set(Object.values(VARIABLES).flat()), 'no_proxy', 'no_grpc_proxy'];

/** The variables {@link proxyFor} reads, copied once: later changes to `process.env` do not leak in. */
export function readProxyEnvironment(): Environment {
  const env: Record<string, string | undefined> = {};
  for (const name of PROXY_VARIABLES) {
    for (const key of [name, name.toUpperCase()]) if (process.env[key] !== undefined) env[key] = process.env[key];
  }
  return env;
}
