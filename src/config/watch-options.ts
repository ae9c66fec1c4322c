import { checkKeys, count, duration, invalid, isRecord } from '../core/option-checks';
import { resolveFrom, type StartFrom } from './options';
import { WATCH_EVENT_TYPES, type WatchEvent, type WatchEventType } from '../core/types';

/** Criteria of {@link WatchOptions.filter}; each is a list of accepted values, absent = any. */
export interface WatchFilter {
  /** Resource kinds (`payload.kind`), for example `APIService`. */
  kinds?: string[];
  /** Event types, for example `['CREATED', 'DELETED']`. */
  types?: WatchEventType[];
  /** Resource names (`payload.name`): exact strings or patterns. */
  names?: Array<string | RegExp>;
}

/** Fetch mode's settings ({@link WatchOptions.fetch}). */
export interface FetchOptions {
  /**
   * Fetches in flight at once, 1 to 64 (those ahead of the handlers and those a handler waits for).
   * @default 8 once fetch mode is on
   */
  concurrency?: number;
  /**
   * The fields of the resource the every-kind `onEvent` reads (`spec`, `metadata.id`…); each kind's handlers say
   * their own (`KindHandlers.fields`). Without an every-kind `onEvent`, `registerWatch` refuses them
   * (`INVALID_CONFIG`). @default the whole resource
   */
  fields?: readonly string[];
}

/** Fetch mode after defaults and validation. */
export interface ResolvedFetchOptions {
  concurrency: number;
  /** Undefined: the whole resource. */
  fields: readonly string[] | undefined;
  /** Fetches started and not yet taken by a handler, at most (in flight or done). */
  lookahead: number;
}

/** The defaults of {@link FetchOptions} (fetch mode is off by default: these apply once it is on). */
const FETCH_DEFAULTS = { concurrency: 8 } as const;

/** How many fetches are kept ahead of the handlers per fetch in flight: enough to cover a slow fetch's neighbours. */
const LOOKAHEAD_PER_FETCH = 4;

/**
 * Per-watch options of {@link WatchManager.registerWatch}. `T`: what `resync.list` lists, inferred from it (the type of
 * `notice.snapshot`'s items in `onResync`).
 */
export interface WatchOptions<T = unknown> {
  /** Where to start when the sequence provider has no position for this topic. @default the manager's `from` */
  from?: StartFrom;
  /** List-then-watch after a purged position: `list()` is called and its result handed to `onResync`. */
  resync?: {
    /** Lists the topic's resources now (list-then-watch); the result goes to `onResync` as `snapshot`. */
    list(topic: string): T[] | Promise<T[]>;
  };
  /**
   * Client-side filter: only events matching every given criterion reach the handlers. The others still advance
   * the position, so they are never fetched again.
   */
  filter?: WatchFilter;
  /**
   * Handlers running at once. Events of one resource (see `keyOf`) never run concurrently or out of order.
   * @default 1
   */
  concurrency?: number;
  /** The resource an event belongs to. @default the payload's `metadata.selfLink` (else `kind/name`) */
  keyOf?: (event: WatchEvent) => string;
  /** Attempts of a failing handler, the first included, with backoff between them. @default 3 */
  maxAttempts?: number;
  /** One handler attempt longer than this counts as failed; 0 = no limit. @default 60000 */
  handlerTimeoutMs?: number;
  /**
   * With a coordinator that has transactions (PostgreSQL): each `onEvent` runs inside a transaction that also stores
   * the event's position, `ctx.client` its client; it commits only while this member holds the topic's lease at the
   * handler's epoch. Effects written through `ctx.client` are then exactly once across crashes and fail-overs.
   * Handlers run one at a time (`concurrency` must be 1). @default false
   */
  transaction?: boolean;
  /**
   * Fetch mode: each event handed to a handler carries the full resource (`event.resource`, read from the resource
   * API after the event; `event.gone` when it answered 404), fetched ahead of the handlers with bounded concurrency.
   * `DELETED` is never fetched. `true` for the defaults, or {@link FetchOptions}. A fetch the resource client gives up
   * on fails the watch with its error (retryable: it reconnects and the event comes again). See docs/resources.md.
   * @default false
   */
  fetch?: boolean | FetchOptions;
}

function checkFilter(filter: unknown): void {
  if (filter === undefined) return;
  if (!isRecord(filter)) throw invalid('options.filter', 'must be an object');
  checkKeys(filter, ['kinds', 'types', 'names'], 'options.filter.');
  const list = (v: unknown, ok: (x: unknown) => boolean): boolean =>
    v === undefined || (Array.isArray(v) && v.every(ok));
  if (!list(filter.kinds, (k) => typeof k === 'string'))
    throw invalid('options.filter.kinds', 'must be an array of strings');
  if (!list(filter.types, (t) => typeof t === 'string' && WATCH_EVENT_TYPES.has(t))) {
    throw invalid('options.filter.types', `must be an array of ${[...WATCH_EVENT_TYPES].join(', ')}`);
  }
  if (!list(filter.names, (n) => typeof n === 'string' || n instanceof RegExp))
    throw invalid('options.filter.names', 'must be an array of strings or RegExps');
}

/** Every key of {@link WatchOptions}. */
export const WATCH_OPTION_KEYS: ReadonlyArray<keyof WatchOptions> = [
  'from',
  'resync',
  'filter',
  'concurrency',
  'keyOf',
  'maxAttempts',
  'handlerTimeoutMs',
  'transaction',
  'fetch',
];

/** The defaults of {@link WatchOptions}, read by {@link resolveWatchOptions}; each field's `@default` says the same. */
export const WATCH_DEFAULTS = {
  concurrency: 1,
  maxAttempts: 3,
  handlerTimeoutMs: 60_000,
  transaction: false,
  fetch: false,
} as const satisfies { readonly [K in keyof WatchOptions]?: unknown };

/** {@link WatchOptions} after defaults and validation. */
export type ResolvedWatchOptions = Omit<WatchOptions, 'fetch'> &
  Required<Pick<WatchOptions, 'concurrency' | 'maxAttempts' | 'handlerTimeoutMs' | 'transaction'>> & {
    /** Fetch mode's settings; false when off. */
    fetch: ResolvedFetchOptions | false;
  };

/**
 * Field names or dotted paths (`spec`, `metadata.id`), as the resource client checks them before they reach a URL
 * (resources/resource-arguments.ts): a non-empty array of at most 100.
 */
export function fieldNames(value: unknown, field: string, what = 'option'): readonly string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > 100)
    throw invalid(field, 'must be a non-empty array of at most 100 field names', what);
  value.forEach((name: unknown, i) => {
    if (typeof name !== 'string' || !/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(name))
      throw invalid(`${field}[${i}]`, 'must be a field name or dotted path (letters, digits, _ and -)', what);
  });
  return [...(value as string[])];
}

function resolveFetch(value: unknown): ResolvedFetchOptions | false {
  if (value === undefined || value === false) return false;
  const input: Record<string, unknown> = value === true ? {} : isRecord(value) ? value : {};
  if (value !== true && !isRecord(value)) throw invalid('options.fetch', 'must be true, false or an object');
  checkKeys(input, ['concurrency', 'fields'], 'options.fetch.');
  const concurrency = count(input.concurrency, 'options.fetch.concurrency', FETCH_DEFAULTS.concurrency, 1, 64);
  return {
    concurrency,
    fields: input.fields === undefined ? undefined : fieldNames(input.fields, 'options.fetch.fields'),
    lookahead: concurrency * LOOKAHEAD_PER_FETCH,
  };
}

/** The one validation step of {@link WatchOptions}: applies the defaults; throws `INVALID_CONFIG` naming the field. */
export function resolveWatchOptions(input: unknown): ResolvedWatchOptions {
  if (!isRecord(input)) throw invalid('options', 'must be an object');
  // Unknown keys are refused as the manager's are: `{ concurency: 4 }` must not silently run one at a time.
  checkKeys(input, WATCH_OPTION_KEYS, 'options.');
  if (input.from !== undefined) resolveFrom(input.from, 'options.from');
  if (input.resync !== undefined && (!isRecord(input.resync) || typeof input.resync.list !== 'function')) {
    throw invalid('options.resync.list', 'must be a function');
  }
  if (input.resync !== undefined) checkKeys(input.resync, ['list'], 'options.resync.');
  checkFilter(input.filter);
  if (input.keyOf !== undefined && typeof input.keyOf !== 'function')
    throw invalid('options.keyOf', 'must be a function');
  if (input.transaction !== undefined && typeof input.transaction !== 'boolean')
    throw invalid('options.transaction', 'must be true or false');
  const concurrency = count(input.concurrency, 'options.concurrency', WATCH_DEFAULTS.concurrency, 1, 1_000);
  if (input.transaction === true && concurrency !== 1)
    throw invalid('options.concurrency', 'must be 1 with transaction: true (one transaction at a time)');
  const fetch = resolveFetch(input.fetch);
  return {
    ...(input as Omit<WatchOptions, 'fetch'>),
    fetch,
    transaction: input.transaction ?? WATCH_DEFAULTS.transaction,
    concurrency,
    maxAttempts: count(input.maxAttempts, 'options.maxAttempts', WATCH_DEFAULTS.maxAttempts, 1, 100),
    handlerTimeoutMs: duration(input.handlerTimeoutMs, 'options.handlerTimeoutMs', WATCH_DEFAULTS.handlerTimeoutMs, 0),
  };
}
