import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Pool, type PoolClient } from 'pg';
import { WatchError, type Resource } from 'watch-manager';
import { PostgresResourceStore, resourceSchemaSql } from 'watch-manager/postgres';
import { freePort } from './support/tinyproxy';
import { startPostgres, type TestPostgres } from './support/postgres';
import { scanForSecrets, secret } from './support/harness';

scanForSecrets();

// A real PostgreSQL started by the suite (initdb into a temp dir): no mock of the database.
let pg: TestPostgres;
/** A pool of the test's own, to look at the tables with SQL as a user would. */
let sql: Pool;
let schemas = 0;

const TOPIC = '/management/v1alpha1/watchtopics/cache';
const OTHER = '/management/v1alpha1/watchtopics/other';

/** A new store over a schema of its own (a fresh, empty storage), and the schema's name. */
function newStore(): { store: PostgresResourceStore; schema: string } {
  const schema = `resources_${++schemas}`;
  return { store: new PostgresResourceStore({ connectionString: pg.connectionString, schema }), schema };
}

/** An APIService in environment `env`, with a spec that says `note`. */
function service(name: string, note = 'v1', env = 'env-1', id = `id-${name}`): Resource {
  return {
    group: 'management',
    apiVersion: 'v1alpha1',
    kind: 'APIService',
    name,
    metadata: {
      id,
      selfLink: `/management/v1alpha1/environments/${env}/apiservices/${name}`,
      scope: { id: `id-${env}`, kind: 'Environment', name: env, selfLink: `/management/v1alpha1/environments/${env}` },
      references: [],
    },
    attributes: { note },
    spec: { endpoint: `https://${name}.example`, note },
    'x-agent-details': { externalId: `ext-${name}` },
  };
}

/** An unscoped resource (no `metadata.scope`). */
function environment(name: string): Resource {
  return {
    group: 'management',
    apiVersion: 'v1alpha1',
    kind: 'Environment',
    name,
    metadata: { id: `id-${name}`, selfLink: `/management/v1alpha1/environments/${name}` },
    spec: {},
  };
}

const link = (r: Resource): string => r.metadata.selfLink;

/** What a load gives, its resources in self-link order (a store keeps no order). */
async function loaded(
  store: PostgresResourceStore,
  topic = TOPIC,
): Promise<{ position: number; resources: Resource[] } | undefined> {
  const cache = await store.load(topic);
  if (cache === undefined) return undefined;
  return { position: cache.position, resources: [...cache.resources].sort((a, b) => link(a).localeCompare(link(b))) };
}

const sorted = (resources: Resource[]): Resource[] => [...resources].sort((a, b) => link(a).localeCompare(link(b)));

async function rejection(promise: Promise<unknown>): Promise<WatchError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof WatchError, `a WatchError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

describe('PostgresResourceStore against a real PostgreSQL', { timeout: 120_000 }, () => {
  before(async () => {
    pg = await startPostgres();
    sql = new Pool({ connectionString: pg.connectionString });
  });
  after(async () => {
    await sql?.end();
    await pg?.stop();
  });

  it('a topic never stored loads as undefined, also beside a stored one', async () => {
    const { store } = newStore();
    assert.equal(await store.load(TOPIC), undefined, 'before the tables exist');
    await store.replace(OTHER, [service('a')], 3);
    assert.equal(await store.load(TOPIC), undefined, 'beside another topic');
    await store.close();
  });

  it('replace then load gives the resources and the position back, every field; a second replace drops the rest', async () => {
    const { store } = newStore();
    const first = [service('a'), service('b', 'x', 'env-2'), environment('env-1')];
    await store.replace(TOPIC, first, 10);
    assert.deepEqual(await loaded(store), { position: 10, resources: sorted(first) });
    const second = [service('b', 'y', 'env-2'), service('c')];
    await store.replace(TOPIC, second, 4); // a re-list after the sequence restarted: any position
    assert.deepEqual(await loaded(store), { position: 4, resources: sorted(second) });
    await store.replace(TOPIC, [], 5);
    assert.deepEqual(await loaded(store), { position: 5, resources: [] }, 'an empty topic is still stored');
    await store.close();
  });

  it('apply puts, replaces and deletes in order, and moves the position', async () => {
    const { store } = newStore();
    await store.replace(TOPIC, [service('a'), service('b'), service('c'), service('d')], 10);
    await store.apply(
      TOPIC,
      [
        { op: 'put', resource: service('e') }, // new
        { op: 'put', resource: service('a', 'v2') }, // replaced
        { op: 'delete', selfLink: link(service('b')) }, // removed
        { op: 'delete', selfLink: '/management/v1alpha1/environments/env-1/apiservices/none' }, // absent: no change
        { op: 'put', resource: service('f') },
        { op: 'delete', selfLink: link(service('f')) }, // put then deleted: gone
        { op: 'delete', selfLink: link(service('c')) },
        { op: 'put', resource: service('c', 'back', 'env-1', 'id-c2') }, // deleted then created again: there
        { op: 'put', resource: service('d', 'v2') },
        { op: 'put', resource: service('d', 'v3') }, // the last put wins
      ],
      12,
    );
    assert.deepEqual(await loaded(store), {
      position: 12,
      resources: sorted([service('a', 'v2'), service('c', 'back', 'env-1', 'id-c2'), service('d', 'v3'), service('e')]),
    });
    await store.close();
  });

  it('a new store over the same tables (a restarted process) loads what the last one wrote', async () => {
    const { store, schema } = newStore();
    await store.replace(TOPIC, [service('a'), service('b')], 10);
    await store.apply(TOPIC, [{ op: 'delete', selfLink: link(service('a')) }], 11);
    await store.close();
    const again = new PostgresResourceStore({ connectionString: pg.connectionString, schema });
    assert.deepEqual(await loaded(again), { position: 11, resources: [service('b')] });
    await again.close();
  });

  it('an apply on a topic never replaced stores it', async () => {
    const { store } = newStore();
    await store.apply(TOPIC, [{ op: 'put', resource: service('a') }], 2);
    assert.deepEqual(await loaded(store), { position: 2, resources: [service('a')] });
    await store.close();
  });

  it('an empty apply moves the position and keeps the resources', async () => {
    const { store } = newStore();
    await store.replace(TOPIC, [service('a')], 10);
    await store.apply(TOPIC, [], 15);
    assert.deepEqual(await loaded(store), { position: 15, resources: [service('a')] });
    await store.close();
  });

  it('topics stay apart: the same self link in two topics, replace, apply and drop of one', async () => {
    const { store } = newStore();
    await store.replace(TOPIC, [service('a'), service('b')], 10);
    await store.replace(OTHER, [service('a', 'other'), service('z')], 20);
    await store.apply(TOPIC, [{ op: 'delete', selfLink: link(service('a')) }], 11);
    await store.replace(TOPIC, [service('b', 'v2')], 12);
    assert.deepEqual(await loaded(store, OTHER), { position: 20, resources: [service('a', 'other'), service('z')] });
    await store.drop(TOPIC);
    assert.equal(await store.load(TOPIC), undefined, 'dropped');
    assert.deepEqual(await loaded(store, OTHER), { position: 20, resources: [service('a', 'other'), service('z')] });
    await store.close();
  });

  it('a transaction that fails part way leaves the state before it (replace and apply), and says why, typed', async () => {
    const { store, schema } = newStore();
    const before = [service('a'), service('b')];
    await store.replace(TOPIC, before, 10);
    // The database refuses one row, after the position, the deletes and (for the replace) a first batch of 5,000
    // rows were written in the same transaction.
    await sql.query(`CREATE FUNCTION ${schema}.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.name = 'poison' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$`);
    await sql.query(
      `CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON ${schema}.resources FOR EACH ROW EXECUTE FUNCTION ${schema}.refuse()`,
    );
    const many = Array.from({ length: 6_000 }, (_, i) => service(`s${i}`));
    many.push(service('poison'));
    const replaced = await rejection(store.replace(TOPIC, many, 20));
    assert.equal(replaced.code, 'STATE_IO');
    assert.match(replaced.message, /replace the resources of .* refused by the test/);
    assert.deepEqual(await loaded(store), { position: 10, resources: sorted(before) }, 'after the failed replace');
    const applied = await rejection(
      store.apply(
        TOPIC,
        [
          { op: 'delete', selfLink: link(service('a')) },
          { op: 'put', resource: service('b', 'v2') },
          { op: 'put', resource: service('poison') },
        ],
        11,
      ),
    );
    assert.equal(applied.code, 'STATE_IO');
    assert.deepEqual(await loaded(store), { position: 10, resources: sorted(before) }, 'after the failed apply');
    // The connection of the failed transaction went back to the pool usable: the next write lands.
    await store.apply(TOPIC, [{ op: 'delete', selfLink: link(service('a')) }], 11);
    assert.deepEqual(await loaded(store), { position: 11, resources: [service('b')] });
    await store.close();
  });

  it('two stores writing one topic at once (two processes) never leave a mix: one write or the other, whole', async () => {
    const { store: first, schema } = newStore();
    const second = new PostgresResourceStore({ connectionString: pg.connectionString, schema });
    const one = Array.from({ length: 300 }, (_, i) => service(`one-${i}`, 'one'));
    const two = Array.from({ length: 300 }, (_, i) => service(`two-${i}`, 'two'));
    one.push(service('shared', 'one'));
    two.push(service('shared', 'two'));
    await first.replace(TOPIC, [service('old')], 1);
    for (let round = 0; round < 10; round++) {
      await Promise.all([first.replace(TOPIC, one, 10 + round), second.replace(TOPIC, two, 20 + round)]);
      const now = await loaded(first);
      const whole =
        now?.position === 10 + round
          ? { position: 10 + round, resources: sorted(one) }
          : { position: 20 + round, resources: sorted(two) };
      assert.deepEqual(now, whole, `round ${round}: the rows of one write and the position of the same`);
    }
    await Promise.all([first.close(), second.close()]);
  });

  it('20,000 resources are replaced and applied in a few round trips, and load back whole', async () => {
    const pool = new Pool({ connectionString: pg.connectionString });
    let statements = 0;
    // The real client, counted: each query() is one round trip (pg sends the next only after the last answered).
    pool.on('connect', (client: PoolClient) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
        statements += 1;
        return query(...args);
      };
    });
    const store = new PostgresResourceStore({ pool, schema: 'many' });
    assert.equal(await store.load(TOPIC), undefined); // the tables made: not counted below
    const resources = Array.from({ length: 20_000 }, (_, i) => service(`s${i}`, 'x'.repeat(200), `env-${i % 7}`));
    statements = 0;
    await store.replace(TOPIC, resources, 100);
    assert.ok(statements <= 10, `replace: ${statements} statements for 20,000 resources`);
    const changes = resources.map((r) => ({ op: 'put' as const, resource: { ...r, title: 'changed' } }));
    statements = 0;
    await store.apply(TOPIC, changes, 101);
    assert.ok(statements <= 10, `apply: ${statements} statements for 20,000 changes`);
    const cache = await store.load(TOPIC);
    assert.equal(cache?.position, 101);
    assert.equal(cache?.resources.length, 20_000);
    assert.deepEqual(sorted(cache?.resources ?? []), sorted(changes.map((c) => c.resource)));
    await store.close();
    await pool.end();
  });

  it('the rows answer SQL: one per resource, its identity in columns, the resource as jsonb', async () => {
    const { store, schema } = newStore();
    await store.replace(TOPIC, [service('a', 'n1'), service('b', 'n2', 'env-2'), environment('env-1')], 10);
    await store.replace(OTHER, [service('a', 'other')], 5);
    const { rows } = await sql.query<Record<string, string | null>>(
      `SELECT self_link, id, kind, "group", scope_kind, scope_name, name, resource->'spec'->>'note' AS note
       FROM ${schema}.resources WHERE topic = $1 ORDER BY self_link`,
      [TOPIC],
    );
    assert.deepEqual(rows, [
      {
        self_link: '/management/v1alpha1/environments/env-1',
        id: 'id-env-1',
        kind: 'Environment',
        group: 'management',
        scope_kind: null,
        scope_name: null,
        name: 'env-1',
        note: null,
      },
      {
        self_link: '/management/v1alpha1/environments/env-1/apiservices/a',
        id: 'id-a',
        kind: 'APIService',
        group: 'management',
        scope_kind: 'Environment',
        scope_name: 'env-1',
        name: 'a',
        note: 'n1',
      },
      {
        self_link: '/management/v1alpha1/environments/env-2/apiservices/b',
        id: 'id-b',
        kind: 'APIService',
        group: 'management',
        scope_kind: 'Environment',
        scope_name: 'env-2',
        name: 'b',
        note: 'n2',
      },
    ]);
    const positions = await sql.query<{ topic: string; position: string }>(
      `SELECT topic, position FROM ${schema}.resource_topics ORDER BY topic`,
    );
    assert.deepEqual(
      positions.rows.map((r) => [r.topic, r.position]),
      [
        [TOPIC, '10'],
        [OTHER, '5'],
      ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
    await store.close();
  });

  it('uses tables a DBA created ahead from resourceSchemaSql, through a pool the application owns', async () => {
    await sql.query(resourceSchemaSql('"ahead"'));
    await sql.query(resourceSchemaSql('"ahead"')); // idempotent
    const pool = new Pool({ connectionString: pg.connectionString });
    const store = new PostgresResourceStore({ pool, schema: 'ahead' });
    await store.replace(TOPIC, [service('a')], 1);
    await store.close();
    const { rows } = await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM ahead.resources');
    assert.equal(rows[0]?.n, '1', 'the pool stays open after close()');
    await pool.end();
  });

  it('a row edited by hand into something else is STATE_CORRUPT on load, never a wrong cache', async () => {
    const { store, schema } = newStore();
    await store.replace(TOPIC, [service('a'), service('b')], 10);
    await sql.query(
      `UPDATE ${schema}.resources SET resource = jsonb_set(resource, '{metadata,selfLink}', '"/elsewhere"') WHERE name = 'a'`,
    );
    assert.equal((await rejection(store.load(TOPIC))).code, 'STATE_CORRUPT');
    await sql.query(`UPDATE ${schema}.resources SET resource = $1 WHERE name = 'a'`, [JSON.stringify(service('a'))]);
    await sql.query(`UPDATE ${schema}.resource_topics SET position = 9007199254740993`);
    assert.equal((await rejection(store.load(TOPIC))).code, 'STATE_CORRUPT', 'a position past 2^53 - 1');
    await store.close();
  });

  it('bad options and arguments are INVALID_CONFIG naming them, a closed store CLOSED, an absent database STATE_IO', async () => {
    const password = secret('pg-resource-pw-5521');
    for (const [options, field] of [
      [{}, 'connectionString'],
      [{ connectionString: `postgres://u:${password}@h:5432/db`, schema: 'Bad-Name' }, 'schema'],
      [{ pool: { nothing: true } }, 'pool'],
    ] as Array<[unknown, string]>) {
      let error: unknown;
      try {
        new PostgresResourceStore(options as never);
      } catch (err) {
        error = err;
      }
      assert.ok(error instanceof WatchError && error.code === 'INVALID_CONFIG', String(error));
      assert.ok(error.message.includes(field), error.message);
      assert.ok(!error.message.includes(password), 'never the password');
    }
    const { store } = newStore();
    const bad: Array<[Promise<unknown>, string]> = [
      [store.load(''), 'topic'],
      [store.replace(TOPIC, [], -1), 'position'],
      [store.apply(TOPIC, [], 1.5), 'position'],
      [store.replace(TOPIC, [{ ...service('a'), metadata: { id: 'x' } } as unknown as Resource], 1), 'resource'],
      [store.apply(TOPIC, [{ op: 'remove', selfLink: '/x' } as never], 1), 'changes'],
    ];
    for (const [call, name] of bad) {
      const err = await rejection(call);
      assert.equal(err.code, 'INVALID_CONFIG');
      assert.ok(err.message.includes(`'${name}'`), err.message);
    }
    assert.equal(await store.load(TOPIC), undefined, 'nothing was written by the refused calls');
    await store.close();
    await store.close(); // idempotent
    assert.equal((await rejection(store.replace(TOPIC, [], 1))).code, 'CLOSED');
    const port = await freePort();
    const away = new PostgresResourceStore({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
    const err = await rejection(away.apply(TOPIC, [], 1));
    assert.equal(err.code, 'STATE_IO');
    assert.match(err.message, /connectionString/);
    await away.close();
  });

  it('close() during an apply: the apply lands whole or not at all, and close resolves once it settled', async (t) => {
    const { store, schema } = newStore();
    const before = [service('a'), service('b')];
    await store.replace(TOPIC, before, 10);
    // The test holds b's row: the apply writes its position, deletes a, then waits on b, mid-transaction.
    const locker = await sql.connect();
    try {
      await locker.query('BEGIN');
      await locker.query(`SELECT 1 FROM ${schema}.resources WHERE name = 'b' FOR UPDATE`);
      const order: string[] = [];
      const applying = store
        .apply(
          TOPIC,
          [
            { op: 'delete', selfLink: link(service('a')) },
            { op: 'put', resource: service('b', 'v2') },
            { op: 'put', resource: service('c') },
          ],
          11,
        )
        .then(
          () => void order.push('applied'),
          (err: unknown) => void order.push(`failed ${err instanceof WatchError ? err.code : String(err)}`),
        );
      const waiting = async (): Promise<boolean> => {
        const { rows } = await sql.query(
          `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%resources%'`,
        );
        return rows.length > 0;
      };
      for (let i = 0; !(await waiting()); i++) {
        assert.ok(i < 2_000, 'the apply waits on the row lock');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const closing = store.close().then(() => void order.push('closed'));
      await locker.query('COMMIT');
      await Promise.all([applying, closing]);
      t.diagnostic(order.join(', '));
      assert.equal(order.length, 2, order.join(', '));
      assert.equal(order[1], 'closed', `close resolves after the apply settled: ${order.join(', ')}`);
      const after = new PostgresResourceStore({ connectionString: pg.connectionString, schema });
      const now = await loaded(after);
      await after.close();
      const whole = { position: 11, resources: sorted([service('b', 'v2'), service('c')]) };
      if (order[0] === 'applied') assert.deepEqual(now, whole, 'the apply committed whole');
      else {
        assert.match(order[0] ?? '', /^failed (STATE_IO|CLOSED)$/);
        assert.deepEqual(now, { position: 10, resources: sorted(before) }, 'nothing of the apply landed');
      }
      assert.equal((await rejection(store.apply(TOPIC, [], 12))).code, 'CLOSED', 'a write after close()');
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      locker.release();
    }
  });
});
