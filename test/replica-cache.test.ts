import './support/harness';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FileResourceStore, WatchError, WatchManager, type Resource } from 'watch-manager';
import { Pool, type PoolClient } from 'pg';
import { PostgresCoordinator, PostgresResourceStore, type TopicLease } from 'watch-manager/postgres';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { quietLogger, scanForSecrets, until } from './support/harness';
import { assignTopics } from '../src/state/rendezvous';
import { ReplicaProcess } from './support/replica-process';
import { RENEW_MS, ReplicaCluster, topicName } from './support/replica-cluster';

scanForSecrets();

// Resource caches under a coordinator (docs/resources.md#the-cache): members as child processes
// (test/fixtures/cache-replica.ts) keep a cache of one topic in a PostgresResourceStore of the coordinator's database,
// against the fake watch service, with real signals. The cache runs on the member holding the lease of
// `<topic>#cache`; its writes commit only under that lease. The oracle: once the service is quiet, the store's rows
// are service.coveredResources(topic) and its position the topic's newest sequence id.

const LEASE = { leaseMs: 1_000, renewMs: 150 };
const bySelfLink = (a: Resource, b: Resource): number => a.metadata.selfLink.localeCompare(b.metadata.selfLink);

describe('resource caches of replicas: one writer per topic, fenced writes, take-over', () => {
  let c: ReplicaCluster;
  before(async () => {
    c = await ReplicaCluster.start();
  });
  after(async () => {
    await c?.stop();
  });

  const member = (name: string, schema: string, topic: string, writeDelayMs = 0): ReplicaProcess => {
    const r = new ReplicaProcess(name, 'cache-replica.ts', {
      env: {
        WM_TARGET: c.service.target,
        WM_HISTORY: c.service.historyUrl,
        WM_API: c.service.resourceApiUrl,
        WM_TENANT: c.service.tenantId,
        WM_TOKEN: c.jwt,
        WM_TOPICS: topic,
        WM_PG: c.pg.connectionString,
        WM_SCHEMA: schema,
        WM_MEMBER: name,
        WM_LEASE_MS: String(LEASE.leaseMs),
        WM_RENEW_MS: String(LEASE.renewMs),
        WM_WRITE_DELAY_MS: String(writeDelayMs),
      },
    });
    c.replicas.push(r);
    return r;
  };

  /** A manager in this process, member `memberId` of the coordinator in `schema`. */
  const inProcess = (schema: string, memberId: string): WatchManager =>
    new WatchManager({
      target: c.service.target,
      historyUrl: c.service.historyUrl,
      apiUrl: c.service.resourceApiUrl,
      tenantId: c.service.tenantId,
      getToken: () => c.jwt,
      tls: false,
      logger: quietLogger,
      coordinator: new PostgresCoordinator({ connectionString: c.pg.connectionString, schema, memberId, ...LEASE }),
    });

  /** The stored position of `topic`'s cache (undefined: nothing stored). */
  const storedPosition = async (schema: string, topic: string): Promise<number | undefined> => {
    const { rows } = await c.db.query<{ position: string }>(
      `SELECT position::text AS position FROM ${schema}.resource_topics WHERE topic = $1`,
      [topic],
    );
    return rows[0] === undefined ? undefined : Number(rows[0].position);
  };

  /** The stored position read every 10 ms until stop(): the readings, to check it never went back. */
  const ledger = (schema: string, topic: string): { stop(): Promise<number[]> } => {
    const readings: number[] = [];
    let reading = true;
    const reader = (async () => {
      while (reading) {
        readings.push((await storedPosition(schema, topic).catch(() => undefined)) ?? 0);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    return {
      stop: async () => {
        reading = false;
        await reader;
        return readings;
      },
    };
  };

  /** Publishes `perTick` events every `everyMs` until stop(). */
  const publisher = (topic: string, everyMs: number, perTick: number): { stop(): Promise<void> } => {
    let running = true;
    const loop = (async () => {
      while (running) {
        c.service.publishMany(topic, perTick);
        await new Promise((resolve) => setTimeout(resolve, everyMs));
      }
    })();
    return {
      stop: async () => {
        running = false;
        await loop;
      },
    };
  };

  /** Once quiet: the store's position is the newest event and its rows are the service's resources of the topic. */
  const assertStoreIsService = async (schema: string, topic: string): Promise<void> => {
    const newest = c.service.topic(topic)?.newestSequenceId ?? 0;
    await c.untilAsync(
      `the stored position reaches ${newest}`,
      async () => (await storedPosition(schema, topic)) === newest,
      30_000,
    );
    const { rows } = await c.db.query<{ resource: Resource }>(
      `SELECT resource FROM ${schema}.resources WHERE topic = $1`,
      [topic],
    );
    assert.deepEqual(
      rows.map((r) => r.resource).sort(bySelfLink),
      (c.service.coveredResources(topic) as unknown as Resource[]).sort(bySelfLink),
      'the stored cache equals the service',
    );
  };

  const assertNeverBack = (readings: readonly number[]): void => {
    for (let i = 1; i < readings.length; i++)
      assert.ok(
        (readings[i] as number) >= (readings[i - 1] as number),
        `the stored position went back: ${readings.slice(Math.max(0, i - 5), i + 5).join(',')}`,
      );
  };

  it(
    'kill -9 of the active member mid-writes: another member takes over, the store ends equal to the service',
    { timeout: 90_000 },
    async (t) => {
      const schema = 'cache_killed';
      const topic = topicName(40);
      await c.db.query(`CREATE SCHEMA ${schema}`);
      c.service.createTopic(topic);
      c.service.publishMany(topic, 40);
      const members = [member('cache-a', schema, topic), member('cache-b', schema, topic)];
      const feed = publisher(topic, 15, 2);
      try {
        await until('both members started', () => members.every((m) => m.said('started')), 30_000);
        await until(
          'both caches ready (one live, one standing by)',
          () => members.every((m) => m.said('ready')),
          30_000,
        );
        // Past the start's hand-off (a member counts after two heartbeats): the holder read next keeps the topic.
        await c.settled(members, 3 * RENEW_MS);
        const victim = await c.activeOf(schema, `${topic}#cache`, members);
        const survivor = members.find((m) => m !== victim) as ReplicaProcess;
        const before = (await storedPosition(schema, topic)) ?? 0;
        await c.untilAsync(
          'the active member writes',
          async () => ((await storedPosition(schema, topic)) ?? 0) > before + 10,
        );
        victim.signal('SIGKILL');
        await c.activeOf(schema, `${topic}#cache`, [survivor]);
        await c.untilAsync(
          'the new holder writes',
          async () => ((await storedPosition(schema, topic)) ?? 0) > before + 40,
        );
      } finally {
        await feed.stop();
      }
      await assertStoreIsService(schema, topic);
      t.diagnostic(
        `${c.service.coveredResources(topic).length} resources at position ${await storedPosition(schema, topic)}`,
      );
    },
  );

  it(
    'SIGSTOP of the active member past its lease, then SIGCONT: its writes never land, the position never goes back',
    { timeout: 90_000 },
    async (t) => {
      const schema = 'cache_frozen';
      const topic = topicName(41);
      await c.db.query(`CREATE SCHEMA ${schema}`);
      c.service.createTopic(topic);
      c.service.publishMany(topic, 40);
      // Writes start 100 ms late: the member is frozen between events it applied and their write, made once woken.
      const members = [member('cache-c', schema, topic, 100), member('cache-d', schema, topic, 100)];
      let readings: number[] = [];
      let positions: { stop(): Promise<number[]> } | undefined;
      const feed = publisher(topic, 15, 2);
      let frozen: ReplicaProcess | undefined;
      try {
        await until('both members started', () => members.every((m) => m.said('started')), 30_000);
        await until('a cache is live', () => members.some((m) => m.said('won')), 30_000);
        positions = ledger(schema, topic);
        await c.settled(members, 3 * RENEW_MS);
        frozen = await c.activeOf(schema, `${topic}#cache`, members);
        const other = members.find((m) => m !== frozen) as ReplicaProcess;
        const before = (await storedPosition(schema, topic)) ?? 0;
        await c.untilAsync(
          'the active member writes',
          async () => ((await storedPosition(schema, topic)) ?? 0) > before + 10,
        );
        const frozenAt = Date.now();
        frozen.signal('SIGSTOP');
        await until(
          'the other member takes over',
          () => other.lines.some((l) => l.event === 'won' && l.at >= frozenAt),
          20_000,
        ).catch((err: Error) => {
          const leases = members.flatMap((m) =>
            m.lines
              .filter((l) => ['won', 'lost', 'released'].includes(l.event))
              .map((l) => `${m.member} ${l.event} ${l.at}`),
          );
          throw new Error(`${err.message}; froze ${frozen?.member} at ${frozenAt}; lease lines: ${leases.join(', ')}`);
        });
        const takenAt = (await storedPosition(schema, topic)) ?? 0;
        await c.untilAsync(
          'the new holder writes',
          async () => ((await storedPosition(schema, topic)) ?? 0) > takenAt + 20,
        );
        frozen.signal('SIGCONT');
        await until('the woken member says it lost the lease', () => frozen?.said('lost') === true, 20_000);
        await new Promise((resolve) => setTimeout(resolve, 500)); // a late write would land meanwhile
        // The woken member stands by again (or took the topic back already: the coordinator balances the two), and runs
        // it once the other goes: it loads the store anew.
        other.signal('SIGKILL');
        await c.activeOf(schema, `${topic}#cache`, [frozen]);
        const retakenAt = (await storedPosition(schema, topic)) ?? 0;
        await c.untilAsync(
          'the woken member writes again',
          async () => ((await storedPosition(schema, topic)) ?? 0) > retakenAt + 20,
        );
      } finally {
        frozen?.signal('SIGCONT');
        await feed.stop();
        // Read through the freeze, the take-over, the woken member's lost writes and its own take-over.
        readings = (await positions?.stop()) ?? [];
      }
      await assertStoreIsService(schema, topic);
      assertNeverBack(readings);
      const said = frozen.lines.filter((l) => l.event === 'error' || l.event === 'lost');
      t.diagnostic(
        `the woken member said: ${said.map((l) => `${l.event} ${l.code ?? ''} ${l.message ?? ''}`).join(' | ')}; ${readings.length} readings`,
      );
    },
  );

  it('a coordinator needs a store with fenced writes, in its own database: INVALID_CONFIG naming the store', async () => {
    const schema = 'cache_refused';
    const topic = topicName(42);
    c.service.createTopic(topic);
    await c.db.query('CREATE DATABASE elsewhere');
    const m = inProcess(schema, 'refused');
    const directory = mkdtempSync(path.join(tmpdir(), 'replica-cache-'));
    const file = new FileResourceStore({ directory });
    const otherDatabase = c.pg.connectionString.replace(/\/postgres$/, '/elsewhere');
    const elsewhere = new PostgresResourceStore({ connectionString: otherDatabase, schema });
    try {
      for (const [store, name] of [
        [undefined, 'MemoryResourceStore'],
        [file, 'FileResourceStore'],
      ] as const) {
        const err = await m.cache(topic, store === undefined ? {} : { store }).then(
          () => undefined,
          (e: unknown) => e,
        );
        assert.ok(err instanceof WatchError && err.code === 'INVALID_CONFIG', String(err));
        assert.match(err.message, new RegExp(`options\\.store.*${name}`));
      }
      // In another database than the coordinator's: the lease's transaction could not fence its writes.
      const cache = await m.cache(topic, { store: elsewhere });
      const err = await cache.ready().then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof WatchError && err.code === 'INVALID_CONFIG', String(err));
      assert.match(err.message, /another database than its coordinator/);
      const { rows } = await c.db.query(
        `SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = 'resource_topics'`,
        [schema],
      );
      assert.equal(rows.length, 0, "nothing written in the coordinator's database");
    } finally {
      await m.close();
      await elsewhere.close();
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it(
    "a standby member's cache: ready while another member runs it, holding what the store held",
    { timeout: 30_000 },
    async () => {
      const schema = 'cache_standby';
      const topic = topicName(43);
      c.service.createTopic(topic);
      c.service.publishMany(topic, 30);
      // The members named so that the first is the lease's place by the coordinator's balance: it keeps the topic.
      const key = `${topic}#cache`;
      const [first, second] =
        assignTopics([key], ['standby-x', 'standby-y']).get(key) === 'standby-x'
          ? ['standby-x', 'standby-y']
          : ['standby-y', 'standby-x'];
      const store = (): PostgresResourceStore =>
        new PostgresResourceStore({ connectionString: c.pg.connectionString, schema });
      const running = inProcess(schema, first);
      const standing = inProcess(schema, second);
      try {
        const live = await running.cache(topic, { store: store() });
        await live.ready();
        const newest = c.service.topic(topic)?.newestSequenceId ?? 0;
        await c.untilAsync(
          'the running member stored the topic',
          async () => (await storedPosition(schema, topic)) === newest,
        );
        const standby = await standing.cache(topic, { store: store() });
        await standby.ready();
        const status = standing.status().watches.find((w) => w.cache === true);
        assert.equal(status?.role, 'standby');
        assert.equal(status?.owner, first);
        assert.equal(standby.live, false);
        assert.equal(standby.sequenceId, newest);
        assert.deepEqual(standby.list(), live.list(), 'the standby holds what the store held');
        assert.ok(live.size > 0);
      } finally {
        await standing.close();
        await running.close();
      }
    },
  );

  it(
    "kill -9 of the active member: the new holder's cache in memory equals the table's rows and the service",
    { timeout: 60_000 },
    async () => {
      const schema = 'cache_taken_over';
      const topic = topicName(44);
      c.service.createTopic(topic);
      c.service.publishMany(topic, 30);
      // The child named so that it is the lease's place by the coordinator's balance: it runs the cache first.
      const key = `${topic}#cache`;
      const [first, second] =
        assignTopics([key], ['taken-x', 'taken-y']).get(key) === 'taken-x'
          ? ['taken-x', 'taken-y']
          : ['taken-y', 'taken-x'];
      const victim = member(first, schema, topic);
      const heir = inProcess(schema, second);
      const feed = publisher(topic, 15, 2);
      try {
        await until('the first member ready', () => victim.said('ready'), 30_000);
        const cache = await heir.cache(topic, {
          store: new PostgresResourceStore({ connectionString: c.pg.connectionString, schema }),
        });
        await cache.ready();
        assert.equal(heir.status().watches.find((w) => w.cache === true)?.role, 'standby');
        const before = (await storedPosition(schema, topic)) ?? 0;
        await c.untilAsync(
          'the first member writes',
          async () => ((await storedPosition(schema, topic)) ?? 0) > before + 10,
        );
        victim.signal('SIGKILL');
        await until('the in-process member takes over', () => cache.live, 20_000);
        const takenAt = (await storedPosition(schema, topic)) ?? 0;
        await c.untilAsync(
          'the new holder writes',
          async () => ((await storedPosition(schema, topic)) ?? 0) > takenAt + 10,
        );
        await feed.stop();
        await assertStoreIsService(schema, topic);
        const newest = c.service.topic(topic)?.newestSequenceId ?? 0;
        await until('the cache at the newest event', () => cache.sequenceId === newest);
        const { rows } = await c.db.query<{ resource: Resource }>(
          `SELECT resource FROM ${schema}.resources WHERE topic = $1`,
          [topic],
        );
        const held = cache
          .list()
          .map((r) => structuredClone(r))
          .sort(bySelfLink);
        assert.deepEqual(held, rows.map((r) => r.resource).sort(bySelfLink), "the cache equals the table's rows");
        assert.deepEqual(
          held,
          (c.service.coveredResources(topic) as unknown as Resource[]).sort(bySelfLink),
          'the cache equals the service',
        );
        assert.equal(heir.status().watches.find((w) => w.cache === true)?.role, 'active');
      } finally {
        await feed.stop();
        await heir.close();
      }
    },
  );

  it(
    'a fenced write idle in its transaction past the lease is ended by the server (the limit the store sets); the next lease writes',
    { timeout: 60_000 },
    async () => {
      const schema = 'cache_idle';
      const topic = topicName(45);
      // The coordinator on a pool of the test's: a statement of the store's resource rows can be held back before it
      // is sent, its session then idle in the transaction that wrote the position (a member frozen mid-write).
      let hold: { pid?: number; release: () => void; released: Promise<void> } | undefined;
      const pool = new Pool({ connectionString: c.pg.connectionString, max: 4 });
      pool.on('error', () => undefined);
      pool.on('connect', (client: PoolClient) => {
        const send = client.query.bind(client) as (...args: unknown[]) => unknown;
        (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
          const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string } | undefined)?.text;
          const held = hold;
          if (held === undefined || held.pid !== undefined || !/\.resources\b/.test(text ?? '')) return send(...args);
          held.pid = (client as unknown as { processID: number }).processID;
          return held.released.then(() => send(...args));
        };
      });
      const coordinator = new PostgresCoordinator({ pool, schema, memberId: 'idle-a', ...LEASE });
      const store = new PostgresResourceStore({ connectionString: c.pg.connectionString, schema });
      const leases: TopicLease[] = [];
      const resource = (name: string, note: string): Resource => ({
        group: 'management',
        apiVersion: 'v1alpha1',
        kind: 'Environment',
        name,
        metadata: { id: `id-${name}`, selfLink: `/management/v1alpha1/environments/${name}` },
        spec: { note },
      });
      const rows = async (): Promise<{ position: number | undefined; names: string[] }> => {
        const { rows: found } = await c.db.query<{ name: string; note: string }>(
          `SELECT name, resource->'spec'->>'note' AS note FROM ${schema}.resources WHERE topic = $1 ORDER BY name`,
          [topic],
        );
        return { position: await storedPosition(schema, topic), names: found.map((r) => `${r.name} ${r.note}`) };
      };
      try {
        await coordinator.start();
        const withdraw = coordinator.claim(topic, (lease) => void leases.push(lease));
        await until('a lease', () => leases.length === 1, 20_000);
        const first = leases[0] as TopicLease;
        await store.fenced(first).replace(topic, [resource('env-a', 'v1')], 1);
        let release = (): void => undefined;
        const released = new Promise<void>((resolve) => (release = resolve));
        hold = { release, released };
        const failed = store
          .fenced(first)
          .apply(topic, [{ op: 'put', resource: resource('env-a', 'v2') }], 2)
          .then(
            () => undefined,
            (err: unknown) => err,
          );
        await until('the write held back', () => hold?.pid !== undefined, 20_000);
        // The server ends the idle session after the limit (the lease's length): its backend goes. Released meanwhile,
        // were the limit not set, the write would go on and commit.
        const gone = async (): Promise<boolean> => {
          const { rows: found } = await c.db.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [hold?.pid]);
          return found.length === 0;
        };
        await c.untilAsync('the idle session ended', gone, 5 * LEASE.leaseMs).finally(() => hold?.release());
        const err = await failed;
        assert.ok(err instanceof WatchError, `a typed error, got ${String(err)}`);
        assert.equal(err.code, 'LEASE_LOST');
        assert.ok(first.signal.aborted, 'the lease ended with the write');
        assert.deepEqual(await rows(), { position: 1, names: ['env-a v1'] }, 'nothing of the write landed');
        hold = undefined;
        // The next lease won writes again: the broken connection was not handed out again.
        await until('the next lease', () => leases.length === 2, 20_000);
        await store.fenced(leases[1] as TopicLease).apply(topic, [{ op: 'put', resource: resource('env-a', 'v3') }], 3);
        assert.deepEqual(await rows(), { position: 3, names: ['env-a v3'] });
        await withdraw();
      } finally {
        hold?.release();
        await coordinator.close();
        await store.close();
        await pool.end();
      }
    },
  );

  it('close() of a cache drains the store write in flight: it commits whole, and close resolves after it', async () => {
    const schema = 'cache_drained';
    const topic = topicName(46);
    c.service.createTopic(topic);
    c.service.publishMany(topic, 5);
    const m = new WatchManager({
      target: c.service.target,
      historyUrl: c.service.historyUrl,
      apiUrl: c.service.resourceApiUrl,
      tenantId: c.service.tenantId,
      getToken: () => c.jwt,
      tls: false,
      logger: quietLogger,
    });
    const locker = await c.db.connect();
    try {
      const cache = await m.cache(topic, {
        store: new PostgresResourceStore({ connectionString: c.pg.connectionString, schema }),
      });
      await cache.ready();
      const synced = c.service.topic(topic)?.newestSequenceId ?? 0;
      await c.untilAsync('the sync stored', async () => (await storedPosition(schema, topic)) === synced);
      // The test holds the topic's position row: the next write waits on it, its transaction begun.
      await locker.query('BEGIN');
      await locker.query(`SELECT 1 FROM ${schema}.resource_topics WHERE topic = $1 FOR UPDATE`, [topic]);
      c.service.publishMany(topic, 3);
      const newest = c.service.topic(topic)?.newestSequenceId ?? 0;
      await until('the cache applied the events', () => cache.sequenceId === newest);
      await c.untilAsync('the write waits on the row', async () => {
        const { rows } = await c.db.query(
          `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%resource_topics%'`,
        );
        return rows.length > 0;
      });
      let closed = false;
      const closing = cache.close().then(() => void (closed = true));
      // A turn of the database for the close to go wrong in, were it not to wait: the row is still held.
      await c.db.query('SELECT pg_sleep(0.2)');
      assert.equal(closed, false, 'close waits for the write in flight');
      await locker.query('COMMIT');
      await closing;
      assert.equal(await storedPosition(schema, topic), newest, 'the write committed, its position with it');
      await assertStoreIsService(schema, topic);
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      locker.release();
      await m.close();
    }
  });
});
