// This checkout against another one (an older commit: `git worktree add ../base <commit>`), on one path of
// bench/throughput.ts: both read the same server process, in turn, each run a fresh process, and the ratio of their
// events/s is taken pair by pair (the machine's speed drifts; a pair shares its moment). Answers "is the handler path
// no slower than before this change?". The other checkout needs bench/support/throughput-run.ts and its node_modules.
//   node --import tsx bench/versus.ts --base ../base [--mode sdk-handler] [--events 200000] [--rounds 10]
import { existsSync } from 'node:fs';
import path from 'node:path';
import { median, numberArg, range, runThroughput, startProcess, type ServiceInfo } from './support/stats';

const EVENTS = numberArg('--events', 200_000);
const ROUNDS = numberArg('--rounds', 10);
const arg = (name: string, fallback?: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : process.argv[i + 1];
};
const MODE = arg('--mode', 'sdk-handler') as string;
const BASE = arg('--base');

async function main(): Promise<void> {
  if (BASE === undefined || !existsSync(path.join(BASE, 'bench', 'support', 'throughput-run.ts'))) {
    process.stderr.write('usage: bench/versus.ts --base <another checkout with bench/support/throughput-run.ts>\n');
    process.exit(2);
  }
  const here = path.join(__dirname, '..');
  const base = path.resolve(BASE);
  const { info, stop } = await startProcess<ServiceInfo>('throughput-server.ts', { WM_EVENTS: String(EVENTS) });
  const rates: Record<'here' | 'base', number[]> = { here: [], base: [] };
  const cpu: Record<'here' | 'base', number[]> = { here: [], base: [] };
  await runThroughput(MODE, info, { root: here }); // warm-up: the server's first streams, the OS caches
  await runThroughput(MODE, info, { root: base });
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? (['here', 'base'] as const) : (['base', 'here'] as const);
    for (const which of order) {
      const r = await runThroughput(MODE, info, { root: which === 'here' ? here : base });
      rates[which].push((EVENTS / r.ms) * 1000);
      cpu[which].push(r.cpuUs / EVENTS);
      process.stdout.write(
        `round ${round + 1} ${which}: ${((EVENTS / r.ms) * 1000).toFixed(0)} events/s, ${(r.cpuUs / EVENTS).toFixed(2)} µs CPU/event\n`,
      );
    }
  }
  stop();
  const ratios = rates.here.map((x, i) => x / (rates.base[i] as number));
  const cpuRatios = cpu.here.map((x, i) => x / (cpu.base[i] as number));
  process.stdout.write(
    `${MODE}: here ${median(rates.here).toFixed(0)} events/s (${range(rates.here)}), base ${median(rates.base).toFixed(0)} (${range(rates.base)}); paired events/s here/base ${median(ratios).toFixed(2)} (${range(ratios, 2)}), CPU µs/event here/base ${median(cpuRatios).toFixed(2)} (${range(cpuRatios, 2)})\n`,
  );
  process.stdout.write(
    `BENCH versus mode=${MODE} ratio=${median(ratios).toFixed(2)} ratio_range=${range(ratios, 2)} cpu_ratio=${median(cpuRatios).toFixed(2)} here_events_per_s=${median(rates.here).toFixed(0)} base_events_per_s=${median(rates.base).toFixed(0)}\n`,
  );
}

void main();
