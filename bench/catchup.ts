// Catch-up rate from the event-history API: the SDK (WatchManager, from 'beginning', until onLive) against a bare
// fetch + JSON.parse loop one page at a time (the reference Go SDK's method) and the same loop with 2 pages in
// flight, in the same run, alternating, with the history server in its own process. Page sizes 100 and 1000.
//   node --import tsx bench/catchup.ts [--events 200000] [--rounds 3]
import { WatchManager } from '../src';
import { cpuMicros, median, numberArg, range, startServiceProcess, type ServiceInfo } from './support/stats';

const EVENTS = numberArg('--events', 200_000);
const ROUNDS = numberArg('--rounds', 5);
const WARMUP = numberArg('--warmup', 2);

interface Sample {
  eventsPerS: number;
  cpuUsPerEvent: number;
}

async function measure(run: () => Promise<number>): Promise<Sample> {
  const cpu0 = cpuMicros();
  const t0 = performance.now();
  const n = await run();
  const ms = performance.now() - t0;
  if (n !== EVENTS) throw new Error(`expected ${EVENTS} events, got ${n}`);
  return { eventsPerS: (n / ms) * 1000, cpuUsPerEvent: (cpuMicros() - cpu0) / n };
}

function pageUrl(info: ServiceInfo, page: number, pageSize: number): string {
  const q = new URLSearchParams({
    query: 'sequenceID>0',
    sort: 'sequenceID,ASC',
    page: String(page),
    pageSize: String(pageSize),
  });
  return `${info.historyUrl}/events${info.topic}?${q.toString()}`;
}

async function getPage(info: ServiceInfo, page: number, pageSize: number): Promise<unknown[]> {
  const res = await fetch(pageUrl(info, page, pageSize), {
    headers: {
      Authorization: `Bearer ${info.token}`,
      'X-Axway-Tenant-Id': info.tenantId,
      'Content-Type': 'application/json',
    },
  });
  return JSON.parse(await res.text()) as unknown[];
}

/** The reference SDK's loop: one page at a time until a short page. */
async function onePage(info: ServiceInfo, pageSize: number): Promise<number> {
  let n = 0;
  for (let page = 1; ; page++) {
    const events = await getPage(info, page, pageSize);
    n += events.length;
    if (events.length < pageSize) return n;
  }
}

/** The same loop with two requests outstanding at all times (pages read in order). */
async function twoInFlight(info: ServiceInfo, pageSize: number): Promise<number> {
  let n = 0;
  const pending = [getPage(info, 1, pageSize), getPage(info, 2, pageSize)];
  for (let page = 1; ; page++) {
    const events = await (pending.shift() as Promise<unknown[]>);
    n += events.length;
    if (events.length < pageSize) {
      await Promise.all(pending); // the one request past the end
      return n;
    }
    pending.push(getPage(info, page + 2, pageSize));
  }
}

async function sdk(info: ServiceInfo, pageSize: number): Promise<number> {
  let n = 0;
  let live!: () => void;
  const done = new Promise<void>((resolve) => (live = resolve));
  const manager = new WatchManager({
    target: info.target,
    historyUrl: info.historyUrl,
    tenantId: info.tenantId,
    getToken: () => info.token,
    tls: false,
    from: 'beginning',
    historyPageSize: pageSize,
    logger: quiet,
  });
  await manager.registerWatch(info.topic, { onEvent: () => void (n += 1), onLive: () => live() });
  await done;
  await manager.close();
  return n;
}

const quiet = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined } as never;

async function main(): Promise<void> {
  process.stdout.write(`starting the history server with ${EVENTS} events…\n`);
  const { info, stop } = await startServiceProcess(EVENTS);
  const methods: Array<[string, (pageSize: number) => Promise<number>]> = [
    ['sdk', (s) => sdk(info, s)],
    ['one-page', (s) => onePage(info, s)],
    ['two-in-flight', (s) => twoInFlight(info, s)],
  ];
  const results = new Map<string, Sample[]>();
  for (const pageSize of [100, 1000]) {
    // Warm-up runs of every method, not measured: JIT, connections, the server's rendered-page cache. The first run
    // of any method in a process is 2-4x slower than the steady state this compares.
    for (let i = 0; i < WARMUP; i++) for (const [, run] of methods) await run(pageSize);
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate the order each round so that no method always runs on a warmer or cooler machine.
      const order = round % 2 === 0 ? methods : [...methods].reverse();
      for (const [name, run] of order) {
        const sample = await measure(() => run(pageSize));
        const key = `${name}@${pageSize}`;
        results.set(key, [...(results.get(key) ?? []), sample]);
        process.stdout.write(
          `round ${round + 1} page ${pageSize} ${name}: ${sample.eventsPerS.toFixed(0)} events/s, ${sample.cpuUsPerEvent.toFixed(2)} µs CPU/event\n`,
        );
      }
    }
  }
  stop();
  const rate = (key: string): number[] => (results.get(key) ?? []).map((s) => s.eventsPerS);
  const cpu = (key: string): number[] => (results.get(key) ?? []).map((s) => s.cpuUsPerEvent);
  process.stdout.write(
    `\n| page size | method | events/s (median) | range | client CPU µs/event (median) | vs one-page | vs two-in-flight |\n|---|---|---|---|---|---|---|\n`,
  );
  const ratios = new Map<string, [number, number]>();
  for (const pageSize of [100, 1000]) {
    for (const [name] of methods) {
      const key = `${name}@${pageSize}`;
      const vsOne = median(rate(key)) / median(rate(`one-page@${pageSize}`));
      const vsTwo = median(rate(key)) / median(rate(`two-in-flight@${pageSize}`));
      ratios.set(key, [vsOne, vsTwo]);
      process.stdout.write(
        `| ${pageSize} | ${name} | ${median(rate(key)).toFixed(0)} | ${range(rate(key))} | ${median(cpu(key)).toFixed(2)} | ${vsOne.toFixed(2)}x | ${vsTwo.toFixed(2)}x |\n`,
      );
    }
  }
  const [vsOne, vsTwo] = ratios.get('sdk@100') as [number, number];
  process.stdout.write(
    `\nBENCH catchup events_per_s=${median(rate('sdk@100')).toFixed(0)} ratio_vs_one_page=${vsOne.toFixed(2)} ratio_vs_two_in_flight=${vsTwo.toFixed(2)} cpu_us_per_event=${median(cpu('sdk@100')).toFixed(2)} page_size=100 events=${EVENTS}\n`,
  );
}

void main();
