/**
 * Time and randomness for the whole SDK. Nothing else calls `Date.now`, `setTimeout` or `Math.random`, so that a
 * test can inject a {@link FakeClock} (from `watch-manager/testing`) and make every timer and jitter exact.
 */
import type { WatchError } from './errors';

/** A scheduled callback; `cancel()` is idempotent. */
export interface Timer {
  /** Stops the callback from running, if it has not run yet. */
  cancel(): void;
}

/** Options of {@link Clock.setTimeout}. */
export interface TimerOptions {
  /**
   * Keep the process alive while this timer is pending (SDK timers are unref'd; only the reconnect backoff, the one
   * wait keeping an open watch alive, sets this). @default false
   */
  ref?: boolean;
}

/** The source of time and randomness. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number, options?: TimerOptions): Timer;
  /** A number in [0, 1). */
  random(): number;
}

/** The longest delay a Node timer keeps: a longer one fires after 1 ms instead (with a TimeoutOverflowWarning). */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * Every timer the SDK arms goes through here: a delay that is not a number or below 0 fires at once, and one longer
 * than {@link MAX_TIMER_MS} (a JWT valid for 30 days, a huge Retry-After) is armed in pieces and re-armed until it is
 * due, instead of firing after 1 ms in a hot loop (Node's overflow rule, docs/facts.md#timer-overflow). Wraps any
 * clock, so an injected one is held to the same rule.
 */
export function boundedClock(inner: Clock): Clock {
  if ((inner as { [BOUNDED]?: true })[BOUNDED] === true) return inner;
  const clock: Clock & { [BOUNDED]: true } = {
    [BOUNDED]: true,
    now: () => inner.now(),
    random: () => inner.random(),
    setTimeout(fn, ms, options) {
      let remaining = typeof ms === 'number' && ms > 0 ? ms : 0;
      let current: Timer;
      let cancelled = false;
      const arm = (): void => {
        const step = Math.min(remaining, MAX_TIMER_MS);
        remaining -= step;
        current = inner.setTimeout(
          () => {
            if (cancelled) return;
            if (remaining > 0) arm();
            else fn();
          },
          step,
          options,
        );
      };
      arm();
      return {
        cancel: () => {
          cancelled = true;
          current.cancel();
        },
      };
    },
  };
  return clock;
}

const BOUNDED = Symbol('watch-manager.boundedClock');

/**
 * The real clock: wall time, Node timers (unref'd unless asked), `Math.random`; delays bounded (see {@link
 * boundedClock}).
 */
export const systemClock: Clock = boundedClock({
  now: () => Date.now(),
  setTimeout(fn, ms, options = {}) {
    const handle = setTimeout(fn, ms);
    if (options.ref !== true) handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
  random: () => Math.random(),
});

/**
 * Resolves after `ms` on `clock`, or at once when `signal` aborts (nats.js `delay`: a pending sleep must never make
 * `close()` wait). Never rejects; returns whether the full time elapsed.
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal, options?: TimerOptions): Promise<boolean> {
  if (signal?.aborted === true) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      timer.cancel();
      resolve(false);
    };
    const timer = clock.setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(true);
      },
      ms,
      options,
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** What {@link withDeadline} waits for, how long, and what it rejects with. */
export interface DeadlineOptions {
  /** The clock the deadline runs on. */
  clock: Clock;
  /** How long the work may take. */
  ms: number;
  /** The error when `ms` passed first. */
  onTimeout: () => WatchError;
  /** Ends the wait early. @default never */
  signal?: AbortSignal;
  /** The error when `signal` aborted first. @default `onTimeout` */
  onAbort?: () => WatchError;
}

/**
 * Settles like `work`, unless `ms` pass first on `clock` (rejects with `onTimeout()`) or `signal` aborts first
 * (rejects with `onAbort()`). The timer and the abort listener are removed either way. The one shape of every
 * bounded wait in the SDK (a token getter, a handler attempt, reading a position).
 */
export function withDeadline<T>(work: PromiseLike<T>, deadline: DeadlineOptions): Promise<T> {
  const { clock, ms, onTimeout, signal, onAbort } = deadline;
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => {
      timer.cancel();
      reject((onAbort ?? onTimeout)());
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', abort);
      reject(onTimeout());
    }, ms);
    if (signal?.aborted === true) return abort();
    signal?.addEventListener('abort', abort, { once: true });
    work.then(
      (value) => {
        timer.cancel();
        signal?.removeEventListener('abort', abort);
        resolve(value);
      },
      (err: unknown) => {
        timer.cancel();
        signal?.removeEventListener('abort', abort);
        reject(err);
      },
    );
  });
}
