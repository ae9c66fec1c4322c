/**
 * A first-in, first-out queue for delivery's event path: a ring over an array whose size is a power of two, so that
 * taking from the front costs no `shift()` (O(n) per call) and a steady flow allocates nothing. Shrinking an array's
 * `length` is no cheaper: V8 then reallocates its storage on the next push. An entry taken is let go at once (the
 * queue keeps no event alive), and the array is dropped when a queue that grew past a burst runs empty.
 */
export class Fifo<T> {
  private items: Array<T | undefined> = [];
  private head = 0;
  private count = 0;

  /** Entries queued. */
  get size(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) & (this.items.length - 1)] = item;
    this.count += 1;
  }

  /** The entry at the front, left in place. */
  peek(): T | undefined {
    return this.items[this.head]; // undefined when empty: a slot not queued is always let go
  }

  /** The entry `index` places behind the front (0: the front). */
  at(index: number): T | undefined {
    if (index < 0 || index >= this.count) return undefined;
    return this.items[(this.head + index) & (this.items.length - 1)];
  }

  /** Removes the entry at the front and returns it. */
  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & (this.items.length - 1);
    this.count -= 1;
    if (this.count === 0 && this.items.length > KEEP_UP_TO) this.clear();
    return item;
  }

  /** Drops every entry, and the array. */
  clear(): void {
    this.items = [];
    this.head = 0;
    this.count = 0;
  }

  private grow(): void {
    const old = this.items;
    const items = new Array<T | undefined>(Math.max(FIRST_SIZE, old.length * 2));
    for (let i = 0; i < this.count; i++) items[i] = old[(this.head + i) & (old.length - 1)];
    this.items = items;
    this.head = 0;
  }
}

/** The array's first size; it doubles when full. A power of two, like every size after it. */
const FIRST_SIZE = 16;

/** An empty queue keeps an array this large for the next events; a larger one (a burst's) is dropped. */
const KEEP_UP_TO = 1024;
