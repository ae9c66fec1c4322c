import { Backoff, type ResolvedBackoff } from '../backoff';
import { sleep, withDeadline, type Clock } from '../clock';
import { isThenable } from '../thenable';
import { WatchError } from '../errors';

/** How a failing handler is retried. */
export interface HandlerPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** One attempt longer than this counts as failed; 0 = no limit. */
  timeoutMs: number;
  backoff: ResolvedBackoff;
  clock: Clock;
}

/**
 * The outcome of running a handler. `abandoned`: the last attempt timed out and may still be running; the caller
 * keeps its slot (and its resource key) busy until it settles.
 */
export type HandlerOutcome =
  { ok: true } | { ok: false; error: unknown; attempts: number; abandoned?: Promise<unknown> };

const OK: HandlerOutcome = { ok: true };

/**
 * Retries of an event handler, after the first attempt the caller made itself (sparing a closure per event): until
 * an attempt succeeds or `policy.maxAttempts` failed, with backoff between attempts; nothing is retried once
 * `signal` aborts, nor after a timeout.
 */
/** Continues after a first attempt that returned `first` (the caller made it, to spare a closure per event). */
export function afterFirst(
  fn: () => unknown,
  policy: HandlerPolicy,
  signal: AbortSignal,
  first: unknown,
): HandlerOutcome | Promise<HandlerOutcome> {
  if (!isThenable(first)) return OK;
  return withTimeout(first, policy).then(
    () => OK,
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
      await withTimeout(Promise.resolve().then(fn), policy);
      return OK;
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

function withTimeout(running: PromiseLike<unknown>, policy: HandlerPolicy): Promise<unknown> {
  if (policy.timeoutMs <= 0) return Promise.resolve(running);
  return withDeadline(running, {
    clock: policy.clock,
    ms: policy.timeoutMs,
    onTimeout: () =>
      Object.assign(new WatchError('HANDLER_FAILED', `the handler did not finish within ${policy.timeoutMs} ms`), {
        [TIMED_OUT]: true,
        [ABANDONED]: Promise.resolve(running),
      }),
  });
}
