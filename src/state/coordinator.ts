import type { WatchError } from '../core/errors';

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
   * when it is lost. `onFailure` is called (once) when the topic cannot run on any member: its lease row is corrupt
   * (`STATE_CORRUPT`, an epoch or position beyond 2^53 - 1); the claim is then not tried again. Returns the withdrawal
   * (a held lease is released).
   */
  claim(
    topic: string,
    onLease: (lease: TopicLease) => void,
    onFailure?: (error: WatchError) => void,
  ): () => Promise<void>;
  /**
   * Who held `topic`'s lease when this member last looked (a member waiting for it sees the holder), or undefined
   * when it has not looked yet. For `status()`; never a basis for a decision.
   */
  observed(topic: string): ObservedLease | undefined;
  /** Releases every lease at once (a graceful hand-off) and leaves. Idempotent. */
  close(): Promise<void>;
  /**
   * What keeps this member from running any topic now, for `health()`: undefined while it renews and claims. A
   * coordinator closed (or whose pool the application ended) says so, `final`: nothing brings it back; one that has
   * not completed a round (heartbeat, renewals, claims) for longer than its renew deadline says why (the database
   * away, no connection left for its role). Optional: without it `health()` judges by the watches alone.
   */
  trouble?(): CoordinatorTrouble | undefined;
}

/** Why a coordinator's member cannot run its topics (see {@link Coordinator.trouble}). */
export interface CoordinatorTrouble {
  /** One line, no secret: what fails and since how long. */
  readonly reason: string;
  /** True when it never recovers (the coordinator closed, its pool ended): a restart is the cure. */
  readonly final: boolean;
}

/** A topic's lease as a member last saw it. */
export interface ObservedLease {
  /** The member holding it, or undefined when nobody does (released, or run out). */
  readonly owner: string | undefined;
  /** Its epoch (0: never taken). */
  readonly epoch: number;
  /**
   * Set when the topic runs nowhere as this member sees it: claimed here, and no member has held its lease for more
   * than 2 x leaseMs (a member that should take it does not). Why, in one line, for `health()`.
   */
  readonly stalled?: string;
}

/**
 * `ctx.client` of a transactional handler (`{ transaction: true }`): the transaction the SDK begins, stores the
 * event's position in, and commits only while this member holds the topic's lease at the handler's epoch. Statements
 * only, one per call:
 * - Statements that end or change the transaction (`BEGIN`, `START TRANSACTION`, `COMMIT`, `END`, `ROLLBACK`, `ABORT`,
 *   `SAVEPOINT`, `RELEASE`, `ROLLBACK TO`, `PREPARE TRANSACTION`, `COMMIT`/`ROLLBACK PREPARED`, `SET TRANSACTION`,
 *   `SET SESSION CHARACTERISTICS`, `SET transaction_*`/`default_transaction_*`) are refused with `TRANSACTION_CONTROL`
 *   and nothing is sent; so is a text of several statements (PostgreSQL refuses it: 42601). A `DO` block or a
 *   procedure that commits fails in PostgreSQL itself (2D000).
 * - A part that may fail without failing the event runs in {@link TransactionClient.savepoint}.
 * - Once the handler settled (returned or threw), every call rejects with `CLOSED` and sends nothing: a query of a
 *   promise not awaited never runs outside the transaction.
 * - A statement that failed aborts the transaction: a handler that catches its error and returns fails the event
 *   all the same (rolled back, retried), unless the statement ran in a savepoint.
 */
export interface TransactionClient {
  /** Runs one statement with `$1`… parameters inside the transaction (pg's `{ text, values }` form too). */
  query(text: string | TransactionQuery, values?: unknown[]): Promise<TransactionResult>;
  /**
   * Runs `work` inside a savepoint of the transaction, with a client of its own (this one refuses calls meanwhile):
   * when `work` throws, or a statement of it failed, its statements are rolled back, the transaction goes on, and
   * this rejects with the error; otherwise the savepoint is released and this resolves with what `work` returned.
   * Savepoints nest.
   */
  savepoint<T>(work: (client: TransactionClient) => Promise<T>): Promise<T>;
}

/** A statement in pg's object form. */
export interface TransactionQuery {
  /** The statement, with `$1`… parameters. */
  text: string;
  /** Its parameters. */
  values?: unknown[];
  /** `'array'`: each row as an array of values instead of an object. */
  rowMode?: 'array';
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
   * Stores `position` under the fence even when it is below the stored one (the topic's sequence restarted: see
   * `SequenceProvider.resetSequence`); false when the lease is no longer held (nothing was written). Optional: without
   * it the position stays the old sequence's until the new one passes it (the SDK warns once per topic).
   */
  resetPosition?(position: number): Promise<boolean>;
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
   * `work`'s client is a guard over the transaction (see {@link TransactionClient}), closed once `work` settled.
   * Undefined when the coordinator cannot (its store is not a database).
   */
  transaction?<T>(position: number, work: (client: TransactionClient) => Promise<T>): Promise<T>;
}
