import type { WatchError } from '../core/errors';
import { checkKeys, count, duration, invalid, isRecord } from '../core/option-checks';
import type { ResourceStore } from '../state/resource-store';

/** Options of `manager.cache(topic, options)`. */
export interface CacheOptions {
  /**
   * Where the resources are kept with their position (a restart resumes from it without listing again). With a
   * `coordinator`, a store with fenced writes (`ResourceStore.fenced`: a `PostgresResourceStore` in the coordinator's
   * database); another is refused.
   * @default a new MemoryResourceStore
   */
  store?: ResourceStore;
  /**
   * Every this many ms, each collection's count (`HEAD`) is compared with the cache's; a collection that differs is
   * listed again. 0 = never. @default 0
   */
  validateEveryMs?: number;
  /**
   * Events' resources fetched at once, 1 to 64: the cache's watch runs in fetch mode, which fetches ahead of the
   * events applied (at most 4 × this many fetched and not yet applied). @default 8
   */
  fetchConcurrency?: number;
  /** Items per page of the lists, 10 to 100 (the resource API answers 400 outside). @default 100 */
  pageSize?: number;
  /** Pages of one list read at once, 1 to 10. @default 3 */
  listConcurrency?: number;
  /** Kind → collection name (plural) for kinds the SDK's table lacks (`{ MyKind: 'mykinds' }`). @default {} */
  plurals?: Record<string, string>;
  /**
   * Changes a `changes()` iterator buffers before the cache waits for its reader (backpressure: events are applied
   * no faster than the slowest iterator reads). @default 1000
   */
  maxPendingChanges?: number;
  /** Told about every error of the cache: retried ones and the one that stopped it. @default none */
  onError?: (error: WatchError) => void;
}

/** Every key of {@link CacheOptions}. */
export const CACHE_OPTION_KEYS: ReadonlyArray<keyof CacheOptions> = [
  'store',
  'validateEveryMs',
  'fetchConcurrency',
  'pageSize',
  'listConcurrency',
  'plurals',
  'maxPendingChanges',
  'onError',
];

/** The defaults of {@link CacheOptions}, read by {@link resolveCacheOptions}; each field's `@default` says the same. */
export const CACHE_DEFAULTS = {
  validateEveryMs: 0,
  fetchConcurrency: 8,
  pageSize: 100,
  listConcurrency: 3,
  plurals: {},
  maxPendingChanges: 1000,
} as const satisfies { readonly [K in keyof CacheOptions]?: unknown };

/** {@link CacheOptions} after defaults and validation; `store` stays optional (the manager makes the default one). */
export type ResolvedCacheOptions = Required<Omit<CacheOptions, 'store' | 'onError'>> &
  Pick<CacheOptions, 'store' | 'onError'>;

const PLURAL = /^[a-z0-9][a-z0-9.-]{0,99}$/;

/** The one validation step of {@link CacheOptions}: applies the defaults; throws `INVALID_CONFIG` naming the field. */
export function resolveCacheOptions(input: unknown): ResolvedCacheOptions {
  if (!isRecord(input)) throw invalid('options', 'must be an object');
  checkKeys(input, CACHE_OPTION_KEYS, 'options.');
  const { store, plurals, onError } = input;
  if (store !== undefined) {
    if (!isRecord(store)) throw invalid('options.store', 'must be a ResourceStore');
    for (const method of ['load', 'replace', 'apply'] as const)
      if (typeof store[method] !== 'function') throw invalid('options.store', `must be a ResourceStore (no ${method})`);
  }
  if (onError !== undefined && typeof onError !== 'function') throw invalid('options.onError', 'must be a function');
  const resolvedPlurals: Record<string, string> = {};
  if (plurals !== undefined) {
    if (!isRecord(plurals)) throw invalid('options.plurals', 'must be an object of kind → collection name');
    for (const [kind, plural] of Object.entries(plurals)) {
      // A plural becomes a path segment of requests carrying the token: only a plain lower-case name.
      if (typeof plural !== 'string' || !PLURAL.test(plural))
        throw invalid(`options.plurals.${kind}`, 'must be a lower-case collection name (letters, digits, . and -)');
      resolvedPlurals[kind] = plural;
    }
  }
  const resolved: ResolvedCacheOptions = {
    validateEveryMs: duration(input.validateEveryMs, 'options.validateEveryMs', CACHE_DEFAULTS.validateEveryMs, 0),
    fetchConcurrency: count(input.fetchConcurrency, 'options.fetchConcurrency', CACHE_DEFAULTS.fetchConcurrency, 1, 64),
    pageSize: count(input.pageSize, 'options.pageSize', CACHE_DEFAULTS.pageSize, 10, 100),
    listConcurrency: count(input.listConcurrency, 'options.listConcurrency', CACHE_DEFAULTS.listConcurrency, 1, 10),
    plurals: resolvedPlurals,
    maxPendingChanges: count(
      input.maxPendingChanges,
      'options.maxPendingChanges',
      CACHE_DEFAULTS.maxPendingChanges,
      1,
      1_000_000,
    ),
  };
  if (store !== undefined) resolved.store = store as unknown as ResourceStore;
  if (onError !== undefined) resolved.onError = onError as (error: WatchError) => void;
  return resolved;
}
