import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Pool, PoolClient } from 'pg';
import { sleep, systemClock, type Clock, type Timer } from '../core/clock';
import { WatchError, errorMessage } from '../core/errors';
import { duration, invalid, nonEmptyString } from '../core/option-checks';
import type {
  Coordinator,
  CoordinatorTrouble,
  ObservedLease,
  TopicLease,
  TransactionClient,
} from '../state/coordinator';
import { assignTopics } from '../state/rendezvous';
import {
  checkout,
  databaseError,
  endPool,
  type Checkout,
  newPool,
  resolveConnection,
  type PostgresConnection,
  type PostgresConnectionOptions,
} from './connection';
import { LeaseTable } from './lease-table';
import { ensureSchema } from './schema';
import { beginTransaction, outcomeOf, runGuarded, TransactionEnded } from './transaction-guard';

/** Options of {@link PostgresCoordinator}. */
export interface PostgresCoordinatorOptions extends PostgresConnectionOptions {
  /** This member's id. @default hostname + a random suffix: a restarted process is a new member */
  memberId?: string;
  /** How long a lease lasts without renewal, judged by the database's clock. @default 15000 */
  leaseMs?: number;
  /** How often leases are renewed and the membership heartbeat is written. @default 2000 */
  renewMs?: number;
  /**
   * A member that could not renew for this long (its own monotonic clock) stops its topics before the lease can run
   * out: leaseMs > renewDeadlineMs > 1.2 x renewMs (client-go's ordering). @default two thirds of leaseMs
   */
  renewDeadlineMs?: number;
  /** Time, injectable for tests. @default the system clock, with performance.now() as the monotonic clock */
  clock?: Clock;
}

interface Held {
  lease: ActiveLease;
  /** The claim it was won for: only that claim's withdrawal gives it back. */
  claim: (lease: TopicLease) => void;
  /**
   * Taken although the hashing named this other member, which left it unheld (see `adoptable`): not handed back to
   * it (it does not claim the topic), only to another member the hashing names once the members changed.
   */
  adoptedFrom: string | undefined;
  /**
   * Stops the topic `renewDeadlineMs` after the last renewal that succeeded (or the acquisition) was sent, on this
   * member's own clock, however long a round takes.
   */
  deadline: Timer | undefined;
}

/**
 * SQLSTATE 53300 (too_many_connections): the role (`CONNECTION LIMIT`) or the server (`max_connections`) has no
 * connection left. It passes as others close theirs: waited out, never a reason to give a lease up at once.
 */
function noRoom(err: unknown): boolean {
  const cause: unknown = err instanceof WatchError ? err.cause : err;
  return typeof cause === 'object' && cause !== null && (cause as { code?: unknown }).code === '53300';
}

/** Inside a transaction: its fenced position write found no row (the lease is another member's now). */
class FencedOff extends Error {}

/** A lease this member holds (see {@link TopicLease}). */
class ActiveLease implements TopicLease {
  readonly owner: string;
  private readonly controller = new AbortController();
  private handOff: Array<() => void> = [];
  private handOffAsked = false;

  constructor(
    readonly topic: string,
    readonly epoch: number,
    readonly position: number | undefined,
    private readonly coordinator: PostgresCoordinator,
    private readonly table: LeaseTable,
    private readonly checkout: (action: string) => Promise<Checkout>,
  ) {
    this.owner = coordinator.memberId;
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
      taken = await this.checkout(`begin a transaction for ${this.topic}`);
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
      // The fenced write locks the topic's row until COMMIT. A member frozen in between (SIGSTOP, a VM paused, a
      // long GC) keeps its connection, and the lock, for as long as it is frozen: no other member could take the
      // topic over (its acquisition waits on that row). Past a lease of idleness the server ends the session, the
      // transaction rolls back, the lock goes; the woken member's COMMIT then fails and it gives the lease up.
      const leaseMs = this.coordinator.leaseMs;
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
      // Whether it committed is unknown: retrying could apply the effects twice. The topic stops here; whoever runs
      // it next resumes from the position the database holds, with or without this event.
      const why = `the commit of position ${position} failed, its outcome unknown`;
      await this.lost(why);
      throw new WatchError('LEASE_LOST', `${this.owner} gave up the lease of ${this.topic}: ${why}`, { cause: err });
    }
    release();
    return result;
  }

  /**
   * A statement that slipped past the guard ended the transaction while the handler ran: whatever it committed is
   * not undone by a retry, so there is none. Committed: the effects are in; the position is stored now (fenced, its
   * own statement) so that the event is not applied again, here or on another member. Rolled back: nothing of it is
   * in; the event runs again where the topic runs next. Either way the topic steps down here, told as `LEASE_LOST`.
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
    this.handOff.push(listener);
    if (this.handOffAsked) listener();
  }

  /** The coordinator wants the topic elsewhere: tells the holder once (without a listener it is released now). */
  askHandOff(): void {
    if (this.handOffAsked) return;
    this.handOffAsked = true;
    if (this.handOff.length === 0) void this.release();
    for (const listener of this.handOff) listener();
  }

  async release(): Promise<void> {
    if (this.signal.aborted) return;
    this.end(new WatchError('LEASE_LOST', `the lease of ${this.topic} was released by ${this.owner}`));
    await this.coordinator.forget(this, true);
  }

  /**
   * The database failed under a transaction (no connection, a connection broken mid-way, a statement of ours
   * refused): not the handler's failure, so not retried as one until the watch gives up. The topic steps down here
   * and runs again once a lease is won anew, from the position the database holds.
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
    await this.coordinator.forget(this, true);
  }

  /** Ends the lease here (lost or released): the holder stops. */
  end(reason: WatchError): void {
    if (!this.signal.aborted) this.controller.abort(reason);
  }
}

/**
 * Leases of topics among replicas, in PostgreSQL: one row per topic holds the holder, the epoch and the position
 * (see `lease-table.ts`); members heartbeat a row each, and each topic's owner is chosen by rendezvous hashing over
 * the members that survived two heartbeats. Hashing only steers; the lease rows keep a topic from ever being owned
 * twice. Renewals and heartbeats go through a pool of their own, so busy handlers cannot starve them.
 */
export class PostgresCoordinator implements Coordinator {
  readonly memberId: string;
  readonly transactional = true;
  private readonly db: PostgresConnection;
  /** Renewals and heartbeats: a pool of their own when the coordinator makes its pools. */
  private readonly renewals: Pool;
  private readonly leases: LeaseTable;
  private readonly fencedWrites: LeaseTable;
  /** How long a lease lasts without renewal, ms. */
  readonly leaseMs: number;
  private readonly renewMs: number;
  private readonly renewDeadlineMs: number;
  private readonly clock: Clock;
  private readonly monotonic: () => number;
  private readonly claims = new Map<string, (lease: TopicLease) => void>();
  /** How each claim is told that its topic cannot run here (its row is corrupt). */
  private readonly failures = new Map<(lease: TopicLease) => void, (error: WatchError) => void>();
  /** Claims told so: never tried again (a corrupt row is reported once, never taken round after round). */
  private readonly failed = new WeakSet<(lease: TopicLease) => void>();
  private readonly held = new Map<string, Held>();
  /** Holders of the topics claimed and not held here, as the last round saw them. */
  private seen = new Map<string, ObservedLease>();
  private timer: Timer | undefined;
  private ticking: Promise<void> | undefined;
  private state: 'new' | 'starting' | 'running' | 'closed' = 'new';
  /** Whether this member's row may exist (a heartbeat was sent): close() then deletes it. */
  private joined = false;
  private starting: Promise<void> | undefined;
  /** When the last round that met no database failure began (monotonic), for trouble(). */
  private lastGoodRound = 0;
  /** The database failure of the last round that met one, for trouble(). */
  private lastFailure: string | undefined;
  /** Since when (monotonic) each topic claimed and not held here has been seen held by no member. */
  private unheldSince = new Map<string, number>();

  /** Validates the options (`INVALID_CONFIG` naming the field, never the password); connects in `start()`. */
  constructor(options: PostgresCoordinatorOptions) {
    const what = 'PostgresCoordinator option';
    if (typeof options !== 'object' || options === null)
      throw invalid('options', 'must be an object', 'PostgresCoordinator argument');
    this.leaseMs = duration(options.leaseMs, 'leaseMs', 15_000, 100, undefined, what);
    this.renewMs = duration(options.renewMs, 'renewMs', 2_000, 10, undefined, what);
    if (this.leaseMs <= this.renewMs) throw invalid('leaseMs', `must be above renewMs (${this.renewMs})`, what);
    this.renewDeadlineMs = duration(
      options.renewDeadlineMs,
      'renewDeadlineMs',
      Math.round((this.leaseMs * 2) / 3),
      1,
      undefined,
      what,
    );
    if (this.renewDeadlineMs >= this.leaseMs || this.renewDeadlineMs <= 1.2 * this.renewMs)
      throw invalid(
        'renewDeadlineMs',
        `must be below leaseMs (${this.leaseMs}) and above 1.2 x renewMs (${1.2 * this.renewMs})`,
        what,
      );
    this.memberId =
      options.memberId === undefined
        ? `${hostname()}-${randomBytes(4).toString('hex')}`
        : nonEmptyString(options.memberId, 'memberId', what);
    const clock = options.clock;
    if (clock !== undefined && (typeof clock.now !== 'function' || typeof clock.setTimeout !== 'function'))
      throw invalid('clock', 'must have now() and setTimeout()', what);
    this.clock = clock ?? systemClock;
    // The renew deadline is judged on a monotonic clock: a wall clock set back would keep a cut-off member going.
    this.monotonic = clock === undefined ? () => performance.now() : () => clock.now();
    this.db = resolveConnection(options, 'PostgresCoordinator');
    // Renewals must answer before the deadline or count as failed: a query that hangs must not hold the round.
    this.renewals = this.db.owned
      ? newPool({
          connectionString: options.connectionString,
          max: 2,
          connectionTimeoutMillis: Math.min(this.renewDeadlineMs, this.db.connectTimeoutMs),
          query_timeout: this.renewDeadlineMs,
        })
      : this.db.pool;
    this.leases = new LeaseTable(this.renewals, this.db.schema);
    this.fencedWrites = new LeaseTable(this.db.pool, this.db.schema);
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
    this.joined = true;
    await this.heartbeat();
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
      const held = this.held.get(topic);
      if (held?.claim === onLease) await held.lease.release();
    };
  }

  observed(topic: string): ObservedLease | undefined {
    const held = this.held.get(topic);
    if (held !== undefined) return { owner: this.memberId, epoch: held.lease.epoch };
    const seen = this.seen.get(topic);
    const since = this.unheldSince.get(topic);
    if (seen === undefined || since === undefined) return seen;
    // A topic changes hands within a lease and a round or two: one held by nobody for two leases is not changing
    // hands, it is stuck (the member it belongs to does not take it).
    const unheld = this.monotonic() - since;
    if (unheld <= 2 * this.leaseMs) return seen;
    const stalled = `no member has held its lease for ${Math.round(unheld)} ms (more than 2 x leaseMs, ${2 * this.leaseMs} ms)`;
    return { ...seen, stalled };
  }

  /**
   * Closed, or its pool (the application's) ended: for good. Or no round (heartbeat, renewals, claims) went through
   * for longer than the renew deadline, the time after which a held lease is given up: this member then runs nothing,
   * and will not take anything over.
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
    return new Map([...this.held].map(([topic, h]) => [topic, h.lease.epoch]));
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    // A member that never sent a heartbeat has no row to delete (and its database may not even be reachable).
    const joined = this.joined;
    this.state = 'closed';
    this.timer?.cancel();
    // A round under way finishes first (its acquisitions are then released below), but never holds close() past the
    // renew deadline: a borrowed pool has no query timeout of ours.
    if (this.ticking !== undefined) await Promise.race([this.ticking, sleep(this.clock, this.renewDeadlineMs)]);
    await Promise.all([...this.held.values()].map((h) => h.lease.release()));
    if (joined)
      await this.renewals
        .query(`DELETE FROM ${this.db.schema}.members WHERE member_id = $1`, [this.memberId])
        .catch(() => undefined);
    // Connects under way (a join to a database that never answers) are abandoned, not waited for.
    if (this.db.owned) await Promise.all([endPool(this.db.pool), endPool(this.renewals)]);
  }

  /**
   * A lease ended here: forgotten, and given back to the database when released on purpose.
   * @internal
   */
  async forget(lease: ActiveLease, release: boolean): Promise<void> {
    const held = this.held.get(lease.topic);
    if (held?.lease !== lease) return;
    this.held.delete(lease.topic);
    held.deadline?.cancel();
    if (release) await this.leases.release(lease.topic, this.memberId, lease.epoch).catch(() => false);
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

  /** One round: heartbeat, renew what is held, hand off what belongs elsewhere, take what belongs here. */
  private async tick(): Promise<void> {
    const started = this.monotonic();
    let failed = false;
    try {
      await this.round((err) => {
        failed = true;
        this.lastFailure = errorMessage(err);
      });
    } finally {
      if (!failed) this.lastGoodRound = started; // for trouble()
    }
  }

  /**
   * A connection for a transaction: a role at its connection limit (53300) is waited out, a little longer each time,
   * while the lease lasts and for at most the renew deadline; a lease given up for it would be won again next round
   * and given up again (a step-down each round, each a new stream and catch-up). Nothing of the transaction has run
   * yet, so waiting changes no effect.
   */
  private async roomyCheckout(action: string, signal: AbortSignal): Promise<Checkout> {
    const started = this.monotonic();
    for (let attempt = 0; ; attempt++) {
      try {
        return await checkout(this.db.pool, action);
      } catch (err) {
        if (!noRoom(err)) throw err;
        const wait = Math.min(this.renewMs, 10 * 2 ** attempt) * (0.5 + this.clock.random() / 2);
        if (this.monotonic() - started + wait > this.renewDeadlineMs || signal.aborted) throw err;
        if (!(await sleep(this.clock, wait, signal))) throw err;
      }
    }
  }

  /** One round's work; every database failure it meets (and carries on after) is told to `failed`. */
  private async round(failed: (err: unknown) => void): Promise<void> {
    let members: string[];
    try {
      await this.heartbeat();
      members = await this.liveMembers();
    } catch (err) {
      failed(err);
      return; // the database is away: renewals are retried next round, each lease's deadline stops it in time
    }
    for (const h of [...this.held.values()]) {
      try {
        const sent = this.monotonic();
        if (await this.leases.renew(h.lease.topic, this.memberId, h.lease.epoch, this.leaseMs)) {
          if (this.held.get(h.lease.topic) === h) this.armDeadline(h, sent);
        } else this.lose(h, 'another member holds it now, or it ran out');
      } catch (err) {
        failed(err); // retried next round; the deadline decides
      }
    }
    const owners = assignTopics([...this.claims.keys()], members);
    for (const [topic, h] of this.held) {
      const owner = owners.get(topic);
      if (owner !== undefined && owner !== this.memberId && owner !== h.adoptedFrom) h.lease.askHandOff();
    }
    await this.observe(failed);
    for (const [topic, onLease] of this.claims) {
      const owner = owners.get(topic);
      const adoptedFrom = owner === this.memberId ? undefined : owner;
      if (this.held.has(topic) || this.failed.has(onLease) || (adoptedFrom !== undefined && !this.adoptable(topic)))
        continue;
      let won;
      const sent = this.monotonic();
      try {
        won = await this.leases.acquire(topic, this.memberId, this.leaseMs);
      } catch (err) {
        // A corrupt row (given back already) fails the same way every round: told, and not tried again.
        if (err instanceof WatchError && err.code === 'STATE_CORRUPT') this.fail(onLease, err);
        else failed(err); // the database is away: tried again next round
        continue;
      }
      if (won === undefined) continue;
      if (this.state !== 'running' || this.claims.get(topic) !== onLease) {
        // Closed (or the claim withdrawn) while it was being taken: given back at once, not left to run out.
        await this.leases.release(topic, this.memberId, won.epoch).catch(() => false);
        continue;
      }
      const lease: ActiveLease = new ActiveLease(topic, won.epoch, won.position, this, this.fencedWrites, (action) =>
        this.roomyCheckout(action, lease.signal),
      );
      const held: Held = { lease, claim: onLease, deadline: undefined, adoptedFrom };
      this.held.set(topic, held);
      this.unheldSince.delete(topic); // held from now: a later wait for it starts anew
      this.armDeadline(held, sent);
      try {
        onLease(lease);
      } catch {
        void lease.release();
      }
    }
  }

  /**
   * Whether this member takes `topic` although the hashing names another member: nobody has held it for 3 x leaseMs
   * (a lease past the point where `observed()` calls it stalled). Members may claim different topics (a rolling
   * deploy that adds one: the old replicas do not claim it); hashing over all members may give a topic to one that
   * does not claim it, and without this it would run nowhere for as long as that member lives.
   */
  private adoptable(topic: string): boolean {
    const since = this.unheldSince.get(topic);
    return since !== undefined && this.monotonic() - since > 3 * this.leaseMs;
  }

  /**
   * Notes who holds the topics claimed here and held elsewhere (for `status()` of a standby), and since when each
   * has been held by nobody (for its `stalled`).
   */
  private async observe(failed: (err: unknown) => void): Promise<void> {
    const waiting = [...this.claims.keys()].filter((t) => !this.held.has(t));
    if (waiting.length === 0) {
      this.seen = new Map();
      this.unheldSince = new Map();
      return;
    }
    try {
      const holders = await this.leases.holders(waiting);
      const seen = new Map<string, ObservedLease>();
      const now = this.monotonic();
      const unheldSince = new Map<string, number>();
      for (const t of waiting) {
        const h = holders.get(t);
        if (h instanceof WatchError) {
          const onLease = this.claims.get(t);
          if (onLease !== undefined) this.fail(onLease, h);
          continue;
        }
        seen.set(t, { owner: h?.holder, epoch: h?.epoch ?? 0 });
        if (h?.holder === undefined) unheldSince.set(t, this.unheldSince.get(t) ?? now);
      }
      this.seen = seen;
      this.unheldSince = unheldSince;
    } catch (err) {
      failed(err); // status() keeps what it saw last
      // Nobody could take a topic while the database was away: a wait for it counts from the next look.
      this.unheldSince = new Map();
    }
  }

  /** The topic of `onLease`'s claim cannot run on any member (its row is corrupt): told once, never tried again. */
  private fail(onLease: (lease: TopicLease) => void, error: WatchError): void {
    if (this.failed.has(onLease)) return;
    this.failed.add(onLease);
    try {
      this.failures.get(onLease)?.(error);
    } catch {
      // the claimant's own failure: it is told no more than once either way
    }
  }

  /** The lease runs from `sent`: without a renewal that succeeds, the topic stops here `renewDeadlineMs` after it. */
  private armDeadline(h: Held, sent: number): void {
    h.deadline?.cancel();
    const left = Math.max(0, this.renewDeadlineMs - (this.monotonic() - sent));
    h.deadline = this.clock.setTimeout(() => {
      if (this.held.get(h.lease.topic) === h) this.lose(h, `could not renew within ${this.renewDeadlineMs} ms`);
    }, left);
  }

  private lose(h: Held, why: string): void {
    h.deadline?.cancel();
    if (this.held.get(h.lease.topic) === h) this.held.delete(h.lease.topic);
    h.lease.end(new WatchError('LEASE_LOST', `${this.memberId} lost the lease of ${h.lease.topic}: ${why}`));
  }

  private async heartbeat(): Promise<void> {
    try {
      await this.renewals.query(
        `INSERT INTO ${this.db.schema}.members AS m (member_id) VALUES ($1)
         ON CONFLICT (member_id) DO UPDATE SET heartbeat_at = clock_timestamp(), beats = m.beats + 1`,
        [this.memberId],
      );
    } catch (err) {
      throw databaseError(`write the heartbeat of member ${this.memberId}`, err);
    }
  }

  /** Members whose heartbeat is younger than a lease and that survived two heartbeats (and this one). */
  private async liveMembers(): Promise<string[]> {
    try {
      const { rows } = await this.renewals.query<{ member_id: string }>(
        `SELECT member_id FROM ${this.db.schema}.members
         WHERE heartbeat_at > clock_timestamp() - $1 * interval '1 millisecond' AND (beats >= 2 OR member_id = $2)`,
        [this.leaseMs, this.memberId],
      );
      return rows.map((r) => r.member_id);
    } catch (err) {
      throw databaseError('read the members', err);
    }
  }
}
