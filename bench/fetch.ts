// Fetch mode: events/s of `registerWatch(…, { fetch: true })` (each event handed over with its resource, fetched
// ahead of the handler with bounded concurrency) against a plain handler that reads each event's resource itself,
// one `manager.resources.get` per event (one sequential GET per event: what an agent does without fetch mode). The
// same events (--events CREATED, about 1 KiB of spec each, read from history from the beginning) from the same fake
// service in a process of its own; for reference also 8 plain handlers at once (`concurrency: 8`, order kept per
// resource only). First with each answer of the resource API held --round-trip-ms (the fake's
// `delayMs`: a service across a network, as agents meet it; the headline), then on the bare loopback, where each GET
// costs only CPU (the client's and the fake's, printed per event) and fetching ahead has little waiting to hide; also,
// for reference, the same watch without any fetch (the ceiling the events' stream sets). Paired rounds in alternating
// order.
//   node --import tsx bench/fetch.ts [--events 5000] [--spec-bytes 1024] [--round-trip-ms 1] [--rounds 5] [--warmup 1]
import { WatchManager, type WatchError, type WatchEvent } from 'watch-manager';
import { cpuMicros, median, numberArg, range, sdkCode } from './support/stats';
import {
  managerOptions,
  startResourceService,
  type ResourceService,
  type ResourceServiceInfo,
} from './support/resource-service-process';

const EVENTS = numberArg('--events', 5_000);
const SPEC_BYTES = numberArg('--spec-bytes', 1024);
const ROUNDS = numberArg('--rounds', 5);
const WARMUP = numberArg('--warmup', 1);
/** The resource API's answers are held this long (the fake's `delayMs`): a service across a network. */
const LATENCY_MS = numberArg('--round-trip-ms', 1);

interface Sample {
  eventsPerS: number;
  /** The fake's CPU over the run, in % of one core. */
  serviceCpuPct: number;
  /** This process's (the client's) CPU per event, µs, and the fake's. */
  clientCpuUs: number;
  serviceCpuUs: number;
}

type Method = (info: ResourceServiceInfo) => Promise<number>;

/** What every watch of this bench counts with, and where it reports a failure. */
interface Counting {
  /** The handler saw `event`, with `resource` (undefined when it came without). */
  seen: (event: WatchEvent, resource: unknown) => void;
  /** Any error the watch reports ends the run: a failed fetch must not pass for a fast one. */
  onError: (error: WatchError) => void;
}

/**
 * A new manager (from the topic's beginning) running `register` until its handler counted every event; resolves with
 * the number of events that came with their resource.
 */
async function runWatch(
  info: ResourceServiceInfo,
  register: (manager: WatchManager, counting: Counting) => Promise<void>,
): Promise<number> {
  const manager = new WatchManager({ ...managerOptions(info), from: 'beginning' });
  let n = 0;
  let withResource = 0;
  let done!: () => void;
  let failed!: (err: unknown) => void;
  const finished = new Promise<void>((resolve, reject) => ((done = resolve), (failed = reject)));
  try {
    await register(manager, {
      seen: (_event, resource) => {
        n += 1;
        if (resource !== undefined) withResource += 1;
        if (n === EVENTS) done();
      },
      onError: (error) => failed(error),
    });
    await finished;
    return withResource;
  } finally {
    await manager.close();
  }
}

/** The peer: a plain handler, one `manager.resources.get` per event, in order (concurrency 1, the default). */
const sequentialGet: Method = (info) =>
  runWatch(info, async (manager, { seen, onError }) => {
    const resources = manager.resources;
    await manager.registerWatch(info.topic, {
      onEvent: async (event) => seen(event, await resources.get(event.payload.metadata.selfLink)),
      onError,
    });
  });

/**
 * For reference: the same GETs from 8 handlers at once (`concurrency: 8`), what a user can do without fetch mode at
 * the price of order across resources: about the most fetching ahead can give on this machine.
 */
const concurrentGet: Method = (info) =>
  runWatch(info, async (manager, { seen, onError }) => {
    const resources = manager.resources;
    await manager.registerWatch(
      info.topic,
      { onEvent: async (event) => seen(event, await resources.get(event.payload.metadata.selfLink)), onError },
      { concurrency: 8 },
    );
  });

/** For reference: the same watch without fetching (every event counted as if it had come with its resource). */
const noFetch: Method = (info) =>
  runWatch(info, async (manager, { seen, onError }) => {
    await manager.registerWatch(info.topic, { onEvent: (event) => seen(event, event.payload), onError });
  });

/** The SDK: `registerWatch(…, { fetch: true })`, the handler reading `event.resource`. */
const sdkFetch: Method = (info) =>
  runWatch(info, async (manager, { seen, onError }) => {
    await manager.registerWatch(
      info.topic,
      { onEvent: (event) => seen(event, event.resource), onError },
      { fetch: true },
    );
  });

// ---- The run. ----

async function measure(service: ResourceService, run: Method): Promise<Sample> {
  const cpu0 = await service.cpuMicros();
  const client0 = cpuMicros();
  const t0 = performance.now();
  const n = await run(service.info);
  const ms = performance.now() - t0;
  const clientCpu = cpuMicros() - client0;
  const serviceCpu = (await service.cpuMicros()) - cpu0;
  if (n !== EVENTS) throw new Error(`expected ${EVENTS} events with their resource, got ${n}`);
  return {
    eventsPerS: (EVENTS / ms) * 1000,
    serviceCpuPct: serviceCpu / 10 / ms,
    clientCpuUs: clientCpu / EVENTS,
    serviceCpuUs: serviceCpu / EVENTS,
  };
}

async function main(): Promise<void> {
  const code = sdkCode();
  process.stdout.write(`starting the fake service with ${EVENTS} resources and their events…\n`);
  const service = await startResourceService({ resources: EVENTS, specBytes: SPEC_BYTES });
  const { info } = service;
  process.stdout.write(
    `fake: ${info.resourceJsonBytes.toFixed(0)} B per resource as JSON; publish ${info.publishCpuUsPerResource.toFixed(1)} µs CPU per event\n`,
  );
  const fetching: Array<[string, Method]> = [
    ['sdk-fetch', sdkFetch],
    ['sequential-get', sequentialGet],
    ['concurrent-get-8', concurrentGet],
  ];
  // The headline with a round trip (LATENCY_MS), then on the bare loopback, where a GET's time is all CPU (the
  // client's and the fake's, on a machine of few cores) and fetching ahead has little waiting to save.
  const phases: Array<[number, Array<[string, Method]>]> = [
    [LATENCY_MS, fetching],
    [0, [...fetching, ['no-fetch', noFetch]]],
  ];
  const results = new Map<string, Sample[]>();
  for (const [latency, methods] of phases) {
    await service.setDelay(latency);
    for (let i = 0; i < WARMUP; i++) for (const [, run] of methods) await run(info);
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? methods : [...methods].reverse();
      for (const [name, run] of order) {
        const sample = await measure(service, run);
        const key = `${name}@${latency}`;
        results.set(key, [...(results.get(key) ?? []), sample]);
        process.stdout.write(
          `round ${round + 1} ${name}, round trip ${latency} ms: ${sample.eventsPerS.toFixed(0)} events/s (${(1e6 / sample.eventsPerS).toFixed(0)} µs per event), CPU per event: client ${sample.clientCpuUs.toFixed(0)} µs, fake ${sample.serviceCpuUs.toFixed(0)} µs (${sample.serviceCpuPct.toFixed(0)} % of a core)\n`,
        );
      }
    }
  }
  const counters = await service.counters();
  service.stop();
  const of = (key: string, pick: (s: Sample) => number): number[] => (results.get(key) ?? []).map(pick);
  const rate = (key: string): number[] => of(key, (s) => s.eventsPerS);
  /** Per round, `key`'s events/s over the sequential GET's at the same round trip. */
  const paired = (key: string): number[] => {
    const peer = rate(`sequential-get@${key.split('@')[1] ?? ''}`);
    return rate(key).map((r, i) => r / (peer[i] as number));
  };
  process.stdout.write(
    `\n| method | round trip | events/s (median) | range | CPU µs per event: client / fake | fake CPU % of a core | / sequential GET, paired |\n|---|---|---|---|---|---|---|\n`,
  );
  for (const [latency, methods] of phases)
    for (const [name] of methods) {
      const key = `${name}@${latency}`;
      process.stdout.write(
        `| ${name} | ${latency} ms | ${median(rate(key)).toFixed(0)} | ${range(rate(key))} | ${median(of(key, (s) => s.clientCpuUs)).toFixed(0)} / ${median(of(key, (s) => s.serviceCpuUs)).toFixed(0)} | ${median(of(key, (s) => s.serviceCpuPct)).toFixed(0)} | ${median(paired(key)).toFixed(2)}x (${range(paired(key), 2)}) |\n`,
      );
    }
  process.stdout.write(`fake's resource API counters: ${JSON.stringify(counters)}\n`);
  const subject = 'sdk-fetch';
  const head = `${subject}@${LATENCY_MS}`;
  const loop = `${subject}@0`;
  process.stdout.write(
    `\nBENCH fetch events_per_s=${median(rate(head)).toFixed(0)} ratio_vs_sequential_get=${median(paired(head)).toFixed(2)} ratio_vs_sequential_get_range=${range(paired(head), 2)} sequential_get_events_per_s=${median(rate(`sequential-get@${LATENCY_MS}`)).toFixed(0)} round_trip_ms=${LATENCY_MS} loopback_ratio_vs_sequential_get=${median(paired(loop)).toFixed(2)} loopback_events_per_s=${median(rate(loop)).toFixed(0)} loopback_sequential_get_events_per_s=${median(rate('sequential-get@0')).toFixed(0)} concurrent_get_8_ratio=${median(paired(`concurrent-get-8@${LATENCY_MS}`)).toFixed(2)} loopback_concurrent_get_8_ratio=${median(paired('concurrent-get-8@0')).toFixed(2)} no_fetch_events_per_s=${median(rate('no-fetch@0')).toFixed(0)} loopback_client_cpu_us_per_event=${median(of(loop, (s) => s.clientCpuUs)).toFixed(0)} loopback_fake_cpu_us_per_event=${median(of(loop, (s) => s.serviceCpuUs)).toFixed(0)} events=${EVENTS} code=${code}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
