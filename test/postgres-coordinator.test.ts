import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { WatchError } from 'watch-manager';
import { Pool } from 'pg';
import { PostgresCoordinator, PostgresSequenceStore, schemaSql, type TopicLease } from 'watch-manager/postgres';
import { assignTopics } from '../src/state/rendezvous';
import { startMuteDatabase } from './support/mute-database';
import { freePort } from './support/tinyproxy';
import { startPostgres, type TestPostgres } from './support/postgres';
import { captured, scanForSecrets, secret, until } from './support/harness';

scanForSecrets();

// Several coordinators (members) in one process against a real PostgreSQL. Replicas as child processes, with
// kill -9 and SIGSTOP, come with the manager's integration.
let pg: TestPostgres;
let schemas = 0;
const TOPICS = Array.from({ length: 6 }, (_, i) => `/management/v1alpha1/watchtopics/shard-${i}`);

/** Every lease each member held: topic, member, epoch, from when to when (monotonic ms). */
interface Tenure {
  topic: string;
  member: string;
  epoch: number;
  from: number;
  to: number | undefined;
}

/** A member of `schema` on the suite's PostgreSQL: leases of 1.5 s renewed every 100 ms (unless `extra` says). */
function coordinator(schema: string, memberId: string, extra: { leaseMs?: number } = {}): PostgresCoordinator {
  return new PostgresCoordinator({
    connectionString: pg.connectionString,
    schema,
    memberId,
    leaseMs: 1_500,
    renewMs: 100,
    ...extra,
  });
}

/** A member claiming every topic of {@link TOPICS}, its tenures recorded. */
function member(schema: string, memberId: string, tenures: Tenure[]): PostgresCoordinator {
  const c = coordinator(schema, memberId);
  for (const topic of TOPICS) {
    c.claim(topic, (lease: TopicLease) => {
      const tenure: Tenure = { topic, member: memberId, epoch: lease.epoch, from: performance.now(), to: undefined };
      tenures.push(tenure);
      lease.signal.addEventListener('abort', () => (tenure.to = performance.now()), { once: true });
    });
  }
  return c;
}

/** No topic held by two members at once, and epochs rise with each new tenure of a topic. */
function assertNoOverlap(tenures: Tenure[]): void {
  for (const topic of TOPICS) {
    const mine = tenures.filter((t) => t.topic === topic).sort((a, b) => a.from - b.from);
    for (let i = 1; i < mine.length; i++) {
      const [prev, next] = [mine[i - 1] as Tenure, mine[i] as Tenure];
      assert.ok(prev.to !== undefined && prev.to <= next.from, `${topic}: ${prev.member} and ${next.member} overlap`);
      assert.ok(next.epoch > prev.epoch, `${topic}: epoch ${next.epoch} after ${prev.epoch}`);
    }
  }
}

describe('PostgresCoordinator: members sharing topics on a real PostgreSQL', { timeout: 120_000 }, () => {
  before(async () => {
    pg = await startPostgres();
  });
  after(async () => {
    await pg?.stop();
  });

  it('two members split the topics evenly, never both on one; a member closing hands its topics over', async () => {
    const schema = `coord_${++schemas}`;
    const tenures: Tenure[] = [];
    const a = member(schema, 'member-a', tenures);
    const b = member(schema, 'member-b', tenures);
    await Promise.all([a.start(), b.start()]);
    const balanced = (): boolean => a.holding().size === 3 && b.holding().size === 3;
    await until('3 topics each', balanced);
    assert.deepEqual(new Set([...a.holding().keys(), ...b.holding().keys()]), new Set(TOPICS));
    const handOff = performance.now();
    await b.close();
    await until('member-a holds every topic', () => a.holding().size === 6);
    const handOffMs = performance.now() - handOff;
    assert.ok(handOffMs < 2 * 1_500, `graceful hand-off in ${handOffMs.toFixed(0)} ms`);
    await a.close();
    assertNoOverlap(tenures);
  });

  it('a member that stops renewing (cut off) loses its topics to the other within the lease', async () => {
    const schema = `coord_${++schemas}`;
    const tenures: Tenure[] = [];
    const a = member(schema, 'member-a', tenures);
    await a.start();
    await until('member-a holds every topic', () => a.holding().size === 6);
    // Cut member-a off: its database goes away under it (its leases stay in the rows until they run out).
    const b = member(schema, 'member-b', tenures);
    await pg.stopServer();
    const lost = performance.now();
    await until('member-a stops its topics at its renew deadline', () => a.holding().size === 0, 5_000);
    const stoppedAfter = performance.now() - lost;
    assert.ok(
      stoppedAfter < 1_500,
      `stopped ${stoppedAfter.toFixed(0)} ms after the database went, before the lease ran out`,
    );
    const reasons = tenures.map((t) => t.to !== undefined);
    assert.ok(reasons.every(Boolean));
    await pg.restart();
    await b.start();
    await until('the two share the topics again', () => a.holding().size + b.holding().size === 6);
    await Promise.all([a.close(), b.close()]);
    assertNoOverlap(tenures);
  });

  it('a member frozen between its fenced position write and COMMIT does not keep the topic locked: its transaction ends after a lease of idleness', async () => {
    const schema = `coord_${++schemas}`;
    const topic = TOPICS[0] as string;
    let lease: TopicLease | undefined;
    // The COMMIT is held back, as in a process frozen right after the fenced write (the write locks the row): on the
    // pg clients of a pool of the test's own (the handler's client is a guard, not the pg client).
    let resume!: () => void;
    const frozen = new Promise<void>((resolve) => (resume = resolve));
    const pool = new Pool({ connectionString: pg.connectionString, max: 4 });
    pool.on('error', () => undefined);
    const patched = new WeakSet<object>();
    let freezing = false; // from the transaction on (the schema's creation commits too)
    pool.on('acquire', (client) => {
      if (patched.has(client)) return;
      patched.add(client);
      const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
      (client as unknown as { query: typeof query }).query = (...args) =>
        args[0] === 'COMMIT' && freezing ? frozen.then(() => query(...args)) : query(...args);
    });
    const a = new PostgresCoordinator({ pool, schema, memberId: 'member-a', leaseMs: 1_500, renewMs: 100 });
    a.claim(topic, (l) => (lease = l));
    await a.start();
    await until('member-a holds the topic', () => lease !== undefined);
    const held = lease as TopicLease;
    freezing = true;
    const tx = held.transaction?.(7, () => Promise.resolve());
    assert.ok(tx !== undefined);
    const outcome = tx.then(
      () => 'committed',
      (err: WatchError) => err.code,
    );
    // Another member's acquisition needs that row: here, an UPDATE of it from another session.
    const other = new Pool({ connectionString: pg.connectionString });
    try {
      await new Promise((resolve) => setTimeout(resolve, 200)); // the fenced write is done, the COMMIT held
      const started = performance.now();
      await other.query(`SET lock_timeout = '6s'`);
      await other.query(`UPDATE ${schema}.topics SET updated_at = now() WHERE topic = $1`, [topic]);
      const waited = performance.now() - started;
      assert.ok(waited < 1_500 + 1_000, `the row was locked ${waited.toFixed(0)} ms`);
      resume();
      // The server ended the frozen transaction: it never committed, and the member gave the lease up: the lease
      // ended here (its holder stops) and its row was let go (a later round may win it again, at a new epoch).
      assert.equal(await outcome, 'LEASE_LOST');
      assert.equal(held.signal.aborted, true, 'the lease ended');
      assert.equal((held.signal.reason as WatchError).code, 'LEASE_LOST');
      const { rows } = await other.query<{ position: string | null; holder: string | null; epoch: string }>(
        `SELECT position, holder, epoch FROM ${schema}.topics WHERE topic = $1`,
        [topic],
      );
      assert.notEqual(rows[0]?.position, '7');
      // Its row is let go or runs out: nothing renews it at that epoch any more.
      const live = async (): Promise<boolean> =>
        (
          await other.query<{ live: boolean }>(
            `SELECT holder = 'member-a' AND epoch = $2 AND lease_until > clock_timestamp() AS live
             FROM ${schema}.topics WHERE topic = $1`,
            [topic, held.epoch],
          )
        ).rows[0]?.live === true;
      const deadline = Date.now() + 2 * 1_500;
      while (await live()) {
        assert.ok(Date.now() < deadline, `the row is still held at epoch ${held.epoch}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      resume();
      await other.end();
      await a.close();
      await pool.end();
    }
  });

  it('a COMMIT whose outcome is unknown (its session ended while it committed): LEASE_LOST, the lease ends at once and its row is let go', async () => {
    const schema = `coord_${++schemas}`;
    const topic = TOPICS[0] as string;
    let lease: TopicLease | undefined;
    const a = coordinator(schema, 'member-a', { leaseMs: 3_000 });
    a.claim(topic, (l) => (lease = l));
    const other = new Pool({ connectionString: pg.connectionString, max: 1 });
    try {
      await a.start();
      // At COMMIT, a deferred trigger on the fenced write of position 7 ends its own session (as a fail-over or an
      // idle-session killer would at that moment): the client cannot know whether it committed. Well within the
      // renew deadline (2 s): only the COMMIT's failure can end the lease here.
      await other.query(`
        CREATE FUNCTION ${schema}.end_session() RETURNS trigger LANGUAGE plpgsql AS
          'BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NULL; END';
        CREATE CONSTRAINT TRIGGER end_at_commit AFTER UPDATE ON ${schema}.topics
          DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.position = 7)
          EXECUTE FUNCTION ${schema}.end_session();`);
      await until('member-a holds the topic', () => lease !== undefined);
      const won = lease as TopicLease;
      const outcome = await won
        .transaction?.(7, () => Promise.resolve())
        .then(
          () => 'committed',
          (err: WatchError) => err.code,
        );
      assert.equal(outcome, 'LEASE_LOST');
      assert.equal(won.signal.aborted, true, 'the lease ended');
      assert.equal((won.signal.reason as WatchError).code, 'LEASE_LOST');
      const { rows } = await other.query<{ holder: string | null; epoch: string }>(
        `SELECT holder, epoch FROM ${schema}.topics WHERE topic = $1`,
        [topic],
      );
      assert.ok(
        !(rows[0]?.holder === 'member-a' && Number(rows[0]?.epoch) === won.epoch),
        `the row is still held at epoch ${won.epoch}`,
      );
    } finally {
      await other.end();
      await a.close();
    }
  });

  it('a lease row that turns corrupt when taken (epoch 2^53 - 1, bumped): given back, told to the claim once, never taken again round after round', async () => {
    const schema = `coord_${++schemas}`;
    const [told, silent] = [TOPICS[0] as string, TOPICS[1] as string];
    const db = new Pool({ connectionString: pg.connectionString, max: 1 });
    await db.query(schemaSql(`"${schema}"`));
    await db.query(
      `INSERT INTO ${schema}.topics (topic, epoch) VALUES ($1, 9007199254740991), ($2, 9007199254740991)`,
      [told, silent],
    );
    const c = coordinator(schema, 'member-a');
    const failures: string[] = [];
    const won: string[] = [];
    // One claim listens for failures, one does not (a Coordinator user of its own): neither is tried again.
    c.claim(
      told,
      (l) => void won.push(l.topic),
      (e) => void failures.push(e.code),
    );
    c.claim(silent, (l) => void won.push(l.topic));
    try {
      await c.start();
      await until('the failure told', () => failures.length > 0);
      await new Promise((resolve) => setTimeout(resolve, 10 * 100)); // ten renew rounds
      assert.deepEqual(failures, ['STATE_CORRUPT'], 'told once');
      assert.deepEqual(won, [], 'no lease handed out');
      const { rows } = await db.query<{ topic: string; holder: string | null; epoch: string }>(
        `SELECT topic, holder, epoch::text FROM ${schema}.topics`,
      );
      assert.deepEqual(
        new Map(rows.map((r) => [r.topic, [r.holder, r.epoch]])),
        new Map([
          [told, [null, '9007199254740992']],
          [silent, [null, '9007199254740992']],
        ]),
        'each taken once (its epoch bumped to 2^53) and given back',
      );
    } finally {
      await c.close();
      await db.end();
    }
  });

  it('a lease that cannot be taken for a while (its row locked past the query timeout) is tried again, never given up: a database blip is not a corrupt row', async () => {
    const schema = `coord_${++schemas}`;
    const topic = TOPICS[0] as string;
    const db = new Pool({ connectionString: pg.connectionString, max: 2 });
    await db.query(schemaSql(`"${schema}"`));
    await db.query(`INSERT INTO ${schema}.topics (topic) VALUES ($1)`, [topic]);
    // Another session holds the row: the acquisition's UPDATE waits on it until its query timeout (renewDeadlineMs).
    const locker = await db.connect();
    await locker.query('BEGIN');
    await locker.query(`SELECT 1 FROM ${schema}.topics WHERE topic = $1 FOR UPDATE`, [topic]);
    const c = coordinator(schema, 'member-a');
    const failures: string[] = [];
    const won: number[] = [];
    c.claim(
      topic,
      (l) => void won.push(l.epoch),
      (e) => void failures.push(e.code),
    );
    // Acquisitions waiting on the lock, as the server sees them: one that timed out on the client still waits there.
    const waiting = async (): Promise<number> =>
      Number(
        (
          await db.query<{ n: string }>(
            `SELECT count(*)::text AS n FROM pg_locks l JOIN pg_stat_activity a USING (pid)
              WHERE NOT l.granted AND a.query LIKE $1`,
            [`%INSERT INTO "${schema}".topics%`],
          )
        ).rows[0]?.n,
      );
    try {
      await c.start();
      // A second acquisition waiting means the first one failed at its query timeout (a failed statement, as a
      // database blip is) and the claim was tried again.
      const by = performance.now() + 30_000;
      while ((await waiting()) < 2) {
        assert.ok(performance.now() < by, 'a second acquisition waits on the lock');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await locker.query('COMMIT');
      await until('the lease is won once the row is free', () => won.length > 0 || failures.length > 0, 20_000);
      assert.deepEqual(failures, [], 'a failed acquisition is not told as a corrupt row');
      // Its epoch may be above 1: the acquisitions that timed out on the client still ran on the server once the row
      // was free (each taking a lease born expired, as it counts from when the statement began: fenced all the same).
      assert.ok(won.length > 0);
    } finally {
      locker.release();
      await c.close();
      await db.end();
    }
  });

  it('at start: an unreachable database, wrong credentials, an unknown database, missing privileges are typed, naming the setting, never the password', async () => {
    const admin = new Pool({ connectionString: pg.connectionString });
    const right = secret('reader-pw-right-8841');
    const wrong = secret('reader-pw-wrong-3307');
    await admin.query(`CREATE ROLE reader LOGIN PASSWORD '${right}'`);
    const url = (user: string, password: string, db = 'postgres', port = pg.port): string =>
      `postgres://${user}:${password}@127.0.0.1:${port}/${db}`;
    const startFails = async (options: Record<string, unknown>): Promise<WatchError> => {
      const c = new PostgresCoordinator({ leaseMs: 1_500, renewMs: 100, ...options });
      const err = await c.start().then(
        () => undefined,
        (e: unknown) => e,
      );
      await c.close();
      assert.ok(err instanceof WatchError, String(err));
      captured.push(err.message, String(err.cause));
      for (const pw of [right, wrong]) assert.equal(err.message.includes(pw), false, 'a password in the message');
      return err;
    };
    const unreachable = await startFails({ connectionString: url('reader', right, 'postgres', await freePort()) });
    assert.equal(unreachable.code, 'STATE_IO');
    assert.match(unreachable.message, /'connectionString' cannot be reached \(ECONNREFUSED\)/);
    const refused = await startFails({ connectionString: url('reader', wrong) });
    assert.equal(refused.code, 'INVALID_CONFIG');
    assert.match(refused.message, /refused the credentials \(28P01\); check the option 'connectionString'/);
    const noDb = await startFails({ connectionString: url('reader', right, 'nowhere') });
    assert.equal(noDb.code, 'INVALID_CONFIG');
    assert.match(noDb.message, /does not exist \(3D000\)/);
    const noRights = await startFails({ connectionString: url('reader', right), schema: 'reader_made' });
    assert.equal(noRights.code, 'INVALID_CONFIG');
    assert.match(noRights.message, /lacks a privilege.*\(42501\); check the option 'schema'/);
    // A DBA creates the tables ahead and grants the rows: the same user then runs without any DDL right.
    await admin.query(schemaSql('"dba_made"'));
    await admin.query('GRANT USAGE ON SCHEMA dba_made TO reader');
    await admin.query('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA dba_made TO reader');
    const tenures: Tenure[] = [];
    const runs = new PostgresCoordinator({
      connectionString: url('reader', right),
      schema: 'dba_made',
      memberId: 'reader-member',
      leaseMs: 1_500,
      renewMs: 100,
    });
    runs.claim(
      TOPICS[0] as string,
      (lease) =>
        void tenures.push({ topic: lease.topic, member: lease.owner, epoch: lease.epoch, from: 0, to: undefined }),
    );
    await runs.start();
    await until('the lease is won', () => tenures.length === 1);
    await runs.close();
    await admin.end();
  });

  it('a start that failed (the database away) can be tried again, and calls while it starts share it', async () => {
    const tenures: Tenure[] = [];
    const c = member(`coord_${++schemas}`, 'member-retry', tenures);
    await pg.stopServer();
    const failed = await c.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(failed instanceof WatchError && failed.code === 'STATE_IO', String(failed));
    await pg.restart();
    const [one, two] = [c.start(), c.start()];
    assert.equal(one, two, 'one start shared');
    await one;
    await until('its leases', () => c.holding().size === TOPICS.length);
    await c.close();
    await assert.rejects(c.start(), { code: 'CLOSED' });
  });

  it('bad configuration is INVALID_CONFIG naming the setting, never the password', () => {
    const password = secret('coordinator-pw-5524');
    const url = `postgres://agent:${password}@127.0.0.1:1/db`;
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ connectionString: url, leaseMs: 1_000, renewMs: 1_000 }, 'leaseMs'],
      [{ connectionString: url, leaseMs: 1_000, renewMs: 800 }, 'renewDeadlineMs'],
      [{ connectionString: url, renewMs: 0 }, 'renewMs'],
      [{ connectionString: url, memberId: '' }, 'memberId'],
      [{ connectionString: url, schema: 'x;drop' }, 'schema'],
      [{ connectionString: url, connectTimeoutMs: 0 }, 'connectTimeoutMs'],
      [{ pool: new Pool(), connectTimeoutMs: 1_000 }, 'connectTimeoutMs'],
    ];
    for (const [options, field] of cases) {
      assert.throws(
        () => new PostgresCoordinator(options),
        (err: unknown) => {
          assert.ok(err instanceof WatchError && err.code === 'INVALID_CONFIG', String(err));
          assert.match(err.message, new RegExp(`'${field}'`));
          assert.equal(err.message.includes(password), false);
          captured.push(err.message);
          return true;
        },
      );
    }
  });

  it('a member row with fewer than two heartbeats (a replica crash-looping) gets no topic; one with two does', async () => {
    const schema = `coord_${++schemas}`;
    const tenures: Tenure[] = [];
    const a = member(schema, 'member-a', tenures);
    const db = new Pool({ connectionString: pg.connectionString, max: 1 });
    try {
      await a.start();
      await until('member-a holds every topic', () => a.holding().size === TOPICS.length);
      // A member seen once, again and again: each restart of a crash-looping replica gets this far, and no further.
      const beat = (beats: number): Promise<unknown> =>
        db.query(
          `INSERT INTO ${schema}.members (member_id, beats) VALUES ('member-flapping', $1)
           ON CONFLICT (member_id) DO UPDATE SET heartbeat_at = clock_timestamp(), beats = $1`,
          [beats],
        );
      for (let round = 0; round < 10; round++) {
        await beat(1);
        await new Promise((resolve) => setTimeout(resolve, 100)); // a renew round
        assert.equal(a.holding().size, TOPICS.length, `round ${round}: a topic went to a member seen once`);
      }
      // Seen twice, it counts: member-a hands it its share (which nobody takes here).
      const share = [...assignTopics(TOPICS, ['member-a', 'member-flapping']).values()].filter(
        (m) => m === 'member-flapping',
      ).length;
      assert.ok(share > 0);
      await beat(2);
      await until('member-a hands off the share of a member seen twice', () => {
        void beat(2);
        return a.holding().size === TOPICS.length - share;
      });
    } finally {
      await a.close();
      await db.end();
    }
  });

  it('a database that accepts TCP and never answers: start() fails after connectTimeoutMs naming connectionString unreachable; closed while it joins, start() rejects CLOSED at once', async () => {
    const silent = await startMuteDatabase('silent');
    try {
      const timed = new PostgresCoordinator({ connectionString: silent.connectionString, connectTimeoutMs: 300 });
      const started = performance.now();
      const err = await timed.start().then(
        () => undefined,
        (e: unknown) => e,
      );
      const tookMs = performance.now() - started;
      await timed.close();
      assert.ok(err instanceof WatchError && err.code === 'STATE_IO', String(err));
      assert.match(err.message, /'connectionString' cannot be reached \(no answer within connectTimeoutMs\)/);
      assert.ok(tookMs >= 250 && tookMs < 5_000, `failed after ${tookMs.toFixed(0)} ms`);
      const store = new PostgresSequenceStore({ connectionString: silent.connectionString, connectTimeoutMs: 300 });
      await assert.rejects(store.getSequence(TOPICS[0] as string), (e: WatchError) => {
        assert.equal(e.code, 'STATE_IO');
        assert.match(e.message, /'connectionString' cannot be reached \(no answer within connectTimeoutMs\)/);
        return true;
      });
      await store.close();
      await until('the timed-out connects are gone', () => silent.open() === 0, 5_000);
      // The default connect timeout (10 s) is not waited for by close().
      const joining = new PostgresCoordinator({ connectionString: silent.connectionString });
      const outcome = joining.start().then(
        () => 'started',
        (e: WatchError) => e.code,
      );
      await until('the connect is under way', () => silent.open() > 0);
      const closing = performance.now();
      await joining.close();
      const closeMs = performance.now() - closing;
      assert.ok(closeMs < 1_000, `close() took ${closeMs.toFixed(0)} ms`);
      assert.equal(await outcome, 'CLOSED');
    } finally {
      await silent.stop();
    }
  });
});
