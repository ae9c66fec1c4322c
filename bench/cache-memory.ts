// Memory per cached resource: a cache of 20,000 resources of about 2 KiB of JSON each (the fake service in a process
// of its own), the heap used after `cache.ready()` minus before (both after a full GC), divided by the count, against
// the resources' JSON text (what the service sent). Also, for reference, a bare client's Map of the same resources
// (`JSON.parse` of each page, kept by self link): the floor for plain objects. A fresh manager per round.
// The SDK is loaded by its package name (dist/, `npm run build` first; see bench/README.md).
//   node --expose-gc --import tsx bench/cache-memory.ts [--resources 20000] [--json-bytes 2048] [--rounds 3]
import { WatchManager } from 'watch-manager';
import { median, numberArg, range, sdkCode } from './support/stats';
import {
  apiHeaders,
  managerOptions,
  startResourceService,
  type ResourceServiceInfo,
} from './support/resource-service-process';

const RESOURCES = numberArg('--resources', 20_000);
const JSON_BYTES = numberArg('--json-bytes', 2048);
const ROUNDS = numberArg('--rounds', 3);
const PAGE_SIZE = 100;

function heapAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc');
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** What one way of holding the resources keeps, measured while it is held. */
type Holder = (info: ResourceServiceInfo) => Promise<{ held: number; release: () => Promise<void> }>;

/** For reference: the resources parsed page by page and kept in a Map by self link. */
const bareMap: Holder = async (info) => {
  const held = new Map<string, unknown>();
  for (let page = 1; ; page++) {
    const url = `${info.resourceApiUrl}${info.collection}?page=${page}&pageSize=${PAGE_SIZE}`;
    const res = await fetch(url, { headers: apiHeaders(info) });
    const items = JSON.parse(await res.text()) as Array<{ metadata: { selfLink: string } }>;
    for (const item of items) held.set(item.metadata.selfLink, item);
    if (items.length < PAGE_SIZE) break;
  }
  return { held: held.size, release: () => Promise.resolve(held.clear()) };
};

// ---- The SDK's cache. ----

/** The SDK: `manager.cache(topic)` (its default store, in memory) until `ready()`, held until released. */
const sdkCache: Holder = async (info) => {
  const manager = new WatchManager(managerOptions(info));
  const cache = await manager.cache(info.topic);
  await cache.ready();
  return { held: cache.size, release: () => manager.close() };
};

// ---- The run. ----

/** Heap bytes per resource `hold` keeps (the heap after it minus before, after full GCs). */
async function bytesPerResource(info: ResourceServiceInfo, hold: Holder): Promise<number> {
  const before = heapAfterGc();
  const { held, release } = await hold(info);
  const after = heapAfterGc();
  await release();
  if (held !== RESOURCES) throw new Error(`expected ${RESOURCES} resources held, got ${held}`);
  return (after - before) / held;
}

async function main(): Promise<void> {
  const code = sdkCode();
  process.stdout.write(`starting the fake service with ${RESOURCES} resources of about ${JSON_BYTES} B of JSON…\n`);
  const service = await startResourceService({ resources: RESOURCES, jsonBytes: JSON_BYTES });
  const { info } = service;
  const holders: Array<[string, Holder]> = [
    ['sdk-cache', sdkCache],
    ['bare-map', bareMap],
  ];
  // One run of each first, not measured: the code it loads (modules, JIT) is not the cache's memory.
  for (const [, hold] of holders) await (await hold(info)).release();
  const results = new Map<string, number[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, hold] of round % 2 === 0 ? holders : [...holders].reverse()) {
      const bytes = await bytesPerResource(info, hold);
      results.set(name, [...(results.get(name) ?? []), bytes]);
      process.stdout.write(
        `round ${round + 1} ${name}: ${bytes.toFixed(0)} B per resource, ${(bytes / info.resourceJsonBytes).toFixed(2)}x its JSON\n`,
      );
    }
  }
  service.stop();
  const json = info.resourceJsonBytes;
  process.stdout.write(
    `\n| holder | heap B per resource (median) | range | / JSON text (${json.toFixed(0)} B) |\n|---|---|---|---|\n`,
  );
  for (const [name] of holders) {
    const xs = results.get(name) ?? [];
    process.stdout.write(
      `| ${name} | ${median(xs).toFixed(0)} | ${range(xs)} | ${(median(xs) / json).toFixed(2)}x |\n`,
    );
  }
  const subject = median(results.get('sdk-cache') ?? []);
  const bare = median(results.get('bare-map') ?? []);
  process.stdout.write(
    `\nBENCH cache-memory bytes_per_resource=${subject.toFixed(0)} ratio_vs_json=${(subject / json).toFixed(2)} json_bytes=${json.toFixed(0)} bare_map_bytes_per_resource=${bare.toFixed(0)} ratio_vs_bare_map=${(subject / bare).toFixed(2)} resources=${RESOURCES} code=${code}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
