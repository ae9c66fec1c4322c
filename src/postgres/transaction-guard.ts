import type { PoolClient, QueryConfig, QueryResult } from 'pg';
import { WatchError } from '../core/errors';
import { isRecord } from '../core/option-checks';
import type { TransactionClient, TransactionQuery, TransactionResult } from '../state/coordinator';
import { sqlState } from './connection';
import { transactionStatement } from './transaction-statement';

/**
 * `ctx.client` of a transactional handler: the SDK's transaction, guarded. The handler gets this, never the pg
 * client: a `COMMIT` (a handler's, or a helper library's) followed by a throw would let the retry apply the effect a
 * second time; a `release()` would hand the client back with the transaction open; a query sent after the handler
 * returned (a missing `await`) would commit outside the transaction and the lease's fence.
 *
 * - Every text goes through the extended query protocol (`queryMode: 'extended'`): PostgreSQL then refuses a text
 *   of several statements (42601) and runs none of it. (A values array is not enough: pg sends a text with an empty
 *   one through the simple protocol, where `INSERT …; COMMIT` runs both.)
 * - A statement that ends or changes the transaction ({@link transactionStatement}) is refused before it is sent,
 *   with `TRANSACTION_CONTROL`; so are `release()` and `end()`. A part that may fail runs in {@link savepoint}.
 * - Once the handler settled, every call rejects with `CLOSED` and sends nothing. The queries sent before (awaited
 *   or not) ran inside the transaction: the SDK waits for them before it stores the position.
 */
export class TransactionGuard implements TransactionClient {
  // A # field: a helper library that looks for a pg client inside the object it was given finds none.
  readonly #client: PoolClient;
  /** Suspended while a savepoint of it runs: its statements go through the savepoint's client. */
  #state: 'open' | 'suspended' | 'closed' = 'open';
  readonly #running = new Set<Promise<void>>();

  /**
   * @param what the transaction in messages (`the transaction of position 5 of <topic>`)
   * @param depth how many savepoints it is nested in
   */
  constructor(
    client: PoolClient,
    private readonly what: string,
    private readonly depth = 0,
  ) {
    this.#client = client;
  }

  query(text: string | TransactionQuery, values?: unknown[], ...rest: unknown[]): Promise<TransactionResult> {
    let config: QueryConfig;
    try {
      this.usable('query');
      config = this.statement(text, values, rest);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.track(this.#client.query(config));
  }

  savepoint<T>(work: (client: TransactionClient) => Promise<T>): Promise<T> {
    try {
      this.usable('savepoint');
      if (typeof work !== 'function') throw argument('savepoint', 'work', 'must be a function');
    } catch (err) {
      return Promise.reject(err);
    }
    return this.track(this.inSavepoint(work));
  }

  /** Refused: the SDK gives the client back once it committed or rolled back. */
  release(): never {
    this.usable('release');
    throw this.refused(
      'release()',
      'the SDK gives the client back itself once the transaction committed or rolled back',
    );
  }

  /** Refused: ending the connection would end the transaction. */
  end(): never {
    this.usable('end');
    throw this.refused('end()', 'ending the connection would end the transaction');
  }

  /** The handler settled: every later call is refused. Resolves when the statements sent before have settled. */
  async close(): Promise<void> {
    this.#state = 'closed';
    while (this.#running.size > 0) await Promise.all([...this.#running]);
  }

  private async inSavepoint<T>(work: (client: TransactionClient) => Promise<T>): Promise<T> {
    // Strictly nested, one at a time: the depth names it uniquely.
    const name = `watch_manager_savepoint_${this.depth + 1}`;
    const inner = new TransactionGuard(this.#client, this.what, this.depth + 1);
    this.#state = 'suspended';
    try {
      await this.#client.query(`SAVEPOINT ${name}`);
      let result: T;
      try {
        result = await work(inner);
        await inner.close();
        await this.#client.query(`RELEASE SAVEPOINT ${name}`); // fails when a statement in it failed (25P02)
      } catch (err) {
        await inner.close();
        // Back to where the savepoint began; should that fail too, the connection is gone and the transaction with
        // it, which the SDK finds before it stores the position.
        await this.#client.query(`ROLLBACK TO SAVEPOINT ${name}; RELEASE SAVEPOINT ${name}`).catch(() => undefined);
        throw err;
      }
      return result;
    } finally {
      void inner.close();
      if (this.#state === 'suspended') this.#state = 'open';
    }
  }

  /** Throws unless a call may go through now. */
  private usable(call: string): void {
    if (this.#state === 'closed')
      throw new WatchError(
        'CLOSED',
        `ctx.client.${call} after the handler of ${this.what} settled (a promise not awaited?): refused, nothing sent`,
      );
    if (this.#state === 'suspended')
      throw this.refused(`${call} while its savepoint() runs`, 'use the client the savepoint gives its work');
  }

  /** The query config to send: a checked text, sent through the extended protocol. */
  private statement(text: unknown, values: unknown, rest: unknown[]): QueryConfig {
    if (typeof values === 'function' || rest.length > 0)
      throw argument('query', 'callback', 'is not supported: await the promise query() returns');
    let config: Record<string, unknown>;
    if (typeof text === 'string') config = { text };
    else if (isRecord(text) && typeof text.text === 'string' && typeof text.submit !== 'function') config = text;
    else
      throw argument(
        'query',
        'text',
        'must be a string or a { text, values } object (a pg Query, cursor or stream cannot be checked)',
      );
    const args = values ?? config.values ?? [];
    if (!Array.isArray(args)) throw argument('query', 'values', 'must be an array');
    const refused = transactionStatement(config.text as string);
    if (refused !== undefined)
      throw this.refused(
        refused,
        'the SDK begins, commits and rolls back the transaction itself (a part that may fail: ctx.client.savepoint())',
      );
    // Only what a statement needs is passed on (a queryMode of the caller's never is): its text, values, and how its
    // rows are read.
    const sent: QueryConfig & { queryMode: 'extended'; rowMode?: unknown } = {
      text: config.text as string,
      values: args,
      queryMode: 'extended',
    };
    if (config.rowMode !== undefined) sent.rowMode = config.rowMode;
    if (config.types !== undefined) sent.types = config.types as QueryConfig['types'];
    return sent;
  }

  private refused(what: string, why: string): WatchError {
    return new WatchError('TRANSACTION_CONTROL', `ctx.client refused ${what} in ${this.what}: ${why}; nothing sent`);
  }

  /** `running` is waited for by {@link close}. */
  private track<R>(running: Promise<R>): Promise<R> {
    const settled = running.then(
      () => undefined,
      () => undefined,
    );
    this.#running.add(settled);
    void settled.then(() => this.#running.delete(settled));
    return running;
  }
}

function argument(call: string, name: string, problem: string): WatchError {
  return new WatchError('INVALID_CONFIG', `invalid argument '${name}' of ctx.client.${call}: ${problem}`);
}

/** How the transaction of a handler stands once the handler settled. */
export type TransactionState = 'open' | 'aborted' | 'ended';

/**
 * A client whose pg has `getTransactionStatus()` (pg 8.21 on): what PostgreSQL said when it was last ready for a
 * query. pg rejects a failed statement's promise on the error, before that ReadyForQuery arrives: the status is
 * current only while `readyForQuery` is true (the native client has no such flag).
 */
type WithStatus = PoolClient & { getTransactionStatus?: () => string | null; readyForQuery?: unknown };

/** Begins a transaction on `client`; returns its id, assigned at once (in the same round trip). */
export async function beginTransaction(client: PoolClient): Promise<string> {
  const results = (await client.query('BEGIN; SELECT txid_current()::text AS xid')) as unknown as Array<
    QueryResult<{ xid: string }>
  >;
  const xid = results[1]?.rows[0]?.xid;
  if (xid === undefined) throw new WatchError('INTERNAL', 'BEGIN returned no transaction id');
  return xid;
}

/**
 * Whether the transaction `xid` begun on `client` is still open, aborted (a statement in it failed), or ended (a
 * statement that slipped past the guard committed or rolled it back). From the status PostgreSQL sends after every
 * statement when pg tells it (8.21 on) and it is current: no round trip. Else (an older pg, or the answer to a failed
 * statement still on its way) one statement asks the server whether the transaction running is `xid` (an error there
 * means it is aborted).
 */
export async function transactionState(client: PoolClient, xid: string): Promise<TransactionState> {
  const told = client as WithStatus;
  const status =
    typeof told.getTransactionStatus === 'function' && told.readyForQuery === true ? told.getTransactionStatus() : null;
  if (status === 'T') return 'open';
  if (status === 'E') return 'aborted';
  if (status === 'I') return 'ended';
  try {
    const { rows } = await client.query<{ ours: boolean | null }>(
      'SELECT txid_current_if_assigned() = $1::bigint AS ours',
      [xid],
    );
    return rows[0]?.ours === true ? 'open' : 'ended';
  } catch (err) {
    if (sqlState(err) === '25P02') return 'aborted'; // in_failed_sql_transaction
    throw err;
  }
}

/** What became of the transaction `xid`, once it ended outside the SDK's hands: undefined when the server forgot. */
export async function outcomeOf(client: PoolClient, xid: string): Promise<'committed' | 'aborted' | undefined> {
  const { rows } = await client.query<{ status: string | null }>('SELECT txid_status($1::bigint) AS status', [xid]);
  const status = rows[0]?.status;
  return status === 'committed' || status === 'aborted' ? status : undefined;
}

/**
 * Runs `work` with a {@link TransactionGuard} over the open transaction `xid`, closes the guard when it settles and
 * waits for what it sent, then checks that the transaction is still open. Rejects with `work`'s error, or with
 * {@link TransactionEnded} (whatever `work` did) when the transaction ended meanwhile, or with `HANDLER_FAILED` when
 * `work` returned although a statement of it failed and aborted the transaction (its error caught).
 */
export async function runGuarded<T>(
  client: PoolClient,
  xid: string,
  what: string,
  work: (client: TransactionClient) => Promise<T>,
): Promise<T> {
  const guard = new TransactionGuard(client, what);
  let outcome: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, value: await work(guard) };
  } catch (error) {
    outcome = { ok: false, error };
  }
  await guard.close();
  const state = await transactionState(client, xid);
  if (state === 'ended') throw new TransactionEnded(`${what} ended while its handler ran, outside the SDK`);
  if (!outcome.ok) throw outcome.error;
  if (state === 'aborted')
    throw new WatchError(
      'HANDLER_FAILED',
      `${what}: a statement of the handler failed and aborted the transaction, and the handler returned anyway ` +
        '(its error caught): rolled back; run a statement that may fail inside ctx.client.savepoint()',
    );
  return outcome.value;
}

/** The transaction of a handler ended while it ran, by a statement that slipped past the guard. */
export class TransactionEnded extends Error {}
