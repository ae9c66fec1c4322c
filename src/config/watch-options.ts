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

/** Per-watch options of {@link WatchManager.registerWatch}. */
export interface WatchOptions {
  /** Where to start when the sequence provider has no position for this topic. @default the manager's `from` */
  from?: StartFrom;
  /** List-then-watch after a purged position: `list()` is called and its result handed to `onResync`. */
  resync?: {
    /** Lists the topic's resources now (list-then-watch); the result goes to `onResync` as `snapshot`. */
    list(topic: string): unknown[] | Promise<unknown[]>;
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
];

/** The defaults of {@link WatchOptions}, read by {@link resolveWatchOptions}; each field's `@default` says the same. */
export const WATCH_DEFAULTS = {
  concurrency: 1,
  maxAttempts: 3,
  handlerTimeoutMs: 60_000,
  transaction: false,
} as const satisfies { readonly [K in keyof WatchOptions]?: unknown };

/** {@link WatchOptions} after defaults and validation. */
export type ResolvedWatchOptions = WatchOptions &
  Required<Pick<WatchOptions, 'concurrency' | 'maxAttempts' | 'handlerTimeoutMs' | 'transaction'>>;

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
  return {
    ...(input as WatchOptions),
    transaction: input.transaction ?? WATCH_DEFAULTS.transaction,
    concurrency,
    maxAttempts: count(input.maxAttempts, 'options.maxAttempts', WATCH_DEFAULTS.maxAttempts, 1, 100),
    handlerTimeoutMs: duration(input.handlerTimeoutMs, 'options.handlerTimeoutMs', WATCH_DEFAULTS.handlerTimeoutMs, 0),
  };
}
