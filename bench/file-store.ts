// A cache restarted over its file store: 100,000 resources of ~2 KiB JSON each in the fake service (a process of its
// own), synced once by a cache (`manager.cache(topic, { store: new FileResourceStore(dir) })`), then --changes
// UPDATED events applied through it live (each fetched and appended to the store as one record), the manager closed.
// The headline: a NEW manager and cache on the same directory, timed from `new WatchManager` to `cache.ready()` (the
// store loaded, the watch resumed from the stored position and live), without a re-list: the fake's resource API
// counters over each restart must show no list and no HEAD (`relisted=0`; the bench fails otherwise). Against a bare
// peer, paired rounds in alternating order: reading one JSON file of the same resources and `JSON.parse` of it (what
// a naive store does; ratio = peer time / restart time: > 1 means the restart is faster). `store.load` alone (a
// FileResourceStore over the same directory, no manager) is timed in the same rounds, for reference: what the restart
// costs beyond it is the manager, the index and the watch's resume.
// Bytes per change: what the store appended for each change applied through the cache (its log's growth; each
// change waited for until its record is written, so one record per change: the most framing), against one bare
// `appendFile` of the same change as a JSON line (ratio = store bytes / bare bytes: the record's framing). A compaction
// rewrites the snapshot only once the log holds at least the snapshot's size, so it adds at most as many bytes again
// per change, amortized.
// The SDK is loaded by its package name: the built package (dist/, `npm run build` first).
//   node --expose-gc --import tsx bench/file-store.ts [--resources 100000] [--bytes 2048] [--rounds 5] [--changes 200]
import {
  appendFileSync,
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileResourceStore, WatchManager, type Resource, type ResourceChange } from 'watch-manager';
import { median, numberArg, range, sdkCode } from './support/stats';
import { managerOptions, startResourceService, type ResourceService } from './support/resource-service-process';

const RESOURCES = numberArg('--resources', 100_000);
const BYTES = numberArg('--bytes', 2_048);
const ROUNDS = numberArg('--rounds', 5);
const CHANGES = numberArg('--changes', 200);

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

/** The resource API's requests a restart made: lists and HEADs would be a re-list. */
interface Requests {
  lists: number;
  heads: number;
  gets: number;
  requests: number;
}

interface Restart {
  /** `new WatchManager` to `cache.ready()`. */
  ms: number;
  /** Of which `manager.cache()` (the store loaded into the cache). */
  cacheMs: number;
  requests: Requests;
}

async function counted(service: ResourceService): Promise<Requests> {
  const c = await service.counters();
  return { lists: c.lists ?? 0, heads: c.heads ?? 0, gets: c.gets ?? 0, requests: c.requests ?? 0 };
}

/** A new manager and cache over `directory` until `ready()`; what the resource API was asked meanwhile. */
async function restart(service: ResourceService, directory: string): Promise<Restart> {
  const before = await counted(service);
  const started = performance.now();
  const manager = new WatchManager(managerOptions(service.info));
  let ms: number;
  let cacheMs: number;
  try {
    const cache = await manager.cache(service.info.topic, { store: new FileResourceStore({ directory }) });
    cacheMs = performance.now() - started;
    await cache.ready();
    ms = performance.now() - started;
    if (cache.size !== RESOURCES) throw new Error(`restarted cache holds ${cache.size} resources`);
  } finally {
    await manager.close();
  }
  const after = await counted(service);
  const requests: Requests = {
    lists: after.lists - before.lists,
    heads: after.heads - before.heads,
    gets: after.gets - before.gets,
    requests: after.requests - before.requests,
  };
  return { ms, cacheMs, requests };
}

/** For reference: `store.load` alone, what the restart reads. */
async function storeLoad(directory: string, topic: string): Promise<number> {
  const started = performance.now();
  const store = new FileResourceStore({ directory });
  const loaded = await store.load(topic);
  const ms = performance.now() - started;
  await store.close();
  if (loaded?.resources.length !== RESOURCES) throw new Error(`loaded ${String(loaded?.resources.length)}`);
  return ms;
}

/** The bare peer: one JSON file of every resource, read and parsed. */
function jsonParse(file: string): number {
  const started = performance.now();
  const resources = JSON.parse(readFileSync(file, 'utf8')) as Resource[];
  const ms = performance.now() - started;
  if (resources.length !== RESOURCES) throw new Error(`parsed ${resources.length}`);
  return ms;
}

/**
 * Waits until the log holds the whole record of `position` after byte `from` (polled: a write's growth can show before
 * the write ends); returns the log's size then.
 */
async function untilWritten(log: string, from: number, position: number): Promise<number> {
  for (;;) {
    const size = statSync(log).size;
    if (size > from) {
      const tail = Buffer.alloc(size - from);
      const fd = openSync(log, 'r');
      try {
        readSync(fd, tail, 0, tail.length, from);
      } finally {
        closeSync(fd);
      }
      const text = tail.toString('utf8');
      if (text.endsWith('\n') && text.includes(`{"position":${position},`)) return size;
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

async function main(): Promise<void> {
  const code = sdkCode();
  const home = mkdtempSync(path.join(tmpdir(), 'wm-bench-file-store-'));
  process.stdout.write(`starting the fake service with ${RESOURCES} resources of ~${BYTES} B of JSON…\n`);
  const service = await startResourceService({ resources: RESOURCES, jsonBytes: BYTES });
  const { info } = service;
  try {
    process.stdout.write(
      `fake: ${info.resourceJsonBytes.toFixed(0)} B per resource as JSON; publish ${info.publishMs.toFixed(0)} ms\n`,
    );
    const storeDir = path.join(home, 'store');
    const jsonFile = path.join(home, 'resources.json');
    const bareFile = path.join(home, 'bare.log');
    writeFileSync(bareFile, '');

    // The first run: an initial sync into the store, then changes applied through the cache, live.
    let syncMs: number;
    let storeBytes: number;
    let bareBytes = 0;
    let records: number;
    const changeMs: number[] = [];
    {
      const manager = new WatchManager(managerOptions(info));
      try {
        const started = performance.now();
        const cache = await manager.cache(info.topic, { store: new FileResourceStore({ directory: storeDir }) });
        await cache.ready();
        syncMs = performance.now() - started;
        if (cache.size !== RESOURCES) throw new Error(`synced ${cache.size} resources`);
        process.stdout.write(`initial sync into the store: ${syncMs.toFixed(0)} ms\n`);
        const log = path.join(storeDir, readdirSync(storeDir).find((n) => n.endsWith('.log')) as string);
        const logStart = statSync(log).size;
        let size = logStart;
        const applied = new Map<number, ResourceChange>();
        cache.on('change', (c) => void applied.set(c.sequenceId, c));
        for (let k = 1; k <= CHANGES; k++) {
          const t0 = performance.now();
          const sequenceId = await service.update((k * 37) % RESOURCES);
          // Its record written: the next change is a record of its own (no group commit to flatter the framing).
          size = await untilWritten(log, size, sequenceId);
          changeMs.push(performance.now() - t0);
          const change = applied.get(sequenceId);
          if (change?.after === undefined) throw new Error(`change ${sequenceId} was not applied as a put`);
          applied.clear();
          const bareBefore = statSync(bareFile).size;
          appendFileSync(bareFile, `${JSON.stringify({ op: 'put', resource: change.after })}\n`);
          bareBytes += statSync(bareFile).size - bareBefore;
        }
        storeBytes = size - logStart;
        records = readFileSync(log, 'latin1').split('\n').length - 2; // header line, final newline
        // The peer's file: the same resources as the store holds now.
        writeFileSync(jsonFile, JSON.stringify(cache.list()));
      } finally {
        await manager.close();
      }
    }
    const snapshotBytes = readdirSync(storeDir)
      .filter((n) => n.endsWith('.snapshot'))
      .reduce((sum, n) => sum + statSync(path.join(storeDir, n)).size, 0);
    gc();

    // Restarts: paired rounds, alternating order; a warm-up of each first (page cache, JIT).
    /** Every restart, the warm-up's first (its requests count too: no restart may list). */
    const restarts: Restart[] = [];
    const methods: Array<[string, () => Promise<number>]> = [
      [
        'restart',
        async () => {
          const r = await restart(service, storeDir);
          restarts.push(r);
          return r.ms;
        },
      ],
      ['store-load', () => storeLoad(storeDir, info.topic)],
      ['json-parse', () => Promise.resolve(jsonParse(jsonFile))],
    ];
    for (const [, run] of methods) {
      await run();
      gc();
    }
    const times = new Map<string, number[]>(methods.map(([name]) => [name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? methods : [...methods].reverse();
      const line: string[] = [];
      for (const [name, run] of order) {
        const ms = await run();
        gc();
        times.get(name)?.push(ms);
        line.push(`${name} ${ms.toFixed(0)} ms`);
      }
      const r = restarts.at(-1) as Restart;
      process.stdout.write(
        `round ${round + 1}: ${line.join(', ')} (restart: manager.cache() ${r.cacheMs.toFixed(0)} ms; resource API: ${r.requests.lists} lists, ${r.requests.heads} HEADs, ${r.requests.gets} GETs)\n`,
      );
    }
    const ms = (name: string): number[] => times.get(name) ?? [];
    const paired = (peer: string): number[] => ms('restart').map((t, i) => (ms(peer)[i] as number) / t);
    const relisted = restarts.reduce((sum, r) => sum + r.requests.lists + r.requests.heads, 0);
    const apiRequests = restarts.reduce((sum, r) => sum + r.requests.requests, 0);
    const perChange = storeBytes / CHANGES;
    const barePerChange = bareBytes / CHANGES;
    const readyMs = median(ms('restart'));
    process.stdout.write(
      `\n${RESOURCES} resources of ~${info.resourceJsonBytes.toFixed(0)} B (${code}): snapshot ${(snapshotBytes / 1e6).toFixed(1)} MB + ${records} records; ` +
        `JSON file ${(statSync(jsonFile).size / 1e6).toFixed(1)} MB\n` +
        `restart to ready(): ${readyMs.toFixed(0)} ms (${range(ms('restart'))}), of which manager.cache() ${median(restarts.slice(1).map((r) => r.cacheMs)).toFixed(0)} ms; ` +
        `store.load alone ${median(ms('store-load')).toFixed(0)} ms (${range(ms('store-load'))}); ` +
        `read + JSON.parse ${median(ms('json-parse')).toFixed(0)} ms (${range(ms('json-parse'))})\n` +
        `paired: JSON.parse / restart ${median(paired('json-parse')).toFixed(2)} (${range(paired('json-parse'), 2)}), ` +
        `store.load / restart ${median(paired('store-load')).toFixed(2)} (${range(paired('store-load'), 2)})\n` +
        `resource API requests over ${restarts.length} restarts: ${apiRequests} (lists + HEADs: ${relisted})\n` +
        `per change: store ${perChange.toFixed(0)} B appended, bare appendFile ${barePerChange.toFixed(0)} B; ` +
        `event published → record written p50 ${median(changeMs).toFixed(1)} ms\n`,
    );
    process.stdout.write(
      `\nBENCH file-store ready_ms=${readyMs.toFixed(0)} ratio_vs_json_parse=${median(paired('json-parse')).toFixed(2)} ` +
        `ratio_vs_json_parse_range=${range(paired('json-parse'), 2)} bytes_per_change=${perChange.toFixed(0)} ` +
        `ratio_vs_bare_append=${(perChange / barePerChange).toFixed(3)} relisted=${relisted} ` +
        `api_requests_on_restart=${apiRequests} load_ms=${median(ms('store-load')).toFixed(0)} ` +
        `json_parse_ms=${median(ms('json-parse')).toFixed(0)} change_ms_p50=${median(changeMs).toFixed(1)} ` +
        `sync_ms=${syncMs.toFixed(0)} resources=${RESOURCES} resource_bytes=${info.resourceJsonBytes.toFixed(0)} code=${code}\n`,
    );
    if (relisted !== 0) throw new Error(`a restart listed again: ${relisted} lists and HEADs`);
  } finally {
    service.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
