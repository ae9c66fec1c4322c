import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { metrics } from '@opentelemetry/api';
import { MeterProvider, MetricReader, type DataPoint, type Histogram } from '@opentelemetry/sdk-metrics';
import { WatchManager, WatchError, type WatchMetrics, type WatchTelemetry } from 'watch-manager';
import { METRIC_NAMES, openTelemetryMetrics } from 'watch-manager/opentelemetry';
import {
  TOPIC,
  captureLogger,
  captured,
  quietLogger,
  scanForSecrets,
  serviceOptions,
  startService,
  token,
  until,
} from './support/harness';

scanForSecrets();

// The manager's metrics through OpenTelemetry: a real SDK MeterProvider with a pull reader, a real fake service
// (gRPC stream and history over HTTP) that repeats events, fails a history request and drops the stream.

/** A pull reader: the figures as an exporter would see them at one collection. */
class PullReader extends MetricReader {
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

interface Collected {
  unit: string;
  points: ReadonlyArray<DataPoint<unknown>>;
}

async function collect(reader: PullReader): Promise<Map<string, Collected>> {
  const { resourceMetrics, errors } = await reader.collect();
  assert.deepEqual(errors, []);
  const out = new Map<string, Collected>();
  for (const scope of resourceMetrics.scopeMetrics) {
    assert.equal(scope.scope.name, 'watch-manager');
    for (const m of scope.metrics) out.set(m.descriptor.name, { unit: m.descriptor.unit, points: m.dataPoints });
  }
  return out;
}

/** The one data point of `name` whose attributes are exactly `attrs`. */
function point(figures: Map<string, Collected>, name: string, attrs: Record<string, string>): DataPoint<unknown> {
  const points = (figures.get(name)?.points ?? []).filter(
    (p) =>
      Object.keys(p.attributes).length === Object.keys(attrs).length &&
      Object.entries(attrs).every(([k, v]) => p.attributes[k] === v),
  );
  assert.equal(points.length, 1, `one point of ${name} with ${JSON.stringify(attrs)}: ${points.length}`);
  return points[0] as DataPoint<unknown>;
}

function value(figures: Map<string, Collected>, name: string, attrs: Record<string, string>): number {
  return point(figures, name, attrs).value as number;
}

function histogram(figures: Map<string, Collected>, name: string, attrs: Record<string, string>): Histogram {
  return point(figures, name, attrs).value as Histogram;
}

/** The attributes of the messaging instruments of TOPIC. */
const MESSAGING = {
  'watch.topic': TOPIC,
  'messaging.system': 'grpc_watch',
  'messaging.operation.name': 'process',
  'messaging.destination.name': TOPIC,
};

function setup(): { reader: PullReader; provider: MeterProvider } {
  const reader = new PullReader();
  return { reader, provider: new MeterProvider({ readers: [reader] }) };
}

describe('OpenTelemetry metrics (watch-manager/opentelemetry)', { timeout: 60_000 }, () => {
  it('counts, times and gauges a watch through repeats, filtering, a dead letter, a history retry and a reconnect', async () => {
    const service = await startService();
    const jwt = await token(service, { ttlMs: 600_000 });
    const spool = mkdtempSync(path.join(tmpdir(), 'wm-otel-'));
    const { reader, provider } = setup();
    const manager = new WatchManager({
      ...serviceOptions(service, jwt),
      from: 'beginning',
      deadLetterDir: spool,
      reconnect: { initialDelayMs: 50, maxDelayMs: 50 },
      telemetry: openTelemetryMetrics({ meterProvider: provider }),
      logger: quietLogger,
    });
    try {
      // In history: 10 events to keep (the 5th fails for good and is set aside) and 2 the filter drops; the first
      // history request fails once.
      service.publishMany(TOPIC, 10, { kind: 'Keep' });
      service.publishMany(TOPIC, 2, { kind: 'Skip' });
      service.setHistoryFaults({ failNext: 1 });
      const handled: number[] = [];
      const sub = await manager.registerWatch(
        TOPIC,
        {
          onEvent: (event) => {
            handled.push(event.sequenceId);
            if (event.sequenceId === 5) throw new Error('no');
          },
        },
        { filter: { kinds: ['Keep'] }, maxAttempts: 1 },
      );
      const acked = (): number => manager.metrics().watches[0]?.acknowledgedSequenceId ?? 0;
      await until('the catch-up', () => acked() === 12);
      // Live, with a repeat after every second event, then the stream is dropped and two more come after it.
      service.setHostile({ repeatEvery: 2 });
      service.publishMany(TOPIC, 6, { kind: 'Keep' });
      await until('the live events', () => acked() === 18);
      assert.equal(service.abortStreams(), 1);
      await until(
        'the reconnect',
        () => manager.metrics().watches[0]?.reconnects === 1 && manager.status().state === 'subscribed',
      );
      service.publishMany(TOPIC, 2, { kind: 'Keep' });
      // The second catch-up's duration is told when its hand-off to live runs through delivery, which can come after
      // the last two events when the catch-up read them from history itself (a busy machine): wait for both.
      await until('the last events', () => acked() === 20 && manager.metrics().watches[0]?.catchUp.active === false);

      const snapshot = manager.metrics().watches[0] as WatchMetrics;
      const figures = await collect(reader);
      const topic = { 'watch.topic': TOPIC };
      // Names and units (the messaging conventions where they exist).
      const units = Object.fromEntries([...figures].map(([name, f]) => [name, f.unit]));
      assert.deepEqual(units, {
        [METRIC_NAMES.consumed]: '{message}',
        [METRIC_NAMES.duplicates]: '{event}',
        [METRIC_NAMES.filtered]: '{event}',
        [METRIC_NAMES.deadLettered]: '{event}',
        [METRIC_NAMES.reconnects]: '{reconnect}',
        [METRIC_NAMES.historyPages]: '{page}',
        [METRIC_NAMES.historyRetries]: '{retry}',
        [METRIC_NAMES.historyGoneNothingMissed]: '{answer}',
        [METRIC_NAMES.processDuration]: 's',
        [METRIC_NAMES.catchUpDuration]: 's',
        [METRIC_NAMES.lag]: 's',
        [METRIC_NAMES.inFlight]: '{event}',
        [METRIC_NAMES.buffered]: '{event}',
        [METRIC_NAMES.position]: '{sequence_id}',
      });
      // Counters: 18 kept events, one set aside; 2 filtered; the repeats the service sent; one retried request.
      const messaging = MESSAGING;
      assert.equal(value(figures, METRIC_NAMES.consumed, messaging), 17);
      assert.equal(value(figures, METRIC_NAMES.filtered, topic), 2);
      assert.equal(value(figures, METRIC_NAMES.deadLettered, topic), 1);
      assert.ok(snapshot.duplicates >= 1, `repeats dropped: ${snapshot.duplicates}`);
      assert.equal(value(figures, METRIC_NAMES.duplicates, topic), snapshot.duplicates);
      assert.equal(value(figures, METRIC_NAMES.historyRetries, topic), 1);
      assert.ok(snapshot.historyPages >= 2, `pages: ${snapshot.historyPages}`);
      assert.equal(value(figures, METRIC_NAMES.historyPages, topic), snapshot.historyPages);
      assert.deepEqual(Object.keys(snapshot.reconnectsByCode), ['CONNECTION_LOST']);
      assert.equal(value(figures, METRIC_NAMES.reconnects, { ...topic, 'error.type': 'CONNECTION_LOST' }), 1);
      // Histograms: every handler run (the failed one apart), a catch-up per connection.
      assert.equal(histogram(figures, METRIC_NAMES.processDuration, messaging).count, 17);
      const failed = histogram(figures, METRIC_NAMES.processDuration, { ...messaging, 'error.type': 'HANDLER_FAILED' });
      assert.equal(failed.count, 1);
      assert.equal(handled.length, 18);
      assert.deepEqual(
        histogram(figures, METRIC_NAMES.processDuration, messaging).buckets.boundaries,
        [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10],
      );
      assert.equal(histogram(figures, METRIC_NAMES.catchUpDuration, topic).count, 2);
      // Gauges.
      assert.equal(value(figures, METRIC_NAMES.position, topic), 20);
      assert.equal(value(figures, METRIC_NAMES.inFlight, topic), 0);
      assert.equal(value(figures, METRIC_NAMES.buffered, topic), 0);
      const lag = value(figures, METRIC_NAMES.lag, topic);
      assert.ok(lag >= 0 && lag < 60, `lag ${lag} s`);

      // Closed and watched again: the topic's counters go on from where they were, never back.
      await sub.close();
      const afterClose = await collect(reader);
      assert.equal(value(afterClose, METRIC_NAMES.consumed, messaging), 17);
      // Gauges of a topic no watch reads: nothing runs, waits or lags; its last position stays.
      assert.deepEqual(
        [METRIC_NAMES.inFlight, METRIC_NAMES.buffered, METRIC_NAMES.lag, METRIC_NAMES.position].map((n) =>
          value(afterClose, n, topic),
        ),
        [0, 0, 0, 20],
      );
      service.setHostile({});
      await manager.registerWatch(TOPIC, { onEvent: () => undefined });
      service.publishMany(TOPIC, 3, { kind: 'Keep' });
      await until('the watch registered again', () => acked() === 23);
      const again = await collect(reader);
      assert.equal(value(again, METRIC_NAMES.consumed, messaging), 20);
      assert.equal(value(again, METRIC_NAMES.reconnects, { ...topic, 'error.type': 'CONNECTION_LOST' }), 1);
      assert.equal(value(again, METRIC_NAMES.filtered, topic), 2);
      assert.equal(value(again, METRIC_NAMES.position, topic), 23);

      // A closed manager is not read any more; what it counted stays.
      await manager.close();
      const closed = await collect(reader);
      assert.equal(value(closed, METRIC_NAMES.consumed, messaging), 20);
    } finally {
      await manager.close();
      await provider.shutdown();
      await service.stop();
      rmSync(spool, { recursive: true, force: true });
    }
  });

  it('a backend that throws never stops a watch nor loses an event; it is logged once', async () => {
    const service = await startService();
    const jwt = await token(service, { ttlMs: 600_000 });
    // Thrown, and rejected: an async backend's rejection must not become an unhandled rejection (a crash).
    const failing: WatchTelemetry = {
      attach: () => ({
        topic: () => ({
          // The point: a backend that answers with a rejected promise.
          // eslint-disable-next-line @typescript-eslint/no-misused-promises
          handled: async () => {
            await Promise.resolve();
            throw new Error('exporter down');
          },
          caughtUp: () => {
            throw new Error('exporter down');
          },
        }),
        // eslint-disable-next-line @typescript-eslint/no-misused-promises
        retire: () => Promise.reject(new Error('exporter down')),
        close: () => undefined,
      }),
    };
    const manager = new WatchManager({
      ...serviceOptions(service, jwt),
      from: 'beginning',
      telemetry: failing,
      logger: captureLogger(),
    });
    const start = captured.length;
    try {
      service.publishMany(TOPIC, 50);
      const seen: number[] = [];
      const sub = await manager.registerWatch(TOPIC, {
        onEvent: async (event) => {
          seen.push(event.sequenceId);
          await Promise.resolve();
        },
      });
      await until('every event, then live', () => seen.length === 50 && manager.status().watches[0]?.live === true);
      assert.deepEqual(
        seen,
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
      await sub.close();
      assert.equal(manager.status().state, 'idle');
      const lines = captured.slice(start).filter((l) => l.includes('telemetry backend failed'));
      assert.deepEqual(lines.map((l) => /in (\w+)\(\)/.exec(l)?.[1]).sort(), ['caughtUp', 'handled', 'retire']);
    } finally {
      await manager.close();
      await service.stop();
    }
  });

  it('two instances on one provider add up; the global provider is looked up when a manager attaches', async () => {
    const service = await startService();
    const jwt = await token(service, { ttlMs: 600_000 });
    const { reader, provider } = setup();
    // Made before the SDK's setup registers the global provider, as an application's module order may have it.
    const viaGlobal = openTelemetryMetrics();
    metrics.setGlobalMeterProvider(provider);
    const managers = [
      new WatchManager({
        ...serviceOptions(service, jwt),
        from: 'beginning',
        logger: quietLogger,
        telemetry: viaGlobal,
      }),
      new WatchManager({
        ...serviceOptions(service, jwt),
        from: 'beginning',
        logger: quietLogger,
        telemetry: openTelemetryMetrics({ meterProvider: provider }),
      }),
    ];
    try {
      service.publishMany(TOPIC, 25);
      for (const m of managers) await m.registerWatch(TOPIC, { onEvent: () => undefined });
      for (const m of managers) await m.ready({ timeoutMs: 20_000 });
      const figures = await collect(reader);
      const messaging = MESSAGING;
      assert.equal(value(figures, METRIC_NAMES.consumed, messaging), 50);
      assert.equal(histogram(figures, METRIC_NAMES.processDuration, messaging).count, 50);
    } finally {
      metrics.disable();
      for (const m of managers) await m.close();
      await provider.shutdown();
      await service.stop();
    }
  });

  it('refuses bad settings with INVALID_CONFIG naming the setting', () => {
    const base = { target: 'h:1', tenantId: 't', getToken: () => 'x', tls: false as const };
    const refused = (make: () => unknown, setting: RegExp): void => {
      assert.throws(
        make,
        (err: unknown) => err instanceof WatchError && err.code === 'INVALID_CONFIG' && setting.test(err.message),
      );
    };
    refused(() => new WatchManager({ ...base, telemetry: {} as WatchTelemetry }), /'telemetry'/);
    refused(() => new WatchManager({ ...base, telemetry: 'otel' as unknown as WatchTelemetry }), /'telemetry'/);
    refused(
      () =>
        new WatchManager({
          ...base,
          telemetry: {
            attach: () => {
              throw new Error('no meter');
            },
          },
        }),
      /'telemetry': attach\(\) failed: no meter/,
    );
    refused(() => openTelemetryMetrics({ meterProvider: 5 as never }), /'options.meterProvider'/);
    refused(() => openTelemetryMetrics({ meterProvider: null as never }), /'options.meterProvider'/);
    refused(() => openTelemetryMetrics({ messagingSystem: null as never }), /'options.messagingSystem'/);
    for (const bad of [0, 0.5, Number.NaN, -1, '10', null])
      refused(
        () => openTelemetryMetrics({ processDurationsPerSecond: bad as never }),
        /'options.processDurationsPerSecond'/,
      );
    const shared = setup().provider;
    new WatchManager({ ...base, telemetry: openTelemetryMetrics({ meterProvider: shared }) });
    refused(
      () =>
        new WatchManager({
          ...base,
          telemetry: openTelemetryMetrics({ meterProvider: shared, processDurationsPerSecond: Infinity }),
        }),
      /processDurationsPerSecond Infinity differs from the 1000 of the instruments already made/,
    );
    refused(
      () =>
        new WatchManager({
          ...base,
          telemetry: openTelemetryMetrics({
            meterProvider: {
              getMeter: () => {
                throw new Error('no meter');
              },
            },
          }),
        }),
      /'telemetry': getMeter\(\) failed: no meter/,
    );
    refused(
      () => new WatchManager({ ...base, telemetry: { attach: () => ({}) as never } }),
      /must return a TelemetryLink/,
    );
    refused(() => openTelemetryMetrics({ messagingSystem: 'Not Valid' }), /'options.messagingSystem'/);
    refused(() => openTelemetryMetrics({ meter: 1 } as never), /'options.meter'/);
    // The global provider (a no-op without the SDK's setup) is the default.
    assert.ok(openTelemetryMetrics());
  });
});
