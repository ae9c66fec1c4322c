import { WatchError } from '../core/errors';
import { checkKeys, count, invalid, isRecord } from '../core/option-checks';
import { fieldNames } from '../config/watch-options';
import { MANAGER_OPTION_KEYS } from '../config/options';
import { WATCH_OPTION_KEYS, type ResolvedFetchOptions } from '../config/watch-options';
import { CACHE_OPTION_KEYS } from '../config/cache-options';
import type { AgentStatus } from '../core/types';
import type { WatchHandlers } from '../delivery/watch-handlers';
import type { IterateOptions } from '../delivery/watch-loop';

// The checks of what an application hands a WatchManager's methods (JavaScript callers included): each throws
// `INVALID_CONFIG` naming the argument, before anything is made.

/**
 * `handlers` of `registerWatch`: `onEvent` a function or a non-empty `kinds` (or both), each kind's entry an object
 * with an `onEvent` function, `fields` field names and `shouldHandle` a function when given, and each optional
 * handler a function when given.
 */
export function checkHandlers(handlers: WatchHandlers): void {
  if (typeof handlers !== 'object' || handlers === null) {
    throw new WatchError('INVALID_CONFIG', "invalid argument 'handlers': onEvent must be a function");
  }
  const { kinds } = handlers;
  if (handlers.onEvent !== undefined && typeof handlers.onEvent !== 'function')
    throw new WatchError('INVALID_CONFIG', "invalid argument 'handlers': onEvent must be a function");
  if (kinds !== undefined) checkKinds(kinds);
  if (handlers.onEvent === undefined && (kinds === undefined || Object.keys(kinds).length === 0)) {
    throw new WatchError(
      'INVALID_CONFIG',
      "invalid argument 'handlers': onEvent must be a function (or give handlers per kind in a non-empty kinds)",
    );
  }
  for (const name of ['onError', 'onResync', 'onLive'] as const) {
    if (handlers[name] !== undefined && typeof handlers[name] !== 'function') {
      throw new WatchError('INVALID_CONFIG', `invalid argument 'handlers.${name}': must be a function`);
    }
  }
}

/** `handlers.kinds`: kind names to {@link KindHandlers}, each checked; its `fields` as the resource client's. */
function checkKinds(kinds: unknown): void {
  if (!isRecord(kinds)) throw invalid('handlers.kinds', 'must be an object of kind names to handlers', 'argument');
  for (const [kind, entry] of Object.entries(kinds)) {
    const where = `handlers.kinds.${kind}`;
    if (!isRecord(entry)) throw invalid(where, 'must be an object with an onEvent function', 'argument');
    checkKeys(entry, ['onEvent', 'fields', 'shouldHandle'], `${where}.`, 'argument');
    if (typeof entry.onEvent !== 'function') throw invalid(`${where}.onEvent`, 'must be a function', 'argument');
    if (entry.shouldHandle !== undefined && typeof entry.shouldHandle !== 'function')
      throw invalid(`${where}.shouldHandle`, 'must be a function', 'argument');
    if (entry.fields !== undefined) fieldNames(entry.fields, `${where}.fields`, 'argument');
  }
}

/**
 * `fields` where they would be ignored: they are what fetch mode reads, so a kind's `fields` without fetch mode, or
 * `fetch.fields` (the every-kind `onEvent`'s) without an every-kind `onEvent`, would leave a handler that reads `spec`
 * with the event's thin resource and no word why.
 */
export function checkFieldsRead(handlers: WatchHandlers, fetch: ResolvedFetchOptions | false): void {
  const kinds = Object.entries(handlers.kinds ?? {});
  if (fetch === false) {
    const [kind] = kinds.find(([, entry]) => entry.fields !== undefined) ?? [];
    if (kind !== undefined)
      throw invalid(
        `handlers.kinds.${kind}.fields`,
        'fields are read in fetch mode only: pass { fetch: true } (or fetch: { concurrency }) in the options, or leave fields out',
        'argument',
      );
    return;
  }
  if (fetch.fields !== undefined && handlers.onEvent === undefined)
    throw invalid(
      'options.fetch.fields',
      "they are the fields of the every-kind onEvent, and handlers has none: give each kind's in handlers.kinds.<kind>.fields",
    );
}

/** The defaults of {@link IterateOptions}, read by {@link resolveIterateOptions}; each `@default` says the same. */
export const ITERATE_DEFAULTS = {
  concurrency: 100,
  maxAttempts: 1,
  autoAck: true,
} as const satisfies { readonly [K in keyof IterateOptions]?: unknown };

/** {@link IterateOptions} after defaults and validation (`from`, `resync` and `filter` go to the watch's). */
export interface ResolvedIterateOptions {
  /** Records handed over and not acknowledged, at most (`concurrency`, or its deprecated alias `highWaterMark`). */
  concurrency: number;
  /** Attempts at an event the loop fails (`record.fail()`). */
  maxAttempts: number;
  autoAck: boolean;
}

/**
 * `options` of `watch()` (for await): known keys only; `concurrency` (or its deprecated alias `highWaterMark`, not
 * both) a whole number 1..1000, `maxAttempts` 1..100 as registerWatch's; applies the defaults.
 */
export function resolveIterateOptions(options: IterateOptions): ResolvedIterateOptions {
  if (typeof options !== 'object' || options === null)
    throw new WatchError('INVALID_CONFIG', "invalid argument 'options': must be an object");
  checkOptionHome(options, 'watch(...)');
  checkKeys(options as Record<string, unknown>, ITERATE_OPTION_KEYS, 'options.', 'argument');
  // Both names of one setting: which one was meant is not ours to guess (Temporal's rule for conflicting options).
  if (options.concurrency !== undefined && options.highWaterMark !== undefined)
    throw new WatchError(
      'INVALID_CONFIG',
      "invalid argument 'options.highWaterMark': concurrency is given too; highWaterMark is its deprecated alias: give concurrency only",
    );
  const field = options.highWaterMark === undefined ? 'concurrency' : 'highWaterMark';
  const concurrency = options.concurrency ?? options.highWaterMark ?? ITERATE_DEFAULTS.concurrency;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1_000) {
    throw new WatchError(
      'INVALID_CONFIG',
      `invalid argument 'options.${field}': must be a whole number between 1 and 1000`,
    );
  }
  return {
    concurrency,
    maxAttempts: count(options.maxAttempts, 'options.maxAttempts', ITERATE_DEFAULTS.maxAttempts, 1, 100, 'argument'),
    autoAck: options.autoAck ?? ITERATE_DEFAULTS.autoAck,
  };
}

/** Every key of {@link IterateOptions}. */
const ITERATE_OPTION_KEYS: ReadonlyArray<keyof IterateOptions> = [
  'from',
  'resync',
  'filter',
  'signal',
  'concurrency',
  'highWaterMark',
  'maxAttempts',
  'autoAck',
];

/** The calls of a manager that take options, as messages name them. */
type OptionsCall = 'new WatchManager(...)' | 'registerWatch(...)' | 'watch(...)' | 'cache(...)';

const KEYS_OF: Readonly<Record<OptionsCall, readonly string[]>> = {
  'new WatchManager(...)': MANAGER_OPTION_KEYS,
  'registerWatch(...)': WATCH_OPTION_KEYS,
  'watch(...)': ITERATE_OPTION_KEYS,
  'cache(...)': CACHE_OPTION_KEYS,
};

/**
 * Refuses an option handed to `call` that belongs to another call of the manager, saying which: `deadLetterDir`
 * given to registerWatch is the manager's, and "unknown option (known: …30 names)" left the reader to find that out
 * (issue 22 #6). A key no call knows is left to the call's own check, which lists the known ones.
 */
export function checkOptionHome(options: unknown, call: OptionsCall): void {
  if (!isRecord(options)) return;
  const known = KEYS_OF[call];
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const homes = (Object.keys(KEYS_OF) as OptionsCall[]).filter((other) => KEYS_OF[other].includes(key));
    if (homes.length === 0) continue;
    throw invalid(
      call === 'new WatchManager(...)' ? key : `options.${key}`,
      `it is an option of ${homes.join(' and ')}, not of ${call}`,
      call === 'watch(...)' ? 'argument' : 'option',
    );
  }
}

/** `status` of `sendAgentStatus`: its state and message strings. */
export function checkAgentStatus(status: AgentStatus): void {
  if (
    typeof status !== 'object' ||
    status === null ||
    typeof status.state !== 'string' ||
    typeof status.message !== 'string'
  ) {
    throw new WatchError('INVALID_CONFIG', "invalid argument 'status': state and message must be strings");
  }
}
