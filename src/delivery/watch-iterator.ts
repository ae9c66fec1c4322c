import type { ResyncNotice, WatchHandlers } from './watch-handlers';
import { WatchError } from '../errors';
import type { WatchOptions } from '../config/watch-options';
import type { WatchEvent } from '../types';

/** One record of a `for await` watch. */
export type WatchRecord =
  | {
      /** An event to handle. */
      kind: 'event';
      /** The event. */
      event: WatchEvent;
      /** Acknowledges the event (with `autoAck: false`; with autoAck asking for the next record does it). Idempotent. */
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
   * Records handed over but not acknowledged, at most (1 to 1000). Past it the SDK stops reading the stream, so HTTP/2 flow
   * control pushes back on the service: memory does not grow with the backlog.
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

interface Pending {
  record: WatchRecord;
  done: () => void;
}

// Given to handlers still waiting for the loop when it ends: not an acknowledgement, so the position stays before
// them. Delivery is stopping by then and ignores it.
const NOT_ACKNOWLEDGED = new WatchError('CLOSED', 'the iteration ended before this record was acknowledged');

/**
 * The `for await` form of a watch: handlers that hand records to the loop and resolve (acknowledge) when it is
 * done with them. `break`, `return` or an aborted signal close the watch, which writes the acknowledged position
 * (the record the loop broke out of is not acknowledged: a restart delivers it again). A watch that stops for good
 * makes the loop throw its `WatchError`.
 */
export class WatchIterator implements AsyncIterableIterator<WatchRecord> {
  private readonly buffer: Pending[] = [];
  /** Handler promises not settled yet, to be released when the loop ends. */
  private readonly open = new Set<(err: WatchError) => void>();
  private handed: Pending | undefined;
  private wakeUp: (() => void) | undefined;
  private failure: WatchError | undefined;
  private ended = false;
  private closing: Promise<void> | undefined;

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

  /** The handlers that feed this iterator. */
  handlers(): WatchHandlers {
    // Each record's handler resolves when the loop is done with it: that is its acknowledgement.
    const hand = (make: (done: () => void) => WatchRecord): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        if (this.ended) return reject(NOT_ACKNOWLEDGED);
        const done = (): void => {
          this.open.delete(reject);
          resolve();
        };
        this.open.add(reject);
        this.buffer.push({ record: make(done), done });
        this.wakeUp?.();
      });
    return {
      onEvent: (event) => hand((done) => ({ kind: 'event', event, ack: done })),
      onResync: (notice) => hand(() => ({ kind: 'resync', notice })),
      onLive: (topic) => hand(() => ({ kind: 'live', topic })),
      onError: (error) => {
        if (error.retryable) return;
        this.failure = error;
        this.wakeUp?.();
      },
    };
  }

  /** A start failure (registerWatch rejected): the loop throws it. */
  failed(error: WatchError): void {
    this.failure = error;
    this.wakeUp?.();
  }

  async next(): Promise<IteratorResult<WatchRecord>> {
    const previous = this.handed;
    this.handed = undefined;
    // Asking for the next record acknowledges the previous one (always for resync and live: they need no ack).
    if (previous !== undefined && (this.autoAck || previous.record.kind !== 'event')) previous.done();
    for (;;) {
      if (this.ended) return { done: true, value: undefined };
      const next = this.buffer.shift();
      if (next !== undefined) {
        this.handed = next;
        return { done: false, value: next.record };
      }
      if (this.failure !== undefined) {
        const error = this.failure;
        await this.return();
        throw error;
      }
      await new Promise<void>((resolve) => (this.wakeUp = resolve));
      this.wakeUp = undefined;
    }
  }

  /** Ends the iteration and closes the watch (writing the acknowledged position). Idempotent. */
  async return(): Promise<IteratorResult<WatchRecord>> {
    this.ended = true;
    this.detach();
    this.buffer.length = 0;
    for (const reject of [...this.open]) reject(NOT_ACKNOWLEDGED);
    this.open.clear();
    this.wakeUp?.();
    this.closing ??= this.close();
    await this.closing;
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<WatchRecord> {
    return this;
  }
}
