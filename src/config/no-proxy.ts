import { isIP } from 'node:net';

/** Environment variables, as `process.env` holds them. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** Lower case first (the de-facto convention: curl, Go, grpc-js), then upper case; empty counts as unset. */
export function fromEnv(env: Environment, name: string): { name: string; value: string } | undefined {
  for (const key of [name, name.toUpperCase()]) {
    const value = env[key]?.trim();
    if (value !== undefined && value !== '') return { name: key, value };
  }
  return undefined;
}

function ipv4ToNumber(ip: string): number {
  return ip.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}

/** Whether one `no_proxy` entry covers `host:port` (`host` lower case, without brackets or a trailing dot). */
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
  entry = entry.replace(/\.$/, '');
  const slash = entry.indexOf('/');
  if (slash > 0 && isIP(entry.slice(0, slash)) === 4 && isIP(host) === 4) {
    const bits = Number(entry.slice(slash + 1));
    if (!Number.isInteger(bits) || bits < 0 || bits > 32) return false;
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    return (ipv4ToNumber(entry.slice(0, slash)) & mask) >>> 0 === (ipv4ToNumber(host) & mask) >>> 0;
  }
  if (isIP(entry) !== 0 || isIP(host) !== 0) return entry === host;
  // Go's rules (net/http/httpproxy): `example.com` covers example.com and its subdomains; `.example.com` and
  // `*.example.com` only the subdomains.
  if (entry.startsWith('.') || entry.startsWith('*.')) return host.endsWith(entry.slice(entry.indexOf('.')));
  return host === entry || host.endsWith(`.${entry}`);
}

/**
 * Whether `no_proxy` (or `NO_PROXY`; or the variable `name`) exempts `host:port` from proxying: the one matcher
 * for gRPC and HTTP alike. Entries are separated by commas or spaces: `*` (everything), host names (see above),
 * `host:port`, IPv4/IPv6 literals, and IPv4 CIDR blocks (`10.0.0.0/8`; IPv6 blocks are not supported).
 */
export function bypassesProxy(env: Environment, host: string, port: number, name = 'no_proxy'): boolean {
  const list = fromEnv(env, name);
  if (list === undefined) return false;
  const bare = (host.startsWith('[') ? host.slice(1, -1) : host).toLowerCase().replace(/\.$/, '');
  return list.value.split(/[\s,]+/).some((entry) => entry !== '' && entryMatches(entry, bare, port));
}
