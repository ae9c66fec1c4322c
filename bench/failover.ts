// Fail-over of a topic between replicas (PostgresCoordinator members, child processes) on a PostgreSQL cluster of
// the bench's own: kill -9 of the member holding the topic → the lease won by the other (its `won` line), repeated;
// and a graceful hand-off (SIGTERM: the leases are released at once) → won by the other. Prints median / p90 / max.
// This is the coordinator's share of "kill -9 → first event handled by the new owner": the manager's integration
// adds the catch-up after it.
//   node --import tsx bench/failover.ts [--kills 10] [--lease 2000] [--renew 500]
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { startPostgres } from '../test/support/postgres';
import { median, numberArg } from './support/stats';

const KILLS = numberArg('--kills', 10);
const LEASE_MS = numberArg('--lease', 2_000);
const RENEW_MS = numberArg('--renew', 500);
const TOPIC = '/management/v1alpha1/watchtopics/failover';

interface Member {
  id: string;
  child: ChildProcess;
  /** Times (Date.now in the child) it won the topic. */
  won: number[];
  /** Whether it holds the topic now, by its own lines. */
  holds: boolean;
}

function member(id: string, connectionString: string): Member {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(__dirname, '..', 'test', 'fixtures', 'coordinator-replica.ts'),
      connectionString,
      'failover',
      id,
      String(LEASE_MS),
      String(RENEW_MS),
      TOPIC,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const m: Member = { id, child, won: [], holds: false };
  let buffer = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += String(chunk);
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      const line = JSON.parse(buffer.slice(0, nl)) as { event: string; at: number };
      buffer = buffer.slice(nl + 1);
      if (line.event === 'won') {
        m.won.push(line.at);
        m.holds = true;
      }
      if (line.event === 'lost') m.holds = false;
    }
  });
  return m;
}

async function until(check: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('the fail-over did not happen in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const p90 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.ceil(xs.length * 0.9) - 1] as number;

async function round(kind: 'kill' | 'graceful', connectionString: string, n: number): Promise<number> {
  const a = member(`${kind}-${n}-a`, connectionString);
  await until(() => a.won.length > 0);
  const b = member(`${kind}-${n}-b`, connectionString);
  // Both are members (two heartbeats) and the topic has settled where the hashing puts it: the other is a standby.
  await new Promise((resolve) => setTimeout(resolve, 4 * RENEW_MS));
  await until(() => a.holds !== b.holds);
  const [holder, standby] = a.holds ? [a, b] : [b, a];
  const at = Date.now();
  holder.child.kill(kind === 'kill' ? 'SIGKILL' : 'SIGTERM');
  await until(() => standby.won.some((t) => t >= at));
  const took = (standby.won.find((t) => t >= at) as number) - at;
  standby.child.kill('SIGKILL');
  const exited = (m: Member): Promise<unknown> =>
    m.child.exitCode !== null || m.child.signalCode !== null
      ? Promise.resolve()
      : new Promise((resolve) => m.child.once('exit', resolve));
  await Promise.all([exited(a), exited(b)]);
  return took;
}

async function main(): Promise<void> {
  const pg = await startPostgres();
  const kills: number[] = [];
  const graceful: number[] = [];
  try {
    for (let i = 0; i < KILLS; i++) {
      kills.push(await round('kill', pg.connectionString, i));
      process.stdout.write(`kill -9 ${i + 1}: taken over after ${kills.at(-1)} ms\n`);
    }
    for (let i = 0; i < Math.max(3, Math.floor(KILLS / 2)); i++) {
      graceful.push(await round('graceful', pg.connectionString, i));
      process.stdout.write(`graceful ${i + 1}: taken over after ${graceful.at(-1)} ms\n`);
    }
  } finally {
    await pg.stop();
  }
  const bound = LEASE_MS + 2 * RENEW_MS;
  process.stdout.write(
    `lease ${LEASE_MS} ms, renew ${RENEW_MS} ms: kill -9 median ${median(kills)} / p90 ${p90(kills)} / max ${Math.max(...kills)} ms (target p90 ≤ ${bound}); graceful median ${median(graceful)} / max ${Math.max(...graceful)} ms (target ≤ ${2 * RENEW_MS})\n`,
  );
  process.stdout.write(
    `BENCH failover lease_ms=${LEASE_MS} renew_ms=${RENEW_MS} kills=${kills.length} kill_median_ms=${median(kills)} kill_p90_ms=${p90(kills)} kill_max_ms=${Math.max(...kills)} kill_target_ms=${bound} graceful_median_ms=${median(graceful)} graceful_max_ms=${Math.max(...graceful)} graceful_target_ms=${2 * RENEW_MS}\n`,
  );
  process.exit(0);
}

void main();
