import { WatchError } from '../core/errors';
import { checkKeys, count } from '../core/option-checks';
import type { AgentStatus } from '../core/types';
import type { WatchHandlers } from '../delivery/watch-handlers';
import type { IterateOptions } from '../delivery/watch-loop';

// The checks of what an application hands a WatchManager's methods (JavaScript callers included): each throws
// `INVALID_CONFIG` naming the argument, before anything is made.

/** `handlers` of `registerWatch`: `onEvent` a function, and each optional handler a function when given. */
export function checkHandlers(handlers: WatchHandlers): void {
  if (typeof handlers !== 'object' || handlers === null || typeof handlers.onEvent !== 'function') {
    throw new WatchError('INVALID_CONFIG', "invalid argument 'handlers': onEvent must be a function");
  }
  for (const name of ['onError', 'onResync', 'onLive'] as const) {
    if (handlers[name] !== undefined && typeof handlers[name] !== 'function') {
      throw new WatchError('INVALID_CONFIG', `invalid argument 'handlers.${name}': must be a function`);
    }
  }
}

/** `options` of `watch()` (for await) after its checks: the loop's concurrency and the attempts at a failed record. */
export interface ResolvedIterateOptions {
  concurrency: number;
  maxAttempts: number;
}

/**
 * `options` of `watch()` (for await): known keys only; `concurrency` (or its deprecated alias `highWaterMark`, not
 * both) a whole number 1..1000, `maxAttempts` 1..100 as registerWatch's.
 */
export function resolveIterateOptions(options: IterateOptions): ResolvedIterateOptions {
  if (typeof options !== 'object' || options === null)
    throw new WatchError('INVALID_CONFIG', "invalid argument 'options': must be an object");
  checkKeys(
    options as Record<string, unknown>,
    ['from', 'resync', 'filter', 'signal', 'concurrency', 'highWaterMark', 'maxAttempts', 'autoAck'],
    'options.',
    'argument',
  );
  // Both names of one setting: which one was meant is not ours to guess (Temporal's rule for conflicting options).
  if (options.concurrency !== undefined && options.highWaterMark !== undefined)
    throw new WatchError(
      'INVALID_CONFIG',
      "invalid argument 'options.highWaterMark': concurrency is given too; highWaterMark is its deprecated alias: give concurrency only",
    );
  const field = options.highWaterMark === undefined ? 'concurrency' : 'highWaterMark';
  const concurrency = options.concurrency ?? options.highWaterMark ?? 100;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1_000) {
    throw new WatchError(
      'INVALID_CONFIG',
      `invalid argument 'options.${field}': must be a whole number between 1 and 1000`,
    );
  }
  return { concurrency, maxAttempts: count(options.maxAttempts, 'options.maxAttempts', 1, 1, 100, 'argument') };
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
