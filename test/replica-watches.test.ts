import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Pool } from 'pg';
import { seededRandom, type FakeWatchService } from 'watch-manager/testing';
import { assertNeverBack, positionLedger, startPostgres, type TestPostgres } from './support/postgres';
import { scanForSecrets, startService, token, until } from './support/harness';
import { ReplicaProcess, type ReplicaLine } from './support/replica-process';

scanForSecrets();

// Agents as child processes (test/fixtures/watch-replica.ts: a WatchManager with a PostgresCoordinator) against the
// fake watch service and a real PostgreSQL, with real signals. Every handled event leaves an effect row (topic, seq,
// epoch, member, started, finished): what the checks read.
const LEASE_MS = 1_500;
const RENEW_MS = 200;
const topicName = (i: number): string => `/management/v1alpha1/watchtopics/replicated-${i}`;

interface Effect {
  topic: string;
  seq: number;
  epoch: number;
  member: string;
  started: number;
  finished: number;
}

describe('replicas of an agent: one active member per topic, fail-over, fencing', { timeout: 300_000 }, () => {
  let pg: TestPostgres;
  let db: Pool;
  let service: FakeWatchService;
  let jwt: string;
  const replicas: ReplicaProcess[] = [];
  before(async () => {
    pg = await startPostgres();
    db = new Pool({ connectionString: pg.connectionString, max: 2 });
    db.on('error', () => undefined);
    service = await startService();
    jwt = await token(service, { ttlMs: 3_600_000 });
  });
  after(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await db?.end();
    await service?.stop();
    await pg?.stop();
  });

  /** A schema with an effects table, and the topics created in the fake service. */
  async function setUp(schema: string, topics: string[]): Promise<void> {
    await db.query(`CREATE SCHEMA ${schema}`);
    await db.query(
      `CREATE TABLE ${schema}.effects (topic text, seq bigint, epoch bigint, member text, started_ms bigint, finished_ms bigint)`,
    );
    for (const t of topics) service.createTopic(t);
  }

  function replica(
    member: string,
    schema: string,
    topics: string[],
    options: { mode?: 'plain' | 'transaction'; workMs?: number; leaseMs?: number; renewMs?: number } = {},
  ): ReplicaProcess {
    const r = new ReplicaProcess(member, 'watch-replica.ts', {
      env: {
        WM_TARGET: service.target,
        WM_HISTORY: service.historyUrl,
        WM_TENANT: service.tenantId,
        WM_TOKEN: jwt,
        WM_TOPICS: topics.join(','),
        WM_PG: pg.connectionString,
        WM_SCHEMA: schema,
        WM_MEMBER: member,
        WM_LEASE_MS: String(options.leaseMs ?? LEASE_MS),
        WM_RENEW_MS: String(options.renewMs ?? RENEW_MS),
        WM_MODE: options.mode ?? 'plain',
        WM_WORK_MS: String(options.workMs ?? 0),
      },
    });
    replicas.push(r);
    return r;
  }

  async function effects(schema: string): Promise<Effect[]> {
    const { rows } = await db.query<Record<keyof Effect, string>>(
      `SELECT topic, seq, epoch, member, started_ms AS started, finished_ms AS finished FROM ${schema}.effects`,
    );
    return rows.map((r) => ({
      topic: r.topic,
      seq: Number(r.seq),
      epoch: Number(r.epoch),
      member: r.member,
      started: Number(r.started),
      finished: Number(r.finished),
    }));
  }

  async function rowsAtLeast(schema: string, n: number, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms;
    while ((await effects(schema)).length < n) {
      assert.ok(Date.now() < deadline, `fewer than ${n} effects after ${ms} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async function untilAsync(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** The member whose lease of `topic` is live, by the database (waits for one). */
  /** Until no member won, lost or released a lease for `quietMs`. */
  async function settled(members: ReplicaProcess[], quietMs: number): Promise<void> {
    const lastChange = (): number =>
      Math.max(
        0,
        ...members.flatMap((m) =>
          m.lines.filter((l) => l.event === 'won' || l.event === 'lost' || l.event === 'released').map((l) => l.at),
        ),
      );
    await until('the leases settle', () => Date.now() - lastChange() >= quietMs);
  }

  async function activeOf(schema: string, topic: string, members: ReplicaProcess[]): Promise<ReplicaProcess> {
    let active: ReplicaProcess | undefined;
    await untilAsync('a member holds the topic', async () => {
      const holder = (await holders(schema)).get(topic);
      active = members.find((m) => m.member === holder);
      return active !== undefined;
    });
    return active as ReplicaProcess;
  }

  /** Holders of live leases now, by the database. */
  async function holders(schema: string): Promise<Map<string, string>> {
    const { rows } = await db.query<{ topic: string; holder: string }>(
      `SELECT topic, holder FROM ${schema}.topics WHERE holder IS NOT NULL AND lease_until > clock_timestamp()`,
    );
    return new Map(rows.map((r) => [r.topic, r.holder]));
  }

  /** Waits until every published id of `topics` has an effect row. */
  async function allHandled(schema: string, topics: string[], ms = 30_000): Promise<Effect[]> {
    let rows: Effect[] = [];
    const deadline = Date.now() + ms;
    for (;;) {
      rows = await effects(schema);
      const missing = topics.flatMap((t) => {
        const newest = service.topic(t)?.newestSequenceId ?? 0;
        const seen = new Set(rows.filter((r) => r.topic === t).map((r) => r.seq));
        return Array.from({ length: newest }, (_, i) => i + 1)
          .filter((s) => !seen.has(s))
          .map((s) => `${t}#${s}`);
      });
      if (missing.length === 0) return rows;
      assert.ok(Date.now() < deadline, `never handled: ${missing.slice(0, 10).join(', ')} (${missing.length})`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Per topic, the epochs' spans of handler invocations never overlap in time, and each epoch is one member's. */
  function assertNoOverlap(rows: Effect[]): void {
    const spans = new Map<string, Map<number, { member: string; from: number; to: number }>>();
    for (const r of rows) {
      const byEpoch = spans.get(r.topic) ?? new Map<number, { member: string; from: number; to: number }>();
      spans.set(r.topic, byEpoch);
      const span = byEpoch.get(r.epoch);
      if (span === undefined) byEpoch.set(r.epoch, { member: r.member, from: r.started, to: r.finished });
      else {
        assert.equal(span.member, r.member, `${r.topic} epoch ${r.epoch} ran on two members`);
        span.from = Math.min(span.from, r.started);
        span.to = Math.max(span.to, r.finished);
      }
    }
    for (const [topic, byEpoch] of spans) {
      const ordered = [...byEpoch].sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < ordered.length; i++) {
        const [prevEpoch, prev] = ordered[i - 1] as [number, { to: number }];
        const [epoch, span] = ordered[i] as [number, { from: number }];
        assert.ok(
          span.from >= prev.to,
          `${topic}: epoch ${epoch} started at ${span.from}, before epoch ${prevEpoch} finished at ${prev.to}`,
        );
      }
    }
  }

  it('kill -9 of the active member: the standby takes over within leaseMs + 2 x renewMs, every id handled, repeats only in flight', async (t) => {
    const schema = 'killed';
    const topic = topicName(0);
    await setUp(schema, [topic]);
    const a = replica('agent-a', schema, [topic]);
    const b = replica('agent-b', schema, [topic]);
    const publisher = setInterval(() => service.publishMany(topic, 2), 20);
    let victim: ReplicaProcess;
    try {
      await until('both members started', () => a.said('started') && b.said('started'));
      await rowsAtLeast(schema, 30);
      victim = await activeOf(schema, topic, [a, b]);
      const survivor = victim === a ? b : a;
      const killedAt = Date.now();
      victim.signal('SIGKILL');
      const won = (): ReplicaLine | undefined => survivor.lines.find((l) => l.event === 'won' && l.at >= killedAt);
      await until('the standby wins the lease', () => won() !== undefined);
      const takeover = (won()?.at as number) - killedAt;
      assert.ok(takeover <= LEASE_MS + 2 * RENEW_MS, `taken over after ${takeover} ms`);
      t.diagnostic(`taken over ${takeover} ms after the kill (limit ${LEASE_MS + 2 * RENEW_MS})`);
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      clearInterval(publisher);
    }
    const rows = await allHandled(schema, [topic]);
    assertNoOverlap(rows);
    // Repeats: only the events the victim handled and had not stored yet, so the survivor resumed below them.
    const survivorFirst = Math.min(...rows.filter((r) => r.member !== victim.member).map((r) => r.seq));
    const counts = new Map<number, number>();
    for (const r of rows) counts.set(r.seq, (counts.get(r.seq) ?? 0) + 1);
    const repeats = [...counts].filter(([, n]) => n > 1).map(([s]) => s);
    assert.ok(
      repeats.every((s) => s >= survivorFirst),
      `repeats below where the survivor resumed: ${repeats.join(',')}`,
    );
    assert.ok(
      [...counts.values()].every((n) => n <= 2),
      'an event handled more than twice',
    );
    t.diagnostic(
      `${rows.length} effects of ${counts.size} events; the victim handled ${rows.filter((r) => r.member === victim.member).length}, repeats: ${repeats.length}`,
    );
  });

  it('SIGSTOP of the active member past its lease, then SIGCONT: its commits affect 0 rows, it stops the topic, the position never goes back', async (t) => {
    const schema = 'frozen';
    const topic = topicName(1);
    await setUp(schema, [topic]);
    const a = replica('agent-c', schema, [topic], { mode: 'transaction', workMs: 20 });
    const b = replica('agent-d', schema, [topic], { mode: 'transaction', workMs: 20 });
    const publisher = setInterval(() => service.publishMany(topic, 1), 15);
    let ledger: { stop(): Promise<number[]> } | undefined;
    let frozen: ReplicaProcess = a;
    let rows: Effect[];
    let readings: number[] = [];
    try {
      await until('both members started', () => a.said('started') && b.said('started'));
      await until('a member runs the topic', () => a.said('won') || b.said('won'));
      // A ledger of the stored position, read throughout: it must never go back.
      ledger = positionLedger(db, schema, topic);
      await rowsAtLeast(schema, 20);
      // Past the start's hand-off (a member counts after two heartbeats): no lease has changed hands for a while, so
      // the holder keeps the topic from here (a hand-off still under way when the holder is read would freeze the
      // member giving the topic up, and the other's 'won' would come before the freeze).
      await settled([a, b], 3 * RENEW_MS);
      frozen = await activeOf(schema, topic, [a, b]);
      const other = frozen === a ? b : a;
      const frozenAt = Date.now();
      frozen.signal('SIGSTOP');
      await until(
        'the other member takes the topic over',
        () => other.lines.some((l) => l.event === 'won' && l.at >= frozenAt),
        20_000,
      ).catch((err: Error) => {
        const leases = [a, b].flatMap((m) =>
          m.lines
            .filter((l) => ['won', 'lost', 'released'].includes(l.event))
            .map((l) => `${m.member} ${l.event} ${l.at}`),
        );
        throw new Error(`${err.message}; froze ${frozen.member} at ${frozenAt}; lease lines: ${leases.join(', ')}`);
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      frozen.signal('SIGCONT');
      await until('the frozen member says it lost the topic', () => frozen.said('lost')).catch((err: unknown) => {
        throw new Error(`${String(err)}: ${JSON.stringify(frozen.lines)} ${frozen.stderr}`);
      });
      await new Promise((resolve) => setTimeout(resolve, 500)); // a late commit would land meanwhile
      clearInterval(publisher);
      rows = await allHandled(schema, [topic]);
    } finally {
      clearInterval(publisher);
      readings = (await ledger?.stop()) ?? []; // also when a step above failed: no reader left for the next test
    }
    const said = frozen.lines.filter((l) => l.event === 'error' || l.event === 'lost');
    t.diagnostic(
      `the woken member said: ${said.map((l) => `${l.event} ${l.code ?? ''} ${l.message ?? ''}`).join(' | ')}`,
    );
    // Exactly once: a commit of the woken member after the takeover would show as a second row of one event.
    const counts = new Map<number, number>();
    for (const r of rows) counts.set(r.seq, (counts.get(r.seq) ?? 0) + 1);
    const twice = [...counts].filter(([, n]) => n > 1).map(([s]) => s);
    assert.deepEqual(twice, [], `events whose effect committed twice: ${twice.join(',')}`);
    assertNoOverlap(rows);
    assertNeverBack(readings);
    t.diagnostic(`${rows.length} effects, each once; ledger of ${readings.length} reads, never back`);
  });

  it('PostgreSQL restarted mid-run (pg_ctl restart): nothing lost, each effect once, the watches continue', async (t) => {
    const schema = 'restarted';
    const topics = [topicName(2), topicName(3)];
    await setUp(schema, topics);
    // Transactional handlers that spend their time inside the transaction: the restart ends connections in the
    // middle of transactions (each must fail typed and be retried, never crash the process).
    const a = replica('agent-e', schema, topics, { mode: 'transaction', workMs: 20 });
    const b = replica('agent-f', schema, topics, { mode: 'transaction', workMs: 20 });
    const publisher = setInterval(() => topics.forEach((topic) => service.publishMany(topic, 1)), 20);
    try {
      // Both started: a start while the database is down is a typed failure of registerWatch, not this test's case.
      await until('both members started', () => a.said('started') && b.said('started'));
      await until('both topics run', () => a.holding().size + b.holding().size === 2);
      await rowsAtLeast(schema, 40);
      const before = (await effects(schema)).length;
      const restartedAt = Date.now();
      await pg.restart();
      t.diagnostic(`restarted in ${Date.now() - restartedAt} ms, ${before} effects before`);
      await rowsAtLeast(schema, before + 60);
    } finally {
      clearInterval(publisher);
    }
    const rows = await allHandled(schema, topics);
    assertNoOverlap(rows);
    const seen = new Set<string>();
    const twice = rows.filter((r) => seen.size === seen.add(`${r.topic}#${r.seq}`).size);
    assert.deepEqual(twice, [], 'an effect committed twice');
    assert.ok(
      a.running && b.running,
      `a replica exited: ${JSON.stringify([...a.lines, ...b.lines])} ${a.stderr}${b.stderr}`,
    );
    t.diagnostic(
      `${rows.length} effects; leases: ${[...a.lines, ...b.lines]
        .filter((l) => ['won', 'lost'].includes(l.event))
        .map((l) => `${l.member} ${l.event} ${l.epoch}`)
        .join(', ')}`,
    );
  });

  it('3 replicas x 30 topics, one killed and one added: never a topic active on two members, balance within 1, every event handled', async (t) => {
    const schema = 'sharded';
    const leaseMs = 2_000;
    const renewMs = 300;
    const topics = Array.from({ length: 30 }, (_, i) => topicName(100 + i));
    await setUp(schema, topics);
    const options = { leaseMs, renewMs, workMs: 5 };
    const members = [1, 2, 3].map((n) => replica(`shard-${n}`, schema, topics, options));
    const balanced = async (live: ReplicaProcess[]): Promise<boolean> => {
      const held = await holders(schema);
      if (held.size !== topics.length) return false;
      const counts = live.map((m) => [...held.values()].filter((h) => h === m.member).length);
      return counts.every((c) => Math.abs(c - topics.length / live.length) <= 1);
    };
    const waitBalanced = async (live: ReplicaProcess[], ms: number): Promise<number> => {
      const from = Date.now();
      while (!(await balanced(live))) {
        assert.ok(
          Date.now() - from < ms,
          `not balanced within ${ms} ms: ${JSON.stringify([...(await holders(schema))])}`,
        );
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return Date.now() - from;
    };
    const publisher = setInterval(() => topics.forEach((topic) => service.publishMany(topic, 1)), 100);
    try {
      await until('every member started', () => members.every((m) => m.said('started')), 30_000);
      await waitBalanced(members, 20_000);
      const [victim, ...rest] = members as [ReplicaProcess, ...ReplicaProcess[]];
      victim.signal('SIGKILL');
      const added = replica('shard-4', schema, topics, options);
      await until('the added member started', () => added.said('started'), 30_000);
      // The added member counts after two heartbeats; the victim's leases run out after leaseMs. From then on the
      // topics must settle within 3 x renewMs.
      const settledIn = await waitBalanced([...rest, added], leaseMs + 2 * renewMs + 3 * renewMs);
      t.diagnostic(`balanced ${settledIn} ms after the added member started (limit ${leaseMs + 5 * renewMs})`);
      const counts = [...rest, added].map((m) => `${m.member}=${m.holding().size}`);
      t.diagnostic(`topics held: ${counts.join(' ')}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      clearInterval(publisher);
    }
    const rows = await allHandled(schema, topics, 60_000);
    assertNoOverlap(rows);
    t.diagnostic(`${rows.length} effects over ${topics.length} topics; no epoch overlapped another`);
  });

  it('transactional handlers, kill -9 at 20 random moments between effect and commit: every effect exactly once', async (t) => {
    const schema = 'exactly_once';
    const topic = topicName(4);
    await setUp(schema, [topic]);
    // Short leases keep 20 takeovers quick; each handler spends most of its time between its insert and the commit.
    const options = { mode: 'transaction' as const, workMs: 40, leaseMs: 1_000, renewMs: 150 };
    let next = 0;
    const spawnMember = (): ReplicaProcess => replica(`tx-${++next}`, schema, [topic], options);
    // Two standbys: a started one is always there to take over while the replacement of the last victim starts.
    const live = [spawnMember(), spawnMember(), spawnMember()];
    const publisher = setInterval(() => service.publishMany(topic, 1), 10);
    const random = seededRandom(13);
    try {
      await until('the members started', () => live.every((m) => m.said('started')), 30_000);
      for (let kill = 0; kill < 20; kill++) {
        let holder: string | undefined;
        await untilAsync('a live member holds the topic', async () => {
          holder = (await holders(schema)).get(topic);
          return live.some((m) => m.member === holder);
        });
        await rowsAtLeast(schema, (await effects(schema)).length + 3);
        await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 60)));
        const victim = live.find((m) => m.member === holder) as ReplicaProcess;
        victim.signal('SIGKILL');
        live.splice(live.indexOf(victim), 1);
        live.push(spawnMember());
      }
    } finally {
      clearInterval(publisher);
    }
    const rows = await allHandled(schema, [topic], 60_000);
    const counts = new Map<number, number>();
    for (const r of rows) counts.set(r.seq, (counts.get(r.seq) ?? 0) + 1);
    const twice = [...counts].filter(([, n]) => n > 1).map(([s]) => s);
    assert.deepEqual(twice, [], `effects committed twice: ${twice.join(',')}`);
    const epochs = new Set(rows.map((r) => r.epoch));
    t.diagnostic(`${rows.length} effects of ${counts.size} events, each once, under ${epochs.size} epochs; 20 kills`);
  });
});
