// The resource cache's file store on a restart: 100,000 cached resources of ~2 KiB JSON each (a snapshot plus a
// log of records) loaded by a new FileResourceStore (`store.load`: what a cache's start reads; no re-list), against
// a bare peer, `JSON.parse` of one file holding the same resources as one JSON array, paired rounds in alternating
// order (ratio = peer time / store time: > 1 means the store is faster). Then the bytes one change (a put of one
// ~2 KiB resource) writes: the store's append (its record: length, checksum, position, change; fsync on) against
// one bare `appendFile` of the same change as a JSON line (ratio = store bytes / bare bytes: the framing's cost).
// A compaction rewrites the snapshot only once the log holds at least the snapshot's size, so it adds at most as
// many bytes again per change, amortized.
// The SDK is loaded by its package name: the built package (dist/, `npm run build` first).
//   node --expose-gc --import tsx bench/file-store.ts [--resources 100000] [--bytes 2048] [--rounds 5] [--changes 200]
import { appendFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileResourceStore, type Resource, type StoredChange } from 'watch-manager';
import { median, numberArg, range, sdkCode } from './support/stats';

const RESOURCES = numberArg('--resources', 100_000);
const BYTES = numberArg('--bytes', 2_048);
const ROUNDS = numberArg('--rounds', 5);
const CHANGES = numberArg('--changes', 200);
const TOPIC = '/management/v1alpha1/watchtopics/bench';

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

/** A resource of about BYTES of JSON, as the service sends one (metadata, spec, a subresource). */
function resource(i: number, version = 1): Resource {
  const name = `service-${i}`;
  const base: Resource = {
    group: 'management',
    apiVersion: 'v1alpha1',
    kind: 'APIService',
    name,
    title: `Service ${i}`,
    metadata: {
      id: `8a2e8c7e7f0a4b1c${String(i).padStart(16, '0')}`,
      selfLink: `/management/v1alpha1/environments/env-${i % 20}/apiservices/${name}`,
      scope: { id: `scope-${i % 20}`, kind: 'Environment', name: `env-${i % 20}`, selfLink: `/e/env-${i % 20}` },
      resourceVersion: String(version),
      audit: { createTimestamp: '2026-12-07T18:00:00.000+0000', modifyTimestamp: '2026-12-07T18:00:00.000+0000' },
    },
    attributes: { team: `team-${i % 7}` },
    tags: ['bench'],
    spec: { description: '', icon: { contentType: 'image/png', data: '' } },
    'x-agent-details': { sourceId: `src-${i}` },
  };
  const pad = Math.max(0, BYTES - Buffer.byteLength(JSON.stringify(base)));
  (base.spec as { description: string }).description = 'd'.repeat(pad);
  return base;
}

async function storeLoad(directory: string): Promise<number> {
  const started = performance.now();
  const store = new FileResourceStore({ directory });
  const loaded = await store.load(TOPIC);
  const ms = performance.now() - started;
  await store.close();
  if (loaded?.resources.length !== RESOURCES) throw new Error(`loaded ${String(loaded?.resources.length)}`);
  return ms;
}

function jsonParse(file: string): number {
  const started = performance.now();
  const resources = JSON.parse(readFileSync(file, 'utf8')) as Resource[];
  const ms = performance.now() - started;
  if (resources.length !== RESOURCES) throw new Error(`parsed ${resources.length}`);
  return ms;
}

async function main(): Promise<void> {
  const code = sdkCode();
  const home = mkdtempSync(path.join(tmpdir(), 'wm-bench-file-store-'));
  try {
    const storeDir = path.join(home, 'store');
    const jsonFile = path.join(home, 'resources.json');
    const resources = Array.from({ length: RESOURCES }, (_, i) => resource(i));
    writeFileSync(jsonFile, JSON.stringify(resources));
    const writer = new FileResourceStore({ directory: storeDir });
    await writer.replace(TOPIC, resources, 1);
    resources.length = 0;

    // Bytes per change: the store's append against a bare appendFile of the same change, change by change.
    const bareFile = path.join(home, 'bare.log');
    writeFileSync(bareFile, '');
    const log = path.join(storeDir, readdirSync(storeDir).find((n) => n.endsWith('.log')) as string);
    let storeBytes = 0;
    let bareBytes = 0;
    const applyMs: number[] = [];
    for (let k = 1; k <= CHANGES; k++) {
      const change: StoredChange = { op: 'put', resource: resource(k * 37, k + 1) };
      const before = statSync(log).size;
      const started = performance.now();
      await writer.apply(TOPIC, [change], 1 + k);
      applyMs.push(performance.now() - started);
      storeBytes += statSync(log).size - before;
      const bareBefore = statSync(bareFile).size;
      appendFileSync(bareFile, `${JSON.stringify(change)}\n`);
      bareBytes += statSync(bareFile).size - bareBefore;
    }
    await writer.close();
    const snapshotBytes = readdirSync(storeDir)
      .filter((n) => n.endsWith('.snapshot'))
      .reduce((sum, n) => sum + statSync(path.join(storeDir, n)).size, 0);
    gc();

    // Load: paired rounds, alternating order; a warm-up of each first (page cache, JIT).
    await storeLoad(storeDir);
    jsonParse(jsonFile);
    gc();
    const storeMs: number[] = [];
    const parseMs: number[] = [];
    const ratios: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      let s: number;
      let p: number;
      if (round % 2 === 0) {
        s = await storeLoad(storeDir);
        gc();
        p = jsonParse(jsonFile);
      } else {
        p = jsonParse(jsonFile);
        gc();
        s = await storeLoad(storeDir);
      }
      gc();
      storeMs.push(s);
      parseMs.push(p);
      ratios.push(p / s);
      console.log(`round ${round + 1}: store load ${s.toFixed(0)} ms, JSON.parse of one file ${p.toFixed(0)} ms`);
    }
    const perChange = storeBytes / CHANGES;
    const barePerChange = bareBytes / CHANGES;
    console.log(
      `${RESOURCES} resources of ~${BYTES} B (${code}): snapshot ${(snapshotBytes / 1e6).toFixed(1)} MB + ${CHANGES} records; ` +
        `JSON file ${(statSync(jsonFile).size / 1e6).toFixed(1)} MB`,
    );
    console.log(
      `load: store ${median(storeMs).toFixed(0)} ms (${range(storeMs)}), JSON.parse ${median(parseMs).toFixed(0)} ms ` +
        `(${range(parseMs)}), paired ratio ${median(ratios).toFixed(2)} (${range(ratios, 2)})`,
    );
    console.log(
      `per change: store ${perChange.toFixed(0)} B appended, bare appendFile ${barePerChange.toFixed(0)} B; ` +
        `apply with fsync p50 ${median(applyMs).toFixed(2)} ms`,
    );
    process.stdout.write(
      `\nBENCH file-store load_ms=${median(storeMs).toFixed(0)} ratio_vs_json_parse=${median(ratios).toFixed(2)} ` +
        `ratio_vs_json_parse_range=${range(ratios, 2)} bytes_per_change=${perChange.toFixed(0)} ` +
        `ratio_vs_bare_append=${(perChange / barePerChange).toFixed(3)} apply_ms_p50=${median(applyMs).toFixed(2)} ` +
        `resources=${RESOURCES} resource_bytes=${BYTES}\n`,
    );
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
