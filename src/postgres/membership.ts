import type { Pool } from 'pg';
import { databaseError } from './connection';

/**
 * A member's row in `<schema>.members`: a heartbeat each round, the members alive read back for the rendezvous
 * assignment, the row deleted when the member leaves.
 */
export class Membership {
  /** Whether this member's row may exist (a heartbeat was sent): only then is there a row to delete. */
  joined = false;

  constructor(
    private readonly pool: Pool,
    private readonly schema: string,
    private readonly memberId: string,
    private readonly leaseMs: number,
  ) {}

  async heartbeat(): Promise<void> {
    this.joined = true;
    try {
      await this.pool.query(
        `INSERT INTO ${this.schema}.members AS m (member_id) VALUES ($1)
         ON CONFLICT (member_id) DO UPDATE SET heartbeat_at = clock_timestamp(), beats = m.beats + 1`,
        [this.memberId],
      );
    } catch (err) {
      throw databaseError(`write the heartbeat of member ${this.memberId}`, err);
    }
  }

  /** Members whose heartbeat is younger than a lease and that beat twice (hysteresis), and this one. */
  async liveMembers(): Promise<string[]> {
    try {
      const { rows } = await this.pool.query<{ member_id: string }>(
        `SELECT member_id FROM ${this.schema}.members
         WHERE heartbeat_at > clock_timestamp() - $1 * interval '1 millisecond' AND (beats >= 2 OR member_id = $2)`,
        [this.leaseMs, this.memberId],
      );
      return rows.map((r) => r.member_id);
    } catch (err) {
      throw databaseError('read the members', err);
    }
  }

  /** Deletes this member's row; a database away is no reason to fail (the row ages out of liveMembers()). */
  async leave(): Promise<void> {
    await this.pool
      .query(`DELETE FROM ${this.schema}.members WHERE member_id = $1`, [this.memberId])
      .catch(() => undefined);
  }
}
