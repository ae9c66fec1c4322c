// Initial sync of a cache: 20,000 resources (about 1 KiB of spec each) in one collection, 200 pages of 100, served by
// the fake service in a process of its own. Time to `cache.ready()` (a new manager's `manager.cache(topic)`: the
// WatchTopic read, the newest sequence id, the list, the watch live) against two bare clients reading the same
// collection with `fetch` and the token: (a) the page loop (pages 1, 2, … one at a time until a short page: the Go
// SDK's older method) and (b) the Go SDK's method today (page 1; when full, HEAD for X-Axway-Total-Count, then pages
// 2..N three at a time). Also, for reference, `manager.resources.list` alone (the SDK's client, no cache). First with
// each answer of the resource API held --round-trip-ms (the fake's `delayMs`: a service across a network; the
// headline), then on the bare loopback. Paired rounds in alternating order; the fake's CPU over each run is printed
// too (near 100 % of a core = the fake, not the client, sets the pace).
//   node --import tsx bench/initial-sync.ts [--resources 20000] [--spec-bytes 1024] [--round-trip-ms 1] [--rounds 5]
//   [--warmup 1]
import { WatchManager } from 'watch-manager';
import { median, numberArg, range, sdkCode } from './support/stats';
import {
  apiHeaders,
  managerOptions,
  startResourceService,
  type ResourceService,
  type ResourceServiceInfo,
} from './support/resource-service-process';

const RESOURCES = numberArg('--resources', 20_000);
const SPEC_BYTES = numberArg('--spec-bytes', 1024);
const ROUNDS = numberArg('--rounds', 5);
const WARMUP = numberArg('--warmup', 1);
/** The resource API's answers are held this long (the fake's `delayMs`): a service across a network. */
const LATENCY_MS = numberArg('--round-trip-ms', 1);
const PAGE_SIZE = 100;

interface Sample {
  ms: number;
  /** The fake's CPU over the run, in % of one core. */
  serviceCpuPct: number;
}

/**
 * Reads the collection; resolves with how many resources it holds, and, for the SDK's cache, when `ready()` resolved
 * (`performance.now()`): what is timed is the time to `ready()`, not the manager's close after it.
 */
type Method = (info: ResourceServiceInfo) => Promise<number | { resources: number; readyAt: number }>;

function pageUrl(info: ResourceServiceInfo, page: number): string {
  return `${info.resourceApiUrl}${info.collection}?page=${page}&pageSize=${PAGE_SIZE}`;
}

/** One page, parsed, each resource kept by self link (what a cache does at the least). */
async function readPage(info: ResourceServiceInfo, page: number, into: Map<string, unknown>): Promise<number> {
  const res = await fetch(pageUrl(info, page), { headers: apiHeaders(info) });
  if (res.status !== 200) throw new Error(`page ${page}: ${res.status}`);
  const items = JSON.parse(await res.text()) as Array<{ metadata: { selfLink: string } }>;
  for (const item of items) into.set(item.metadata.selfLink, item);
  return items.length;
}

/** (a) The page loop: one page at a time until a short page. */
async function pageLoop(info: ResourceServiceInfo): Promise<number> {
  const held = new Map<string, unknown>();
  for (let page = 1; ; page++) if ((await readPage(info, page, held)) < PAGE_SIZE) return held.size;
}

/** (b) The Go SDK's method: page 1; when full, HEAD for the count, then pages 2..N by three workers. */
async function threeWorkers(info: ResourceServiceInfo): Promise<number> {
  const held = new Map<string, unknown>();
  if ((await readPage(info, 1, held)) < PAGE_SIZE) return held.size;
  const head = await fetch(`${info.resourceApiUrl}${info.collection}`, { method: 'HEAD', headers: apiHeaders(info) });
  const pages = Math.ceil(Number(head.headers.get('x-axway-total-count')) / PAGE_SIZE);
  let next = 2;
  const worker = async (): Promise<void> => {
    for (let page = next++; page <= pages; page = next++) await readPage(info, page, held);
  };
  await Promise.all([worker(), worker(), worker()]);
  return held.size;
}

/** For reference: the SDK's resource client alone (`manager.resources.list`), no cache. */
async function clientList(info: ResourceServiceInfo): Promise<number> {
  const manager = new WatchManager(managerOptions(info));
  try {
    return (await manager.resources.list(info.collection, { pageSize: PAGE_SIZE })).length;
  } finally {
    await manager.close();
  }
}

// ---- The SDK's cache. ----

/** The SDK: a new manager's `manager.cache(topic)` until `ready()` (its close after that is not timed). */
async function sdkCache(info: ResourceServiceInfo): Promise<{ resources: number; readyAt: number }> {
  const manager = new WatchManager(managerOptions(info));
  try {
    const cache = await manager.cache(info.topic);
    await cache.ready();
    return { resources: cache.size, readyAt: performance.now() };
  } finally {
    await manager.close();
  }
}

// ---- The run. ----

async function measure(service: ResourceService, run: Method): Promise<Sample> {
  const cpu0 = await service.cpuMicros();
  const t0 = performance.now();
  const got = await run(service.info);
  const ms = (typeof got === 'number' ? performance.now() : got.readyAt) - t0;
  const n = typeof got === 'number' ? got : got.resources;
  const serviceCpuPct = ((await service.cpuMicros()) - cpu0) / 10 / ms;
  if (n !== RESOURCES) throw new Error(`expected ${RESOURCES} resources, got ${n}`);
  return { ms, serviceCpuPct };
}

async function main(): Promise<void> {
  const code = sdkCode();
  process.stdout.write(`starting the fake service with ${RESOURCES} resources (${SPEC_BYTES} B of spec each)…\n`);
  const service = await startResourceService({ resources: RESOURCES, specBytes: SPEC_BYTES });
  const { info } = service;
  process.stdout.write(
    `fake: ${info.resourceJsonBytes.toFixed(0)} B per resource as JSON; publish ${info.publishMs.toFixed(0)} ms, ${info.publishCpuUsPerResource.toFixed(1)} µs CPU per resource, heap +${info.publishHeapMiB.toFixed(0)} MiB\n`,
  );
  const methods: Array<[string, Method]> = [
    ['sdk-cache', sdkCache],
    ['client-list', clientList],
    ['page-loop', pageLoop],
    ['three-workers', threeWorkers],
  ];
  // The headline with a round trip (LATENCY_MS), then on the bare loopback, where a page's time is all CPU (the
  // client's parse and the fake's answer) and reading pages at once has little waiting to hide.
  const latencies = [LATENCY_MS, 0];
  const results = new Map<string, Sample[]>();
  for (const latency of latencies) {
    await service.setDelay(latency);
    // Warm-up, not measured: JIT, connections, and the fake's first list (it renders each resource once, then keeps
    // the text; a list of an unchanged collection is computed once).
    for (let i = 0; i < WARMUP; i++) for (const [, run] of methods) await run(info);
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? methods : [...methods].reverse();
      for (const [name, run] of order) {
        const sample = await measure(service, run);
        const key = `${name}@${latency}`;
        results.set(key, [...(results.get(key) ?? []), sample]);
        process.stdout.write(
          `round ${round + 1} ${name}, round trip ${latency} ms: ${sample.ms.toFixed(0)} ms (${((RESOURCES / sample.ms) * 1000).toFixed(0)} resources/s), fake CPU ${sample.serviceCpuPct.toFixed(0)} % of a core\n`,
        );
      }
    }
  }
  const counters = await service.counters();
  service.stop();
  const ms = (key: string): number[] => (results.get(key) ?? []).map((s) => s.ms);
  const cpu = (key: string): number[] => (results.get(key) ?? []).map((s) => s.serviceCpuPct);
  /** Per round, `peer`'s time over `key`'s at the same round trip (> 1: `key` is faster). */
  const paired = (key: string, peer: string): number[] => {
    const peerMs = ms(`${peer}@${key.split('@')[1] ?? ''}`);
    return ms(key).map((t, i) => (peerMs[i] as number) / t);
  };
  const ratio = (key: string, peer: string): string => median(paired(key, peer)).toFixed(2);
  const spread = (key: string, peer: string): string => range(paired(key, peer), 2);
  process.stdout.write(
    `\n| method | round trip | ms to ${RESOURCES} resources (median) | range | fake CPU % of a core | page loop / it, paired | three workers / it, paired |\n|---|---|---|---|---|---|---|\n`,
  );
  for (const latency of latencies)
    for (const [name] of methods) {
      const key = `${name}@${latency}`;
      process.stdout.write(
        `| ${name} | ${latency} ms | ${median(ms(key)).toFixed(0)} | ${range(ms(key))} | ${median(cpu(key)).toFixed(0)} | ${ratio(key, 'page-loop')}x (${spread(key, 'page-loop')}) | ${ratio(key, 'three-workers')}x (${spread(key, 'three-workers')}) |\n`,
      );
    }
  process.stdout.write(`fake's resource API counters: ${JSON.stringify(counters)}\n`);
  const subject = 'sdk-cache';
  const head = `${subject}@${LATENCY_MS}`;
  const loop = `${subject}@0`;
  process.stdout.write(
    `\nBENCH initial-sync ready_ms=${median(ms(head)).toFixed(0)} ratio_vs_page_loop=${ratio(head, 'page-loop')} ratio_vs_page_loop_range=${spread(head, 'page-loop')} ratio_vs_three_workers=${ratio(head, 'three-workers')} ratio_vs_three_workers_range=${spread(head, 'three-workers')} round_trip_ms=${LATENCY_MS} loopback_ready_ms=${median(ms(loop)).toFixed(0)} loopback_ratio_vs_page_loop=${ratio(loop, 'page-loop')} loopback_ratio_vs_three_workers=${ratio(loop, 'three-workers')} client_list_vs_three_workers=${ratio(`client-list@${LATENCY_MS}`, 'three-workers')} loopback_fake_cpu_pct=${median(cpu(loop)).toFixed(0)} publish_us_per_resource=${info.publishCpuUsPerResource.toFixed(1)} resources=${RESOURCES} code=${code}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
