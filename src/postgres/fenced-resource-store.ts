import type { Resource } from '../core/resource';
import { WatchError } from '../core/errors';
import type { TopicLease, TransactionClient } from '../state/coordinator';
import type { ResourceStore, StoredCache, StoredChange } from '../state/resource-store';
import { ActiveLease } from './active-lease';
import { databaseError } from './connection';
import { netChanges } from './resource-batches';
import type { ResourceWrites } from './resource-writes';
import { checkChanges, checkPosition, checkResource, checkTopic } from './resource-store-arguments';

/**
 * Which database a connection is in: its name and its server's start time (two clusters never share both). Asked
 * through the store's pool and through the lease's transaction, once per lease.
 */
export const DATABASE_IDENTITY = `SELECT current_database() || ' started ' || pg_postmaster_start_time()::text AS id`;

/** How long a fenced write may sit idle in a transaction when its lease does not say (another coordinator's). */
const DEFAULT_IDLE_LIMIT_MS = 30_000;

/** What a {@link FencedResourceStore} gets of the `PostgresResourceStore` it fences. */
export interface FencedStoreBase {
  load(topic: string): Promise<StoredCache | undefined>;
  writes: ResourceWrites;
  /** The store's tables made (or found). */
  prepare(): Promise<void>;
  /** {@link DATABASE_IDENTITY} through the store's own pool. */
  database(): Promise<string>;
}

/**
 * A `PostgresResourceStore`'s writes under one lease (`store.fenced(lease)`): each `replace` and `apply` runs in the
 * lease's transaction — the resource statements, then the position written under the fence (holder, epoch, lease
 * not run out), then COMMIT — so a member deposed meanwhile matches no lease row, rolls back, and gets `LEASE_LOST`:
 * the rows of a topic only ever hold what the lease's holder wrote. The transaction's first statement limits how
 * long it may sit idle: a member frozen mid-write (SIGSTOP, a paused VM) holds the topic's row locks, and the next
 * holder's writes wait for them, only until the server ends its session. Reads are the store's own.
 */
export class FencedResourceStore implements ResourceStore {
  private readonly transaction: <T>(position: number, work: (client: TransactionClient) => Promise<T>) => Promise<T>;
  private readonly idleLimitMs: number;
  /** Set once the lease's database was found to be the store's. */
  private sameDatabase = false;

  constructor(
    private readonly lease: TopicLease,
    private readonly base: FencedStoreBase,
  ) {
    const transaction = lease.transaction?.bind(lease);
    if (transaction === undefined)
      throw new WatchError(
        'INVALID_CONFIG',
        'PostgresResourceStore.fenced: the coordinator has no transactions (a PostgresCoordinator has)',
      );
    this.transaction = transaction;
    this.idleLimitMs = lease instanceof ActiveLease ? lease.leaseMs : DEFAULT_IDLE_LIMIT_MS;
  }

  load(topic: string): Promise<StoredCache | undefined> {
    return this.base.load(topic);
  }

  async replace(topic: string, resources: readonly Resource[], position: number): Promise<void> {
    checkTopic(topic, 'replace');
    checkPosition(position, 'replace');
    for (const resource of resources) checkResource(resource, 'replace');
    // The last of several resources of one self link wins, as a put of each in turn would leave it.
    const { puts } = netChanges(resources.map((resource) => ({ op: 'put', resource })));
    await this.underLease(`replace the resources of ${topic} at position ${position}`, position, (db) =>
      this.base.writes.replace(db, topic, puts, position),
    );
  }

  async apply(topic: string, changes: readonly StoredChange[], position: number): Promise<void> {
    checkTopic(topic, 'apply');
    checkPosition(position, 'apply');
    checkChanges(changes, 'apply');
    const net = netChanges(changes);
    await this.underLease(`apply ${changes.length} changes to ${topic} at position ${position}`, position, (db) =>
      this.base.writes.apply(db, topic, net, position),
    );
  }

  /**
   * Runs `work` in the lease's transaction, after the idle limit and (the first time) the database check. Typed
   * whatever fails: a connection the server ended under the transaction (its idle limit passed, a restart) ends the
   * lease with it, and pg says so with a plain Error; the write then rejects with the lease's `LEASE_LOST`.
   */
  private async underLease(
    action: string,
    position: number,
    work: (db: TransactionClient) => Promise<void>,
  ): Promise<void> {
    await this.base.prepare();
    const theirs = this.sameDatabase ? undefined : await this.base.database();
    try {
      await this.inTransaction(position, theirs, work);
    } catch (err) {
      if (err instanceof WatchError) throw err;
      const reason: unknown = this.lease.signal.aborted ? this.lease.signal.reason : undefined;
      if (reason instanceof WatchError) throw reason;
      throw databaseError(action, err);
    }
  }

  private async inTransaction(
    position: number,
    theirs: string | undefined,
    work: (db: TransactionClient) => Promise<void>,
  ): Promise<void> {
    await this.transaction(position, async (client) => {
      await client.query("SELECT set_config('idle_in_transaction_session_timeout', $1, true)", [
        String(this.idleLimitMs),
      ]);
      if (theirs !== undefined) {
        const { rows } = await client.query(DATABASE_IDENTITY);
        const ours = (rows[0] as { id?: string } | undefined)?.id;
        if (ours !== theirs)
          throw new WatchError(
            'INVALID_CONFIG',
            `the PostgresResourceStore of ${this.lease.topic} is in another database than its coordinator (${theirs}, not ${String(ours)}): fenced writes need its tables in the coordinator's database`,
          );
        this.sameDatabase = true;
      }
      await work(client);
    });
  }
}
