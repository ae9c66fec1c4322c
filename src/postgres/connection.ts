import { Pool, type PoolClient, type PoolConfig } from 'pg';
import { WatchError, errorMessage } from '../errors';
import { registerSecret } from '../logging/redact';
import { invalid, isRecord } from '../option-checks';

/** How a PostgreSQL-backed part reaches its database: a connection string, or a pool the application owns. */
export interface PostgresConnectionOptions {
  /** `postgres://user:password@host:port/database`; the password is scrubbed from every log line and error. */
  connectionString?: string;
  /** An existing `pg.Pool` (not closed by the SDK). Give this or `connectionString`. */
  pool?: Pool;
  /**
   * The schema of the SDK's tables; created on first use when missing.
   * @default 'watch_manager'
   */
  schema?: string;
}

/** A pool to use, whether the SDK must end it, and the schema's quoted name. */
export interface PostgresConnection {
  pool: Pool;
  owned: boolean;
  /** The schema as a quoted SQL identifier. */
  schema: string;
}

const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/;

/** One validation step for the connection options of `what` (the class they are given to, for messages). */
export function resolveConnection(input: unknown, what: string): PostgresConnection {
  if (!isRecord(input)) throw invalid('options', 'must be an object', `${what} argument`);
  const { connectionString, pool, schema = 'watch_manager' } = input as PostgresConnectionOptions;
  if ((connectionString === undefined) === (pool === undefined))
    throw invalid('connectionString', 'give connectionString or pool (a pg.Pool), exactly one', `${what} option`);
  if (typeof schema !== 'string' || !SCHEMA.test(schema))
    throw invalid('schema', 'must be a lower-case SQL identifier (letters, digits, _; at most 63)', `${what} option`);
  if (pool !== undefined) {
    if (typeof pool !== 'object' || pool === null || typeof pool.query !== 'function')
      throw invalid('pool', 'must be a pg.Pool', `${what} option`);
    return { pool, owned: false, schema: `"${schema}"` };
  }
  if (typeof connectionString !== 'string' || connectionString.trim() === '')
    throw invalid('connectionString', 'must be a non-empty string', `${what} option`);
  let url: URL;
  try {
    url = new URL(connectionString);
  } catch {
    // Never repeat the value: it may hold the password.
    throw invalid('connectionString', 'must be a postgres:// or postgresql:// URL', `${what} option`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')
    throw invalid('connectionString', 'must be a postgres:// or postgresql:// URL', `${what} option`);
  if (url.password !== '') {
    registerSecret(decodeURIComponent(url.password), { pinned: true });
    registerSecret(url.password, { pinned: true });
  }
  return {
    pool: newPool({ connectionString, max: 4, connectionTimeoutMillis: 10_000 }),
    owned: true,
    schema: `"${schema}"`,
  };
}

/** A pool the SDK owns (and ends). */
/** A client taken from a pool, and how to give it back. */
export interface Checkout {
  client: PoolClient;
  /** Gives it back; `broken` (an error, or true) makes the pool drop its connection instead of reusing it. */
  release(this: void, broken?: Error | boolean): void;
}

/**
 * Takes a client from `pool` for several statements (a transaction). While it is taken the pool does not listen for
 * its errors: a connection the server ends meanwhile (a restart) would emit one with no listener and crash the
 * process. Here it is listened for, the client counted as broken, and the next statement fails typed.
 */
export async function checkout(pool: Pool, action: string): Promise<Checkout> {
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw databaseError(action, err);
  }
  let failed: Error | undefined;
  const onError = (err: Error): void => {
    failed = err;
  };
  client.on('error', onError);
  return {
    client,
    release: (broken) => {
      client.removeListener('error', onError);
      client.release(broken ?? failed);
    },
  };
}

export function newPool(config: PoolConfig): Pool {
  const pool = new Pool(config);
  // An idle client's error (the server restarted, the network dropped) is emitted on the pool: without a listener
  // it would crash the process. The next query gets a new client and reports its own failure.
  pool.on('error', () => undefined);
  return pool;
}

/** SQLSTATEs that are a wrong setting, not a passing failure: the setting each points to, and what to do. */
const CONFIG_STATES: Readonly<Record<string, [setting: string, hint: string]>> = {
  '28P01': ['connectionString', 'the database refused the credentials'],
  '28000': ['connectionString', 'the database refused this user (pg_hba.conf)'],
  '3D000': ['connectionString', 'the database does not exist'],
  '42501': [
    'schema',
    "the user lacks a privilege: create the tables ahead with the README's SQL and grant SELECT, INSERT, UPDATE, DELETE on them",
  ],
};

/** Network failures of the connection itself: the database cannot be reached at the address given. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET']);

/**
 * A database failure as a typed error, naming what was being done, never the password: a wrong setting (credentials,
 * database, privileges) is `INVALID_CONFIG` naming it; anything else `STATE_IO` (an unreachable database names the
 * `connectionString` it was looked for at).
 */
export function databaseError(action: string, err: unknown): WatchError {
  const code = isRecord(err) && typeof err.code === 'string' ? err.code : undefined;
  const config = code === undefined ? undefined : CONFIG_STATES[code];
  if (config !== undefined) {
    const [setting, hint] = config;
    return new WatchError(
      'INVALID_CONFIG',
      `PostgreSQL: cannot ${action}: ${hint} (${code}); check the option '${setting}': ${errorMessage(err)}`,
      { cause: err },
    );
  }
  if (code !== undefined && UNREACHABLE.has(code))
    return new WatchError(
      'STATE_IO',
      `PostgreSQL: cannot ${action}: the database of the option 'connectionString' cannot be reached (${code})`,
      { cause: err },
    );
  const suffix = code === undefined ? '' : ` (${code})`;
  return new WatchError('STATE_IO', `PostgreSQL: cannot ${action}: ${errorMessage(err)}${suffix}`, { cause: err });
}
