import type { PoolClient } from 'pg';
import { WatchError, errorMessage } from '../core/errors';
import type { TopicLease, TransactionClient } from '../state/coordinator';
import type { Checkout } from './connection';
import type { LeaseTable } from './lease-table';
import { beginTransaction, outcomeOf, runGuarded, TransactionEnded } from './transaction-guard';

/** What a lease needs of the coordinator that won it. */
export interface LeaseKeeper {
  readonly memberId: string;
  readonly leaseMs: number;
  /** The lease rows on the application's pool, where the handlers' transactions run too. */
  readonly fencedWrites: LeaseTable;
  /** A connection for a transaction of this lease (see transaction-connection.ts). */
  connect(action: string, signal: AbortSignal): Promise<Checkout>;
  /** The lease ended here: forgotten, and its row given back if it is still this member's. */
  forget(lease: ActiveLease): Promise<void>;
}

/** Inside a transaction: its fenced position write found no row (the lease is another member's now). */
class FencedOff extends Error {}

/**
 * A lease this member holds (see {@link TopicLease}): its fenced position writes, the transactions of transactional
 * handlers under it, the hand-off the coordinator asks for, and its end.
 */
export class ActiveLease implements TopicLease {
  readonly owner: string;
  private readonly table: LeaseTable;
  private readonly controller = new AbortController();
  private readonly handOffListeners: Array<() => void> = [];
  private handOffAsked = false;

  constructor(
    readonly topic: string,
    readonly epoch: number,
    readonly position: number | undefined,
    private readonly keeper: LeaseKeeper,
  ) {
    this.owner = keeper.memberId;
    this.table = keeper.fencedWrites;
  }

  /** How long the lease lasts without a renewal: what a transaction of it may sit idle at most. */
  get leaseMs(): number {
    return this.keeper.leaseMs;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  async writePosition(position: number): Promise<boolean> {
    if (this.signal.aborted) return false;
    if (await this.table.writePosition(this.topic, this.owner, this.epoch, position)) return true;
    await this.lost(
      `the write of position ${position} was fenced off (0 rows): another member holds it, or it ran out`,
    );
    return false;
  }

  async resetPosition(position: number): Promise<boolean> {
    if (this.signal.aborted) return false;
    if (await this.table.resetPosition(this.topic, this.owner, this.epoch, position)) return true;
    await this.lost(
      `the reset of the position to ${position} was fenced off (0 rows): another member holds it, or it ran out`,
    );
    return false;
  }

  async transaction<T>(position: number, work: (client: TransactionClient) => Promise<T>): Promise<T> {
    if (this.signal.aborted) throw this.signal.reason;
    let taken: Checkout;
    try {
      taken = await this.keeper.connect(`begin a transaction for ${this.topic}`, this.signal);
    } catch (err) {
      await this.databaseFailed(position, err);
      throw err;
    }
    const { client, release } = taken;
    let result: T;
    let xid: string | undefined;
    try {
      xid = await beginTransaction(client);
      // The handler gets a guard over the transaction, never the client (see transaction-guard.ts).
      result = await runGuarded(client, xid, `the transaction of position ${position} of ${this.topic}`, work);
      // The fenced write locks the topic's row until COMMIT: a member frozen before it (SIGSTOP, a paused VM) would
      // hold the lock, and no member could take the topic over. After a lease of idleness the server ends the
      // session and the transaction rolls back; the woken member's COMMIT fails and it gives the lease up.
      const leaseMs = this.keeper.leaseMs;
      if (!(await this.table.writePosition(this.topic, this.owner, this.epoch, position, client, leaseMs)))
        throw new FencedOff(`its transaction for position ${position} was fenced off (0 rows) and rolled back`);
    } catch (err) {
      // A rollback that fails means a broken connection: the pool must not hand it out again.
      const broken = await client.query('ROLLBACK').then(
        () => undefined,
        (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
      );
      if (err instanceof TransactionEnded && xid !== undefined && broken === undefined) {
        await this.ended(client, xid, position, err.message).finally(() => release());
        throw this.signal.reason; // the LEASE_LOST the lease ended with
      }
      release(broken);
      if (err instanceof FencedOff) {
        await this.lost(err.message);
        throw this.signal.reason; // the LEASE_LOST the lease ended with
      }
      if (broken !== undefined || (err instanceof WatchError && err.code === 'STATE_IO'))
        await this.databaseFailed(position, err);
      throw err;
    }
    try {
      await client.query('COMMIT');
    } catch (err) {
      release(true);
      // Whether it committed is unknown, and a retry could apply the effects twice: the topic stops here, and whoever
      // runs it next resumes from the position the database holds.
      const why = `the commit of position ${position} failed, its outcome unknown`;
      await this.lost(why);
      throw new WatchError('LEASE_LOST', `${this.owner} gave up the lease of ${this.topic}: ${why}`, { cause: err });
    }
    release();
    return result;
  }

  /**
   * A statement that slipped past the guard ended the transaction while the handler ran; a retry would not undo what
   * it committed. Committed: the position is stored now (fenced) so that the event does not run again anywhere.
   * Rolled back: the event runs again where the topic runs next. Either way the topic steps down, as `LEASE_LOST`.
   */
  private async ended(client: PoolClient, xid: string, position: number, why: string): Promise<void> {
    let said = 'its outcome unknown';
    try {
      const outcome = await outcomeOf(client, xid);
      if (outcome === 'aborted') said = 'rolled back';
      else if (outcome === 'committed')
        said = (await this.table.writePosition(this.topic, this.owner, this.epoch, position, client))
          ? 'committed; its position stored after it'
          : 'committed; its position fenced off';
    } catch {
      // the connection is gone: unknown, as said
    }
    await this.lost(`${why} (${said})`);
  }

  onHandOff(listener: () => void): void {
    this.handOffListeners.push(listener);
    if (this.handOffAsked) listener();
  }

  /** The coordinator wants the topic elsewhere: tells the holder once (without a listener it is released now). */
  askHandOff(): void {
    if (this.handOffAsked) return;
    this.handOffAsked = true;
    if (this.handOffListeners.length === 0) void this.release();
    for (const listener of this.handOffListeners) listener();
  }

  async release(): Promise<void> {
    if (this.signal.aborted) return;
    this.end(new WatchError('LEASE_LOST', `the lease of ${this.topic} was released by ${this.owner}`));
    await this.keeper.forget(this);
  }

  /**
   * The database failed under a transaction: not the handler's failure, so not retried as one. The topic steps down
   * and runs again from the position the database holds once a lease is won anew.
   */
  private async databaseFailed(position: number, err: unknown): Promise<void> {
    await this.lost(`the database failed during the transaction for position ${position}: ${errorMessage(err)}`);
  }

  /** The lease is lost (fenced off, or unsure): it ends here and its row is let go if it is still this member's. */
  private async lost(why: string): Promise<void> {
    if (this.signal.aborted) return;
    this.end(
      new WatchError('LEASE_LOST', `${this.owner} lost the lease of ${this.topic} (epoch ${this.epoch}): ${why}`),
    );
    await this.keeper.forget(this);
  }

  /** Ends the lease here (lost or released): the holder stops. */
  end(reason: WatchError): void {
    if (!this.signal.aborted) this.controller.abort(reason);
  }
}
