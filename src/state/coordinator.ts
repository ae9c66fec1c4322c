/**
 * How replicas share topics: at most one member runs a topic at a time, fenced by an epoch that every write of its
 * position names. A `Coordinator` (the PostgreSQL one of `watch-manager/postgres`) keeps the leases; the manager runs
 * a topic only while it holds its lease.
 */
export interface Coordinator {
  /** This member's id (a restarted process is a new member). */
  readonly memberId: string;
  /** Joins: checks the configuration and the database, and starts heartbeats and renewals. */
  start(): Promise<void>;
  /**
   * Asks for `topic`: `onLease` is called each time this member wins its lease, with a {@link TopicLease} that says
   * when it is lost. Returns the withdrawal (a held lease is released).
   */
  claim(topic: string, onLease: (lease: TopicLease) => void): () => Promise<void>;
  /** Releases every lease at once (a graceful hand-off) and leaves. Idempotent. */
  close(): Promise<void>;
}

/** One lease of one topic, from winning it to losing or releasing it. */
export interface TopicLease {
  /** The topic's self link. */
  readonly topic: string;
  /** The fencing token: the lease's epoch, higher for every new holder. */
  readonly epoch: number;
  /** The member holding it (this one). */
  readonly owner: string;
  /** The position stored for the topic when the lease was won (undefined: none yet). */
  readonly position: number | undefined;
  /** Aborted when the lease is lost (its reason a `LEASE_LOST` WatchError) or released. */
  readonly signal: AbortSignal;
  /** Stores `position` under the fence; false when the lease is no longer held (nothing was written). */
  writePosition(position: number): Promise<boolean>;
  /**
   * The coordinator wants the topic elsewhere (rebalancing): the holder finishes what runs, stores its position,
   * then calls `release()`. Called at most once per lease.
   */
  onHandOff(listener: () => void): void;
  /** Gives the lease up now. Idempotent. */
  release(): Promise<void>;
}
