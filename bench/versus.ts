// Paired comparisons on the paths of bench/throughput.ts: every client reads the same server process, in turn, each
// run a fresh process, the order alternating each round, and each ratio taken round by round (the machine's speed
// drifts; a round shares its moment). Medians and ranges of the paired ratios; the closing BENCH line holds them.
//
// Against a bare @grpc/grpc-js client of the same proto (the default): handler path CPU µs/event over the bare
// client's (defaults), handler events/s over the bare client's with grpc-js defaults and with only the SDK's 1 MiB
// flow-control window, and for await over the handler path (events/s, and CPU per event the other way round: above
// 1 is the loop costing less per event than handlers).
// The SDK of this checkout is the built package (dist/, `npm run build` first), what an application runs; with
// --source its src/ through tsx.
//   node --import tsx bench/versus.ts [--events 200000] [--rounds 10] [--source]
// Against another checkout (an older commit: `git worktree add ../base <commit>`), on one path: "is the handler path
// no slower than before this change?". The other checkout needs bench/support/throughput-run.ts and its node_modules.
//   node --import tsx bench/versus.ts --base ../base [--mode sdk-handler] [--events 200000] [--rounds 10]
import { existsSync } from 'node:fs';
import path from 'node:path';
import { median, numberArg, range, runThroughput, sdkCode, startProcess, type ServiceInfo } from './support/stats';

const EVENTS = numberArg('--events', 200_000);
const ROUNDS = numberArg('--rounds', 10);
const arg = (name: string, fallback?: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : process.argv[i + 1];
};
const MODE = arg('--mode', 'sdk-handler') as string;
const BASE = arg('--base');
const SOURCE = process.argv.includes('--source');

/** Events/s and client CPU µs/event of each run, per client, in round order. */
type Runs = Map<string, { rate: number[]; cpu: number[] }>;

/** `rounds` paired rounds of `clients` (name → mode and checkout) against the server in `info`, after a warm-up. */
async function pairedRounds(
  info: ServiceInfo,
  clients: ReadonlyArray<{ name: string; mode: string; root: string; source?: boolean }>,
  rounds: number,
): Promise<Runs> {
  const runs: Runs = new Map(clients.map((c) => [c.name, { rate: [], cpu: [] }]));
  // warm-up: the server's first streams, the OS caches
  for (const c of clients) await runThroughput(c.mode, info, c);
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? clients : [...clients].reverse();
    for (const c of order) {
      const r = await runThroughput(c.mode, info, c);
      const rate = (EVENTS / r.ms) * 1000;
      const cpu = r.cpuUs / EVENTS;
      runs.get(c.name)?.rate.push(rate);
      runs.get(c.name)?.cpu.push(cpu);
      process.stdout.write(
        `round ${round + 1} ${c.name}: ${rate.toFixed(0)} events/s, ${cpu.toFixed(2)} µs CPU/event\n`,
      );
    }
  }
  return runs;
}

/** Round-by-round ratios a/b of one measure. */
function paired(runs: Runs, measure: 'rate' | 'cpu', a: string, b: string): number[] {
  const bs = runs.get(b)?.[measure] ?? [];
  return (runs.get(a)?.[measure] ?? []).map((x, i) => x / (bs[i] as number));
}

/** `key=median key_range=min–max` of paired ratios, two decimals. */
const field = (key: string, xs: number[]): string => `${key}=${median(xs).toFixed(2)} ${key}_range=${range(xs, 2)}`;

async function versusBare(info: ServiceInfo): Promise<void> {
  const root = path.join(__dirname, '..');
  const runs = await pairedRounds(
    info,
    [
      { name: 'sdk-handler', mode: 'sdk-handler', root, source: SOURCE },
      { name: 'sdk-iterator', mode: 'sdk-iterator', root, source: SOURCE },
      { name: 'bare-default', mode: 'bare-default', root },
      { name: 'bare-window', mode: 'bare-window', root },
    ],
    ROUNDS,
  );
  for (const [name, r] of runs)
    process.stdout.write(
      `${name}: ${median(r.rate).toFixed(0)} events/s (${range(r.rate)}), ${median(r.cpu).toFixed(2)} µs CPU/event (${range(r.cpu, 2)})\n`,
    );
  const fields = [
    field('cpu_per_event_vs_bare', paired(runs, 'cpu', 'sdk-handler', 'bare-default')),
    field('cpu_per_event_vs_bare_window', paired(runs, 'cpu', 'sdk-handler', 'bare-window')),
    field('events_per_s_vs_bare', paired(runs, 'rate', 'sdk-handler', 'bare-default')),
    field('events_per_s_vs_bare_window', paired(runs, 'rate', 'sdk-handler', 'bare-window')),
    field('iterator_vs_handler', paired(runs, 'rate', 'sdk-iterator', 'sdk-handler')),
    // CPU per event handler / for await: the same comparison as CPU, steadier than events/s on a busy machine.
    field('iterator_cpu_vs_handler', paired(runs, 'cpu', 'sdk-handler', 'sdk-iterator')),
    `handler_events_per_s=${median(runs.get('sdk-handler')?.rate ?? []).toFixed(0)}`,
    `handler_cpu_us_per_event=${median(runs.get('sdk-handler')?.cpu ?? []).toFixed(2)}`,
    `bare_cpu_us_per_event=${median(runs.get('bare-default')?.cpu ?? []).toFixed(2)}`,
    `rounds=${ROUNDS}`,
    `code=${SOURCE ? 'src' : 'dist'}`,
  ];
  process.stdout.write(`BENCH versus ${fields.join(' ')}\n`);
}

async function versusBase(info: ServiceInfo, base: string): Promise<void> {
  const runs = await pairedRounds(
    info,
    [
      { name: 'here', mode: MODE, root: path.join(__dirname, '..'), source: SOURCE },
      { name: 'base', mode: MODE, root: base },
    ],
    ROUNDS,
  );
  const rates = paired(runs, 'rate', 'here', 'base');
  const cpu = paired(runs, 'cpu', 'here', 'base');
  const here = runs.get('here')?.rate ?? [];
  const there = runs.get('base')?.rate ?? [];
  process.stdout.write(
    `${MODE}: here ${median(here).toFixed(0)} events/s (${range(here)}), base ${median(there).toFixed(0)} (${range(there)}); paired events/s here/base ${median(rates).toFixed(2)} (${range(rates, 2)}), CPU µs/event here/base ${median(cpu).toFixed(2)} (${range(cpu, 2)})\n`,
  );
  process.stdout.write(
    `BENCH versus mode=${MODE} ratio=${median(rates).toFixed(2)} ratio_range=${range(rates, 2)} cpu_ratio=${median(cpu).toFixed(2)} here_events_per_s=${median(here).toFixed(0)} base_events_per_s=${median(there).toFixed(0)}\n`,
  );
}

async function main(): Promise<void> {
  if (BASE !== undefined && !existsSync(path.join(BASE, 'bench', 'support', 'throughput-run.ts'))) {
    process.stderr.write('usage: bench/versus.ts [--base <another checkout with bench/support/throughput-run.ts>]\n');
    process.exit(2);
  }
  if (!SOURCE) sdkCode(); // refuses a stale dist/ (checked before, not after: src/ may be edited meanwhile)
  const { info, stop } = await startProcess<ServiceInfo>('throughput-server.ts', { WM_EVENTS: String(EVENTS) });
  try {
    if (BASE === undefined) await versusBare(info);
    else await versusBase(info, path.resolve(BASE));
  } finally {
    stop();
  }
}

void main();
