import type { TransitionTable } from '../core/state-machine';

/**
 * What one `subscribe` call ({@link WatchStream}) knows of the service's side, in two tables that move
 * independently: whether the service accepted the subscription ({@link StreamLife}) and how the call ends
 * ({@link StreamEnd}). Two, not one: a call's first sign of life may come after its final status (messages read from
 * a paused buffer), and its read side may end before or after the status arrives.
 */

/**
 * `unknown`: nothing yet; `accepted`: counted as subscribed without a sign of life (the protocol has no
 * acknowledgement: the owner decides when a quiet stream that was not refused is live); `alive`: headers or a
 * message came. Only moves forward.
 */
export type StreamLife = 'unknown' | 'accepted' | 'alive';

/** The legal moves of {@link StreamLife}. */
export const STREAM_LIFE: TransitionTable<StreamLife> = {
  unknown: ['accepted', 'alive'],
  accepted: ['alive'],
  alive: [],
};

/**
 * `open`: running; `read-ended`: every message was read, the final status is still to come; `draining`: the final
 * status came while messages may still wait in a paused buffer (grpc-js reports it first), the read side's end is
 * still to come; `failing`: we ended it for a protocol breach, the outcome is ours; `finished`: the outcome was
 * reported once (`onEnd`), final; `cancelled`: the owner cancelled it, nothing is reported, final.
 */
export type StreamEnd = 'open' | 'read-ended' | 'draining' | 'failing' | 'finished' | 'cancelled';

/** The legal moves of {@link StreamEnd}. A second protocol breach while failing replaces the first. */
export const STREAM_END: TransitionTable<StreamEnd> = {
  open: ['read-ended', 'draining', 'failing', 'cancelled'],
  'read-ended': ['finished', 'failing', 'cancelled'],
  draining: ['finished', 'failing', 'cancelled'],
  failing: ['failing', 'finished', 'cancelled'],
  finished: [],
  cancelled: [],
};
