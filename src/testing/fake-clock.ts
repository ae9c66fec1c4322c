import type { Clock, Timer, TimerOptions } from '../core/clock';

/**
 * A seeded pseudo-random generator (mulberry32): the same seed gives the same sequence, so a chaos test that draws
 * its faults from it replays exactly.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Scheduled {
  at: number;
  seq: number;
  fn: () => void;
}

/**
 * A {@link Clock} whose time moves only when a test says so. Timers fire in due order during {@link advance};
 * between two timers the event loop gets a turn, so promise chains and I/O callbacks started by one timer settle
 * before the next fires. `random()` is seeded.
 */
export class FakeClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: Scheduled[] = [];
  readonly random: () => number;

  /** @param start epoch ms to start at. @default 1_767_225_600_000 (2026-01-01T00:00:00Z, a whole second) */
  constructor(start = 1_767_225_600_000, seed = 1) {
    this.current = start;
    this.random = seededRandom(seed);
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number, _options?: TimerOptions): Timer {
    const entry: Scheduled = { at: this.current + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.push(entry);
    this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
    return {
      cancel: () => {
        this.timers = this.timers.filter((t) => t !== entry);
      },
    };
  }

  /** Timers not yet fired. */
  get pending(): number {
    return this.timers.length;
  }

  /** When the next timer is due, if any. */
  nextDueAt(): number | undefined {
    return this.timers[0]?.at;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way (also those scheduled by the timers
   * themselves), each at its own due time, with an event-loop turn after each.
   */
  async advance(ms: number): Promise<void> {
    const until = this.current + ms;
    for (;;) {
      const next = this.timers[0];
      if (next === undefined || next.at > until) break;
      this.timers.shift();
      this.current = Math.max(this.current, next.at);
      next.fn();
      await settle();
    }
    this.current = until;
    await settle();
  }
}

/** Lets pending promise callbacks and already-queued I/O callbacks run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
