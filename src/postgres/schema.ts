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

/** A set of the SDK's tables: their names in the schema, and the SQL that creates them (given the quoted schema). */
export interface SchemaTables {
  readonly tables: readonly string[];
  readonly sql: (schema: string) => string;
}

/** The tables of positions and leases ({@link schemaSql}). */
const LEASE_TABLES: SchemaTables = { tables: ['topics', 'members'], sql: schemaSql };

/**
 * Creates the tables of `made` (by default those of positions and leases) when missing (idempotent, under a
 * transaction-scoped advisory lock).
 */
export async function ensureSchema(pool: Pool, schema: string, made: SchemaTables = LEASE_TABLES): Promise<void> {
  const { client, release } = await checkout(pool, 'connect');
  try {
    // Tables made ahead by a DBA: nothing to create, and a user without DDL rights must not be asked to.
    const present = await client.query<{ ok: boolean }>(
      'SELECT bool_and(to_regclass(t) IS NOT NULL) AS ok FROM unnest($1::text[]) AS t',
      [made.tables.map((table) => `${schema}.${table}`)],
    );
    if (present.rows[0]?.ok === true) return;
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [DDL_LOCK]);
    await client.query(made.sql(schema));
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw databaseError(`create the tables in schema ${schema}`, err);
  } finally {
    release();
  }
}
