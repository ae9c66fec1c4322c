import { WatchError } from './errors';

/**
 * The legal moves of a state machine: for each state, the states it may move to. One table per machine, so that the
 * lifecycle reads in one place (grpc-js names the legal predecessors of every transition of a subchannel) and a test
 * can walk every move.
 */
export type TransitionTable<S extends string> = { readonly [From in S]: readonly S[] };

/**
 * A finite-state machine over a {@link TransitionTable}. A move the table does not allow throws
 * `WatchError('INTERNAL')` (etcd3 throws on an illegal watcher transition): a bug of the SDK shows at once instead of
 * leaving a watch in a state no code expects. It also remembers which states it has been in, so that "has this watch
 * ever been subscribed" is a question to the machine, not a flag beside it.
 */
export class StateMachine<S extends string> {
  private current: S;
  private readonly visited = new Set<S>();

  /**
   * @param name Whose machine this is, for the message of an illegal move (`watch /…/watchtopics/x`).
   * @param initial The state it starts in.
   * @param table The legal moves.
   */
  constructor(
    private readonly name: string,
    initial: S,
    private readonly table: TransitionTable<S>,
  ) {
    this.current = initial;
    this.visited.add(initial);
  }

  /** The state it is in. */
  get state(): S {
    return this.current;
  }

  /** Whether it is in one of `states`. */
  is(...states: readonly S[]): boolean {
    return states.includes(this.current);
  }

  /** Whether it has ever been in `state` (the initial state counts). */
  hasBeen(state: S): boolean {
    return this.visited.has(state);
  }

  /** Whether the table allows moving from the current state to `next`. */
  can(next: S): boolean {
    return this.table[this.current].includes(next);
  }

  /** Moves to `next` and returns the state it left; throws `INTERNAL` when the table does not allow the move. */
  to(next: S): S {
    const from = this.current;
    if (!this.can(next))
      throw new WatchError('INTERNAL', `${this.name}: illegal state change ${from} → ${next} (a bug of watch-manager)`);
    this.current = next;
    this.visited.add(next);
    return from;
  }
}
