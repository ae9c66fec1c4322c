/**
 * How replicas share topics: at most one member runs a topic at a time, fenced by an epoch that every write of its
 * position names. A `Coordinator` (the PostgreSQL one of `watch-manager/postgres`) keeps the leases; the manager runs
 * a topic only while it holds its lease.
 */
export interface Coordinator {
  /** This member's id (a restarted process is a new member). */
  readonly memberId: string;
  /** Whether its leases can run transactional handlers ({@link TopicLease.transaction}). */
  readonly transactional: boolean;
  /** Joins: checks the configuration and the database, and starts heartbeats and renewals. */
  start(): Promise<void>;
  /**
   * Asks for `topic`: `onLease` is called each time this member wins its lease, with a {@link TopicLease} that says
   * when it is lost. Returns the withdrawal (a held lease is released).
   */
  claim(topic: string, onLease: (lease: TopicLease) => void): () => Promise<void>;
  /**
   * Who held `topic`'s lease when this member last looked (a member waiting for it sees the holder), or undefined
   * when it has not looked yet. For `status()`; never a basis for a decision.
   */
  observed(topic: string): ObservedLease | undefined;
  /** Releases every lease at once (a graceful hand-off) and leaves. Idempotent. */
  close(): Promise<void>;
}

/** A topic's lease as a member last saw it. */
export interface ObservedLease {
  /** The member holding it, or undefined when nobody does (released, or run out). */
  readonly owner: string | undefined;
  /** Its epoch (0: never taken). */
  readonly epoch: number;
}

/**
 * A client inside a transaction of a transactional handler (`ctx.client`, with `{ transaction: true }`): a pg
 * `PoolClient` with the PostgreSQL coordinator. Queries only: the SDK begins, commits and rolls back.
 */
export interface TransactionClient {
  /** Runs one statement with `$1`… parameters inside the transaction. */
  query(text: string, values?: unknown[]): Promise<TransactionResult>;
}

/** What a statement of a {@link TransactionClient} returns (a pg `QueryResult` has these and more). */
export interface TransactionResult {
  /** The rows it returned. */
  rows: unknown[];
  /** The rows it affected (or returned); null for a statement without a count. */
  rowCount: number | null;
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
  /**
   * Runs `work` inside a transaction that also stores `position` under the fence, and commits only if this member
   * still holds the lease at this epoch; otherwise rolls back and rejects with `LEASE_LOST` (and the lease ends).
   * Undefined when the coordinator cannot (its store is not a database).
   */
  transaction?<T>(position: number, work: (client: TransactionClient) => Promise<T>): Promise<T>;
}
