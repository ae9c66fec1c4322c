import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client, Pool, type PoolClient } from 'pg';
import { type WatchManager, type LeaseChange, type TransactionClient, type WatchError } from 'watch-manager';
import { PostgresCoordinator, type TopicLease } from 'watch-manager/postgres';
import {
  beginTransaction,
  outcomeOf,
  runGuarded,
  TransactionEnded,
  TransactionGuard,
  transactionState,
} from '../src/postgres/transaction-guard';
import { coordinatedSuite } from './support/coordinated-suite';
import { startPostgres, type TestPostgres } from './support/postgres';
import { scanForSecrets, until } from './support/harness';

scanForSecrets();

// ctx.client of a transactional handler is a guard over the SDK's transaction (issue 20, item 3): what ends or
// changes the transaction is refused, and nothing runs through it once the handler settled. Through the whole engine
// (fake service, PostgresCoordinator, a real PostgreSQL), rows counted per event; and the guard's protocol facts
// against the real server.
const topicName = (name: string): string => `/management/v1alpha1/watchtopics/guarded-${name}`;
const code = (err: unknown): string => (err as WatchError).code ?? String((err as { code?: unknown }).code);

describe('transactional handlers: ctx.client guards the transaction', { timeout: 120_000 }, () => {
  const suite = coordinatedSuite();

  /** A member with a PostgresCoordinator of `schema`, its 'lease' events and onError codes recorded. */
  function member(schema: string): { manager: WatchManager; leases: LeaseChange[]; errors: string[] } {
    const manager = suite.manager({ coordinator: suite.coordinator(schema, `member-${schema}`) });
    const leases: LeaseChange[] = [];
    manager.on('lease', (c) => leases.push({ ...c }));
    return { manager, leases, errors: [] };
  }

  /** A schema with an effects table, and a topic of `events` events. */
  async function setUp(name: string, events: number): Promise<{ schema: string; topic: string }> {
    const schema = `guard_${name}`;
    const topic = topicName(name);
    suite.service.createTopic(topic);
    suite.service.publishMany(topic, events);
    await suite.db.query(`CREATE SCHEMA ${schema}`);
    await suite.db.query(`CREATE TABLE ${schema}.effects (seq bigint NOT NULL, note text)`);
    return { schema, topic };
  }

  /** How many effect rows each sequence id has (notes apart: `late` rows are counted on their own). */
  async function rowsPerEvent(schema: string, note = 'effect'): Promise<Record<number, number>> {
    const { rows } = await suite.db.query<{ seq: string; n: string }>(
      `SELECT seq, count(*) AS n FROM ${schema}.effects WHERE note = $1 GROUP BY seq ORDER BY seq`,
      [note],
    );
    return Object.fromEntries(rows.map((r) => [Number(r.seq), Number(r.n)]));
  }

  async function stored(schema: string, topic: string): Promise<number | undefined> {
    const { rows } = await suite.db.query<{ position: string | null }>(
      `SELECT position FROM ${schema}.topics WHERE topic = $1`,
      [topic],
    );
    const position = rows[0]?.position;
    return position === undefined || position === null ? undefined : Number(position);
  }

  it('a handler that runs COMMIT (alone, after a comment, in a text of two statements) and then throws: refused, each event once', async () => {
    const { schema, topic } = await setUp('commit', 4);
    const { manager, leases, errors } = member(schema);
    const refusals: string[] = [];
    const attempts = new Map<number, number>();
    // What a helper library might send to "make sure it is saved", each tried on the first attempt of one event.
    const commits = ['COMMIT', '/* save */ commit', '  END', `INSERT INTO ${schema}.effects VALUES (0, 'x'); COMMIT`];
    await manager.registerWatch(
      topic,
      {
        onEvent: async (e, ctx) => {
          const client = ctx.client as TransactionClient;
          const attempt = (attempts.get(e.sequenceId) ?? 0) + 1;
          attempts.set(e.sequenceId, attempt);
          await client.query(`INSERT INTO ${schema}.effects VALUES ($1, 'effect')`, [e.sequenceId]);
          if (attempt > 1) return;
          await client.query(commits[e.sequenceId - 1] as string).catch((err: unknown) => refusals.push(code(err)));
          throw new Error(`the first attempt of ${e.sequenceId} fails after its COMMIT`);
        },
        onError: (err) => void errors.push(err.code),
      },
      { transaction: true },
    );
    await until('all four stored', () => manager.status().watches[0]?.lastSequenceId === 4);
    assert.deepEqual(await rowsPerEvent(schema), { 1: 1, 2: 1, 3: 1, 4: 1 }, 'one effect per event');
    assert.deepEqual(await rowsPerEvent(schema, 'x'), {}, 'the INSERT before the COMMIT in one text never ran');
    // Three refused before they were sent; the text of two statements refused by PostgreSQL (42601).
    assert.deepEqual(refusals, ['TRANSACTION_CONTROL', 'TRANSACTION_CONTROL', 'TRANSACTION_CONTROL', '42601']);
    assert.equal(await stored(schema, topic), 4);
    assert.deepEqual(errors, [], 'a failed attempt that was retried is not an error of the watch');
    assert.deepEqual(
      leases.map((l) => l.kind),
      ['won'],
    );
    assert.equal(manager.status().watches[0]?.state, 'subscribed');
  });

  it('a handler that calls ctx.client.release(): refused (thrown: the attempt fails; caught: it goes on), each event once', async () => {
    const { schema, topic } = await setUp('release', 3);
    const { manager, leases, errors } = member(schema);
    const refusals: string[] = [];
    let first = true;
    await manager.registerWatch(
      topic,
      {
        onEvent: async (e, ctx) => {
          // What code that takes ctx.client for a pg PoolClient would do when it is done with it.
          const client = ctx.client as unknown as TransactionClient & { release(): void };
          await client.query(`INSERT INTO ${schema}.effects VALUES ($1, 'effect')`, [e.sequenceId]);
          if (e.sequenceId === 1 && first) {
            first = false;
            client.release(); // thrown on: this attempt fails and is rolled back, the retry does not release
          }
          try {
            client.release();
          } catch (err) {
            refusals.push(code(err));
          }
          await client.query(`UPDATE ${schema}.effects SET note = 'effect' WHERE seq = $1`, [e.sequenceId]);
        },
        onError: (err) => void errors.push(err.code),
      },
      { transaction: true },
    );
    await until('all three stored', () => manager.status().watches[0]?.lastSequenceId === 3);
    assert.deepEqual(await rowsPerEvent(schema), { 1: 1, 2: 1, 3: 1 });
    assert.deepEqual(refusals, ['TRANSACTION_CONTROL', 'TRANSACTION_CONTROL', 'TRANSACTION_CONTROL']);
    assert.equal(await stored(schema, topic), 3);
    assert.deepEqual(errors, []);
    assert.deepEqual(
      leases.map((l) => l.kind),
      ['won'],
    );
    assert.equal(manager.status().watches[0]?.state, 'subscribed');
  });

  it('a handler that keeps ctx.client and queries after it returned (no await): refused with CLOSED, nothing written', async () => {
    const { schema, topic } = await setUp('late', 3);
    const { manager, errors } = member(schema);
    const kept: TransactionClient[] = [];
    const late: Array<Promise<string>> = [];
    await manager.registerWatch(
      topic,
      {
        onEvent: (e, ctx) => {
          const client = ctx.client as TransactionClient;
          kept.push(client);
          // Sent before the handler returned, not awaited: it runs inside the transaction all the same.
          void client.query(`INSERT INTO ${schema}.effects VALUES ($1, 'effect')`, [e.sequenceId]);
          // Sent after it returned (a missing await in a chain): refused.
          setImmediate(() =>
            late.push(
              client.query(`INSERT INTO ${schema}.effects VALUES ($1, 'late')`, [e.sequenceId]).then(
                () => 'written',
                (err: unknown) => code(err),
              ),
            ),
          );
          return Promise.resolve();
        },
        onError: (err) => void errors.push(err.code),
      },
      { transaction: true },
    );
    await until('all three stored', () => manager.status().watches[0]?.lastSequenceId === 3);
    assert.deepEqual(await rowsPerEvent(schema), { 1: 1, 2: 1, 3: 1 }, 'the unawaited insert ran in the transaction');
    await until('the late queries answered', () => late.length === 3);
    assert.deepEqual(await Promise.all(late), ['CLOSED', 'CLOSED', 'CLOSED']);
    // Long after: the client of a committed transaction (its pg client back in the pool, or another's now).
    const outcomes = await Promise.all(
      kept.map((c) =>
        c.query(`INSERT INTO ${schema}.effects VALUES (99, 'late')`).then(
          () => 'written',
          (err: unknown) => code(err),
        ),
      ),
    );
    assert.deepEqual(outcomes, ['CLOSED', 'CLOSED', 'CLOSED']);
    await assert.rejects(
      kept[0]?.savepoint(() => Promise.resolve()) ?? Promise.resolve(),
      (e: WatchError) => e.code === 'CLOSED',
    );
    assert.deepEqual(await rowsPerEvent(schema, 'late'), {}, 'no late row, inside or outside a transaction');
    assert.deepEqual(errors, []);
  });

  it('ctx.client.savepoint(): a failing part rolls back alone; a SAVEPOINT of the handler is refused; a failed statement caught without one fails the attempt', async () => {
    const { schema, topic } = await setUp('savepoint', 3);
    await suite.db.query(`CREATE UNIQUE INDEX ON ${schema}.effects (seq, note)`);
    const { manager, leases, errors } = member(schema);
    const outcomes: string[] = [];
    let swallowOnce = true;
    await manager.registerWatch(
      topic,
      {
        onEvent: async (e, ctx) => {
          const client = ctx.client as TransactionClient;
          await client.query(`INSERT INTO ${schema}.effects VALUES ($1, 'effect')`, [e.sequenceId]);
          if (e.sequenceId === 1) {
            // A duplicate inside a savepoint: rolled back alone, the transaction goes on.
            const dup = await client
              .savepoint(async (sp) => {
                await sp.query(`INSERT INTO ${schema}.effects VALUES ($1, 'inner')`, [e.sequenceId]);
                await client.query('SELECT 1').catch((err: unknown) => outcomes.push(`outer ${code(err)}`));
                await sp.savepoint((deeper) =>
                  deeper.query(`INSERT INTO ${schema}.effects VALUES ($1, 'effect')`, [1]),
                );
              })
              .catch((err: unknown) => code(err));
            outcomes.push(`savepoint ${dup as string}`);
            await client.query(`SAVEPOINT mine`).catch((err: unknown) => outcomes.push(code(err)));
            await client.query(`ROLLBACK TO SAVEPOINT mine`).catch((err: unknown) => outcomes.push(code(err)));
          }
          if (e.sequenceId === 2 && swallowOnce) {
            swallowOnce = false;
            // The duplicate's error caught without a savepoint: the transaction is aborted, the attempt fails.
            await client
              .query(`INSERT INTO ${schema}.effects VALUES ($1, 'effect')`, [e.sequenceId])
              .catch((err: unknown) => outcomes.push(code(err)));
          }
        },
        onError: (err) => void errors.push(err.code),
      },
      { transaction: true },
    );
    await until('all three stored', () => manager.status().watches[0]?.lastSequenceId === 3);
    assert.deepEqual(await rowsPerEvent(schema), { 1: 1, 2: 1, 3: 1 });
    assert.deepEqual(await rowsPerEvent(schema, 'inner'), {}, 'the savepoint rolled back its own insert too');
    assert.deepEqual(outcomes, [
      'outer TRANSACTION_CONTROL', // the outer client while the savepoint runs
      'savepoint 23505', // the duplicate in the nested savepoint
      'TRANSACTION_CONTROL', // SAVEPOINT mine
      'TRANSACTION_CONTROL', // ROLLBACK TO SAVEPOINT mine
      '23505', // event 2's duplicate, caught: the attempt failed and was retried
    ]);
    assert.deepEqual(errors, []);
    assert.deepEqual(
      leases.map((l) => l.kind),
      ['won'],
      'an aborted transaction is the handler failing, not the database: no step-down',
    );
  });
});

describe('the guard against a real PostgreSQL: protocol facts it stands on', { timeout: 60_000 }, () => {
  let pg: TestPostgres;
  let pool: Pool;
  before(async () => {
    pg = await startPostgres();
    pool = new Pool({ connectionString: pg.connectionString, max: 2 });
    pool.on('error', () => undefined);
    await pool.query('CREATE TABLE facts (n int)');
    await pool.query('CREATE PROCEDURE commits() LANGUAGE plpgsql AS $$ BEGIN COMMIT; END $$');
  });
  after(async () => {
    await pool?.end();
    await pg?.stop();
  });

  async function inTransaction<T>(fn: (client: PoolClient, xid: string) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    try {
      const xid = await beginTransaction(client);
      return await fn(client, xid);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  }

  it('a values array does not keep pg from the simple protocol: `[]` runs two statements; the guard never sends them', async () => {
    const client = await pool.connect();
    try {
      const raw = (await client.query('SELECT 1 AS a; SELECT 2 AS b', [])) as unknown as unknown[];
      assert.equal(raw.length, 2, 'pg 8 sent both (simple protocol)');
      await inTransaction(async (c) => {
        const guard = new TransactionGuard(c, 'a test transaction');
        await assert.rejects(guard.query('INSERT INTO facts VALUES (1); COMMIT'), (e: { code?: string }) => {
          return e.code === '42601';
        });
        await assert.rejects(guard.query('; COMMIT'), (e: WatchError) => e.code === 'TRANSACTION_CONTROL');
      });
    } finally {
      client.release();
    }
    const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM facts');
    assert.equal(rows[0]?.n, 0);
  });

  it('a DO block or a procedure that commits fails inside a transaction block (2D000)', async () => {
    for (const text of ['DO $$ BEGIN COMMIT; END $$', 'CALL commits()']) {
      await inTransaction(async (c, xid) => {
        const guard = new TransactionGuard(c, 'a test transaction');
        await assert.rejects(guard.query(text), (e: { code?: string }) => e.code === '2D000', text);
        assert.equal(await transactionState(c, xid), 'aborted');
      });
    }
  });

  it('bad arguments are INVALID_CONFIG; a pg Query object or a callback is refused, nothing sent', async () => {
    await inTransaction(async (c, xid) => {
      const guard = new TransactionGuard(c, 'a test transaction') as unknown as {
        query(...args: unknown[]): Promise<unknown>;
        savepoint(work: unknown): Promise<unknown>;
        end(): void;
      };
      const invalid = (e: WatchError): boolean => e.code === 'INVALID_CONFIG';
      await assert.rejects(guard.query(42), invalid);
      await assert.rejects(guard.query({ text: 'SELECT 1', submit: () => undefined }), invalid);
      await assert.rejects(
        guard.query('SELECT 1', [], () => undefined),
        invalid,
      );
      await assert.rejects(
        guard.query('SELECT 1', () => undefined),
        invalid,
      );
      await assert.rejects(guard.query('SELECT $1', 'x'), invalid);
      await assert.rejects(guard.savepoint('x'), invalid);
      assert.throws(
        () => guard.end(),
        (e: WatchError) => e.code === 'TRANSACTION_CONTROL',
      );
      const { rows } = (await guard.query({ text: 'SELECT $1::int AS n', values: [7], rowMode: 'array' })) as {
        rows: unknown[];
      };
      assert.deepEqual(rows, [[7]]);
      assert.equal(await transactionState(c, xid), 'open');
    });
  });

  it('the end check: open, aborted, or ended (committed or rolled back), with and without pg telling the status', async () => {
    for (const tells of [true, false]) {
      const hide = (c: PoolClient): PoolClient => {
        // pg before 8.21 has no getTransactionStatus(): the check asks the server instead.
        if (!tells) Object.defineProperty(c, 'getTransactionStatus', { value: undefined, configurable: true });
        return c;
      };
      await inTransaction(async (c, xid) => {
        assert.equal(await transactionState(hide(c), xid), 'open', `open (${tells})`);
        await c.query('SELECT 1/0').catch(() => undefined);
        assert.equal(await transactionState(c, xid), 'aborted', `aborted (${tells})`);
        delete (c as unknown as Record<string, unknown>).getTransactionStatus;
      });
      for (const end of ['COMMIT', 'ROLLBACK']) {
        await inTransaction(async (c, xid) => {
          hide(c);
          await c.query('INSERT INTO facts VALUES (1)');
          await c.query(end); // what a statement slipping past the guard would do
          if (!tells) await c.query('BEGIN; INSERT INTO facts VALUES (2)'); // and another transaction after it
          assert.equal(await transactionState(c, xid), 'ended', `${end} (${tells})`);
          await c.query('ROLLBACK');
          assert.equal(await outcomeOf(c, xid), end === 'COMMIT' ? 'committed' : 'aborted');
          delete (c as unknown as Record<string, unknown>).getTransactionStatus;
        });
      }
    }
    await pool.query('DELETE FROM facts');
  });

  it('the end check does not trust a status pg has not updated yet: a failed statement rejects before its ReadyForQuery', async () => {
    await inTransaction(async (c, xid) => {
      // pg calls back (and rejects a promise) on the error message, before the ReadyForQuery that carries the status.
      const [seen, state] = await new Promise<[string | null, Promise<string>]>((resolve) => {
        c.query('SELECT 1/0', () => resolve([c.getTransactionStatus(), transactionState(c, xid)]));
      });
      assert.equal(seen, 'T', 'the status pg holds while the error is handled is the one before the statement');
      assert.equal(await state, 'aborted');
    });
  });

  it('a COMMIT or ROLLBACK that slipped past the guard: committed, the position is stored after it and the topic steps down; rolled back, nothing is stored', async () => {
    for (const end of ['COMMIT', 'ROLLBACK']) {
      const schema = `slipped_${end.toLowerCase()}`;
      // The handler cannot reach the pg client; the test can, through a pool of its own (its 'acquire' event).
      const borrowed = new Pool({ connectionString: pg.connectionString, max: 4 });
      borrowed.on('error', () => undefined);
      let raw: PoolClient | undefined; // the client that began the transaction (renewals take clients too)
      const patched = new WeakSet<object>();
      borrowed.on('acquire', (client) => {
        if (patched.has(client)) return;
        patched.add(client);
        const query = client.query.bind(client) as (...args: unknown[]) => unknown;
        (client as unknown as { query: typeof query }).query = (...args) => {
          if (typeof args[0] === 'string' && args[0].startsWith('BEGIN')) raw = client;
          return query(...args);
        };
      });
      let lease: TopicLease | undefined;
      const topic = topicName(`slipped-${end}`);
      const coordinator = new PostgresCoordinator({
        pool: borrowed,
        schema,
        memberId: 'm',
        leaseMs: 1_500,
        renewMs: 100,
      });
      coordinator.claim(topic, (l) => (lease = l));
      try {
        await coordinator.start();
        await until('the lease is held', () => lease !== undefined);
        const held = lease as TopicLease;
        const outcome = await held
          .transaction?.(7, async (client) => {
            await client.query('INSERT INTO facts VALUES (7)');
            await raw?.query(end); // what a statement that slipped past the guard would do
            throw new Error('and then the handler throws');
          })
          .then(
            () => 'resolved',
            (err: unknown) => code(err),
          );
        assert.equal(outcome, 'LEASE_LOST', end);
        assert.equal(held.signal.aborted, true);
        assert.match(
          String((held.signal.reason as WatchError).message),
          end === 'COMMIT' ? /committed; its position stored/ : /rolled back/,
        );
        const { rows } = await pool.query<{ position: string | null; holder: string | null }>(
          `SELECT position, holder FROM ${schema}.topics WHERE topic = $1`,
          [topic],
        );
        assert.deepEqual(rows[0], { position: end === 'COMMIT' ? '7' : null, holder: null }, end);
        const effects = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM facts WHERE n = 7');
        assert.equal(effects.rows[0]?.n, end === 'COMMIT' ? 1 : 0, end);
      } finally {
        await coordinator.close();
        await borrowed.end();
        await pool.query('DELETE FROM facts');
      }
    }
  });

  it('runGuarded: the guard closes when the work settles, and a transaction that ended meanwhile is told whatever the work did', async () => {
    await inTransaction(async (c, xid) => {
      let kept: TransactionClient | undefined;
      const value = await runGuarded(c, xid, 'a test transaction', (g) => {
        kept = g;
        return Promise.resolve(5);
      });
      assert.equal(value, 5);
      await assert.rejects(kept?.query('SELECT 1') ?? Promise.resolve(), (e: WatchError) => e.code === 'CLOSED');
      assert.throws(
        () => (kept as unknown as { release(): void }).release(),
        (e: WatchError) => e.code === 'CLOSED',
      );
    });
    const direct = new Client({ connectionString: pg.connectionString });
    await direct.connect();
    try {
      const xid = await beginTransaction(direct as unknown as PoolClient);
      await assert.rejects(
        runGuarded(direct as unknown as PoolClient, xid, 'a test transaction', async () => {
          await direct.query('COMMIT'); // the raw client: as if a statement slipped past the guard
          throw new Error('and then the handler throws');
        }),
        (e: unknown) => e instanceof TransactionEnded,
      );
    } finally {
      await direct.end();
    }
  });
});
