// The checks every argument of the resource client goes through before it reaches a URL: each throws
// `WatchError('INVALID_CONFIG')` naming the argument, as core/option-checks.ts does for options.
import { checkKeys, count, invalid, isRecord, nonEmptyString } from '../core/option-checks';
import type { ResourceCountOptions, ResourceGetOptions, ResourceListOptions } from './resource';

/** The resource API's range of `pageSize`: it answers 400 outside (docs/resources.md#lists). */
const MIN_PAGE_SIZE = 10;
const MAX_PAGE_SIZE = 100;
const MAX_CONCURRENCY = 10;
const DEFAULT_PAGE_SIZE = 100;
const DEFAULT_CONCURRENCY = 3;
const MAX_FIELDS = 100;
const MAX_QUERY_CHARS = 8_192;

/**
 * A self link (`minSegments` 4: `/group/version/plural/name`) or a collection link (3: `/group/version/plural`): an
 * absolute path of non-empty segments of unreserved URL characters, none `.` or `..`. It becomes the request's path,
 * where a dot segment would move the request, with the bearer token, to another address of the service.
 */
export function resourceLink(value: unknown, field: string, minSegments: number): string {
  const example =
    minSegments >= 4
      ? 'a self link such as /management/v1alpha1/environments/env-1/apiservices/svc-a'
      : 'a collection link such as /management/v1alpha1/environments/env-1/apiservices';
  const segments = typeof value === 'string' && value.startsWith('/') ? value.slice(1).split('/') : [];
  const bad =
    typeof value !== 'string' ||
    value.length > 1024 ||
    segments.length < minSegments ||
    segments.some((s) => s === '.' || s === '..' || !/^[A-Za-z0-9._~-]+$/.test(s));
  if (bad)
    throw invalid(
      field,
      `expected ${example} (non-empty segments of letters, digits and . _ ~ -, no . or .. segments, no query), got ${JSON.stringify(value)?.slice(0, 200)}`,
      'argument',
    );
  return value;
}

/** A list of field paths (`spec`, `x-agent-details`, `metadata.id`), or undefined. */
function fieldList(value: unknown, field: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_FIELDS)
    throw invalid(field, `must be a non-empty array of at most ${MAX_FIELDS} field names`, 'argument');
  return value.map((name: unknown, i) => {
    if (typeof name !== 'string' || !/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(name))
      throw invalid(
        `${field}[${i}]`,
        `must be a field name or dotted path (letters, digits, _ and -), got ${JSON.stringify(name)?.slice(0, 100)}`,
        'argument',
      );
    return name;
  });
}

function signalOf(value: unknown): AbortSignal | undefined {
  if (value === undefined || value instanceof AbortSignal) return value;
  throw invalid('signal', 'must be an AbortSignal', 'argument');
}

function optionsObject(value: unknown, keys: readonly string[]): Record<string, unknown> {
  if (value === undefined) return {};
  if (!isRecord(value)) throw invalid('options', 'must be an object', 'argument');
  checkKeys(value, keys, '', 'argument');
  return value;
}

/** {@link ResourceGetOptions}, checked. */
export function getArguments(value: unknown): {
  fields: string[] | undefined;
  embed: string[] | undefined;
  signal: AbortSignal | undefined;
} {
  const options = optionsObject(value, ['fields', 'embed', 'signal'] satisfies Array<keyof ResourceGetOptions>);
  return {
    fields: fieldList(options.fields, 'fields'),
    embed: fieldList(options.embed, 'embed'),
    signal: signalOf(options.signal),
  };
}

/** {@link ResourceListOptions}, checked, with the defaults. */
export function listArguments(value: unknown): {
  query: string | undefined;
  fields: string[] | undefined;
  pageSize: number;
  concurrency: number;
  signal: AbortSignal | undefined;
} {
  const options = optionsObject(value, ['query', 'fields', 'pageSize', 'concurrency', 'signal'] satisfies Array<
    keyof ResourceListOptions
  >);
  let query: string | undefined;
  if (options.query !== undefined) {
    query = nonEmptyString(options.query, 'query', 'argument');
    if (query.length > MAX_QUERY_CHARS)
      throw invalid('query', `must be at most ${MAX_QUERY_CHARS} characters`, 'argument');
  }
  return {
    query,
    fields: fieldList(options.fields, 'fields'),
    pageSize: count(options.pageSize, 'pageSize', DEFAULT_PAGE_SIZE, MIN_PAGE_SIZE, MAX_PAGE_SIZE, 'argument'),
    concurrency: count(options.concurrency, 'concurrency', DEFAULT_CONCURRENCY, 1, MAX_CONCURRENCY, 'argument'),
    signal: signalOf(options.signal),
  };
}

/** {@link ResourceCountOptions}, checked. */
export function countArguments(value: unknown): { signal: AbortSignal | undefined } {
  const options = optionsObject(value, ['signal'] satisfies Array<keyof ResourceCountOptions>);
  return { signal: signalOf(options.signal) };
}
