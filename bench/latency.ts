// End-to-end latency at a fixed rate: the service, in its own process, publishes RATE events a second for SECONDS
// seconds, each stamped with its send time (µs); the SDK (registerWatch, ack on, concurrency 1) notes the time each
// reaches the handler. Prints p50, p99 and max over every event, per round and overall.
//   node --import tsx bench/latency.ts [--rate 2000] [--seconds 10] [--rounds 3]
import { WatchManager } from '../src';
import { median, numberArg, range, startServiceProcess } from './support/stats';

const RATE = numberArg('--rate', 2_000);
const SECONDS = numberArg('--seconds', 10);
const ROUNDS = numberArg('--rounds', 3);

const quiet = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined } as never;
// CLOCK_MONOTONIC, shared with the service process (see bench/support/service-process.ts).
const nowMicros = (): number => Number(process.hrtime.bigint() / 1000n);
const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;

async function round(): Promise<{ p50: number; p99: number; max: number; count: number }> {
  const { info, child, stop } = await startServiceProcess(0);
  const manager = new WatchManager({
    target: info.target,
    historyUrl: info.historyUrl,
    tenantId: info.tenantId,
    getToken: () => info.token,
    tls: false,
    logger: quiet,
  });
  const latencies: number[] = [];
  await manager.registerWatch(info.topic, {
    onEvent: (event) => void latencies.push((nowMicros() - Number(event.payload.attributes.sentAt)) / 1000),
  });
  const finished = new Promise<void>((resolve) =>
    child.stdout?.on('data', (d: Buffer) => String(d).includes('rate done') && resolve()),
  );
  child.stdin?.write(`rate ${RATE} ${SECONDS}\n`);
  await finished;
  const expected = RATE * SECONDS;
  const deadline = Date.now() + 5_000;
  while (latencies.length < expected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  await manager.close();
  stop();
  const sorted = [...latencies].sort((a, b) => a - b);
  if (sorted.length !== expected) throw new Error(`received ${sorted.length} of ${expected} events`);
  return {
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) as number,
    count: sorted.length,
  };
}

async function main(): Promise<void> {
  const rounds: Array<Awaited<ReturnType<typeof round>>> = [];
  for (let i = 0; i < ROUNDS; i++) {
    const r = await round();
    rounds.push(r);
    process.stdout.write(
      `round ${i + 1}: ${r.count} events at ${RATE}/s: p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, max ${r.max.toFixed(1)} ms\n`,
    );
  }
  const p50s = rounds.map((r) => r.p50);
  const p99s = rounds.map((r) => r.p99);
  process.stdout.write(
    `p50 median ${median(p50s).toFixed(2)} ms (${range(p50s, 2)}), p99 median ${median(p99s).toFixed(2)} ms (${range(p99s, 2)})\n`,
  );
  process.stdout.write(
    `BENCH latency rate_per_s=${RATE} p50_ms=${median(p50s).toFixed(2)} p50_range=${range(p50s, 2)} p99_ms=${median(p99s).toFixed(2)} p99_range=${range(p99s, 2)} max_ms=${Math.max(...rounds.map((r) => r.max)).toFixed(1)}\n`,
  );
}

void main();
