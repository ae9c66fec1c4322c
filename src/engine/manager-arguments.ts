import { WatchError } from '../core/errors';
import { checkKeys } from '../core/option-checks';
import type { AgentStatus } from '../core/types';
import type { WatchHandlers } from '../delivery/watch-handlers';
import type { IterateOptions } from '../delivery/watch-iterator';

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

/** The defaults of {@link IterateOptions}, read by {@link resolveIterateOptions}; each `@default` says the same. */
export const ITERATE_DEFAULTS = {
  highWaterMark: 100,
  autoAck: true,
} as const satisfies { readonly [K in keyof IterateOptions]?: unknown };

/** {@link IterateOptions} after defaults and validation (`from`, `resync` and `filter` go to the watch's). */
export interface ResolvedIterateOptions {
  highWaterMark: number;
  autoAck: boolean;
}

/** `options` of `watch()` (for await): known keys only, a high-water mark from 1 to 1000; applies the defaults. */
export function resolveIterateOptions(options: IterateOptions): ResolvedIterateOptions {
  if (typeof options !== 'object' || options === null)
    throw new WatchError('INVALID_CONFIG', "invalid argument 'options': must be an object");
  checkKeys(
    options as Record<string, unknown>,
    ['from', 'resync', 'filter', 'signal', 'highWaterMark', 'autoAck'],
    'options.',
    'argument',
  );
  const highWaterMark = options.highWaterMark ?? ITERATE_DEFAULTS.highWaterMark;
  if (!Number.isInteger(highWaterMark) || highWaterMark < 1 || highWaterMark > 1_000) {
    throw new WatchError(
      'INVALID_CONFIG',
      "invalid argument 'options.highWaterMark': must be a whole number between 1 and 1000",
    );
  }
  return { highWaterMark, autoAck: options.autoAck ?? ITERATE_DEFAULTS.autoAck };
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
