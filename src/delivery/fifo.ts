/**
 * A first-in, first-out queue for delivery's event path: an array read from a head index, so taking from the front
 * costs no `shift()` (O(n) per call) and no allocation. The taken entries are dropped in place once they are at
 * least as many as those left (amortized O(1) per entry), so the array stays within twice what is queued even when
 * the queue never runs empty (a consumer refilled before it runs dry).
 */
export class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  /** Entries queued. */
  get size(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** The entry at the front, left in place. */
  peek(): T | undefined {
    return this.items[this.head];
  }

  /** The entry `index` places behind the front (0: the front). */
  at(index: number): T | undefined {
    return index < 0 ? undefined : this.items[this.head + index];
  }

  /** Removes the entry at the front and returns it. */
  shift(): T | undefined {
    if (this.head === this.items.length) return undefined;
    const item = this.items[this.head] as T;
    this.head += 1;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head >= COMPACT_FROM && this.head >= this.items.length - this.head) {
      this.items.copyWithin(0, this.head);
      this.items.length -= this.head;
      this.head = 0;
    }
    return item;
  }

  /** Drops every entry (and the memory they took). */
  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

/** Below this many taken entries a queue is not compacted: moving a few entries often costs more than it frees. */
const COMPACT_FROM = 32;
