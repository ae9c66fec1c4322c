/**
 * The figures of each topic at one collection: the counters of the watches read now plus those of watches that left
 * (so that a topic's counters never go back when its watch is closed and registered again), and the gauges of the
 * watches read now. Several watches of one topic (managers sharing a backend, replicas in one process) add up;
 * their lag and position are the furthest behind and the furthest ahead.
 */
import type { WatchErrorCode } from '../errors';
import type { WatchMetrics } from '../types';

/** The counters of {@link WatchMetrics} reported per topic. */
export const COUNTED = [
  'delivered',
  'duplicates',
  'filtered',
  'deadLettered',
  'historyPages',
  'historyRetries',
] as const;

/** One counter of {@link COUNTED}. */
export type Counted = (typeof COUNTED)[number];

/** Counters of one topic. */
export interface TopicCounters {
  counts: Record<Counted, number>;
  reconnects: Map<WatchErrorCode, number>;
}

/** What a collection reports of one topic. */
export interface TopicFigures extends TopicCounters {
  topic: string;
  /** Whether a watch of it is read now (else only counters of watches that left). */
  watched: boolean;
  inFlight: number;
  buffered: number;
  /** The largest lag among its watches, ms (none before a first event; 0 for a topic no watch reads now). */
  lagMs: number | undefined;
  /** The highest acknowledged position among its watches (or of the last that left). */
  position: number;
}

function zero(): TopicCounters {
  return {
    counts: { delivered: 0, duplicates: 0, filtered: 0, deadLettered: 0, historyPages: 0, historyRetries: 0 },
    reconnects: new Map(),
  };
}

function add(into: TopicCounters, m: WatchMetrics): void {
  for (const c of COUNTED) into.counts[c] += m[c];
  for (const [code, n] of Object.entries(m.reconnectsByCode) as Array<[WatchErrorCode, number]>)
    into.reconnects.set(code, (into.reconnects.get(code) ?? 0) + n);
}

/** Per-topic totals over the watches read and the watches retired. */
export class TopicTotals {
  private readonly retired = new Map<string, TopicCounters & { position: number }>();

  /** A watch left: its last counters (and its position) stay in its topic's totals. */
  retire(last: WatchMetrics): void {
    let kept = this.retired.get(last.topic);
    if (kept === undefined) this.retired.set(last.topic, (kept = { ...zero(), position: 0 }));
    add(kept, last);
    kept.position = Math.max(kept.position, last.acknowledgedSequenceId);
  }

  /** The figures of every topic, from the metrics read now. */
  figures(current: Iterable<WatchMetrics>): Map<string, TopicFigures> {
    const out = new Map<string, TopicFigures>();
    const of = (topic: string): TopicFigures => {
      let f = out.get(topic);
      if (f === undefined) {
        f = { topic, watched: false, inFlight: 0, buffered: 0, lagMs: undefined, position: 0, ...zero() };
        out.set(topic, f);
      }
      return f;
    };
    for (const [topic, kept] of this.retired) {
      const f = of(topic);
      // Not read now: nothing runs or waits, nothing lags (else a closed watch's last gauges would stay exported).
      f.position = kept.position;
      f.lagMs = 0;
      for (const c of COUNTED) f.counts[c] += kept.counts[c];
      for (const [code, n] of kept.reconnects) f.reconnects.set(code, (f.reconnects.get(code) ?? 0) + n);
    }
    for (const m of current) {
      const f = of(m.topic);
      add(f, m);
      if (!f.watched) f.lagMs = undefined; // a watch reads it now: its own lag, not the 0 of those that left
      f.watched = true;
      f.inFlight += m.inFlight;
      f.buffered += m.buffered;
      if (m.lagMs !== undefined) f.lagMs = Math.max(f.lagMs ?? 0, m.lagMs);
      f.position = Math.max(f.position, m.acknowledgedSequenceId);
    }
    return out;
  }
}
