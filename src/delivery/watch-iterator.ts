import type { WatchHandlers } from './watch-handlers';
import type { Acknowledger, EventSink } from './delivery';
import { WatchError } from '../core/errors';
import type { WatchEvent } from '../core/types';
import type { WatchLoop, WatchRecord } from './watch-loop';
import { Fifo } from './fifo';

// Given to a barrier handler still waiting for the loop when it ends: not an acknowledgement, so the position stays
// before it. Delivery is stopping by then and ignores it.
const NOT_ACKNOWLEDGED = new WatchError('CLOSED', 'the iteration ended before this record was acknowledged');

const DONE: IteratorResult<never, undefined> = { done: true, value: undefined };

/** Where an event record's `ack` and `fail` go. */
type RecordSettler = Pick<WatchIterator, 'acknowledge' | 'reject'>;

/**
 * An event record: one object per attempt at an event, whose `ack` and `fail` reach delivery through the iterator (no
 * closure). The first of them settles it; later calls do nothing (see {@link WatchRecord}).
 */
class EventRecord {
  readonly kind = 'event' as const;
  #settled = false;
  readonly #iterator: RecordSettler;

  constructor(
    readonly event: WatchEvent,
    iterator: RecordSettler,
  ) {
    this.#iterator = iterator;
  }

  ack(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#iterator.acknowledge(this.event);
  }

  fail(reason?: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#iterator.reject(this.event, reason === undefined ? new Error('record.fail() without a reason') : reason);
  }
}

/**
 * The `for await` form of a watch. Events come from delivery as a sink (each offered once, in order, and
 * acknowledged later: no promise or closure per event); `resync` and `live` come through handlers that resolve when
 * the loop is done with them, since delivery runs those alone. `break`, `return` or an aborted signal close the
 * watch, which writes the acknowledged position (the record the loop broke out of is not acknowledged: a restart
 * delivers it again). A failed record goes back to delivery, which retries it as it retries handlers (a retry is a new
 * record). A watch that stops for good makes the loop throw its `WatchError`.
 */
export class WatchIterator<T = unknown> implements WatchLoop<T>, EventSink {
  /** Records ready for the loop; bounded by delivery (events taken and not acknowledged, at most its concurrency). */
  private readonly buffer = new Fifo<WatchRecord<T>>();
  private acker: Acknowledger | undefined;
  /** The `resync` or `live` record whose handler waits for the loop (delivery runs one at a time). */
  private barrier: { record: WatchRecord<T>; done: () => void; reject: (err: WatchError) => void } | undefined;
  /** The record the loop holds: asking for the next one acknowledges it. */
  private handed: WatchRecord<T> | undefined;
  /** Set while the loop waits for a record, until it resumes: {@link hungry} holds until then. */
  private wakeUp: (() => void) | undefined;
  private failure: WatchError | undefined;
  private ended = false;
  /** The watch's close, once started (return() may be called more than once). */
  private closed: Promise<void> | undefined;

  /**
   * @param position the watch's acknowledged position (see {@link WatchLoop.acknowledgedSequenceId}), read when asked
   */
  constructor(
    private readonly autoAck: boolean,
    private readonly close: () => Promise<void>,
    signal: AbortSignal | undefined,
    private readonly position: () => number | undefined = () => undefined,
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
  handlers(): WatchHandlers<T> {
    // A barrier's handler resolves when the loop is done with its record.
    const hand = (record: WatchRecord<T>): Promise<void> =>
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

  get acknowledgedSequenceId(): number | undefined {
    return this.position();
  }

  /** An event record was acknowledged (by the loop moving on, or `record.ack()`); void once the loop ended. */
  acknowledge(event: WatchEvent): void {
    if (!this.ended) this.acker?.ack(event);
  }

  /** An event record was failed (`record.fail()`): delivery retries it, sets it aside or stops; void once ended. */
  reject(event: WatchEvent, reason: unknown): void {
    if (!this.ended) this.acker?.reject(event, reason);
  }

  /**
   * The watch closed without the loop ending it (`manager.close()`, `closeWatch()`): a close ends the loop (done), a
   * stop for good makes it throw its error. Never a loop left waiting for a record that cannot come.
   */
  watchClosed(error: WatchError | undefined): void {
    if (error !== undefined && error.code !== 'CLOSED') this.failed(this.failure ?? error);
    else if (this.failure === undefined) void this.return();
  }

  /** A start failure (registerWatch rejected): the loop throws it. */
  failed(error: WatchError): void {
    this.failure = error;
    this.wakeUp?.();
  }

  next(): Promise<IteratorResult<WatchRecord<T>, undefined>> {
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
  async return(): Promise<IteratorResult<WatchRecord<T>, undefined>> {
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

  [Symbol.asyncIterator](): WatchLoop<T> {
    return this;
  }

  private add(record: WatchRecord<T>): void {
    this.buffer.push(record);
    this.wakeUp?.();
  }

  private take(): WatchRecord<T> | undefined {
    const record = this.buffer.shift();
    if (record === undefined) return undefined;
    this.handed = record;
    return record;
  }

  /** Nothing ready: waits for a record, the end, or a failure. */
  private async wait(): Promise<IteratorResult<WatchRecord<T>, undefined>> {
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
