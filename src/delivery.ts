import { WatchError } from './errors';
import type { PositionKeeper } from './position-keeper';
import type { WatchEvent } from './types';

/** Told when a topic's saved position cannot be resumed: the events up to `newestSequenceId` were skipped. */
export interface ResyncNotice {
  topic: string;
  /** Why, for logs. */
  reason: string;
  /** The position delivery continues after. */
  newestSequenceId: number;
  /** With a `resync.list` option: what `list()` returned, taken after `newestSequenceId` was captured. */
  snapshot?: unknown[];
}

/** What the application gives {@link WatchManager.registerWatch}. */
export interface WatchHandlers {
  /**
   * Called once per resource event, in sequence order, one at a time: the next call waits until the promise this
   * one returns settles, and only then is the event acknowledged (its sequence id becomes the stored position). A
   * throw or rejection stops the watch with `HANDLER_FAILED` before that event.
   */
  onEvent(event: WatchEvent): void | Promise<void>;
  /**
   * The saved position was purged from history: events were skipped and the application must re-list (with a
   * `resync.list` option, the list is in `notice.snapshot`). The position moves to `notice.newestSequenceId` once
   * this resolves. Without this handler such a watch stops with `HISTORY_GONE` rather than skip silently.
   */
  onResync?(notice: ResyncNotice): void | Promise<void>;
  /** The missed events were all delivered; live events follow. Called after every (re)connect's catch-up. */
  onLive?(topic: string): void | Promise<void>;
  /**
   * Told about every error of the watch after it started: retryable ones (`error.retryable`, the SDK reconnects by
   * itself) and the final one that stopped it.
   */
  onError?(error: WatchError): void;
}

/** One thing to hand to the application, in order. */
export type DeliveryItem =
  | { kind: 'event'; event: WatchEvent }
  | { kind: 'resync'; notice: ResyncNotice }
  | { kind: 'live' };

/** Options of {@link Delivery}. */
export interface DeliveryOptions {
  topic: string;
  handlers: WatchHandlers;
  keeper: PositionKeeper;
  /** A handler failed: the watch must stop. */
  onFailure: (error: WatchError) => void;
  /** Called when the queue fell to `lowWater` after having reached `highWater` (resume reading). */
  onLow: () => void;
  highWater: number;
  /** Events it refuses are not handed to the application, but acknowledged (their position is never fetched again). */
  accept?: (event: WatchEvent) => boolean;
}

/**
 * The ordered hand-off to the application: a queue drained one item at a time, repeats dropped by sequence id
 * (anything not above the acknowledged position was delivered already — ids only grow per topic, but need not be
 * consecutive), positions acknowledged when a handler's promise resolves.
 */
export class Delivery {
  /** The acknowledged position: the sequence id of the last event whose handler finished (or a resync target). */
  acked = 0;
  /** Events dropped as repeats. */
  duplicates = 0;
  /** Events the filter kept from the application (acknowledged all the same). */
  filtered = 0;
  private queue: DeliveryItem[] = [];
  private head = 0;
  private pumping = false;
  private stopped = false;
  private inflight: Promise<unknown> | undefined;
  private waiters: Array<{ below: number; resolve: () => void }> = [];

  constructor(private readonly options: DeliveryOptions) {}

  /** Items waiting (not counting the one being handled). */
  get size(): number {
    return this.queue.length - this.head;
  }

  /** Sets the position without delivering anything (a stored position, or `from`); written when `persist`. */
  startAt(position: number, persist: boolean): void {
    this.acked = position;
    if (persist) this.options.keeper.record(position);
  }

  push(item: DeliveryItem): void {
    if (this.stopped) return;
    this.queue.push(item);
    if (!this.pumping) void this.pump(); // an async call costs a promise: only when it will do something
  }

  /** Drops every item not yet started (a connection ended: the next catch-up fetches them again). */
  clear(): void {
    this.queue = [];
    this.head = 0;
    this.release();
  }

  /** Resolves once fewer than `below` items wait, or delivery stopped. */
  whenBelow(below: number): Promise<void> {
    if (this.size < below || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ below, resolve }));
  }

  /** Stops intake and delivery; resolves when the running handler (if any) settled or after `graceMs`. */
  async stop(grace: Promise<unknown>): Promise<void> {
    this.stopped = true;
    this.clear();
    const running = this.inflight;
    if (running !== undefined) await Promise.race([running.catch(() => undefined), grace]);
  }

  private release(): void {
    if (this.waiters.length === 0) return;
    const size = this.size;
    const ready = this.waiters.filter((w) => size < w.below || this.stopped);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }

  private next(): DeliveryItem | undefined {
    if (this.head >= this.queue.length) return undefined;
    const item = this.queue[this.head] as DeliveryItem;
    this.head += 1;
    // Compact now and then instead of shift(), which is O(n) per call.
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (this.size === Math.floor(this.options.highWater / 2)) this.options.onLow();
    this.release();
    return item;
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let item = this.next(); item !== undefined && !this.stopped; item = this.next()) {
        if (item.kind === 'event' && item.event.sequenceId <= this.acked) {
          this.duplicates += 1;
          continue;
        }
        if (item.kind === 'event' && this.options.accept !== undefined && !this.options.accept(item.event)) {
          this.filtered += 1;
          const skipped = this.acknowledge(item);
          if (skipped !== true && !(await skipped)) return;
          continue;
        }
        const handled = this.handle(item);
        // Only a handler that returned a promise costs an await: a synchronous consumer runs without a microtask
        // per event.
        if (handled === false || (handled !== true && !(await handled))) return;
      }
    } finally {
      this.pumping = false;
    }
  }

  /**
   * Runs the handler of one item and acknowledges it; false when it failed and the watch stops. A handler that
   * returns no promise is acknowledged without one, so a synchronous consumer costs no microtask per event.
   */
  private handle(item: DeliveryItem): Promise<boolean> | boolean {
    let result: unknown;
    try {
      result = this.invoke(item);
    } catch (err) {
      return this.failed(item, err);
    }
    if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
      const running = Promise.resolve(result as Promise<unknown>);
      this.inflight = running;
      return running.then(
        () => {
          this.inflight = undefined;
          return this.acknowledge(item);
        },
        (err: unknown) => {
          this.inflight = undefined;
          return this.failed(item, err);
        },
      );
    }
    return this.acknowledge(item);
  }

  private invoke(item: DeliveryItem): unknown {
    const { handlers, topic } = this.options;
    switch (item.kind) {
      case 'event':
        return handlers.onEvent(item.event);
      case 'resync':
        return handlers.onResync?.(item.notice);
      case 'live':
        return handlers.onLive?.(topic);
    }
  }

  private failed(item: DeliveryItem, err: unknown): false {
    const what = item.kind === 'event' ? `onEvent threw for sequence id ${item.event.sequenceId}` : `on${item.kind === 'resync' ? 'Resync' : 'Live'} threw`;
    this.stopped = true;
    this.options.onFailure(new WatchError('HANDLER_FAILED', `watch ${this.options.topic}: ${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
    return false;
  }

  private acknowledge(item: DeliveryItem): Promise<boolean> | boolean {
    const position = item.kind === 'event' ? item.event.sequenceId : item.kind === 'resync' ? item.notice.newestSequenceId : undefined;
    if (position === undefined || position <= this.acked) return true;
    this.acked = position;
    this.options.keeper.record(position);
    // A store that falls too far behind holds delivery back (bounding what a crash can repeat).
    const bound = this.options.keeper.withinBound();
    return bound === undefined ? true : bound.then(() => true);
  }
}
