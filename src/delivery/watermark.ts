/**
 * The acknowledged position when handlers finish out of order: the highest sequence id below which every dispatched
 * event is done (a contiguous watermark, as the reference SDK's newer versions keep). A restart resumes after it, so
 * an event that is not done yet is delivered again rather than skipped.
 */
export class Watermark {
  private readonly slots: Array<{ seq: number; done: boolean }> = [];
  private head = 0;

  constructor(private current = 0) {}

  /** The position: every dispatched event up to it is done. */
  get position(): number {
    return this.current;
  }

  /** Events dispatched and not yet below the watermark (done or not). */
  get outstanding(): number {
    return this.slots.length - this.head;
  }

  /** Starts over at `position` with nothing outstanding (a resync target, or a start position). */
  reset(position: number): void {
    this.current = position;
    this.slots.length = 0;
    this.head = 0;
  }

  /** Records a dispatched event; sequence ids must be added in increasing order. */
  add(seq: number): void {
    this.slots.push({ seq, done: false });
  }

  /** Marks `seq` done; returns true when the position moved. */
  complete(seq: number): boolean {
    // In-order completion (always so with concurrency 1) needs no lookup.
    const head = this.slots[this.head];
    const slot = head !== undefined && head.seq === seq ? head : this.find(seq);
    if (slot === undefined || slot.done) return false;
    slot.done = true;
    let moved = false;
    while (this.head < this.slots.length && (this.slots[this.head] as { done: boolean }).done) {
      this.current = (this.slots[this.head] as { seq: number }).seq;
      this.head += 1;
      moved = true;
    }
    if (this.head > 1024 && this.head * 2 > this.slots.length) {
      this.slots.splice(0, this.head);
      this.head = 0;
    }
    return moved;
  }

  /** Slots are in increasing sequence order: a binary search. */
  private find(seq: number): { seq: number; done: boolean } | undefined {
    let lo = this.head;
    let hi = this.slots.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const slot = this.slots[mid] as { seq: number; done: boolean };
      if (slot.seq === seq) return slot;
      if (slot.seq < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }
}
