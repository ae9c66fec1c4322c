import type { SequenceProvider } from '../state/sequence-provider';
import { WatchError } from '../core/errors';
import {
  databaseError,
  endPool,
  resolveConnection,
  type PostgresConnection,
  type PostgresConnectionOptions,
} from './connection';
import { ensureSchema } from './schema';

/** Options of {@link PostgresSequenceStore}. */
export type PostgresSequenceStoreOptions = PostgresConnectionOptions;

/**
 * Positions in PostgreSQL, for a single replica that wants them in its database rather than a file (several
 * replicas take a `PostgresCoordinator`, which fences them). One row per topic in `<schema>.topics`; a write only
 * moves a position forward (`WHERE position < $new`, checked by the database, so writes in flight together may land
 * in any order), except a reset when the topic's sequence restarted. The tables are created on first use unless they
 * exist (docs/replicas.md shows the SQL).
 */
export class PostgresSequenceStore implements SequenceProvider {
  private readonly db: PostgresConnection;
  private ready: Promise<void> | undefined;
  private closed = false;

  /** Validates the options (`INVALID_CONFIG` naming the field, never the password); connects on first use. */
  constructor(options: PostgresSequenceStoreOptions) {
    this.db = resolveConnection(options, 'PostgresSequenceStore');
  }

  async getSequence(topic: string): Promise<number | undefined> {
    await this.prepare();
    let rows: Array<{ position: string | null }>;
    try {
      ({ rows } = await this.db.pool.query<{ position: string | null }>(
        `SELECT position FROM ${this.db.schema}.topics WHERE topic = $1`,
        [topic],
      ));
    } catch (err) {
      throw databaseError(`read the position of ${topic}`, err);
    }
    const raw = rows[0]?.position;
    if (raw === undefined || raw === null) return undefined;
    const position = Number(raw);
    if (!Number.isSafeInteger(position) || position < 0)
      throw new WatchError('STATE_CORRUPT', `PostgreSQL: the position of ${topic} is not a sequence id (${raw})`);
    return position;
  }

  async setSequence(topic: string, position: number): Promise<void> {
    await this.prepare();
    try {
      await this.db.pool.query(
        `INSERT INTO ${this.db.schema}.topics AS t (topic, position) VALUES ($1, $2)
         ON CONFLICT (topic) DO UPDATE SET position = EXCLUDED.position, updated_at = now()
         WHERE t.position IS NULL OR t.position < EXCLUDED.position`,
        [topic, position],
      );
    } catch (err) {
      throw databaseError(`store the position of ${topic}`, err);
    }
  }

  /** Stores `position` even below the stored one: the topic's sequence restarted (see `SequenceProvider`). */
  async resetSequence(topic: string, position: number): Promise<void> {
    await this.prepare();
    try {
      await this.db.pool.query(
        `INSERT INTO ${this.db.schema}.topics AS t (topic, position) VALUES ($1, $2)
         ON CONFLICT (topic) DO UPDATE SET position = EXCLUDED.position, updated_at = now()`,
        [topic, position],
      );
    } catch (err) {
      throw databaseError(`move the position of ${topic} back to ${position}`, err);
    }
  }

  /** Ends the pool it made, abandoning connects under way (a pool the application gave stays open). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.db.owned) await endPool(this.db.pool);
  }

  private prepare(): Promise<void> {
    if (this.closed) return Promise.reject(new WatchError('CLOSED', 'the PostgresSequenceStore is closed'));
    // A failed preparation is tried again by the next call (the database may come back).
    this.ready ??= ensureSchema(this.db.pool, this.db.schema).catch((err: unknown) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }
}
