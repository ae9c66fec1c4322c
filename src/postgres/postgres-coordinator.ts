import type { Pool } from 'pg';
import { sleep, type Clock, type Timer } from '../core/clock';
import { WatchError, errorMessage } from '../core/errors';
import type { Coordinator, CoordinatorTrouble, ObservedLease, TopicLease } from '../state/coordinator';
import { assignTopics } from '../state/rendezvous';
import { ActiveLease, type LeaseKeeper } from './active-lease';
import { endPool, newPool, resolveConnection, type PostgresConnection } from './connection';
import { resolveCoordinatorOptions, type PostgresCoordinatorOptions } from './coordinator-options';
import { HeldLeases, type Claim } from './held-leases';
import { LeaseTable } from './lease-table';
import { Membership } from './membership';
import { ensureSchema } from './schema';
import { StandbyTopics } from './standby-topics';
import { transactionConnection } from './transaction-connection';

/**
 * Leases of topics among replicas, in PostgreSQL: one row per topic holds the holder, the epoch and the position
 * (`lease-table.ts`); members heartbeat a row each (`membership.ts`), and each topic's owner is chosen by rendezvous
 * hashing over the members alive. Hashing only steers; the lease rows keep a topic from ever being owned twice. Every
 * round (each `renewMs`) heartbeats, renews what is held (`held-leases.ts`), hands off what belongs elsewhere, looks at
 * the topics held elsewhere (`standby-topics.ts`) and takes what belongs here.
 */
export class PostgresCoordinator implements Coordinator {
  readonly memberId: string;
  readonly transactional = true;
  /** How long a lease lasts without renewal, ms. */
  readonly leaseMs: number;
  private readonly renewMs: number;
  private readonly renewDeadlineMs: number;
  private readonly clock: Clock;
  private readonly monotonic: () => number;
  private readonly db: PostgresConnection;
  /**
   * The rounds' queries (heartbeats, renewals, acquisitions, looks): a pool of their own when the coordinator makes
   * its pools, so that busy handlers cannot starve them.
   */
  private readonly roundPool: Pool;
  /** The lease rows, on the rounds' pool. */
  private readonly leases: LeaseTable;
  private readonly membership: Membership;
  private readonly held: HeldLeases;
  private readonly standby: StandbyTopics;
  /** What each lease won needs of this coordinator. */
  private readonly keeper: LeaseKeeper;
  private readonly claims = new Map<string, Claim>();
  /** How each claim is told that its topic cannot run here (its row is corrupt). */
  private readonly failures = new Map<Claim, (error: WatchError) => void>();
  /** Claims told so: never tried again (a corrupt row is reported once, never taken round after round). */
  private readonly failed = new WeakSet<Claim>();
  private timer: Timer | undefined;
  private ticking: Promise<void> | undefined;
  private state: 'new' | 'starting' | 'running' | 'closed' = 'new';
  private starting: Promise<void> | undefined;
  /** When the last round that met no database failure began (monotonic), for trouble(). */
  private lastGoodRound = 0;
  /** The database failure of the last round that met one, for trouble(). */
  private lastFailure: string | undefined;

  /** Validates the options (`INVALID_CONFIG` naming the field, never the password); connects in `start()`. */
  constructor(options: PostgresCoordinatorOptions) {
    const timing = resolveCoordinatorOptions(options);
    this.memberId = timing.memberId;
    this.leaseMs = timing.leaseMs;
    this.renewMs = timing.renewMs;
    this.renewDeadlineMs = timing.renewDeadlineMs;
    this.clock = timing.clock;
    this.monotonic = timing.monotonic;
    this.db = resolveConnection(options, 'PostgresCoordinator');
    // Round queries must answer before the deadline or count as failed: a query that hangs must not hold the round.
    this.roundPool = this.db.owned
      ? newPool({
          connectionString: options.connectionString,
          max: 2,
          connectionTimeoutMillis: Math.min(this.renewDeadlineMs, this.db.connectTimeoutMs),
          query_timeout: this.renewDeadlineMs,
        })
      : this.db.pool;
    this.leases = new LeaseTable(this.roundPool, this.db.schema);
    this.membership = new Membership(this.roundPool, this.db.schema, this.memberId, this.leaseMs);
    this.held = new HeldLeases(this.leases, this.memberId, timing);
    this.standby = new StandbyTopics(this.leases, timing, (claim, error) => this.fail(claim, error));
    this.keeper = {
      memberId: this.memberId,
      leaseMs: this.leaseMs,
      fencedWrites: new LeaseTable(this.db.pool, this.db.schema),
      connect: (action, signal) => transactionConnection(this.db.pool, action, signal, timing),
      forget: (lease) => this.forget(lease),
    };
  }

  /** Joins (see {@link Coordinator.start}). Calls while it starts share one start; a failed one may be retried. */
  start(): Promise<void> {
    if (this.state === 'closed') return Promise.reject(new WatchError('CLOSED', 'the PostgresCoordinator is closed'));
    this.starting ??= this.join().catch((err: unknown) => {
      this.starting = undefined; // the database may come back: a later start() tries again
      if (this.state === 'starting') this.state = 'new';
      // Closed while joining: its connects were abandoned, and that is why it failed.
      if (this.state === 'closed') throw new WatchError('CLOSED', 'the PostgresCoordinator was closed while it joined');
      throw err;
    });
    return this.starting;
  }

  private async join(): Promise<void> {
    this.state = 'starting';
    await ensureSchema(this.db.pool, this.db.schema);
    await this.membership.heartbeat();
    if (this.state !== 'starting') return; // closed meanwhile
    this.state = 'running';
    this.lastGoodRound = this.monotonic();
    this.schedule(0);
  }

  claim(
    topic: string,
    onLease: (lease: TopicLease) => void,
    onFailure?: (error: WatchError) => void,
  ): () => Promise<void> {
    this.claims.set(topic, onLease);
    if (onFailure !== undefined) this.failures.set(onLease, onFailure);
    this.schedule(0);
    return async () => {
      this.failures.delete(onLease);
      // A later claim of the same topic (a watch registered again while the last one closed) is not this one's:
      // neither it nor a lease won for it is touched.
      if (this.claims.get(topic) === onLease) this.claims.delete(topic);
      await this.held.heldFor(topic, onLease)?.release();
    };
  }

  observed(topic: string): ObservedLease | undefined {
    const lease = this.held.get(topic);
    if (lease !== undefined) return { owner: this.memberId, epoch: lease.epoch };
    return this.standby.observed(topic);
  }

  /**
   * Closed, or its pool (the application's) ended: for good. Or no round went through for longer than the renew
   * deadline, after which a held lease is given up: this member then runs nothing, and will not take anything over.
   */
  trouble(): CoordinatorTrouble | undefined {
    if (this.state === 'closed')
      return {
        reason: `the coordinator of member ${this.memberId} is closed: it claims and renews nothing`,
        final: true,
      };
    // pg's pool refuses every query once end() was called; the application gave it, only it could give another.
    if (!this.db.owned && this.db.pool.ending)
      return {
        reason: `the pg.Pool given to the coordinator of member ${this.memberId} (option 'pool') was ended: it claims and renews nothing`,
        final: true,
      };
    if (this.state !== 'running') return undefined;
    const since = this.monotonic() - this.lastGoodRound;
    if (since <= this.renewDeadlineMs) return undefined;
    const why = this.lastFailure === undefined ? '' : `: ${this.lastFailure}`;
    return {
      reason: `member ${this.memberId} could not renew or claim leases for ${Math.round(since)} ms (more than renewDeadlineMs, ${this.renewDeadlineMs} ms)${why}`,
      final: false,
    };
  }

  /** The leases held now (topic → epoch). */
  holding(): Map<string, number> {
    return this.held.epochs();
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    // A member that never sent a heartbeat has no row to delete (and its database may not even be reachable).
    const joined = this.membership.joined;
    this.state = 'closed';
    this.timer?.cancel();
    // A round under way finishes first (its acquisitions are then released below), but never holds close() past the
    // renew deadline: a borrowed pool has no query timeout of ours.
    if (this.ticking !== undefined) await Promise.race([this.ticking, sleep(this.clock, this.renewDeadlineMs)]);
    await Promise.all(this.held.all().map((lease) => lease.release()));
    if (joined) await this.membership.leave();
    // Connects under way (a join to a database that never answers) are abandoned, not waited for.
    if (this.db.owned) await Promise.all([endPool(this.db.pool), endPool(this.roundPool)]);
  }

  /** A lease ended here: forgotten, and its row given back. */
  private async forget(lease: ActiveLease): Promise<void> {
    if (!this.held.remove(lease)) return;
    await this.leases.release(lease.topic, this.memberId, lease.epoch).catch(() => false);
    // A round soon (a topic given back may be taken by another claim here), but never one due sooner postponed.
    if (this.timer === undefined && this.ticking === undefined) this.schedule(this.renewMs);
  }

  private schedule(ms: number): void {
    if (this.state !== 'running') return;
    this.timer?.cancel();
    // Ref'd while topics are claimed: a member whose watches all stand by must live on to take them over; one
    // without claims must not keep a process from exiting.
    this.timer = this.clock.setTimeout(
      () => {
        this.timer = undefined;
        this.ticking ??= this.tick().finally(() => {
          this.ticking = undefined;
          this.schedule(this.renewMs);
        });
      },
      ms,
      { ref: this.claims.size > 0 },
    );
  }

  /** One round, and whether it met a database failure (for trouble()). */
  private async tick(): Promise<void> {
    const started = this.monotonic();
    let failed = false;
    try {
      await this.round((err) => {
        failed = true;
        this.lastFailure = errorMessage(err);
      });
    } finally {
      if (!failed) this.lastGoodRound = started;
    }
  }

  /** Heartbeat, renew what is held, hand off what belongs elsewhere, look at the rest, take what belongs here. */
  private async round(onDatabaseError: (err: unknown) => void): Promise<void> {
    let members: string[];
    try {
      await this.membership.heartbeat();
      members = await this.membership.liveMembers();
    } catch (err) {
      onDatabaseError(err);
      return; // the database is away: renewals are retried next round, each lease's deadline stops it in time
    }
    await this.held.renew(onDatabaseError);
    const owners = assignTopics([...this.claims.keys()], members);
    this.held.handOff(owners);
    await this.standby.observe(this.claims, this.held, onDatabaseError);
    await this.acquire(owners, onDatabaseError);
  }

  /** Takes the free leases of the topics the hashing gives this member (`owners`), and of those it adopts. */
  private async acquire(owners: Map<string, string>, onDatabaseError: (err: unknown) => void): Promise<void> {
    for (const [topic, onLease] of this.claims) {
      const owner = owners.get(topic);
      const adoptedFrom = owner === this.memberId ? undefined : owner;
      if (
        this.held.has(topic) ||
        this.failed.has(onLease) ||
        (adoptedFrom !== undefined && !this.standby.adoptable(topic))
      )
        continue;
      let won;
      const sent = this.monotonic();
      try {
        won = await this.leases.acquire(topic, this.memberId, this.leaseMs);
      } catch (err) {
        // A corrupt row (given back already) fails the same way every round: told, and not tried again.
        if (err instanceof WatchError && err.code === 'STATE_CORRUPT') this.fail(onLease, err);
        else onDatabaseError(err); // the database is away: tried again next round
        continue;
      }
      if (won === undefined) continue;
      if (this.state !== 'running' || this.claims.get(topic) !== onLease) {
        // Closed (or the claim withdrawn) while it was being taken: given back at once, not left to run out.
        await this.leases.release(topic, this.memberId, won.epoch).catch(() => false);
        continue;
      }
      const lease = new ActiveLease(topic, won.epoch, won.position, this.keeper);
      this.held.add(lease, onLease, adoptedFrom, sent);
      this.standby.taken(topic);
      try {
        onLease(lease);
      } catch {
        void lease.release();
      }
    }
  }

  /** The topic of `onLease`'s claim cannot run on any member (its row is corrupt): told once, never tried again. */
  private fail(onLease: Claim, error: WatchError): void {
    if (this.failed.has(onLease)) return;
    this.failed.add(onLease);
    try {
      this.failures.get(onLease)?.(error);
    } catch {
      // the claimant's own failure: it is told no more than once either way
    }
  }
}
