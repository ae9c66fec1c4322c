import { Fifo } from './fifo';

/** One event handed over: its id, and whether it was acknowledged. */
interface Slot {
  seq: number;
  acked: boolean;
}

/**
 * The acknowledged position when events are acknowledged out of order: the highest sequence id below which every
 * event handed over is acknowledged (a contiguous watermark, as the reference SDK's newer versions keep). A restart
 * resumes after it, so an event not acknowledged yet is delivered again rather than skipped.
 */
export class Watermark {
  /** The events handed over and not yet below the position, in increasing sequence order. */
  private readonly slots = new Fifo<Slot>();

  constructor(private current = 0) {}

  /** The position: every event handed over up to it is acknowledged. */
  get position(): number {
    return this.current;
  }

  /** Events handed over and not yet below the position (acknowledged or not). */
  get outstanding(): number {
    return this.slots.size;
  }

  /** Starts over at `position` with nothing outstanding (a resync target, or a start position). */
  reset(position: number): void {
    this.current = position;
    this.slots.clear();
  }

  /** Records an event handed over; sequence ids must be added in increasing order. */
  add(seq: number): void {
    this.slots.push({ seq, acked: false });
  }

  /** Marks `seq` acknowledged; returns true when the position moved. */
  ack(seq: number): boolean {
    // In-order acknowledgement (always so with concurrency 1) needs no lookup.
    const head = this.slots.peek();
    const slot = head !== undefined && head.seq === seq ? head : this.find(seq);
    if (slot === undefined || slot.acked) return false;
    slot.acked = true;
    let moved = false;
    for (let front = this.slots.peek(); front?.acked === true; front = this.slots.peek()) {
      this.current = front.seq;
      this.slots.shift();
      moved = true;
    }
    return moved;
  }

  /** Slots are in increasing sequence order: a binary search. */
  private find(seq: number): Slot | undefined {
    let lo = 0;
    let hi = this.slots.size - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const slot = this.slots.at(mid) as Slot;
      if (slot.seq === seq) return slot;
      if (slot.seq < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }
}
