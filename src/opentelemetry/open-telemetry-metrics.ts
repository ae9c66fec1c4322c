import {
  diag,
  metrics,
  ValueType,
  type Attributes,
  type BatchObservableResult,
  type Histogram,
  type Meter,
  type MeterProvider,
  type Observable,
  type ObservableCounter,
} from '@opentelemetry/api';
import { WatchError, errorMessage } from '../core/errors';
import type { WatchMetrics } from '../core/types';
import { VERSION } from '../core/version';
import type { WatchCounter } from '../core/watch-counters';
import type { TelemetryLink, TopicTelemetry, WatchTelemetry } from '../telemetry/watch-telemetry';
import { TopicTotals } from './topic-totals';
import { RateSampler } from './rate-sampler';

/** Options of {@link openTelemetryMetrics}. */
export interface OpenTelemetryMetricsOptions {
  /**
   * Where the instruments are made. @default the global provider of `@opentelemetry/api` (`metrics.getMeterProvider()`,
   * set by the OpenTelemetry SDK's setup; without one every record is a no-op)
   */
  meterProvider?: MeterProvider;
  /** The `messaging.system` attribute of the messaging metrics. @default 'grpc_watch' */
  messagingSystem?: string;
  /**
   * Handler runs per second and topic recorded in `messaging.process.duration`: up to this many, every run; above,
   * every Nth (a uniform sample: its quantiles and mean hold, its count is the sample's), and every failed run.
   * `Infinity` records every run, at about 1–2 µs each (the SDK hashes the attributes of each record).
   * @default 1000
   */
  processDurationsPerSecond?: number;
}

/**
 * The instruments, by name. Names and units follow OpenTelemetry's semantic conventions where they exist (messaging:
 * `messaging.client.consumed.messages`, `messaging.process.duration`); the rest are `watch.*`. Every instrument has
 * the attribute `watch.topic`; the messaging ones also `messaging.system`, `messaging.operation.name` (`process`)
 * and `messaging.destination.name` (the topic).
 */
export const METRIC_NAMES = {
  /** Counter `{message}`: events whose handler finished (or a `for await` loop acknowledged). */
  consumed: 'messaging.client.consumed.messages',
  /** Counter `{event}`: events dropped as repeats. */
  duplicates: 'watch.events.duplicates',
  /** Counter `{event}`: events the filter kept from the application. */
  filtered: 'watch.events.filtered',
  /** Counter `{event}`: events set aside in the dead-letter spool. */
  deadLettered: 'watch.events.dead_lettered',
  /** Counter `{reconnect}`, attribute `error.type` (the `WatchError` code): reconnects after a retryable failure. */
  reconnects: 'watch.reconnects',
  /** Counter `{page}`: history pages fetched by catch-ups. */
  historyPages: 'watch.history.pages',
  /** Counter `{retry}`: failed history requests retried. */
  historyRetries: 'watch.history.retries',
  /** Counter `{answer}`: `410 Gone` answers that named the position itself as the newest id (nothing missed). */
  historyGoneNothingMissed: 'watch.history.gone_nothing_missed',
  /** Histogram `s`: a handler's run, first attempt to outcome; `error.type` `HANDLER_FAILED` when it failed. */
  processDuration: 'messaging.process.duration',
  /** Histogram `s`: a catch-up, from its first history request to the switch to live events. */
  catchUpDuration: 'watch.catch_up.duration',
  /** Gauge `s`: now − the `time` of the last event handled (the largest, with several watches of the topic). */
  lag: 'watch.lag',
  /** UpDownCounter `{event}`: handlers running now. */
  inFlight: 'watch.events.in_flight',
  /** UpDownCounter `{event}`: events waiting (queued, and live events held back during a catch-up). */
  buffered: 'watch.events.buffered',
  /** Gauge `{sequence_id}`: the acknowledged (stored) position. */
  position: 'watch.acknowledged_sequence_id',
} as const;

/** A name of {@link METRIC_NAMES}. */
export type MetricName = (typeof METRIC_NAMES)[keyof typeof METRIC_NAMES];

/** The buckets the messaging conventions give for durations, in seconds. */
const PROCESS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
/** A catch-up runs from milliseconds (nothing missed) to minutes (a long outage). */
const CATCH_UP_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/**
 * Reports the metrics of every manager given it as `telemetry` through OpenTelemetry: counters and gauges are
 * observed (read from `metrics()` when the SDK collects: no cost per event), the two durations are histograms
 * recorded as each ends.
 *
 * ```ts
 * const manager = new WatchManager({ ...options, telemetry: openTelemetryMetrics({ meterProvider }) });
 * ```
 */
export function openTelemetryMetrics(options: OpenTelemetryMetricsOptions = {}): WatchTelemetry {
  if (typeof options !== 'object' || options === null)
    throw new WatchError('INVALID_CONFIG', "invalid argument 'options': must be an object");
  for (const key of Object.keys(options))
    if (key !== 'meterProvider' && key !== 'messagingSystem' && key !== 'processDurationsPerSecond')
      throw new WatchError('INVALID_CONFIG', `invalid argument 'options.${key}': unknown option`);
  const given: unknown = options.meterProvider;
  if (given !== undefined && !isMeterProvider(given))
    throw new WatchError(
      'INVALID_CONFIG',
      "invalid argument 'options.meterProvider': must be a MeterProvider (getMeter())",
    );
  const system: unknown = options.messagingSystem === undefined ? 'grpc_watch' : options.messagingSystem;
  if (typeof system !== 'string' || !/^[a-z][a-z0-9_.]{0,62}$/.test(system))
    throw new WatchError(
      'INVALID_CONFIG',
      "invalid argument 'options.messagingSystem': must be a lower-case name (letters, digits, '_', '.'; up to 63)",
    );
  const perSecond: unknown =
    options.processDurationsPerSecond === undefined ? 1_000 : options.processDurationsPerSecond;
  if (typeof perSecond !== 'number' || Number.isNaN(perSecond) || perSecond < 1)
    throw new WatchError(
      'INVALID_CONFIG',
      "invalid argument 'options.processDurationsPerSecond': must be a number of at least 1 (Infinity: every run)",
    );
  // The global provider is looked up when a manager attaches, not now: the SDK's setup may come after this call
  // (@opentelemetry/api hands out a no-op provider until one is registered, and never swaps it later).
  return {
    attach: (read) => instanceFor(given ?? metrics.getMeterProvider(), system, perSecond).attach(read),
  };
}

function isMeterProvider(value: unknown): value is MeterProvider {
  return (
    typeof value === 'object' && value !== null && typeof (value as Partial<MeterProvider>).getMeter === 'function'
  );
}

/**
 * One set of instruments per provider and `messaging.system`: two would each register a callback for the same
 * instruments, and the SDK would report whichever observed last instead of their sum.
 */
const instances = new WeakMap<MeterProvider, Map<string, OpenTelemetryMetrics>>();

function instanceFor(provider: MeterProvider, system: string, perSecond: number): OpenTelemetryMetrics {
  let bySystem = instances.get(provider);
  if (bySystem === undefined) instances.set(provider, (bySystem = new Map<string, OpenTelemetryMetrics>()));
  let instance = bySystem.get(system);
  if (instance === undefined) {
    let meter: Meter;
    try {
      meter = provider.getMeter('watch-manager', VERSION);
    } catch (err) {
      throw new WatchError('INVALID_CONFIG', `invalid option 'telemetry': getMeter() failed: ${errorMessage(err)}`, {
        cause: err,
      });
    }
    instance = new OpenTelemetryMetrics(meter, system, perSecond);
    bySystem.set(system, instance);
  }
  if (instance.perSecond !== perSecond)
    throw new WatchError(
      'INVALID_CONFIG',
      `invalid option 'telemetry': processDurationsPerSecond ${perSecond} differs from the ${instance.perSecond} of the instruments already made on this MeterProvider`,
    );
  return instance;
}

/** The attributes of one topic, made once: records on the hot path allocate nothing. */
interface TopicAttributes {
  topic: Attributes;
  messaging: Attributes;
  failed: Attributes;
  /** Which of the topic's handler runs are recorded (one per topic, shared by its watches). */
  sampler: RateSampler | undefined;
}

class OpenTelemetryMetrics implements WatchTelemetry {
  private readonly reads = new Set<() => readonly WatchMetrics[]>();
  private readonly totals = new TopicTotals();
  private readonly attributes = new Map<string, TopicAttributes>();
  /** The counters reported per topic (the reconnects apart, by code). */
  private readonly counters: Partial<Record<WatchCounter, ObservableCounter>>;
  private readonly reconnects: ObservableCounter;
  private readonly lag: Observable;
  private readonly inFlight: Observable;
  private readonly buffered: Observable;
  private readonly position: Observable;
  private readonly processDuration: Histogram;
  private readonly catchUpDuration: Histogram;

  constructor(
    meter: Meter,
    private readonly system: string,
    readonly perSecond: number,
  ) {
    const count = (name: string, unit: string, description: string): ObservableCounter =>
      meter.createObservableCounter(name, { unit, description, valueType: ValueType.INT });
    const gauge = (name: string, unit: string, description: string, valueType = ValueType.INT): Observable =>
      meter.createObservableGauge(name, { unit, description, valueType });
    const upDown = (name: string, unit: string, description: string): Observable =>
      meter.createObservableUpDownCounter(name, { unit, description, valueType: ValueType.INT });
    this.counters = {
      delivered: count(METRIC_NAMES.consumed, '{message}', 'Events delivered to the application'),
      duplicates: count(METRIC_NAMES.duplicates, '{event}', 'Events dropped as repeats'),
      filtered: count(METRIC_NAMES.filtered, '{event}', 'Events the filter kept from the application'),
      deadLettered: count(METRIC_NAMES.deadLettered, '{event}', 'Events set aside in the dead-letter spool'),
      historyPages: count(METRIC_NAMES.historyPages, '{page}', 'History pages fetched by catch-ups'),
      historyRetries: count(METRIC_NAMES.historyRetries, '{retry}', 'Failed history requests retried'),
      historyGoneNothingMissed: count(
        METRIC_NAMES.historyGoneNothingMissed,
        '{answer}',
        '410 Gone answers whose newest id was the position itself: nothing missed',
      ),
    };
    this.reconnects = count(METRIC_NAMES.reconnects, '{reconnect}', 'Reconnects after a retryable failure');
    this.lag = gauge(METRIC_NAMES.lag, 's', 'Now minus the time of the last event handled', ValueType.DOUBLE);
    this.inFlight = upDown(METRIC_NAMES.inFlight, '{event}', 'Handlers running now');
    this.buffered = upDown(METRIC_NAMES.buffered, '{event}', 'Events waiting for delivery');
    this.position = gauge(METRIC_NAMES.position, '{sequence_id}', 'The acknowledged (stored) position');
    this.processDuration = meter.createHistogram(METRIC_NAMES.processDuration, {
      unit: 's',
      description: 'Duration of an event handler, first attempt to outcome',
      advice: { explicitBucketBoundaries: PROCESS_BUCKETS },
    });
    this.catchUpDuration = meter.createHistogram(METRIC_NAMES.catchUpDuration, {
      unit: 's',
      description: 'Duration of a catch-up from history, to the switch to live events',
      advice: { explicitBucketBoundaries: CATCH_UP_BUCKETS },
    });
    meter.addBatchObservableCallback(
      (result) => this.observe(result),
      [...Object.values(this.counters), this.reconnects, this.lag, this.inFlight, this.buffered, this.position],
    );
  }

  attach(read: () => readonly WatchMetrics[]): TelemetryLink {
    this.reads.add(read);
    return {
      topic: (topic) => this.topic(topic),
      retire: (last) => this.totals.retire(last),
      close: () => void this.reads.delete(read),
    };
  }

  private topic(topic: string): TopicTelemetry {
    const attrs = this.attributesOf(topic);
    const { processDuration, catchUpDuration } = this;
    const sampler = attrs.sampler;
    return {
      handled: (ms, failed) => {
        if (failed) processDuration.record(ms / 1000, attrs.failed);
        else if (sampler === undefined || sampler.take()) processDuration.record(ms / 1000, attrs.messaging);
      },
      caughtUp: (ms) => catchUpDuration.record(ms / 1000, attrs.topic),
    };
  }

  private attributesOf(topic: string): TopicAttributes {
    let attrs = this.attributes.get(topic);
    if (attrs === undefined) {
      const messaging = {
        'watch.topic': topic,
        'messaging.system': this.system,
        'messaging.operation.name': 'process',
        'messaging.destination.name': topic,
      };
      attrs = {
        topic: { 'watch.topic': topic },
        messaging,
        failed: { ...messaging, 'error.type': 'HANDLER_FAILED' },
        sampler: Number.isFinite(this.perSecond) ? new RateSampler(this.perSecond, () => performance.now()) : undefined,
      };
      this.attributes.set(topic, attrs);
    }
    return attrs;
  }

  private observe(result: BatchObservableResult): void {
    const all: WatchMetrics[] = [];
    for (const read of this.reads) {
      // One manager whose metrics cannot be read (a coordinator of the application's that throws) must not take
      // the figures of the others with it.
      try {
        all.push(...read());
      } catch (err) {
        diag.warn(`watch-manager: the metrics of a manager could not be read: ${errorMessage(err)}`);
      }
    }
    for (const f of this.totals.figures(all).values()) {
      const attrs = this.attributesOf(f.topic);
      // The events delivered are the messaging conventions' consumed messages, with their attributes.
      for (const [c, counter] of Object.entries(this.counters) as Array<[WatchCounter, ObservableCounter]>)
        result.observe(counter, f[c], c === 'delivered' ? attrs.messaging : attrs.topic);
      for (const [code, n] of Object.entries(f.reconnectsByCode))
        result.observe(this.reconnects, n, { 'watch.topic': f.topic, 'error.type': code });
      result.observe(this.inFlight, f.inFlight, attrs.topic);
      result.observe(this.buffered, f.buffered, attrs.topic);
      result.observe(this.position, f.position, attrs.topic);
      if (f.lagMs !== undefined) result.observe(this.lag, f.lagMs / 1000, attrs.topic);
    }
  }
}
