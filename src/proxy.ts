import { isIP } from 'node:net';
import { WatchError } from './errors';
import { registerSecret } from './redact';

/**
 * An HTTP CONNECT proxy the SDK tunnels through. `toString()` and `util.inspect` show only `http://host:port`: the
 * credentials are kept out of every message, log line and inspected object.
 */
export class ProxyEndpoint {
  /** `host:port` of the proxy, the form that names it in errors. */
  readonly address: string;
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
      registerSecret(credentials);
      registerSecret(credentials.slice(credentials.indexOf(':') + 1));
      registerSecret(Buffer.from(credentials).toString('base64'));
    }
  }

  /** The `Proxy-Authorization` header value, when the proxy has credentials. */
  authorization(): string | undefined {
    return this.credentials === undefined ? undefined : `Basic ${Buffer.from(this.credentials).toString('base64')}`;
  }

  /** The proxy URL with its credentials, for https-proxy-agent only. */
  url(): URL {
    const url = new URL(`http://${this.address}`);
    if (this.credentials !== undefined) {
      const colon = this.credentials.indexOf(':');
      url.username = encodeURIComponent(this.credentials.slice(0, colon));
      url.password = encodeURIComponent(this.credentials.slice(colon + 1));
    }
    return url;
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
    throw new WatchError('INVALID_CONFIG', `invalid ${source}: only http:// proxies (HTTP CONNECT) are supported, got ${url.protocol}//`);
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

/** Environment variables, as `process.env` holds them. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** Lower case first (the de-facto convention: curl, Go, grpc-js), then upper case; empty counts as unset. */
function fromEnv(env: Environment, name: string): { name: string; value: string } | undefined {
  for (const key of [name, name.toUpperCase()]) {
    const value = env[key]?.trim();
    if (value !== undefined && value !== '') return { name: key, value };
  }
  return undefined;
}

function ipv4ToNumber(ip: string): number {
  return ip.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}

/** Whether one `no_proxy` entry covers `host:port`. */
function entryMatches(rawEntry: string, host: string, port: number): boolean {
  let entry = rawEntry.toLowerCase();
  if (entry === '*') return true;
  // `[v6]:port`, `host:port`, `1.2.3.4:port`: a port limits the entry to it.
  const withPort = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(entry);
  if (withPort !== null) {
    if (Number(withPort[2]) !== port) return false;
    entry = withPort[1] as string;
  }
  if (entry.startsWith('[') && entry.endsWith(']')) entry = entry.slice(1, -1);
  const slash = entry.indexOf('/');
  if (slash > 0 && isIP(entry.slice(0, slash)) === 4 && isIP(host) === 4) {
    const bits = Number(entry.slice(slash + 1));
    if (!Number.isInteger(bits) || bits < 0 || bits > 32) return false;
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    return ((ipv4ToNumber(entry.slice(0, slash)) & mask) >>> 0) === ((ipv4ToNumber(host) & mask) >>> 0);
  }
  if (isIP(entry) !== 0 || isIP(host) !== 0) return entry === host;
  // `example.com`, `.example.com` and `*.example.com` all cover example.com's subdomains (curl, Go); the first
  // also example.com itself.
  const suffix = entry.replace(/^\*?\./, '');
  return host === suffix || host.endsWith(`.${suffix}`);
}

/**
 * Whether `no_proxy` (or `NO_PROXY`) exempts `host:port` from proxying: the one matcher for gRPC and HTTP alike.
 * Entries are separated by commas or spaces: `*` (everything), host names (with their subdomains; a leading `.` or
 * `*.` means the same), `host:port`, IPv4/IPv6 literals, and IPv4 CIDR blocks (`10.0.0.0/8`).
 */
export function bypassesProxy(env: Environment, host: string, port: number): boolean {
  const list = fromEnv(env, 'no_proxy');
  if (list === undefined) return false;
  const bare = (host.startsWith('[') ? host.slice(1, -1) : host).toLowerCase().replace(/\.$/, '');
  return list.value.split(/[\s,]+/).some((entry) => entry !== '' && entryMatches(entry, bare, port));
}

/** What a connection is for: it picks the environment variable, as the tools users know do. */
export type ProxyUse = 'grpc' | 'https' | 'http';

const VARIABLES: Readonly<Record<ProxyUse, readonly string[]>> = {
  // grpc-js's own order: grpc_proxy first, then the HTTPS and HTTP ones.
  grpc: ['grpc_proxy', 'https_proxy', 'http_proxy'],
  https: ['https_proxy'],
  http: ['http_proxy'],
};

/** The manager's `proxy` option: a URL, `false` (never), or undefined (the environment decides). */
export type ProxyOption = string | false | undefined;

/**
 * The proxy for a connection to `host:port`, or undefined to go direct. An explicit `proxy` option applies to every
 * connection of the manager; without it the environment variables (read once, when the manager is created) and
 * `no_proxy` decide; `false` turns proxies off. Never reads or writes `process.env` itself: the caller passes it.
 */
export function proxyFor(option: ProxyOption | ProxyEndpoint, env: Environment, use: ProxyUse, host: string, port: number): ProxyEndpoint | undefined {
  if (option === false) return undefined;
  if (option instanceof ProxyEndpoint) return option;
  if (option !== undefined) return parseProxyUrl(option, "option 'proxy'");
  if (bypassesProxy(env, host, port)) return undefined;
  for (const name of VARIABLES[use]) {
    const found = fromEnv(env, name);
    if (found !== undefined) return parseProxyUrl(found.value, `environment variable ${found.name}`);
  }
  return undefined;
}

/** The proxy for requests to `url` (its scheme picks the variable): the history API, the token endpoint. */
export function proxyForUrl(option: ProxyEndpoint | false | undefined, env: Environment, url: URL): ProxyEndpoint | undefined {
  const secure = url.protocol === 'https:';
  return proxyFor(option, env, secure ? 'https' : 'http', url.hostname, Number(url.port) || (secure ? 443 : 80));
}

/** The variables {@link proxyFor} reads, copied once: later changes to `process.env` do not leak in. */
export function readProxyEnvironment(): Environment {
  const env: Record<string, string | undefined> = {};
  for (const name of ['grpc_proxy', 'https_proxy', 'http_proxy', 'no_proxy']) {
    for (const key of [name, name.toUpperCase()]) if (process.env[key] !== undefined) env[key] = process.env[key];
  }
  return env;
}
