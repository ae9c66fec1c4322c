/**
 * The figures of each topic at one collection: the counters of the watches read now plus those of watches that left
 * (so that a topic's counters never go back when its watch is closed and registered again), and the gauges of the
 * watches read now. Several watches of one topic (managers sharing a backend, replicas in one process) add up;
 * their lag and position are the furthest behind and the furthest ahead.
 */
import type { WatchErrorCode } from '../core/errors';
import type { WatchMetrics } from '../core/types';

/** The counters of {@link WatchMetrics} reported per topic. */
export const COUNTED = [
  'delivered',
  'duplicates',
  'filtered',
  'deadLettered',
  'historyPages',
  'historyRetries',
  'historyGoneNothingMissed',
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
  return { counts: Object.fromEntries(COUNTED.map((c) => [c, 0])) as Record<Counted, number>, reconnects: new Map() };
}

/** Adds counters (of a watch read now, or of those that left) into a topic's. */
function add(
  into: TopicCounters,
  counts: Record<Counted, number>,
  reconnects: Iterable<readonly [WatchErrorCode, number]>,
): void {
  for (const c of COUNTED) into.counts[c] += counts[c];
  for (const [code, n] of reconnects) into.reconnects.set(code, (into.reconnects.get(code) ?? 0) + n);
}

function reconnectsOf(m: WatchMetrics): Array<[WatchErrorCode, number]> {
  return Object.entries(m.reconnectsByCode) as Array<[WatchErrorCode, number]>;
}

/** Per-topic totals over the watches read and the watches retired. */
export class TopicTotals {
  private readonly retired = new Map<string, TopicCounters & { position: number }>();

  /** A watch left: its last counters (and its position) stay in its topic's totals. */
  retire(last: WatchMetrics): void {
    let kept = this.retired.get(last.topic);
    if (kept === undefined) this.retired.set(last.topic, (kept = { ...zero(), position: 0 }));
    add(kept, last, reconnectsOf(last));
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
      f.position = kept.position;
      add(f, kept.counts, kept.reconnects);
    }
    for (const m of current) {
      const f = of(m.topic);
      add(f, m, reconnectsOf(m));
      f.watched = true;
      f.inFlight += m.inFlight;
      f.buffered += m.buffered;
      if (m.lagMs !== undefined) f.lagMs = Math.max(f.lagMs ?? 0, m.lagMs);
      f.position = Math.max(f.position, m.acknowledgedSequenceId);
    }
    // A topic no watch reads now: nothing runs or waits, nothing lags (else the last gauges of a closed watch would
    // stay exported for ever).
    for (const f of out.values()) if (!f.watched) f.lagMs = 0;
    return out;
  }
}
