import type { Pool, PoolClient } from 'pg';
import { WatchError } from '../core/errors';
import { databaseError, sqlState } from './connection';

/** A lease won: the epoch that fences every later write, and the position stored for the topic. */
export interface WonLease {
  epoch: number;
  position: number | undefined;
}

/** Who holds a topic's lease now, as the database judges it. */
export interface LeaseHolder {
  holder: string | undefined;
  epoch: number;
  /** Whether the lease ran out by the database's clock (a holder that stopped renewing). */
  expired: boolean;
  position: number | undefined;
}

/** Something that can run a query: the pool, or a client inside a transaction. */
type Queryable = Pick<Pool | PoolClient, 'query'>;

/**
 * The lease rows of `<schema>.topics`: one per topic, holding the position with who may write it. Every renew and
 * every position write names the holder and the epoch it won (`WHERE holder = $me AND epoch = $epoch`) and a lease
 * not yet run out by the database's clock; a takeover bumps the epoch. A stale holder racing a takeover waits on the
 * row lock, re-checks its WHERE on the new row, and changes nothing (0 rows), so it can never write after a newer
 * holder. Positions only move forward, but for a fenced reset when the topic's sequence restarted. Times are
 * `clock_timestamp()`, the database's clock when the statement runs (`now()` is the start of the transaction: inside
 * a long transactional handler it would judge a lease by the past).
 */
export class LeaseTable {
  constructor(
    private readonly pool: Pool,
    private readonly schema: string,
  ) {}

  /**
   * Takes `topic`'s lease for `member` when nobody holds it or its holder's lease ran out; the epoch goes up by one.
   * Undefined when someone else holds it.
   */
  async acquire(topic: string, member: string, leaseMs: number): Promise<WonLease | undefined> {
    let rows: Array<{ epoch: string; position: string | null }>;
    try {
      ({ rows } = await this.run(`take the lease of ${topic}`, this.pool, (db) =>
        db.query<{ epoch: string; position: string | null }>(
          `INSERT INTO ${this.schema}.topics AS t (topic, holder, epoch, lease_until)
           VALUES ($1, $2, 1, clock_timestamp() + $3 * interval '1 millisecond')
           ON CONFLICT (topic) DO UPDATE
             SET holder = EXCLUDED.holder, epoch = t.epoch + 1, lease_until = EXCLUDED.lease_until, updated_at = now()
             WHERE t.holder IS NULL OR t.lease_until IS NULL OR t.lease_until <= clock_timestamp()
           RETURNING epoch, position`,
          [topic, member, leaseMs],
        ),
      ));
    } catch (err) {
      // 22003: the epoch is bigint's largest already, and the bump overflows. Nothing was taken.
      if (err instanceof WatchError && sqlState(err.cause) === '22003')
        throw new WatchError('STATE_CORRUPT', `PostgreSQL: the epoch of ${topic} cannot go up: ${err.message}`, {
          cause: err,
        });
      throw err;
    }
    const row = rows[0];
    if (row === undefined) return undefined;
    try {
      return { epoch: wholeNumber(row.epoch, topic, 'epoch'), position: optionalPosition(row.position, topic) };
    } catch (err) {
      // Taken in the database, but no member can fence with an epoch (or resume from a position) it cannot read
      // exactly: given back at once, by the epoch as the database holds it (a string: bigint, never a JS number).
      await this.run(`release the lease of ${topic}`, this.pool, (q) =>
        q.query(
          `UPDATE ${this.schema}.topics SET holder = NULL, lease_until = NULL, updated_at = now()
           WHERE topic = $1 AND holder = $2 AND epoch = $3::bigint`,
          [topic, member, row.epoch],
        ),
      ).catch(() => undefined); // the database away: the lease runs out by itself
      throw err;
    }
  }

  /** Extends the lease `member` holds at `epoch`; false when it no longer does (run out, or taken over). */
  async renew(
    topic: string,
    member: string,
    epoch: number,
    leaseMs: number,
    db: Queryable = this.pool,
  ): Promise<boolean> {
    const { rowCount } = await this.run(`renew the lease of ${topic}`, db, (q) =>
      q.query(
        `UPDATE ${this.schema}.topics SET lease_until = clock_timestamp() + $4 * interval '1 millisecond'
         WHERE topic = $1 AND holder = $2 AND epoch = $3 AND lease_until > clock_timestamp()`,
        [topic, member, epoch, leaseMs],
      ),
    );
    return rowCount === 1;
  }

  /** Gives the lease up at once (a graceful hand-off); false when `member` did not hold it at `epoch`. */
  async release(topic: string, member: string, epoch: number): Promise<boolean> {
    const { rowCount } = await this.run(`release the lease of ${topic}`, this.pool, (q) =>
      q.query(
        `UPDATE ${this.schema}.topics SET holder = NULL, lease_until = NULL, updated_at = now()
         WHERE topic = $1 AND holder = $2 AND epoch = $3`,
        [topic, member, epoch],
      ),
    );
    return rowCount === 1;
  }

  /**
   * Stores `position` for `topic` if `member` still holds the lease at `epoch` (and it has not run out); a position
   * not above the stored one leaves it as it is. False when fenced: nothing was written. `db` may be a client in a
   * transaction (a transactional handler's), whose row lock then holds off a takeover until it commits: give
   * `idleLimitMs` there, and the same statement (no extra round trip per event) sets the transaction's
   * `idle_in_transaction_session_timeout`, so that a member frozen before its COMMIT does not hold the lock for ever.
   */
  async writePosition(
    topic: string,
    member: string,
    epoch: number,
    position: number,
    db: Queryable = this.pool,
    idleLimitMs?: number,
  ): Promise<boolean> {
    const limited = idleLimitMs !== undefined;
    const { rowCount } = await this.run(`store the position of ${topic}`, db, (q) =>
      q.query(
        `${limited ? "WITH idle AS (SELECT set_config('idle_in_transaction_session_timeout', $5, true)) " : ''}
         UPDATE ${this.schema}.topics
         SET position = CASE WHEN position IS NULL OR position < $4 THEN $4 ELSE position END, updated_at = now()
         ${limited ? 'FROM idle ' : ''}WHERE topic = $1 AND holder = $2 AND epoch = $3 AND lease_until > clock_timestamp()`,
        limited ? [topic, member, epoch, position, String(idleLimitMs)] : [topic, member, epoch, position],
      ),
    );
    return rowCount === 1;
  }

  /**
   * Stores `position` for `topic` even below the stored one (the topic's sequence restarted), fenced like
   * {@link writePosition}: false when `member` no longer holds the lease at `epoch` (nothing was written).
   */
  async resetPosition(topic: string, member: string, epoch: number, position: number): Promise<boolean> {
    const { rowCount } = await this.run(`move the position of ${topic} back to ${position}`, this.pool, (q) =>
      q.query(
        `UPDATE ${this.schema}.topics SET position = $4, updated_at = now()
         WHERE topic = $1 AND holder = $2 AND epoch = $3 AND lease_until > clock_timestamp()`,
        [topic, member, epoch, position],
      ),
    );
    return rowCount === 1;
  }

  /** The lease of `topic` as the database sees it now. */
  async holderOf(topic: string): Promise<LeaseHolder> {
    const { rows } = await this.run(`read the lease of ${topic}`, this.pool, (q) =>
      q.query<{ holder: string | null; epoch: string; expired: boolean | null; position: string | null }>(
        `SELECT holder, epoch, (lease_until IS NULL OR lease_until <= clock_timestamp()) AS expired, position
         FROM ${this.schema}.topics WHERE topic = $1`,
        [topic],
      ),
    );
    const row = rows[0];
    if (row === undefined) return { holder: undefined, epoch: 0, expired: true, position: undefined };
    return {
      holder: row.holder ?? undefined,
      epoch: wholeNumber(row.epoch, topic, 'epoch'),
      expired: row.expired !== false,
      position: optionalPosition(row.position, topic),
    };
  }

  /**
   * The holders of `topics` as the database sees them now (topics without a row are left out); a row whose epoch is
   * not a safe whole number is `STATE_CORRUPT` for its topic alone.
   */
  async holders(topics: string[]): Promise<Map<string, { holder: string | undefined; epoch: number } | WatchError>> {
    const { rows } = await this.run('read the leases', this.pool, (q) =>
      q.query<{ topic: string; holder: string | null; epoch: string }>(
        `SELECT topic, CASE WHEN lease_until > clock_timestamp() THEN holder END AS holder, epoch
         FROM ${this.schema}.topics WHERE topic = ANY($1)`,
        [topics],
      ),
    );
    return new Map<string, { holder: string | undefined; epoch: number } | WatchError>(
      rows.map((r) => {
        try {
          return [r.topic, { holder: r.holder ?? undefined, epoch: wholeNumber(r.epoch, r.topic, 'epoch') }];
        } catch (err) {
          return [r.topic, err as WatchError];
        }
      }),
    );
  }

  private async run<T>(action: string, db: Queryable, query: (db: Queryable) => Promise<T>): Promise<T> {
    try {
      return await query(db);
    } catch (err) {
      throw databaseError(action, err);
    }
  }
}

/**
 * A `bigint` column as a number: pg returns it as a string, checked here. Anything not a whole number up to 2^53 - 1
 * (a row set by hand, another program) is corrupt state: read as a nearby number, an epoch would fence the wrong
 * holder, a position skip or repeat events.
 */
function wholeNumber(raw: string, topic: string, what: string): number {
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0)
    throw new WatchError(
      'STATE_CORRUPT',
      `PostgreSQL: the ${what} of ${topic} is ${raw}, not a whole number from 0 to 2^53 - 1: the row needs repair`,
    );
  return value;
}

function optionalPosition(raw: string | null, topic: string): number | undefined {
  return raw === null ? undefined : wholeNumber(raw, topic, 'position');
}
