import type { TransitionTable } from '../core/state-machine';

/**
 * Where a coordinated watch ({@link CoordinatedWatch}) is with its topic's lease:
 * - `idle`: made, `start()` not called yet;
 * - `joining`: the coordinator starts (checks its database, joins the members);
 * - `standby`: the topic is claimed; another member holds its lease, or nobody yet;
 * - `active`: this member holds the lease and runs the topic's engine;
 * - `stepping-down`: the lease was lost or is handed off: the engine stops (handlers finish, the position is stored
 *   while the lease still allows it), then the lease is let go;
 * - `closed`: stopped by `close()` or a permanent error. Final.
 */
export type LeasePhase = 'idle' | 'joining' | 'standby' | 'active' | 'stepping-down' | 'closed';

/** The legal moves. A lease won while the last engine still stops waits until it stopped (and is `standby`). */
export const LEASE_TRANSITIONS: TransitionTable<LeasePhase> = {
  idle: ['joining', 'closed'],
  joining: ['standby', 'closed'],
  standby: ['active', 'closed'],
  active: ['stepping-down', 'closed'],
  'stepping-down': ['standby', 'closed'],
  closed: [],
};
