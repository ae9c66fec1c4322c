// Events/s through registerWatch (ack on, concurrency 1) with positions in PostgreSQL (PostgresSequenceStore, a
// cluster of the bench's own, initdb into a temp dir) against the same with a FileSequenceStore, same events, same
// server process, in turn, each run a fresh process; the position keeper batches writes the same way for both
// (maxUnsavedAcks, its flush policy). Prints medians, ranges and the paired ratio. Then transactional handlers (a
// PostgresCoordinator; each event's effect row and its position in one commit, one transaction at a time) against
// the file store, on fewer events (a commit per event is far slower than a batched position).
//   node --import tsx bench/postgres-positions.ts [--events 200000] [--rounds 5] [--tx-events 5000]
import { startPostgres } from '../test/support/postgres';
import { median, numberArg, range, runThroughput, startProcess, type ServiceInfo } from './support/stats';

const EVENTS = numberArg('--events', 200_000);
const ROUNDS = numberArg('--rounds', 5);
const TX_EVENTS = numberArg('--tx-events', 5_000);
const MODES = ['sdk-file', 'sdk-postgres'] as const;
type Mode = (typeof MODES)[number];

async function main(): Promise<void> {
  const pg = await startPostgres();
  const { info, stop } = await startProcess<ServiceInfo>('throughput-server.ts', { WM_EVENTS: String(EVENTS) });
  const rate: Record<Mode, number[]> = { 'sdk-file': [], 'sdk-postgres': [] };
  const txRate: { file: number[]; transaction: number[] } = { file: [], transaction: [] };
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
    stop();
    const tx = await startProcess<ServiceInfo>('throughput-server.ts', { WM_EVENTS: String(TX_EVENTS) });
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const order =
          round % 2 === 0 ? (['sdk-file', 'sdk-transaction'] as const) : (['sdk-transaction', 'sdk-file'] as const);
        for (const mode of order) {
          const r = await runThroughput(mode, tx.info, { env: { WM_PG_URL: pg.connectionString } });
          const perS = (TX_EVENTS / r.ms) * 1000;
          (mode === 'sdk-file' ? txRate.file : txRate.transaction).push(perS);
          process.stdout.write(`round ${round + 1} ${mode} (${TX_EVENTS} events): ${perS.toFixed(0)} events/s\n`);
        }
      }
    } finally {
      tx.stop();
    }
  } finally {
    stop();
    await pg.stop();
  }
  const ratios = rate['sdk-postgres'].map((x, i) => x / (rate['sdk-file'][i] as number));
  process.stdout.write(
    `file store ${median(rate['sdk-file']).toFixed(0)} events/s (${range(rate['sdk-file'])}), PostgreSQL ${median(rate['sdk-postgres']).toFixed(0)} (${range(rate['sdk-postgres'])}); paired PostgreSQL / file ${median(ratios).toFixed(2)} (${range(ratios, 2)})\n`,
  );
  const txRatios = txRate.transaction.map((x, i) => x / (txRate.file[i] as number));
  process.stdout.write(
    `transactional handlers ${median(txRate.transaction).toFixed(0)} events/s (${range(txRate.transaction)}) vs file store ${median(txRate.file).toFixed(0)} on ${TX_EVENTS} events; paired ${median(txRatios).toFixed(3)} (${range(txRatios, 3)})\n`,
  );
  process.stdout.write(
    `BENCH postgres-positions ratio_vs_file=${median(ratios).toFixed(2)} ratio_range=${range(ratios, 2)} postgres_events_per_s=${median(rate['sdk-postgres']).toFixed(0)} file_events_per_s=${median(rate['sdk-file']).toFixed(0)} target=0.8 transaction_events_per_s=${median(txRate.transaction).toFixed(0)} transaction_vs_file=${median(txRatios).toFixed(3)}\n`,
  );
}

void main();
