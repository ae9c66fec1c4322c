import assert from 'node:assert/strict';
import { Pool } from 'pg';
import type { FakeWatchService } from 'watch-manager/testing';
import { startPostgres, type TestPostgres } from './postgres';
import { startService, token, until } from './harness';
import { ReplicaProcess } from './replica-process';

// Agents as child processes (test/fixtures/watch-replica.ts: a WatchManager with a PostgresCoordinator) against the
// fake watch service and a real PostgreSQL, with real signals: what the replica test files share. Every handled event
// leaves an effect row (topic, seq, epoch, member, started, finished): what the checks read.

export const LEASE_MS = 1_500;
export const RENEW_MS = 200;
export const topicName = (i: number): string => `/management/v1alpha1/watchtopics/replicated-${i}`;

/** Every query of the checks answers within this (a database that stops answering fails the test, never hangs it). */
const QUERY_MS = 15_000;

export interface Effect {
  topic: string;
  seq: number;
  epoch: number;
  member: string;
  started: number;
  finished: number;
}

export interface ReplicaOptions {
  mode?: 'plain' | 'transaction';
  workMs?: number;
  leaseMs?: number;
  renewMs?: number;
}

/** What publishes while a test runs; `stop()` ends it (and waits for its last round). */
export interface Publisher {
  stop(): Promise<void>;
}

/** A PostgreSQL of its own, the fake watch service, a token, and the replicas started on them. */
export class ReplicaCluster {
  readonly replicas: ReplicaProcess[] = [];

  private constructor(
    readonly pg: TestPostgres,
    readonly db: Pool,
    readonly service: FakeWatchService,
    readonly jwt: string,
  ) {}

  static async start(): Promise<ReplicaCluster> {
    const pg = await startPostgres();
    const db = new Pool({
      connectionString: pg.connectionString,
      max: 2,
      connectionTimeoutMillis: QUERY_MS,
      query_timeout: QUERY_MS,
    });
    db.on('error', () => undefined);
    const service = await startService();
    return new ReplicaCluster(pg, db, service, await token(service, { ttlMs: 3_600_000 }));
  }

  async stop(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.stop()));
    await this.db.end();
    await this.service.stop();
    await this.pg.stop();
  }

  /** A schema with an effects table, and the topics created in the fake service. */
  async setUp(schema: string, topics: string[]): Promise<void> {
    await this.db.query(`CREATE SCHEMA ${schema}`);
    await this.db.query(
      `CREATE TABLE ${schema}.effects (topic text, seq bigint, epoch bigint, member text, started_ms bigint, finished_ms bigint)`,
    );
    for (const t of topics) this.service.createTopic(t);
  }

  replica(member: string, schema: string, topics: string[], options: ReplicaOptions = {}): ReplicaProcess {
    const r = new ReplicaProcess(member, 'watch-replica.ts', {
      env: {
        WM_TARGET: this.service.target,
        WM_HISTORY: this.service.historyUrl,
        WM_TENANT: this.service.tenantId,
        WM_TOKEN: this.jwt,
        WM_TOPICS: topics.join(','),
        WM_PG: this.pg.connectionString,
        WM_SCHEMA: schema,
        WM_MEMBER: member,
        WM_LEASE_MS: String(options.leaseMs ?? LEASE_MS),
        WM_RENEW_MS: String(options.renewMs ?? RENEW_MS),
        WM_MODE: options.mode ?? 'plain',
        WM_WORK_MS: String(options.workMs ?? 0),
      },
    });
    this.replicas.push(r);
    return r;
  }

  async effects(schema: string): Promise<Effect[]> {
    const { rows } = await this.db.query<Record<keyof Effect, string>>(
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

  /** How many effect rows there are (a count: cheap to poll, unlike reading every row). */
  async effectCount(schema: string): Promise<number> {
    const { rows } = await this.db.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.effects`);
    return Number(rows[0]?.n ?? 0);
  }

  async rowsAtLeast(schema: string, n: number, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms;
    while ((await this.effectCount(schema)) < n) {
      assert.ok(Date.now() < deadline, `fewer than ${n} effects after ${ms} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async untilAsync(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Until no member won, lost or released a lease for `quietMs`. */
  async settled(members: ReplicaProcess[], quietMs: number): Promise<void> {
    const lastChange = (): number =>
      Math.max(
        0,
        ...members.flatMap((m) =>
          m.lines.filter((l) => l.event === 'won' || l.event === 'lost' || l.event === 'released').map((l) => l.at),
        ),
      );
    await until('the leases settle', () => Date.now() - lastChange() >= quietMs);
  }

  /** The member whose lease of `topic` is live, by the database (waits for one). */
  async activeOf(schema: string, topic: string, members: ReplicaProcess[]): Promise<ReplicaProcess> {
    let active: ReplicaProcess | undefined;
    await this.untilAsync('a member holds the topic', async () => {
      const holder = (await this.holders(schema)).get(topic);
      active = members.find((m) => m.member === holder);
      return active !== undefined;
    });
    return active as ReplicaProcess;
  }

  /** Holders of live leases now, by the database. */
  async holders(schema: string): Promise<Map<string, string>> {
    const { rows } = await this.db.query<{ topic: string; holder: string }>(
      `SELECT topic, holder FROM ${schema}.topics WHERE holder IS NOT NULL AND lease_until > clock_timestamp()`,
    );
    return new Map(rows.map((r) => [r.topic, r.holder]));
  }

  /**
   * A member's heartbeats so far: one per round of its coordinator. Timing claims are counted in these rounds: on a
   * loaded machine a round takes longer than renewMs (its queries wait for the CPU), on a quiet one the two agree.
   */
  async beats(schema: string, member: ReplicaProcess): Promise<number> {
    const { rows } = await this.db.query<{ beats: string }>(
      `SELECT beats FROM ${schema}.members WHERE member_id = $1`,
      [member.member],
    );
    return Number(rows[0]?.beats ?? 0);
  }

  /** Waits until every published id of `topics` has an effect row. */
  async allHandled(schema: string, topics: string[], ms = 30_000): Promise<Effect[]> {
    let rows: Effect[] = [];
    const deadline = Date.now() + ms;
    for (;;) {
      rows = await this.effects(schema);
      const missing = topics.flatMap((t) => {
        const newest = this.service.topic(t)?.newestSequenceId ?? 0;
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

  /**
   * Publishes `perTick` events to each of `topics` every `everyMs`, but never more than `maxBacklog` events of a topic
   * ahead of its effect rows: the members always have events to handle (a kill meets handlers at work), and the
   * publisher never runs away from them. Without the bound, a loaded machine (members handling fewer per second)
   * piled up thousands of events that the test then waited for at its end, past its time.
   */
  publisher(
    schema: string,
    topics: string[],
    options: { everyMs: number; perTick: number; maxBacklog: number },
  ): Publisher {
    let running = true;
    const loop = (async () => {
      while (running) {
        let handled: Map<string, number>;
        try {
          const { rows } = await this.db.query<{ topic: string; n: string }>(
            `SELECT topic, count(DISTINCT seq) AS n FROM ${schema}.effects GROUP BY topic`,
          );
          handled = new Map(rows.map((r) => [r.topic, Number(r.n)]));
        } catch {
          // The database restarting (a test's own doing): nothing published until the handled count can be read.
          await new Promise((resolve) => setTimeout(resolve, options.everyMs));
          continue;
        }
        for (const topic of topics) {
          const backlog = (this.service.topic(topic)?.newestSequenceId ?? 0) - (handled.get(topic) ?? 0);
          const n = Math.min(options.perTick, options.maxBacklog - backlog);
          if (n > 0) this.service.publishMany(topic, n);
        }
        await new Promise((resolve) => setTimeout(resolve, options.everyMs));
      }
    })();
    return {
      stop: async () => {
        running = false;
        await loop;
      },
    };
  }
}

/** Per topic, the epochs' spans of handler invocations never overlap in time, and each epoch is one member's. */
export function assertNoOverlap(rows: Effect[]): void {
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
