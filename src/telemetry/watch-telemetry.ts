/**
 * The contract between a manager and a metrics backend (the `telemetry` option). The manager never depends on a
 * metrics library: `watch-manager/opentelemetry` implements this over `@opentelemetry/api`, and an application may
 * implement it over anything else.
 *
 * Counters and gauges are read, not pushed: the backend calls `read()` when it collects (a scrape, an export
 * interval), so the hot path pays nothing for them. Only durations, which no snapshot can give, are told as they end.
 */
import type { WatchMetrics } from '../core/types';

/** Durations of the watches of one topic, told as each ends. */
export interface TopicTelemetry {
  /**
   * The handler of one event finished: `durationMs` from the start of its first attempt to its outcome (retries and
   * their waits included); `failed` when its last attempt failed (the event was set aside or the watch stops).
   * Called on the hot path: keep it cheap and never throw.
   */
  handled(durationMs: number, failed: boolean): void;
  /** A catch-up ended and the watch went live: `durationMs` from the start of its first history request. */
  caughtUp(durationMs: number): void;
}

/** What one manager reports to: made by {@link WatchTelemetry.attach}. */
export interface TelemetryLink {
  /** Where an engine of a watch of `topic` tells its durations (asked once per engine, not per event). */
  topic(topic: string): TopicTelemetry;
  /**
   * A watch left the manager (closed, or its start failed), or the manager closes: its last metrics, so that the
   * counters of its topic go on from there and never go back.
   */
  retire(last: WatchMetrics): void;
  /** The manager closed: `read` is not called any more. */
  close(): void;
}

/**
 * A metrics backend (the manager's `telemetry` option). One may serve several managers: each attaches once, from its
 * constructor.
 */
export interface WatchTelemetry {
  /** A manager starts reporting: `read` returns the metrics of its watches now, as {@link WatchManager.metrics}. */
  attach(read: () => readonly WatchMetrics[]): TelemetryLink;
}
