import type { Pool } from 'pg';
import { checkout, databaseError } from './connection';

/**
 * The SDK's tables, as SQL a DBA can run ahead with a user that has DDL rights (docs/replicas.md shows it for
 * `watch_manager`). One row per topic: its position, and (for a coordinator) who holds its lease, at which epoch,
 * until when (the database's clock); one row per coordinator member, its heartbeat. Positions and epochs are
 * `bigint`: sequence ids go up to 2^53 - 1.
 */
export function schemaSql(schema: string): string {
  return `CREATE SCHEMA IF NOT EXISTS ${schema};
CREATE TABLE IF NOT EXISTS ${schema}.topics (
  topic       text PRIMARY KEY,
  position    bigint,
  holder      text,
  epoch       bigint NOT NULL DEFAULT 0,
  lease_until timestamptz,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS ${schema}.members (
  member_id    text PRIMARY KEY,
  joined_at    timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now(),
  beats        bigint NOT NULL DEFAULT 0
);`;
}

// One constant key for pg_advisory_xact_lock: two processes creating the tables at once wait for each other
// instead of failing on a duplicate type (CREATE ... IF NOT EXISTS is not atomic against a concurrent create).
const DDL_LOCK = 7_363_021_912;

/** Creates the tables when missing (idempotent, under a transaction-scoped advisory lock). */
export async function ensureSchema(pool: Pool, schema: string): Promise<void> {
  const { client, release } = await checkout(pool, 'connect');
  try {
    // Tables made ahead by a DBA: nothing to create, and a user without DDL rights must not be asked to.
    const present = await client.query<{ ok: boolean }>(
      'SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL AS ok',
      [`${schema}.topics`, `${schema}.members`],
    );
    if (present.rows[0]?.ok === true) return;
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [DDL_LOCK]);
    await client.query(schemaSql(schema));
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw databaseError(`create the tables in schema ${schema}`, err);
  } finally {
    release();
  }
}
