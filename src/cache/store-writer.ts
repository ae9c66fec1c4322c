import { WatchError, toWatchError } from '../core/errors';
import type { Resource } from '../core/resource';
import { Waiters } from '../core/waiters';
import type { ResourceStore, StoredChange } from '../state/resource-store';

/**
 * Writes one topic's changes to its store behind the cache: at most one `apply` in flight; what arrives meanwhile is
 * coalesced into the next one (a group commit, at the highest position), so a slow store costs round trips, never
 * order. What waits is bounded: {@link add} resolves only once fewer than `maxWaiting` changes wait. A failed write
 * is final ({@link failed}): the store may hold the state before it, never a later one the memory has not, and every
 * later call throws the error.
 */
export class StoreWriter {
  private pending: StoredChange[] = [];
  private pendingPosition: number | undefined;
  private writing: Promise<void> | undefined;
  private error: WatchError | undefined;
  private readonly moved = new Waiters();

  constructor(
    private readonly store: ResourceStore,
    private readonly topic: string,
    private readonly maxWaiting: number,
    /** Told once, when a write failed. */
    private readonly failed: (error: WatchError) => void,
  ) {}

  /** The error of the write that failed, if one did. */
  get failure(): WatchError | undefined {
    return this.error;
  }

  /** Queues `changes` at `position` (above every earlier one); resolves once there is room for more. */
  async add(changes: readonly StoredChange[], position: number): Promise<void> {
    this.check();
    for (const change of changes) this.pending.push(change);
    this.pendingPosition = position;
    this.kick();
    while (this.pending.length >= this.maxWaiting && this.error === undefined) await this.moved.wait();
    this.check();
  }

  /** Resolves once everything queued is written; throws the error of a failed write. */
  async drain(): Promise<void> {
    while (this.writing !== undefined) await this.writing;
    this.check();
  }

  /** After everything queued is written: every resource of the topic replaced by `resources`, at `position`. */
  async replace(resources: readonly Resource[], position: number): Promise<void> {
    await this.drain();
    try {
      await this.store.replace(this.topic, resources, position);
    } catch (err) {
      throw this.fail(err);
    }
  }

  private check(): void {
    if (this.error !== undefined) throw this.error;
  }

  private kick(): void {
    if (this.writing !== undefined || this.pendingPosition === undefined) return;
    this.writing = this.run().finally(() => {
      this.writing = undefined;
      this.moved.releaseAll();
    });
  }

  private async run(): Promise<void> {
    while (this.pendingPosition !== undefined && this.error === undefined) {
      const changes = this.pending;
      const position = this.pendingPosition;
      this.pending = [];
      this.pendingPosition = undefined;
      this.moved.releaseAll();
      try {
        await this.store.apply(this.topic, changes, position);
      } catch (err) {
        this.fail(err);
      }
    }
  }

  private fail(err: unknown): WatchError {
    if (this.error !== undefined) return this.error;
    const cause = toWatchError(err, 'STATE_IO', `the resource store of ${this.topic}`);
    this.error = new WatchError(
      cause.code === 'CLOSED' ? 'STATE_IO' : cause.code,
      `cache of ${this.topic}: a store write failed, the cache stops (its memory and its store must not disagree): ${cause.message}`,
      { cause },
    );
    this.moved.releaseAll();
    this.failed(this.error);
    return this.error;
  }
}
