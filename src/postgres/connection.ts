import { Client, Pool, type ClientConfig, type PoolClient, type PoolConfig } from 'pg';
import { WatchError, errorMessage } from '../core/errors';
import { registerSecret } from '../logging/redact';
import { duration, invalid, isRecord } from '../core/option-checks';

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
  /**
   * How long a new connection may take to be made (TCP, TLS, authentication) before it counts as failed, naming
   * `connectionString` as unreachable. With `connectionString` only: a `pool` given has its own
   * `connectionTimeoutMillis`.
   * @default 10000
   */
  connectTimeoutMs?: number;
}

/** The defaults of {@link PostgresConnectionOptions}; each field's `@default` says the same. */
export const CONNECTION_DEFAULTS = {
  schema: 'watch_manager',
  connectTimeoutMs: 10_000,
} as const satisfies { readonly [K in keyof PostgresConnectionOptions]?: unknown };

/** A pool to use, whether the SDK must end it, and the schema's quoted name. */
export interface PostgresConnection {
  pool: Pool;
  owned: boolean;
  /** The schema as a quoted SQL identifier. */
  schema: string;
  /** The connect timeout of the pools the SDK makes, ms. */
  connectTimeoutMs: number;
}

const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/;

/** One validation step for the connection options of `what` (the class they are given to, for messages). */
export function resolveConnection(input: unknown, what: string): PostgresConnection {
  if (!isRecord(input)) throw invalid('options', 'must be an object', `${what} argument`);
  const { connectionString, pool, schema = CONNECTION_DEFAULTS.schema } = input as PostgresConnectionOptions;
  if ((connectionString === undefined) === (pool === undefined))
    throw invalid('connectionString', 'give connectionString or pool (a pg.Pool), exactly one', `${what} option`);
  if (typeof schema !== 'string' || !SCHEMA.test(schema))
    throw invalid('schema', 'must be a lower-case SQL identifier (letters, digits, _; at most 63)', `${what} option`);
  const timeout = (input as PostgresConnectionOptions).connectTimeoutMs;
  const connectTimeoutMs = duration(
    timeout,
    'connectTimeoutMs',
    CONNECTION_DEFAULTS.connectTimeoutMs,
    1,
    undefined,
    `${what} option`,
  );
  if (pool !== undefined) {
    if (typeof pool !== 'object' || pool === null || typeof pool.query !== 'function')
      throw invalid('pool', 'must be a pg.Pool', `${what} option`);
    if (timeout !== undefined)
      throw invalid(
        'connectTimeoutMs',
        'goes with connectionString: give the pool its connectionTimeoutMillis',
        `${what} option`,
      );
    return { pool, owned: false, schema: `"${schema}"`, connectTimeoutMs };
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
    pool: newPool({ connectionString, max: 4, connectionTimeoutMillis: connectTimeoutMs }),
    owned: true,
    schema: `"${schema}"`,
    connectTimeoutMs,
  };
}

/** A client taken from a pool, and how to give it back. */
export interface Checkout {
  client: PoolClient;
  /** Gives it back; `broken` (an error, or true) makes the pool drop its connection instead of reusing it. */
  release(this: void, broken?: Error | boolean): void;
}

/**
 * Takes a client from `pool` for several statements (a transaction). While it is taken the pool does not listen for
 * its errors: a connection the server ends meanwhile (a restart, `pg_terminate_backend`) would emit one with no
 * listener and crash the process. Here it is listened for, the client counted as broken, and the next statement fails
 * typed. The listener goes on in pg-pool's own callback, in the same tick as pg-pool takes its idle listener off: with
 * `await pool.connect()` it came a promise job later, and an error in the same socket chunk as the release that handed
 * the client over (a query's end, then the server's "terminating connection") found no listener between the two.
 */
export function checkout(pool: Pool, action: string): Promise<Checkout> {
  return new Promise((resolve, reject) => {
    pool.connect((err: Error | undefined, client: PoolClient | undefined, done: (broken?: Error | boolean) => void) => {
      if (err !== undefined || client === undefined) {
        reject(databaseError(action, err));
        return;
      }
      let failed: Error | undefined;
      const onError = (e: Error): void => {
        failed = e;
      };
      client.on('error', onError);
      resolve({
        client,
        release: (broken) => {
          client.removeListener('error', onError);
          done(broken ?? failed);
        },
      });
    });
  });
}

/** Where a client of a pool the SDK made is: being connected, lent out (a statement may be under way), or idle. */
type ClientState = 'connecting' | 'in-use' | 'idle';

/** The clients of each pool the SDK made, from their creation to their end. */
const made = new WeakMap<Pool, Map<Client, ClientState>>();

/**
 * A pool the SDK owns (and ends, with {@link endPool}). Every client it makes listens for errors from its creation,
 * whoever holds it (pg-pool, our checkout, pg-pool's `query()`): an error told between two holders is never an
 * uncaught one. An idle client's error is also emitted on the pool: listened to here, the next query gets a new
 * client and reports its own failure.
 */
export function newPool(config: PoolConfig): Pool {
  const clients = new Map<Client, ClientState>();
  class ListenedClient extends Client {
    constructor(options: ClientConfig) {
      super(options);
      clients.set(this, 'connecting');
      this.on('error', () => undefined);
      this.once('end', () => clients.delete(this));
    }
  }
  const pool = new Pool({ ...config, Client: ListenedClient as unknown as PoolConfig['Client'] });
  made.set(pool, clients);
  const track = (client: Client, state: ClientState): void => {
    if (clients.has(client)) clients.set(client, state);
  };
  pool.on('acquire', (client) => track(client as Client, 'in-use'));
  pool.on('release', (_err: Error | undefined, client: Client) => track(client, 'idle'));
  pool.on('error', () => undefined);
  return pool;
}

/**
 * Ends a pool of {@link newPool} without waiting on the database: a connection still being made (an address that
 * accepts TCP and never answers) and one lent out (a statement the database never answers) are cut at once; idle ones
 * are ended politely. The SDK ends its pools only when its own work is done (leases released, positions written), so
 * what is still under way then is a join or a handler's transaction past its time, both abandoned (a transaction
 * rolls back; its event runs again wherever the topic runs next). Without this, `end()` waited for the connect
 * timeout, or for ever.
 */
export async function endPool(pool: Pool): Promise<void> {
  const clients = made.get(pool);
  if (clients === undefined || pool.ending) return;
  for (const [client, state] of clients) if (state !== 'idle') client.connection.stream.destroy();
  await pool.end();
}

/** SQLSTATEs that are a wrong setting, not a passing failure: the setting each points to, and what to do. */
const CONFIG_STATES: Readonly<Record<string, [setting: string, hint: string]>> = {
  '28P01': ['connectionString', 'the database refused the credentials'],
  '28000': ['connectionString', 'the database refused this user (pg_hba.conf)'],
  '3D000': ['connectionString', 'the database does not exist'],
  '42501': [
    'schema',
    'the user lacks a privilege: create the tables ahead with the SQL of docs/replicas.md and grant SELECT, INSERT, UPDATE, DELETE on them',
  ],
};

/** Network failures of the connection itself: the database cannot be reached at the address given. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET']);

/**
 * A connection not made within its timeout, as pg-pool ("Connection terminated due to connection timeout") and pg's
 * own timer ("timeout expired") say it, without a code. Not pg-pool's "timeout exceeded when trying to connect": that
 * is a full pool, not an unreachable database.
 */
const CONNECT_TIMEOUT = /due to connection timeout|^timeout expired$/;

/**
 * A database failure as a typed error, naming what was being done, never the password: a wrong setting (credentials,
 * database, privileges) is `INVALID_CONFIG` naming it; anything else `STATE_IO` (an unreachable database names the
 * `connectionString` it was looked for at).
 */
export function databaseError(action: string, err: unknown): WatchError {
  const code = sqlState(err);
  const config = code === undefined ? undefined : CONFIG_STATES[code];
  if (config !== undefined) {
    const [setting, hint] = config;
    return new WatchError(
      'INVALID_CONFIG',
      `PostgreSQL: cannot ${action}: ${hint} (${code}); check the option '${setting}': ${errorMessage(err)}`,
      { cause: err },
    );
  }
  const timedOut = code === undefined && err instanceof Error && CONNECT_TIMEOUT.test(err.message);
  if (timedOut || (code !== undefined && UNREACHABLE.has(code)))
    return new WatchError(
      'STATE_IO',
      `PostgreSQL: cannot ${action}: the database of the option 'connectionString' cannot be reached (${
        timedOut ? 'no answer within connectTimeoutMs' : code
      })`,
      { cause: err },
    );
  const suffix = code === undefined ? '' : ` (${code})`;
  return new WatchError('STATE_IO', `PostgreSQL: cannot ${action}: ${errorMessage(err)}${suffix}`, { cause: err });
}

/** The SQLSTATE (or Node's network error code) of a pg error, if it has one. */
export function sqlState(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;
}
