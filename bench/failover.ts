// Fail-over of a watched topic between replicas of an agent (test/fixtures/watch-replica.ts: a WatchManager with a
// PostgresCoordinator, as child processes) against the fake watch service, which publishes an event every 10 ms, on
// a PostgreSQL cluster of the bench's own. kill -9 of the replica running the topic → the first event handled by
// the other (its first effect row), repeated; and a graceful hand-off (SIGTERM: the manager closes, its leases are
// released at once) → the same. Once with short leases and once with the defaults. Prints median / p90 / max.
//   node --import tsx bench/failover.ts [--kills 10] [--lease 2000] [--renew 500] [--default-kills 10]
import { Pool } from 'pg';
import { FakeWatchService } from '../src/testing';
import { startPostgres } from '../test/support/postgres';
import { ReplicaProcess } from '../test/support/replica-process';
import { median, numberArg } from './support/stats';

const KILLS = numberArg('--kills', 10);
const LEASE_MS = numberArg('--lease', 2_000);
const RENEW_MS = numberArg('--renew', 500);
const DEFAULT_KILLS = numberArg('--default-kills', 10);

const p90 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.ceil(xs.length * 0.9) - 1] as number;

async function until(check: () => boolean | Promise<boolean>, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('the fail-over did not happen in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

interface Setting {
  name: string;
  leaseMs: number | undefined;
  renewMs: number | undefined;
}

async function main(): Promise<void> {
  const pg = await startPostgres();
  const service = await FakeWatchService.start({ pingIntervalMs: false });
  const token = await service.issueToken({ ttlMs: 3_600_000 });
  const db = new Pool({ connectionString: pg.connectionString, max: 2 });
  let rounds = 0;

  /** A round: two replicas on a fresh topic; the one running it is killed or stopped; time to the next event. */
  async function round(kind: 'kill' | 'graceful', setting: Setting): Promise<number> {
    const n = ++rounds;
    const schema = `failover_${n}`;
    const topic = `/management/v1alpha1/watchtopics/failover-${n}`;
    service.createTopic(topic);
    await db.query(`CREATE SCHEMA ${schema}`);
    await db.query(
      `CREATE TABLE ${schema}.effects (topic text, seq bigint, epoch bigint, member text, started_ms bigint, finished_ms bigint)`,
    );
    const env = (member: string): NodeJS.ProcessEnv => ({
      WM_TARGET: service.target,
      WM_HISTORY: service.historyUrl,
      WM_TENANT: service.tenantId,
      WM_TOKEN: token,
      WM_TOPICS: topic,
      WM_PG: pg.connectionString,
      WM_SCHEMA: schema,
      WM_MEMBER: member,
      WM_LEASE_MS: String(setting.leaseMs ?? 15_000),
      WM_RENEW_MS: String(setting.renewMs ?? 2_000),
      WM_MODE: 'plain',
      WM_WORK_MS: '0',
    });
    const a = new ReplicaProcess(`a-${n}`, 'watch-replica.ts', { env: env(`a-${n}`) });
    const b = new ReplicaProcess(`b-${n}`, 'watch-replica.ts', { env: env(`b-${n}`) });
    const publisher = setInterval(() => service.publish(topic), 10);
    try {
      await until(() => a.said('started') && b.said('started'));
      // Both count (two heartbeats) and the topic settled where the hashing puts it: the other stands by.
      await new Promise((resolve) => setTimeout(resolve, 4 * (setting.renewMs ?? 2_000)));
      const holderOf = async (): Promise<string | undefined> =>
        (
          await db.query<{ holder: string }>(
            `SELECT holder FROM ${schema}.topics WHERE topic = $1 AND lease_until > clock_timestamp()`,
            [topic],
          )
        ).rows[0]?.holder;
      await until(async () => (await holderOf()) !== undefined);
      const holder = (await holderOf()) === a.member ? a : b;
      const standby = holder === a ? b : a;
      const at = Date.now();
      holder.signal(kind === 'kill' ? 'SIGKILL' : 'SIGTERM');
      let first: number | undefined;
      await until(async () => {
        const { rows } = await db.query<{ started: string | null }>(
          `SELECT min(started_ms) AS started FROM ${schema}.effects WHERE member = $1 AND started_ms >= $2`,
          [standby.member, at],
        );
        first = rows[0]?.started === null || rows[0] === undefined ? undefined : Number(rows[0].started);
        return first !== undefined;
      });
      return (first as number) - at;
    } finally {
      clearInterval(publisher);
      await Promise.all([a.stop(), b.stop()]);
    }
  }

  const results: string[] = [];
  try {
    const settings: Array<[Setting, number]> = [
      [{ name: `lease ${LEASE_MS} / renew ${RENEW_MS}`, leaseMs: LEASE_MS, renewMs: RENEW_MS }, KILLS],
      [{ name: 'defaults (lease 15000 / renew 2000)', leaseMs: undefined, renewMs: undefined }, DEFAULT_KILLS],
    ];
    for (const [setting, kills] of settings) {
      if (kills === 0) continue;
      const killed: number[] = [];
      const graceful: number[] = [];
      for (let i = 0; i < kills; i++) {
        killed.push(await round('kill', setting));
        process.stdout.write(`${setting.name}: kill -9 ${i + 1}: first event after ${killed.at(-1)} ms\n`);
      }
      for (let i = 0; i < 3; i++) {
        graceful.push(await round('graceful', setting));
        process.stdout.write(`${setting.name}: graceful ${i + 1}: first event after ${graceful.at(-1)} ms\n`);
      }
      const lease = setting.leaseMs ?? 15_000;
      const renew = setting.renewMs ?? 2_000;
      process.stdout.write(
        `${setting.name}: kill -9 → first event handled by the new owner: median ${median(killed)} / p90 ${p90(killed)} / max ${Math.max(...killed)} ms (target p90 ≤ ${lease + 2 * renew}); graceful median ${median(graceful)} / max ${Math.max(...graceful)} ms (target ≤ ${2 * renew})\n`,
      );
      results.push(
        `lease${lease}_kills=${killed.length} lease${lease}_kill_median_ms=${median(killed)} lease${lease}_kill_p90_ms=${p90(killed)} lease${lease}_kill_max_ms=${Math.max(...killed)} lease${lease}_kill_target_ms=${lease + 2 * renew} lease${lease}_graceful_median_ms=${median(graceful)} lease${lease}_graceful_max_ms=${Math.max(...graceful)} lease${lease}_graceful_target_ms=${2 * renew}`,
      );
    }
  } finally {
    await db.end();
    await service.stop();
    await pg.stop();
  }
  process.stdout.write(`BENCH failover ${results.join(' ')}\n`);
  process.exit(0);
}

void main();
