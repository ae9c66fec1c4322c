import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Pool } from 'pg';
import { WatchError, WatchManager } from 'watch-manager';
import { PostgresSequenceStore, schemaSql } from 'watch-manager/postgres';
import { sequenceProviderContract } from 'watch-manager/testing';
import { freePort } from './support/tinyproxy';
import { startPostgres, type TestPostgres } from './support/postgres';
import { TOPIC, captureLogger, captured, scanForSecrets, secret, startService, token } from './support/harness';

scanForSecrets();

// A real PostgreSQL started by the suite (initdb into a temp dir): no mock of the database.
let pg: TestPostgres;
let schemas = 0;
/** Each store's schema, so that reopen() finds the same storage. */
const schemaOf = new WeakMap<object, string>();

describe('PostgresSequenceStore against a real PostgreSQL', { timeout: 120_000 }, () => {
  before(async () => {
    pg = await startPostgres();
  });
  after(async () => {
    await pg?.stop();
  });

  it('keeps the SequenceProvider contract (monotonic, durable, concurrent topics, failure reporting)', async (t) => {
    const checks = sequenceProviderContract({
      create: () => {
        const schema = `contract_${++schemas}`;
        const store = new PostgresSequenceStore({ connectionString: pg.connectionString, schema });
        schemaOf.set(store, schema);
        return store;
      },
      reopen: (previous) =>
        new PostgresSequenceStore({ connectionString: pg.connectionString, schema: schemaOf.get(previous) }),
      broken: async () => {
        // A database that goes away under a store that wrote once: every later write fails.
        const port = await freePort();
        return new PostgresSequenceStore({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
      },
    });
    for (const check of checks) await t.test(check.name, check.run);
  });

  it('writes through a pool the application owns, and leaves it open on close()', async () => {
    const pool = new Pool({ connectionString: pg.connectionString });
    const store = new PostgresSequenceStore({ pool, schema: 'borrowed' });
    await store.setSequence('/t', 7);
    await store.close();
    const { rows } = await pool.query<{ position: string }>('SELECT position FROM borrowed.topics WHERE topic = $1', [
      '/t',
    ]);
    assert.equal(rows[0]?.position, '7');
    await pool.end();
  });

  it('uses tables a DBA created ahead from the SQL of docs/replicas.md, and creates nothing then', async () => {
    // The page's SQL is the SDK's own, for the default schema.
    const page = readFileSync(path.join(__dirname, '..', 'docs', 'replicas.md'), 'utf8');
    assert.ok(page.includes('```sql\n' + schemaSql('watch_manager') + '\n```'), 'docs/replicas.md shows the SDK SQL');
    const pool = new Pool({ connectionString: pg.connectionString });
    await pool.query(schemaSql('"ahead"'));
    const store = new PostgresSequenceStore({ connectionString: pg.connectionString, schema: 'ahead' });
    await store.setSequence('/t', 3);
    assert.equal(await store.getSequence('/t'), 3);
    await store.close();
    await pool.end();
  });

  it('survives a PostgreSQL restart: the next write after it lands', async () => {
    const store = new PostgresSequenceStore({ connectionString: pg.connectionString, schema: 'restart' });
    await store.setSequence('/t', 1);
    await pg.restart();
    let stored = false;
    for (let i = 0; i < 20 && !stored; i++) {
      try {
        await store.setSequence('/t', 2);
        stored = true;
      } catch (err) {
        assert.ok(err instanceof WatchError && err.code === 'STATE_IO', String(err));
      }
    }
    assert.equal(stored, true);
    assert.equal(await store.getSequence('/t'), 2);
    await store.close();
  });

  it('a manager keeps its positions there: a restarted one resumes after the last event handled', async () => {
    const service = await startService();
    const jwt = await token(service);
    const options = {
      target: service.target,
      historyUrl: service.historyUrl,
      tenantId: service.tenantId,
      getToken: () => jwt,
      tls: false as const,
      logger: captureLogger(),
      from: 'beginning' as const,
    };
    service.publishMany(TOPIC, 5);
    const seen: number[] = [];
    const first = new WatchManager({
      ...options,
      sequenceProvider: new PostgresSequenceStore({ connectionString: pg.connectionString, schema: 'resume' }),
    });
    await first.registerWatch(TOPIC, { onEvent: (e) => void seen.push(e.sequenceId) });
    await service.waitFor(() => seen.length === 5, 10_000, 'the first five');
    await first.close(); // closes the store too
    service.publishMany(TOPIC, 3);
    const second = new WatchManager({
      ...options,
      sequenceProvider: new PostgresSequenceStore({ connectionString: pg.connectionString, schema: 'resume' }),
    });
    await second.registerWatch(TOPIC, { onEvent: (e) => void seen.push(e.sequenceId) });
    await service.waitFor(() => seen.length === 8, 10_000, 'the next three');
    await second.close();
    await service.stop();
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8], 'each event once, in order, across the restart');
  });

  it('bad configuration is INVALID_CONFIG naming the field, a failure to reach it STATE_IO, never the password', async () => {
    const password = secret('pg-secret-pw-9931');
    const cases: Array<[unknown, string]> = [
      [{}, 'connectionString'],
      [{ connectionString: pg.connectionString, pool: {} }, 'connectionString'],
      [{ connectionString: `mysql://u:${password}@h/db` }, 'connectionString'],
      [{ connectionString: `postgres://u:${password}@h:5432/db`, schema: 'Bad-Name' }, 'schema'],
      [{ pool: { nothing: true } }, 'pool'],
    ];
    for (const [options, field] of cases) {
      const err = (() => {
        try {
          new PostgresSequenceStore(options as never);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      assert.ok(err instanceof WatchError, `${field}: ${String(err)}`);
      assert.equal(err.code, 'INVALID_CONFIG');
      assert.match(err.message, new RegExp(`'${field}'`));
      captured.push(err.message);
    }
    const port = await freePort();
    const away = new PostgresSequenceStore({ connectionString: `postgres://agent:${password}@127.0.0.1:${port}/x` });
    const err = await Promise.resolve(away.setSequence('/t', 1)).then(
      () => undefined,
      (e: unknown) => e,
    );
    await away.close();
    assert.ok(err instanceof WatchError, String(err));
    assert.equal(err.code, 'STATE_IO');
    captured.push(err.message, String(err.cause));
    assert.equal(err.message.includes(password), false);
  });
});
