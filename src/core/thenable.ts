/**
 * True when `value` is a promise or any thenable: what a user's callback returned decides whether the SDK waits
 * (a handler, a sequence provider, a token getter may each answer synchronously or not).
 */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}
