// `npm run bench`: every benchmark under bench/, one after the other, each in fresh processes with the service in a
// process of its own; then one table of the figures (medians, ranges, ratios) with the date and the machine. Each
// script's full output goes to bench/results/<name>.log; the table to stdout and bench/results/latest.md. The SDK is
// the built package: `npm run build` first (a dist/ older than src/ is refused).
//   npm run bench
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

interface Bench {
  name: string;
  script: string;
  nodeFlags?: string[];
  /** Table rows: label, the value (from the BENCH line's fields), the target it is held to. */
  rows: (f: Record<string, string>) => Array<[string, string, string]>;
}

const BENCHES: Bench[] = [
  {
    name: 'throughput',
    script: 'throughput.ts',
    rows: (f) => [
      ['throughput: registerWatch (ack, concurrency 1)', `${f.events_per_s} events/s`, ''],
      ['throughput: for await', `${f.iterator_events_per_s} events/s`, ''],
      [
        'throughput: for await / registerWatch, paired median (range)',
        `${f.iterator_vs_handler}x (${f.iterator_vs_handler_range})`,
        '≥ 0.9x',
      ],
      [
        'throughput: peak RSS for await / registerWatch',
        `${f.iterator_rss_vs_handler}x (${f.iterator_peak_rss_mib} / ${f.handler_peak_rss_mib} MiB)`,
        '≤ 1.3x',
      ],
      [
        'throughput: SDK / bare grpc-js (defaults), paired median (range)',
        `${f.ratio_vs_bare_defaults}x (${f.ratio_vs_bare_defaults_range})`,
        '≥ 1.2x',
      ],
      [
        'throughput: SDK / bare grpc-js (same channel options)',
        `${f.ratio_vs_bare_same_options}x (${f.ratio_vs_bare_same_options_range})`,
        '≥ 0.9x',
      ],
      [
        'throughput: OpenTelemetry metrics on / off, paired median (range); client CPU per event on / off',
        `${f.otel_vs_handler}x (${f.otel_vs_handler_range}); ${f.otel_cpu_per_event_vs_handler}x`,
        '≥ 0.95x (≤ 5 % fewer events/s)',
      ],
    ],
  },
  {
    name: 'versus',
    script: 'versus.ts',
    rows: (f) => [
      [
        'registerWatch client CPU per event / bare grpc-js (defaults), paired median (range)',
        `${f.cpu_per_event_vs_bare}x (${f.cpu_per_event_vs_bare_range}): ${f.handler_cpu_us_per_event} vs ${f.bare_cpu_us_per_event} µs`,
        '≤ 0.8x',
      ],
      [
        'registerWatch events/s / bare grpc-js (defaults), paired median (range)',
        `${f.events_per_s_vs_bare}x (${f.events_per_s_vs_bare_range})`,
        '≥ 1.3x',
      ],
      [
        'registerWatch events/s / bare grpc-js with a 1 MiB window, paired median (range)',
        `${f.events_per_s_vs_bare_window}x (${f.events_per_s_vs_bare_window_range})`,
        '≥ 1.0x',
      ],
      [
        'for await / registerWatch events/s, paired median (range)',
        `${f.iterator_vs_handler}x (${f.iterator_vs_handler_range})`,
        '≥ 0.95x',
      ],
    ],
  },
  {
    name: 'latency',
    script: 'latency.ts',
    rows: (f) => [
      [
        `end-to-end latency at ${f.rate_per_s} events/s: p50 / p99 (ranges over rounds)`,
        `${f.p50_ms} ms (${f.p50_range}) / ${f.p99_ms} ms (${f.p99_range}), max ${f.max_ms} ms`,
        '',
      ],
    ],
  },
  {
    name: 'catchup',
    script: 'catchup.ts',
    rows: (f) => [
      ['catch-up from history (page 100)', `${f.events_per_s} events/s, ${f.cpu_us_per_event} µs CPU/event`, ''],
      ['catch-up: SDK / bare fetch one page at a time', `${f.ratio_vs_one_page}x`, '> 1x'],
      ['catch-up: SDK / bare fetch two pages in flight', `${f.ratio_vs_two_in_flight}x`, ''],
    ],
  },
  {
    name: 'initial-sync',
    script: 'initial-sync.ts',
    rows: (f) => [
      [
        `cache initial sync of ${f.resources} resources, ${f.round_trip_ms} ms round trip: time to ready(); / bare page loop, paired median (range)`,
        `${f.ready_ms} ms; ${f.ratio_vs_page_loop}x (${f.ratio_vs_page_loop_range}); loopback ${f.loopback_ratio_vs_page_loop}x`,
        '≥ 1.5x',
      ],
      [
        'cache initial sync / bare HEAD + 3 workers, paired median (range)',
        `${f.ratio_vs_three_workers}x (${f.ratio_vs_three_workers_range}); loopback ${f.loopback_ratio_vs_three_workers}x`,
        '≥ 1.0x',
      ],
    ],
  },
  {
    name: 'fetch',
    script: 'fetch.ts',
    rows: (f) => [
      [
        `fetch mode, ${f.events} events, ${f.round_trip_ms} ms round trip: events/s; / one sequential GET per event, paired median (range)`,
        `${f.events_per_s} events/s; ${f.ratio_vs_sequential_get}x (${f.ratio_vs_sequential_get_range}); loopback ${f.loopback_ratio_vs_sequential_get}x`,
        '≥ 3x',
      ],
    ],
  },
  {
    name: 'cache-memory',
    script: 'cache-memory.ts',
    nodeFlags: ['--expose-gc'],
    rows: (f) => [
      [
        `cache memory per resource of ${f.json_bytes} B of JSON (${f.resources} resources); / its JSON`,
        `${f.bytes_per_resource} B; ${f.ratio_vs_json}x`,
        '≤ 2x',
      ],
    ],
  },
  {
    name: 'slow-consumer',
    script: 'slow-consumer.ts',
    rows: (f) => [
      [
        'slow consumer, 2M queued, 1 ms/event, 30 s: RSS growth handler / iterator',
        `${f.handler_growth_mib} / ${f.iterator_growth_mib} MiB`,
        `< ${f.limit_mib} MiB`,
      ],
    ],
  },
  {
    name: 'postgres-positions',
    script: 'postgres-positions.ts',
    rows: (f) => [
      [
        'registerWatch with positions in PostgreSQL / in a FileSequenceStore, paired median (range)',
        `${f.ratio_vs_file}x (${f.ratio_range}): ${f.postgres_events_per_s} vs ${f.file_events_per_s} events/s`,
        `≥ ${f.target}x`,
      ],
      [
        'transactional handlers (effect + position in one commit per event) / FileSequenceStore, paired median',
        `${f.transaction_vs_file}x: ${f.transaction_events_per_s} events/s`,
        '',
      ],
    ],
  },
  {
    name: 'failover',
    script: 'failover.ts',
    rows: (f) =>
      ['2000', '15000'].flatMap((lease) => [
        [
          `replicas: kill -9 → first event handled by the new owner (lease ${lease} ms, ${f[`lease${lease}_kills`]} kills): median / p90 / max`,
          `${f[`lease${lease}_kill_median_ms`]} / ${f[`lease${lease}_kill_p90_ms`]} / ${f[`lease${lease}_kill_max_ms`]} ms`,
          `p90 ≤ ${f[`lease${lease}_kill_target_ms`]} ms`,
        ],
        [
          `replicas: graceful hand-off (SIGTERM) → first event handled (lease ${lease} ms): median / max`,
          `${f[`lease${lease}_graceful_median_ms`]} / ${f[`lease${lease}_graceful_max_ms`]} ms`,
          `≤ ${f[`lease${lease}_graceful_target_ms`]} ms`,
        ],
      ]),
  },
  {
    name: 'many-watches',
    script: 'many-watches.ts',
    nodeFlags: ['--expose-gc'],
    rows: (f) => [
      [
        `${f.watches} idle watches on one manager (${f.code}): heap per watch, median (range)`,
        `${f.heap_kib_per_watch} KiB (${f.heap_kib_per_watch_range})`,
        '< 30 KiB',
      ],
      [
        `${f.watches} idle watches on one manager (${f.code}): client CPU, median (range)`,
        `${f.idle_cpu_pct} % of a core (${f.idle_cpu_pct_range})`,
        '< 1 %',
      ],
    ],
  },
  {
    name: 'reconnect',
    script: 'reconnect.ts',
    rows: (f) => [
      [
        `reconnect after a stream abort (${f.aborts} aborts, default backoff): first new event handled`,
        `median ${f.first_event_ms_median} ms, p90 ${f.first_event_ms_p90} ms (${f.first_event_ms_range})`,
        '',
      ],
    ],
  },
  {
    name: 'dead-peer',
    script: 'dead-peer.ts',
    rows: (f) => [
      [
        'dead peer noticed (keepalive 1000/1000 ms): median / max',
        `${f.detect_ms_median} / ${f.detect_ms_max} ms`,
        `≤ ${f.budget_ms} ms`,
      ],
    ],
  },
  {
    name: 'long-stream',
    script: 'long-stream.ts',
    rows: (f) => [
      [
        `one stream for ${f.duration_s} s with 5 s tokens: refreshes, reconnects, pings answered (slowest)`,
        `${f.refreshes}, ${f.reconnects}, ${f.pings_answered} (${f.max_ping_ms} ms)`,
        '0 reconnects',
      ],
    ],
  },
  {
    name: 'file-store',
    script: 'file-store.ts',
    nodeFlags: ['--expose-gc'],
    rows: (f) => [
      [
        `cache restart over a FileResourceStore with ${f.resources} resources of ${f.resource_bytes} B: time to ready(), no re-list; read + JSON.parse of one file / restart, paired median (range)`,
        `${f.ready_ms} ms (store.load alone ${f.load_ms} ms), re-listed ${f.relisted}; ${f.ratio_vs_json_parse}x (${f.ratio_vs_json_parse_range})`,
        'relisted 0',
      ],
      [
        'bytes the store appends per change applied through the cache (fsync on) / one bare appendFile of the change',
        `${f.bytes_per_change} B; ${f.ratio_vs_bare_append}x (event → record written p50 ${f.change_ms_p50} ms)`,
        '',
      ],
    ],
  },
];

const RESULTS = path.join(__dirname, 'results');

function runOne(bench: Bench): Promise<{ fields: Record<string, string>; seconds: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [...(bench.nodeFlags ?? []), '--import', 'tsx', path.join(__dirname, bench.script)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      process.stderr.write(chunk); // progress while it runs; the table comes on stdout at the end
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.on('close', (code) => {
      // 'close': all output read, the BENCH line included
      writeFileSync(path.join(RESULTS, `${bench.name}.log`), out);
      const line = out
        .split('\n')
        .reverse()
        .find((l) => l.startsWith(`BENCH ${bench.name} `));
      if (code !== 0 || line === undefined)
        return reject(new Error(`${bench.script} failed (exit ${code}); see bench/results/${bench.name}.log`));
      const fields = Object.fromEntries(
        line
          .split(' ')
          .slice(2)
          .map((kv) => kv.split('=') as [string, string]),
      );
      resolve({ fields, seconds: (performance.now() - started) / 1000 });
    });
  });
}

async function main(): Promise<void> {
  mkdirSync(RESULTS, { recursive: true });
  const started = performance.now();
  const rows: string[] = [];
  const times: string[] = [];
  for (const bench of BENCHES) {
    process.stderr.write(`\n== ${bench.name}\n`);
    const { fields, seconds } = await runOne(bench);
    for (const [label, value, target] of bench.rows(fields)) rows.push(`| ${label} | ${value} | ${target} |`);
    times.push(`${bench.name} ${seconds.toFixed(0)} s`);
  }
  const minutes = (performance.now() - started) / 60_000;
  const cpus = os.cpus();
  const machine = `${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
  const table = [
    `Benchmarks of ${new Date().toISOString().slice(0, 10)} on ${machine} (\`npm run bench\`, ${minutes.toFixed(1)} min: ${times.join(', ')})`,
    '',
    '| benchmark | result | target |',
    '|---|---|---|',
    ...rows,
  ].join('\n');
  writeFileSync(path.join(RESULTS, 'latest.md'), `${table}\n`);
  process.stdout.write(`\n${table}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
