import type { ResyncNotice, WatchHandlers } from './watch-handlers';
import type { Acknowledger, EventSink } from './delivery';
import { WatchError } from '../core/errors';
import type { WatchOptions } from '../config/watch-options';
import type { WatchEvent } from '../core/types';
import { Fifo } from './fifo';

/** One record of a `for await` watch. */
export type WatchRecord =
  | {
      /** An event to handle. */
      kind: 'event';
      /** The event. */
      event: WatchEvent;
      /**
       * Acknowledges the event (with `autoAck: false`; with autoAck asking for the next record does it). Idempotent.
       */
      ack(): void;
    }
  | {
      /** The position could not be resumed: re-list (see {@link ResyncNotice}). */
      kind: 'resync';
      /** What was skipped and where delivery goes on. */
      notice: ResyncNotice;
    }
  | {
      /** The missed events were all delivered; live events follow. */
      kind: 'live';
      /** The topic now live. */
      topic: string;
    };

/** Options of {@link WatchManager.watch}. */
export interface IterateOptions extends Pick<WatchOptions, 'from' | 'resync' | 'filter'> {
  /** Aborting ends the iteration and closes the watch. */
  signal?: AbortSignal;
  /**
   * Records handed over but not acknowledged, at most (1 to 1000). Past it the SDK stops reading the stream, so HTTP/2
   * flow control pushes back on the service: memory does not grow with the backlog.
   * @default 100
   */
  highWaterMark?: number;
  /**
   * Acknowledge a record when the consumer asks for the next one. With false, each event must be `ack()`ed; the
   * stored position is the highest sequence id below which every event was acknowledged.
   * @default true
   */
  autoAck?: boolean;
}

// Given to a barrier handler still waiting for the loop when it ends: not an acknowledgement, so the position stays
// before it. Delivery is stopping by then and ignores it.
const NOT_ACKNOWLEDGED = new WatchError('CLOSED', 'the iteration ended before this record was acknowledged');

const DONE: IteratorResult<WatchRecord> = { done: true, value: undefined };

/** An event record: one object per event, whose `ack` reaches delivery through the iterator (no closure). */
class EventRecord {
  readonly kind = 'event' as const;
  #acked = false;
  readonly #iterator: WatchIterator;

  constructor(
    readonly event: WatchEvent,
    iterator: WatchIterator,
  ) {
    this.#iterator = iterator;
  }

  ack(): void {
    if (this.#acked) return;
    this.#acked = true;
    this.#iterator.acknowledge(this.event);
  }
}

/**
 * The `for await` form of a watch. Events come from delivery as a sink (each offered once, in order, and
 * acknowledged later: no promise or closure per event); `resync` and `live` come through handlers that resolve when
 * the loop is done with them, since delivery runs those alone. `break`, `return` or an aborted signal close the
 * watch, which writes the acknowledged position (the record the loop broke out of is not acknowledged: a restart
 * delivers it again). A watch that stops for good makes the loop throw its `WatchError`.
 */
export class WatchIterator implements AsyncIterableIterator<WatchRecord>, EventSink {
  /** Records ready for the loop; bounded by delivery (events taken and not acknowledged, at most its concurrency). */
  private readonly buffer = new Fifo<WatchRecord>();
  private acker: Acknowledger | undefined;
  /** The `resync` or `live` record whose handler waits for the loop (delivery runs one at a time). */
  private barrier: { record: WatchRecord; done: () => void; reject: (err: WatchError) => void } | undefined;
  /** The record the loop holds: asking for the next one acknowledges it. */
  private handed: WatchRecord | undefined;
  /** Set while the loop waits for a record, until it resumes: {@link hungry} holds until then. */
  private wakeUp: (() => void) | undefined;
  private failure: WatchError | undefined;
  private ended = false;
  /** The watch's close, once started (return() may be called more than once). */
  private closed: Promise<void> | undefined;

  constructor(
    private readonly autoAck: boolean,
    private readonly close: () => Promise<void>,
    signal: AbortSignal | undefined,
  ) {
    if (signal !== undefined) {
      const onAbort = (): void => void this.return();
      signal.addEventListener('abort', onAbort, { once: true });
      // A long-lived signal shared by many loops must not keep finished iterators alive.
      this.detach = () => signal.removeEventListener('abort', onAbort);
      if (signal.aborted) void this.return();
    }
  }

  private detach: () => void = () => undefined;

  /** The handlers that feed this iterator its `resync` and `live` records, and its failure. */
  handlers(): WatchHandlers {
    // A barrier's handler resolves when the loop is done with its record.
    const hand = (record: WatchRecord): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        if (this.ended) return reject(NOT_ACKNOWLEDGED);
        this.barrier = {
          record,
          reject,
          done: () => {
            this.barrier = undefined;
            resolve();
          },
        };
        this.add(record);
      });
    return {
      onEvent: () => {
        throw new WatchError('INTERNAL', 'a for await watch takes its events as a sink');
      },
      onResync: (notice) => hand({ kind: 'resync', notice }),
      onLive: (topic) => hand({ kind: 'live', topic }),
      onError: (error) => {
        if (error.retryable) return;
        this.failure = error;
        this.wakeUp?.();
      },
    };
  }

  /** Delivery hands over an event (see {@link EventSink}). */
  offer(event: WatchEvent, from: Acknowledger): void {
    if (this.ended) return;
    this.acker = from;
    this.add(new EventRecord(event, this));
  }

  get hungry(): boolean {
    return this.wakeUp !== undefined;
  }

  /** An event record was acknowledged (by the loop moving on, or `record.ack()`); void once the loop ended. */
  acknowledge(event: WatchEvent): void {
    if (!this.ended) this.acker?.ack(event);
  }

  /** A start failure (registerWatch rejected): the loop throws it. */
  failed(error: WatchError): void {
    this.failure = error;
    this.wakeUp?.();
  }

  next(): Promise<IteratorResult<WatchRecord>> {
    const previous = this.handed;
    this.handed = undefined;
    // Asking for the next record acknowledges the previous one (always for resync and live: they need no ack).
    if (previous !== undefined) {
      if (previous.kind === 'event') {
        if (this.autoAck) previous.ack();
      } else if (this.barrier?.record === previous) this.barrier.done();
    }
    if (this.ended) return Promise.resolve(DONE);
    const record = this.take();
    // The common case under load answers at once: no async function, no waiting promise.
    if (record !== undefined) return Promise.resolve({ done: false, value: record });
    return this.wait();
  }

  /** Ends the iteration and closes the watch (writing the acknowledged position). Idempotent. */
  async return(): Promise<IteratorResult<WatchRecord>> {
    this.ended = true;
    this.detach();
    this.buffer.clear();
    this.barrier?.reject(NOT_ACKNOWLEDGED);
    this.barrier = undefined;
    this.wakeUp?.();
    this.closed ??= this.close();
    await this.closed;
    return DONE;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<WatchRecord> {
    return this;
  }

  private add(record: WatchRecord): void {
    this.buffer.push(record);
    this.wakeUp?.();
  }

  private take(): WatchRecord | undefined {
    const record = this.buffer.shift();
    if (record === undefined) return undefined;
    this.handed = record;
    return record;
  }

  /** Nothing ready: waits for a record, the end, or a failure. */
  private async wait(): Promise<IteratorResult<WatchRecord>> {
    for (;;) {
      if (this.ended) return DONE;
      const record = this.take();
      if (record !== undefined) return { done: false, value: record };
      if (this.failure !== undefined) {
        const error = this.failure;
        await this.return();
        throw error;
      }
      this.acker?.refill();
      if (this.buffer.size > 0) continue;
      await new Promise<void>((resolve) => (this.wakeUp = resolve));
      this.wakeUp = undefined;
    }
  }
}
