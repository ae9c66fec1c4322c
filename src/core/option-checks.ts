// The checks every option and argument goes through: each throws `WatchError('INVALID_CONFIG')` naming the field
// (`what` says whether it is an option or an argument). Values are judged with `=== undefined`, never truthiness.
import { WatchError } from './errors';

/** The error for a wrong `field`. */
export function invalid(field: string, problem: string, what = 'option'): WatchError {
  return new WatchError('INVALID_CONFIG', `invalid ${what} '${field}': ${problem}`);
}

/** An absolute http(s) URL without credentials: the history API's or a token endpoint's. */
export function httpUrl(value: unknown, field: string, what = 'option'): URL {
  const text = nonEmptyString(value, field, what);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid(field, 'must be an absolute http(s) URL', what);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalid(field, 'must be an http(s) URL', what);
  if (url.username !== '' || url.password !== '') throw invalid(field, 'must not carry credentials', what);
  return url;
}

/** A plain object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Refuses keys not in `allowed`, so that a typo fails instead of being ignored. */
export function checkKeys(
  value: Record<string, unknown>,
  allowed: readonly string[],
  prefix: string,
  what = 'option',
): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw invalid(`${prefix}${key}`, `unknown option (known: ${allowed.join(', ')})`, what);
  }
}

/** A string with something in it and no line breaks (it may end up in a header). */
export function nonEmptyString(value: unknown, field: string, what = 'option'): string {
  if (typeof value !== 'string' || value.trim() === '') throw invalid(field, 'must be a non-empty string', what);
  if (/[\r\n\0]/.test(value)) throw invalid(field, 'must not contain line breaks or NUL', what);
  return value;
}

/**
 * The first character of `value` that gRPC metadata and an HTTP header cannot carry (only visible ASCII and inner
 * spaces may: grpc-js throws synchronously on anything else, Node's HTTP client too), as `{ index, code }`, or
 * undefined when every character is fine. The value itself is never part of the answer: it may be a token.
 */
export function unsafeHeaderChar(value: string, allowSpaces: boolean): { index: number; code: string } | undefined {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c > 0x20 && c < 0x7f) continue;
    if (c === 0x20 && allowSpaces && i > 0 && i < value.length - 1) continue;
    return { index: i, code: `U+${c.toString(16).toUpperCase().padStart(4, '0')}` };
  }
  return undefined;
}

/**
 * A string that can travel as a gRPC metadata value and an HTTP header value (the tenant id, the user agent):
 * visible ASCII, inner spaces allowed, nothing else. Checked here so that no unchecked value reaches `metadata.set`.
 */
export function headerValue(value: unknown, field: string, what = 'option'): string {
  const text = nonEmptyString(value, field, what);
  const bad = unsafeHeaderChar(text, true);
  if (bad !== undefined)
    throw invalid(
      field,
      `has a character gRPC metadata cannot carry (${bad.code} at position ${bad.index}); only visible ASCII is allowed`,
      what,
    );
  return text;
}

/**
 * A WatchTopic self link (`/management/v1alpha1/watchtopics/<name>`, docs/wire.md#request): an absolute path of
 * non-empty segments of unreserved URL characters, none of them `.` or `..`. It becomes part of the history request's
 * path, where a dot segment would move the request, with the bearer token, to another resource of the service.
 */
export function selfLink(value: unknown, field = 'selfLink', what = 'argument'): string {
  const example = 'a WatchTopic self link such as /management/v1alpha1/watchtopics/<name>';
  if (typeof value !== 'string' || !value.startsWith('/') || value.length > 1024)
    throw invalid(field, `expected ${example}, got ${JSON.stringify(value)}`, what);
  for (const segment of value.slice(1).split('/')) {
    if (segment === '' || segment === '.' || segment === '..' || !/^[A-Za-z0-9._~-]+$/.test(segment)) {
      throw invalid(
        field,
        `expected ${example} (non-empty segments of letters, digits and . _ ~ -, no . or .. segments, no query or fragment), got ${JSON.stringify(value)}`,
        what,
      );
    }
  }
  return value;
}

/** The longest delay a Node.js timer can be armed with (2^31 - 1 ms): the default upper bound of a duration. */
const MAX_TIMER_MS = 2_147_483_647;

/** A whole number of milliseconds in [min, max], or the default when undefined (never a truthiness check). */
export function duration(
  value: unknown,
  field: string,
  fallback: number,
  min = 1,
  max = MAX_TIMER_MS,
  what = 'option',
): number {
  return wholeNumber(value, field, fallback, min, max, what);
}

/** A count (events, acks, attempts, handlers at once) in [min, max], or the default when undefined. */
export function count(
  value: unknown,
  field: string,
  fallback: number,
  min: number,
  max: number,
  what = 'option',
): number {
  return wholeNumber(value, field, fallback, min, max, what);
}

/** A TCP port to listen on, 0 (any free one) to 65535, or the default when undefined. */
export function tcpPort(value: unknown, field: string, fallback: number, what = 'option'): number {
  return wholeNumber(value, field, fallback, 0, 65_535, what);
}

function wholeNumber(value: unknown, field: string, fallback: number, min: number, max: number, what: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid(field, 'must be a whole number', what);
  if (value < min || value > max) throw invalid(field, `must be between ${min} and ${max}`, what);
  return value;
}
