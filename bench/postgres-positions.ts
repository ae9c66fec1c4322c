// Events/s through registerWatch (ack on, concurrency 1) with positions in PostgreSQL (PostgresSequenceStore, a
// cluster of the bench's own, initdb into a temp dir) against the same with a FileSequenceStore, same events, same
// server process, in turn, each run a fresh process; the position keeper batches writes the same way for both
// (maxUnsavedAcks, its flush policy). Prints medians, ranges and the paired ratio.
//   node --import tsx bench/postgres-positions.ts [--events 200000] [--rounds 5]
import { startPostgres } from '../test/support/postgres';
import { median, numberArg, range, runThroughput, startProcess, type ServiceInfo } from './support/stats';

const EVENTS = numberArg('--events', 200_000);
const ROUNDS = numberArg('--rounds', 5);
const MODES = ['sdk-file', 'sdk-postgres'] as const;
type Mode = (typeof MODES)[number];

async function main(): Promise<void> {
  const pg = await startPostgres();
  const { info, stop } = await startProcess<ServiceInfo>('throughput-server.ts', { WM_EVENTS: String(EVENTS) });
  const rate: Record<Mode, number[]> = { 'sdk-file': [], 'sdk-postgres': [] };
  try {
    for (const mode of MODES) await runThroughput(mode, info, { env: { WM_PG_URL: pg.connectionString } }); // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? MODES : [...MODES].reverse();
      for (const mode of order) {
        const r = await runThroughput(mode, info, { env: { WM_PG_URL: pg.connectionString } });
        rate[mode].push((EVENTS / r.ms) * 1000);
        process.stdout.write(
          `round ${round + 1} ${mode}: ${((EVENTS / r.ms) * 1000).toFixed(0)} events/s, ${(r.cpuUs / EVENTS).toFixed(2)} µs CPU/event\n`,
        );
      }
    }
  } finally {
    stop();
    await pg.stop();
  }
  const ratios = rate['sdk-postgres'].map((x, i) => x / (rate['sdk-file'][i] as number));
  process.stdout.write(
    `file store ${median(rate['sdk-file']).toFixed(0)} events/s (${range(rate['sdk-file'])}), PostgreSQL ${median(rate['sdk-postgres']).toFixed(0)} (${range(rate['sdk-postgres'])}); paired PostgreSQL / file ${median(ratios).toFixed(2)} (${range(ratios, 2)})\n`,
  );
  process.stdout.write(
    `BENCH postgres-positions ratio_vs_file=${median(ratios).toFixed(2)} ratio_range=${range(ratios, 2)} postgres_events_per_s=${median(rate['sdk-postgres']).toFixed(0)} file_events_per_s=${median(rate['sdk-file']).toFixed(0)} target=0.8\n`,
  );
}

void main();
