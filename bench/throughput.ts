// Events/s and client CPU µs/event through registerWatch (ack on, concurrency 1; also with OpenTelemetry metrics on:
// sdk-otel, a real SDK MeterProvider and the Prometheus exporter) and through for await, against a
// bare @grpc/grpc-js client of the same proto with grpc-js defaults and with the SDK's channel options, all reading
// the same server process (gRPC framing over node:http2, 32 KiB writes). Each measurement is a fresh process;
// the order alternates each round. Prints medians, ranges, paired ratios and the server's CPU share.
//   node --import tsx bench/throughput.ts [--events 200000] [--rounds 5]
import { readFileSync } from 'node:fs';
import { median, numberArg, range, runThroughput, sdkCode, startProcess, type ServiceInfo } from './support/stats';

const EVENTS = numberArg('--events', 200_000);
const ROUNDS = numberArg('--rounds', 5);
const MODES = ['sdk-handler', 'sdk-otel', 'sdk-iterator', 'bare-default', 'bare-same'] as const;
type Mode = (typeof MODES)[number];

/** CPU seconds a process used so far (Linux /proc; clock ticks at 100 Hz). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function main(): Promise<void> {
  process.stdout.write(`the SDK from ${sdkCode()}\n`); // the built package; refuses a stale dist/
  const { info, child, stop } = await startProcess<ServiceInfo & { events: number; bytesPerEvent: number }>(
    'throughput-server.ts',
    { WM_EVENTS: String(EVENTS) },
  );
  process.stdout.write(`server ready: ${EVENTS} events of ${info.bytesPerEvent} bytes on the wire\n`);
  const rate = new Map<Mode, number[]>(MODES.map((m) => [m, []]));
  const cpu = new Map<Mode, number[]>(MODES.map((m) => [m, []]));
  const serverShare = new Map<Mode, number[]>(MODES.map((m) => [m, []]));
  const rss = new Map<Mode, number[]>(MODES.map((m) => [m, []]));
  for (const mode of MODES) await runThroughput(mode, info); // warm-up: the server's first streams, the OS caches
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? MODES : [...MODES].reverse();
    for (const mode of order) {
      const s0 = cpuSeconds(child.pid as number);
      const r = await runThroughput(mode, info);
      const share = ((cpuSeconds(child.pid as number) - s0) / (r.ms / 1000)) * 100;
      rate.get(mode)?.push((EVENTS / r.ms) * 1000);
      cpu.get(mode)?.push(r.cpuUs / EVENTS);
      serverShare.get(mode)?.push(share);
      rss.get(mode)?.push(r.peakRssMiB);
      process.stdout.write(
        `round ${round + 1} ${mode}: ${((EVENTS / r.ms) * 1000).toFixed(0)} events/s, ${(r.cpuUs / EVENTS).toFixed(2)} µs CPU/event, peak RSS ${r.peakRssMiB.toFixed(0)} MiB, server CPU ${share.toFixed(0)} %\n`,
      );
    }
  }
  stop();
  const paired = (a: Mode, b: Mode): number[] =>
    (rate.get(a) ?? []).map((x, i) => x / ((rate.get(b) ?? [])[i] as number));
  process.stdout.write(
    `\n| client | events/s (median) | range | client CPU µs/event | peak RSS MiB | server CPU % of a core |\n|---|---|---|---|---|---|\n`,
  );
  for (const mode of MODES) {
    const r = rate.get(mode) ?? [];
    process.stdout.write(
      `| ${mode} | ${median(r).toFixed(0)} | ${range(r)} | ${median(cpu.get(mode) ?? []).toFixed(2)} | ${median(rss.get(mode) ?? []).toFixed(0)} | ${median(serverShare.get(mode) ?? []).toFixed(0)} |\n`,
    );
  }
  const vsDefaults = paired('sdk-handler', 'bare-default');
  const vsSame = paired('sdk-handler', 'bare-same');
  const iterVsDefaults = paired('sdk-iterator', 'bare-default');
  // for await against the handler path, round by round (both read the same server in the same round).
  const iterVsHandler = paired('sdk-iterator', 'sdk-handler');
  const rssOf = (m: Mode): number[] => rss.get(m) ?? [];
  const iterRss = rssOf('sdk-iterator').map((x, i) => x / (rssOf('sdk-handler')[i] as number));
  // Metrics on against off, round by round: the cost of the telemetry on the hot path.
  const otelVsHandler = paired('sdk-otel', 'sdk-handler');
  const overheadPct = (1 - median(otelVsHandler)) * 100;
  // Client CPU per event, paired the same way: steadier than events/s on a shared machine.
  const cpuOf = (m: Mode): number[] => cpu.get(m) ?? [];
  const otelCpu = cpuOf('sdk-otel').map((x, i) => x / (cpuOf('sdk-handler')[i] as number));
  process.stdout.write(
    `paired ratios (median, range): sdk-handler/bare-default ${median(vsDefaults).toFixed(2)} (${range(vsDefaults, 2)}), sdk-handler/bare-same ${median(vsSame).toFixed(2)} (${range(vsSame, 2)}), sdk-iterator/bare-default ${median(iterVsDefaults).toFixed(2)}, sdk-iterator/sdk-handler ${median(iterVsHandler).toFixed(2)} (${range(iterVsHandler, 2)}), peak RSS sdk-iterator/sdk-handler ${median(iterRss).toFixed(2)} (${range(iterRss, 2)}), sdk-otel/sdk-handler ${median(otelVsHandler).toFixed(3)} (${range(otelVsHandler, 3)})\n`,
  );
  process.stdout.write(
    `BENCH throughput ratio_vs_bare_defaults=${median(vsDefaults).toFixed(2)} ratio_vs_bare_defaults_range=${range(vsDefaults, 2)} ratio_vs_bare_same_options=${median(vsSame).toFixed(2)} ratio_vs_bare_same_options_range=${range(vsSame, 2)} events_per_s=${median(rate.get('sdk-handler') ?? []).toFixed(0)} iterator_events_per_s=${median(rate.get('sdk-iterator') ?? []).toFixed(0)} iterator_vs_handler=${median(iterVsHandler).toFixed(2)} iterator_vs_handler_range=${range(iterVsHandler, 2)} iterator_rss_vs_handler=${median(iterRss).toFixed(2)} handler_peak_rss_mib=${median(rssOf('sdk-handler')).toFixed(0)} iterator_peak_rss_mib=${median(rssOf('sdk-iterator')).toFixed(0)} otel_events_per_s=${median(rate.get('sdk-otel') ?? []).toFixed(0)} otel_vs_handler=${median(otelVsHandler).toFixed(3)} otel_vs_handler_range=${range(otelVsHandler, 3)} otel_overhead_pct=${overheadPct.toFixed(1)} otel_cpu_per_event_vs_handler=${median(otelCpu).toFixed(3)} otel_cpu_per_event_vs_handler_range=${range(otelCpu, 3)}\n`,
  );
}

void main();
