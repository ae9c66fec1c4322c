/**
 * The figures of each topic at one collection: the counters of the watches read now plus those of watches that left
 * (so that a topic's counters never go back when its watch is closed and registered again), and the gauges of the
 * watches read now. Several watches of one topic (managers sharing a backend, replicas in one process) add up;
 * their lag and position are the furthest behind and the furthest ahead.
 */
import type { WatchMetrics } from '../core/types';
import { addCounts, zeroCounts, type WatchCounts } from '../core/watch-counters';

/** What a collection reports of one topic. */
export interface TopicFigures extends WatchCounts {
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

/** Per-topic totals over the watches read and the watches retired. */
export class TopicTotals {
  private readonly retired = new Map<string, WatchCounts & { position: number }>();

  /** A watch left: its last counters (and its position) stay in its topic's totals. */
  retire(last: WatchMetrics): void {
    let kept = this.retired.get(last.topic);
    if (kept === undefined) this.retired.set(last.topic, (kept = { ...zeroCounts(), position: 0 }));
    addCounts(kept, last);
    kept.position = Math.max(kept.position, last.acknowledgedSequenceId);
  }

  /** The figures of every topic, from the metrics read now. */
  figures(current: Iterable<WatchMetrics>): Map<string, TopicFigures> {
    const out = new Map<string, TopicFigures>();
    const of = (topic: string): TopicFigures => {
      let f = out.get(topic);
      if (f === undefined) {
        f = { topic, watched: false, inFlight: 0, buffered: 0, lagMs: undefined, position: 0, ...zeroCounts() };
        out.set(topic, f);
      }
      return f;
    };
    for (const [topic, kept] of this.retired) {
      const f = of(topic);
      f.position = kept.position;
      addCounts(f, kept);
    }
    for (const m of current) {
      const f = of(m.topic);
      addCounts(f, m);
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
