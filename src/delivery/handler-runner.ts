import { Backoff, type ResolvedBackoff } from '../core/backoff';
import { sleep, type Clock } from '../core/clock';
import { isThenable } from '../core/thenable';
import { WatchError } from '../core/errors';

/** How a failing handler is retried. */
export interface HandlerPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** One attempt longer than this counts as failed; 0 = no limit. */
  timeoutMs: number;
  backoff: ResolvedBackoff;
  clock: Clock;
  /**
   * Whether an attempt whose promise settles now settled after the handlers' `ctx.signal` aborted. Asked in the first
   * reaction to that promise, so that a handler that resolved just before the abort is not taken for one that
   * resolved because of it (see Delivery.stop).
   */
  isCut?: () => boolean;
}

/**
 * The outcome of running a handler. `afterCut`: it succeeded, but settled after its signal aborted (it may have cut
 * its work short). `abandoned`: the last attempt timed out and may still be running; the caller keeps its slot (and its
 * resource key) busy until it settles.
 */
export type HandlerOutcome =
  { ok: true; afterCut?: true } | { ok: false; error: unknown; attempts: number; abandoned?: Promise<unknown> };

const OK: HandlerOutcome = { ok: true };
const AFTER_CUT: HandlerOutcome = { ok: true, afterCut: true };

// A handler is retried until an attempt succeeds or `policy.maxAttempts` failed, with backoff between attempts;
// nothing is retried once `signal` aborts, nor after a timeout. The caller makes the first attempt itself, so that a
// synchronous handler costs no closure and no promise.

/** Continues after a first attempt that returned `first`. */
export function afterFirst(
  fn: () => unknown,
  policy: HandlerPolicy,
  signal: AbortSignal,
  first: unknown,
): HandlerOutcome | Promise<HandlerOutcome> {
  if (!isThenable(first)) return OK;
  return attempt(first, policy).then(
    (afterCut) => (afterCut ? AFTER_CUT : OK),
    (err: unknown) => retry(fn, policy, signal, err),
  );
}

/** Continues after a first attempt that threw `error`. */
export function afterThrow(
  fn: () => unknown,
  policy: HandlerPolicy,
  signal: AbortSignal,
  error: unknown,
): Promise<HandlerOutcome> {
  return retry(fn, policy, signal, error);
}

async function retry(
  fn: () => unknown,
  policy: HandlerPolicy,
  signal: AbortSignal,
  firstError: unknown,
): Promise<HandlerOutcome> {
  const backoff = new Backoff(policy.backoff, () => policy.clock.random());
  let error = firstError;
  let attempts = 1;
  // A timed-out attempt may still be running: retrying it would run the event twice at once (and break per-key
  // order). A timeout is therefore final; the attempt is abandoned, not cancelled.
  while (attempts < policy.maxAttempts && !isTimeout(error)) {
    if (!(await sleep(policy.clock, backoff.next(), signal))) break;
    attempts += 1;
    try {
      return (await attempt(run(fn), policy)) ? AFTER_CUT : OK;
    } catch (err) {
      error = err;
    }
  }
  const abandoned = isTimeout(error) ? (error as Record<symbol, unknown>)[ABANDONED] : undefined;
  return abandoned instanceof Promise ? { ok: false, error, attempts, abandoned } : { ok: false, error, attempts };
}

const ABANDONED = Symbol('abandoned attempt');

const TIMED_OUT = Symbol('timed out');

function isTimeout(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[TIMED_OUT] === true;
}

/** Calls a retry's attempt: a synchronous throw becomes a rejection. */
function run(fn: () => unknown): PromiseLike<unknown> {
  try {
    const result = fn();
    return isThenable(result) ? result : Promise.resolve(result);
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * Waits for one attempt, up to `policy.timeoutMs` (a longer one rejects as timed out, abandoned but maybe still
 * running); resolves with whether it settled after the signal aborted, asked in the first reaction to its promise.
 */
function attempt(running: PromiseLike<unknown>, policy: HandlerPolicy): Promise<boolean> {
  const { clock, timeoutMs, isCut } = policy;
  return new Promise<boolean>((resolve, reject) => {
    const timer =
      timeoutMs <= 0
        ? undefined
        : clock.setTimeout(
            () =>
              reject(
                Object.assign(new WatchError('HANDLER_FAILED', `the handler did not finish within ${timeoutMs} ms`), {
                  [TIMED_OUT]: true,
                  [ABANDONED]: Promise.resolve(running),
                }),
              ),
            timeoutMs,
          );
    running.then(
      () => {
        timer?.cancel();
        resolve(isCut?.() === true);
      },
      (err: unknown) => {
        timer?.cancel();
        reject(err);
      },
    );
  });
}
