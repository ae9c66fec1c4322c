// One throughput measurement in a fresh process: reads WM_EVENTS events from the server in WM_SERVICE through
// argv[2] = sdk-handler | sdk-iterator | bare-default | bare-same | bare-window (grpc-js defaults but the SDK's 1 MiB
// flow-control window) | sdk-file | sdk-postgres (registerWatch with a
// FileSequenceStore in a temp dir, or a PostgresSequenceStore at WM_PG_URL) | sdk-transaction (a PostgresCoordinator
// at WM_PG_URL, transactional handlers: each event's effect row and position in one commit) | sdk-otel (sdk-handler
// with OpenTelemetry metrics: a real SDK MeterProvider with the Prometheus exporter as its reader, scraped once at
// the end to check it counted every event), and prints {mode, events, ms, cpuUs, peakRssMiB}.
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
// The SDK by its package name: the built package (dist/) by default, what an application runs; src/ through tsx with
// --conditions=watch-manager-source (runThroughput's `source`). The bare clients' helpers come from src/ either way.
import { FileSequenceStore, WatchManager, type SequenceProvider, type WatchTelemetry } from 'watch-manager';
import { openTelemetryMetrics } from 'watch-manager/opentelemetry';
import { PostgresCoordinator, PostgresSequenceStore } from 'watch-manager/postgres';
import { channelOptions } from '../../src/transport/grpc-channel';
import { resolveOptions } from '../../src/config/options';
import { watchProto } from '../../src/transport/proto';
import type { ServiceInfo } from './stats';

const mode = process.argv[2] as
  | 'sdk-handler'
  | 'sdk-iterator'
  | 'bare-default'
  | 'bare-same'
  | 'bare-window'
  | 'sdk-file'
  | 'sdk-postgres'
  | 'sdk-transaction'
  | 'sdk-otel';
const info = JSON.parse(process.env.WM_SERVICE as string) as ServiceInfo & { events: number };
const quiet = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined } as never;
const options = {
  target: info.target,
  historyUrl: info.historyUrl,
  tenantId: info.tenantId,
  getToken: () => info.token,
  tls: false as const,
  logger: quiet,
};

async function bare(channel: grpc.ChannelOptions): Promise<void> {
  const Client = watchProto().central.events.v1.watch;
  const client = new Client(info.target, grpc.credentials.createInsecure(), channel);
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${info.token}`);
  md.set('x-axway-tenant-id', info.tenantId);
  const call = client.subscribe(md);
  call.on('error', () => undefined);
  let n = 0;
  await new Promise<void>((resolve) => {
    call.on('data', () => {
      if (++n === info.events) resolve();
    });
    call.write({ selfLink: info.topic, token: `Bearer ${info.token}`, capabilities: ['ping'] });
  });
  call.cancel();
  client.close();
}

/** The position store of the mode: the default (memory), a file in a temp dir, or PostgreSQL. */
function store(): SequenceProvider | undefined {
  if (mode === 'sdk-file') return new FileSequenceStore(path.join(mkdtempSync(path.join(tmpdir(), 'wm-bench-')), 'p'));
  if (mode === 'sdk-postgres') {
    const schema = `bench_${process.pid}`;
    return new PostgresSequenceStore({ connectionString: process.env.WM_PG_URL, schema });
  }
  return undefined;
}

async function sdk(
  iterator: boolean,
  sequenceProvider: SequenceProvider | undefined,
  telemetry?: WatchTelemetry,
): Promise<void> {
  const manager = new WatchManager({
    ...options,
    ...(sequenceProvider === undefined ? {} : { sequenceProvider }),
    ...(telemetry === undefined ? {} : { telemetry }),
  });
  let n = 0;
  if (iterator) {
    for await (const record of manager.watch(info.topic)) if (record.kind === 'event' && ++n === info.events) break;
  } else {
    let done!: () => void;
    const all = new Promise<void>((resolve) => (done = resolve));
    await manager.registerWatch(info.topic, { onEvent: () => void (++n === info.events && done()) });
    await all;
  }
  await manager.close();
}

/** Transactional handlers: an effect row per event, committed with the position under the lease's fence. */
async function transactional(coordinator: PostgresCoordinator, schema: string): Promise<void> {
  const manager = new WatchManager({ ...options, coordinator });
  let n = 0;
  let done!: () => void;
  const all = new Promise<void>((resolve) => (done = resolve));
  await manager.registerWatch(
    info.topic,
    {
      onEvent: async (event, ctx) => {
        await ctx.client?.query(`INSERT INTO ${schema}.effects (seq) VALUES ($1)`, [event.sequenceId]);
        if (++n === info.events) done();
      },
    },
    { transaction: true },
  );
  await all;
  await manager.close();
}

/** Sets up what the mode needs (before the clock starts), then returns the timed run. */
async function prepare(): Promise<() => Promise<void>> {
  if (mode === 'sdk-transaction') {
    // The coordinator joins and the effects table exists before the clock starts.
    const schema = `bench_tx_${process.pid}`;
    const coordinator = new PostgresCoordinator({ connectionString: process.env.WM_PG_URL, schema });
    await coordinator.start();
    const { Pool } = await import('pg');
    const db = new Pool({ connectionString: process.env.WM_PG_URL });
    await db.query(`CREATE TABLE ${schema}.effects (seq bigint)`);
    await db.end();
    return () => transactional(coordinator, schema);
  }
  if (mode === 'sdk-otel') {
    const exporter = new PrometheusExporter({ preventServerStart: true });
    const meterProvider = new MeterProvider({ readers: [exporter] });
    const telemetry = openTelemetryMetrics({ meterProvider });
    return async () => {
      await sdk(false, undefined, telemetry);
      // Outside the hot path, but inside the timing: one scrape, as Prometheus would make, proves every event counted.
      const { resourceMetrics } = await exporter.collect();
      const consumed = resourceMetrics.scopeMetrics
        .flatMap((s) => s.metrics)
        .find((m) => m.descriptor.name === 'messaging.client.consumed.messages')?.dataPoints[0]?.value;
      if (consumed !== info.events)
        throw new Error(`metrics counted ${JSON.stringify(consumed)} of ${info.events} events`);
      await meterProvider.shutdown();
    };
  }
  if (mode === 'bare-default') return () => bare({});
  if (mode === 'bare-same') return () => bare(channelOptions(resolveOptions(options, '0')));
  if (mode === 'bare-window') {
    const window = channelOptions(resolveOptions(options, '0'))['grpc-node.flow_control_window'];
    return () => bare({ 'grpc-node.flow_control_window': window });
  }
  // A store is set up before the clock starts (PostgreSQL creates its tables on first use).
  const sequenceProvider = store();
  await sequenceProvider?.getSequence('/management/v1alpha1/watchtopics/warm-up');
  return () => sdk(mode === 'sdk-iterator', sequenceProvider);
}

async function main(): Promise<void> {
  const run = await prepare();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await run();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  // maxRSS (KiB): the process's peak resident set, what the events in flight cost in memory at their worst.
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(
    `${JSON.stringify({ mode, events: info.events, ms, cpuUs: cpu.user + cpu.system, peakRssMiB })}\n`,
  );
  process.exit(0);
}

void main();
