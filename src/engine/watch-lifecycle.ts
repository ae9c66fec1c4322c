import type { TransitionTable } from '../core/state-machine';
import type { WatchStatus } from '../core/types';

/**
 * Where one watch ({@link TopicWatch}) is in its life. Finer than the public {@link WatchStatus.state}, which
 * {@link PUBLIC_STATE} derives from it:
 * - `idle`: made, `start()` not called yet;
 * - `positioning`: reading the stored position (`start()`);
 * - `connecting`: an attempt (token, newest id for `from: 'latest'`, stream, catch-up) before the first subscription;
 * - `retrying`: waiting for the backoff after a failed first attempt;
 * - `subscribed`: the subscription was accepted (catching up or live);
 * - `reconnecting`: after a subscription was lost: waiting for the backoff, then attempting again;
 * - `closed`: stopped by `close()` or a permanent error. Final.
 */
export type WatchPhase = 'idle' | 'positioning' | 'connecting' | 'retrying' | 'subscribed' | 'reconnecting' | 'closed';

/**
 * The legal moves of a watch. Every phase may close. `reconnecting → reconnecting` is an attempt after a lost
 * subscription failing again (a new backoff, no new public state).
 */
export const WATCH_TRANSITIONS: TransitionTable<WatchPhase> = {
  idle: ['positioning', 'closed'],
  positioning: ['connecting', 'closed'],
  connecting: ['subscribed', 'retrying', 'closed'],
  retrying: ['connecting', 'closed'],
  subscribed: ['reconnecting', 'closed'],
  reconnecting: ['reconnecting', 'subscribed', 'closed'],
  closed: [],
};

/** The public state of each phase (`status()`, `metrics()`, the manager's `'state'` events). */
export const PUBLIC_STATE: { readonly [P in WatchPhase]: WatchStatus['state'] } = {
  idle: 'connecting',
  positioning: 'connecting',
  connecting: 'connecting',
  retrying: 'reconnecting',
  subscribed: 'subscribed',
  reconnecting: 'reconnecting',
  closed: 'closed',
};
