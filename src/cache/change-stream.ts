import type { WatchError } from '../core/errors';
import { Waiters } from '../core/waiters';
import type { ResourceChange } from './resource-cache';

/**
 * One `cache.changes()` iterator: the changes told since it was made, buffered until read. Ends at `return()`
 * (`break`), at its signal, or when the cache closes (then its buffer is read out first); a cache that stopped for an
 * error throws that error once the buffer is read out.
 */
class ChangeIterator implements AsyncIterableIterator<ResourceChange> {
  private buffer: ResourceChange[] = [];
  private head = 0;
  private ended = false;
  private error: WatchError | undefined;
  private readonly arrived = new Waiters();
  private readonly onAbort = (): void => void this.return();

  constructor(
    private readonly owner: ChangeStreams,
    private readonly signal: AbortSignal | undefined,
  ) {
    signal?.addEventListener('abort', this.onAbort, { once: true });
    if (signal?.aborted === true) this.finish(undefined);
  }

  /** Whether it ended (nothing more comes; the buffer may still be read out). */
  get done(): boolean {
    return this.ended;
  }

  /** Changes buffered and not read. */
  get pending(): number {
    return this.buffer.length - this.head;
  }

  push(change: ResourceChange): void {
    if (this.ended) return;
    this.buffer.push(change);
    this.arrived.releaseAll();
  }

  /** No more changes will come (`error`: the cache stopped for it). */
  finish(error: WatchError | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    this.signal?.removeEventListener('abort', this.onAbort);
    this.owner.forget(this);
    this.arrived.releaseAll();
  }

  async next(): Promise<IteratorResult<ResourceChange>> {
    for (;;) {
      if (this.head < this.buffer.length) {
        const change = this.buffer[this.head] as ResourceChange;
        this.head += 1;
        // Compacted once half read: the array does not grow with everything ever told.
        if (this.head > 1024 && this.head * 2 > this.buffer.length) {
          this.buffer = this.buffer.slice(this.head);
          this.head = 0;
        }
        this.owner.read();
        return { value: change, done: false };
      }
      if (this.ended) {
        const error = this.error;
        this.error = undefined;
        if (error !== undefined) throw error;
        return { value: undefined, done: true };
      }
      await this.arrived.wait();
    }
  }

  return(): Promise<IteratorResult<ResourceChange>> {
    this.buffer = [];
    this.head = 0;
    this.finish(undefined);
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/**
 * The `changes()` iterators of one cache and their backpressure: {@link whenRoom} waits while one of them holds
 * `bound` changes or more, and the cache awaits it before it applies the next event, so the events (and the stream
 * behind them) wait for the slowest reader. The changes of a sync or re-list are told whole (they name resources the
 * cache holds anyway): a reader that waits for `ready()` before it reads cannot block the sync it waits for.
 */
export class ChangeStreams {
  private readonly open = new Set<ChangeIterator>();
  private readonly room = new Waiters();
  private closed: { error: WatchError | undefined } | undefined;

  constructor(private readonly bound: number) {}

  /** A new iterator, from now on. */
  iterator(signal: AbortSignal | undefined): AsyncIterableIterator<ResourceChange> {
    const it = new ChangeIterator(this, signal);
    if (this.closed !== undefined) it.finish(this.closed.error);
    // One that ended already (its signal was aborted when it was made) forgot itself before it was added: kept, it
    // would stay a listener for good (every change frozen and offered to it, the set growing with each such call).
    else if (!it.done) this.open.add(it);
    return it;
  }

  /** Whether an iterator is open (a change told now is handed out). */
  get listening(): boolean {
    return this.open.size > 0;
  }

  tell(change: ResourceChange): void {
    for (const it of this.open) it.push(change);
  }

  /** Resolves once no iterator holds `bound` changes or more. */
  async whenRoom(): Promise<void> {
    while (this.full()) await this.room.wait();
  }

  /** Ends every iterator (after their buffers are read); `error`: thrown by them then. */
  close(error: WatchError | undefined): void {
    this.closed ??= { error };
    for (const it of [...this.open]) it.finish(error);
    this.room.releaseAll();
  }

  /** @internal An iterator read a change. */
  read(): void {
    if (this.room.waiting && !this.full()) this.room.releaseAll();
  }

  /** @internal An iterator ended. */
  forget(it: ChangeIterator): void {
    this.open.delete(it);
    this.read();
  }

  private full(): boolean {
    for (const it of this.open) if (it.pending >= this.bound) return true;
    return false;
  }
}
