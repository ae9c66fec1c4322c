/**
 * Which sequence ids below the highest one handed over were never handed over. Sequence ids of a topic grow but need
 * not be consecutive, so a repeat (an id handed over before: drop it) and an id that arrives out of order (never
 * handed over: it must not be dropped) look alike to a "not above the last one" test. The gaps between consecutive
 * ids handed over are kept as ranges, the most recent {@link MAX_HOLES} of them; below the oldest one kept (the
 * horizon) an id counts as handed over (a stored position, a resync target, or too old to tell).
 */
export class SequenceHoles {
  /** Ascending, disjoint, inclusive ranges of ids never handed over. */
  private holes: Array<[number, number]> = [];
  private horizon = 0;
  private top = 0;

  /** The highest id handed over (or the start position). */
  get highest(): number {
    return this.top;
  }

  /** Starts over at `position`: nothing at or below it is known to be missing. */
  reset(position: number): void {
    this.holes = [];
    this.horizon = position;
    this.top = position;
  }

  /** Records that `seq`, above {@link highest}, was handed over; the ids skipped between become a hole. */
  advance(seq: number): void {
    if (seq > this.top + 1) this.holes.push([this.top + 1, seq - 1]);
    this.top = seq;
    if (this.holes.length > MAX_HOLES * 2) {
      // Forget the oldest half at once (amortised O(1) per id); ids below them now count as handed over.
      this.horizon = (this.holes[MAX_HOLES - 1] as [number, number])[1];
      this.holes = this.holes.slice(MAX_HOLES);
    }
  }

  /** Whether `seq`, at or below {@link highest}, was never handed over (false below the horizon: unknown). */
  missing(seq: number): boolean {
    return this.find(seq) >= 0;
  }

  /** Records that `seq`, a {@link missing} id, was handed over now: a second copy of it is then a repeat. */
  fill(seq: number): void {
    const at = this.find(seq);
    if (at < 0) return;
    const [from, to] = this.holes[at] as [number, number];
    const parts: Array<[number, number]> = [];
    if (from < seq) parts.push([from, seq - 1]);
    if (seq < to) parts.push([seq + 1, to]);
    this.holes.splice(at, 1, ...parts);
  }

  /** The index of the hole holding `seq`, or -1. Holes are ascending: a binary search. */
  private find(seq: number): number {
    if (seq <= this.horizon || seq > this.top) return -1;
    let lo = 0;
    let hi = this.holes.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const [from, to] = this.holes[mid] as [number, number];
      if (seq < from) hi = mid - 1;
      else if (seq > to) lo = mid + 1;
      else return mid;
    }
    return -1;
  }
}

/** Holes remembered: enough for ids that arrive a few thousand events late, bounded whatever the gaps. */
const MAX_HOLES = 4096;
