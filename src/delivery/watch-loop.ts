import type { ResyncNotice } from './watch-handlers';
import type { WatchOptions } from '../config/watch-options';
import type { WatchEvent } from '../core/types';

// The public contract of the `for await` form of a watch (`manager.watch()`); watch-iterator.ts implements it.

/**
 * One record of a `for await` watch. `T`: what the watch's `resync.list` lists (the type of `notice.snapshot`'s
 * items).
 */
export type WatchRecord<T = unknown> =
  | {
      /** An event to handle. */
      kind: 'event';
      /** The event. */
      event: WatchEvent;
      /**
       * Acknowledges the event now: it counts for the position and frees its slot (see
       * {@link IterateOptions.concurrency}). With `autoAck` on too (asking for the next record then does nothing
       * more). Idempotent. The first of `ack()` and `fail()` settles the record: after it, both do nothing (an
       * acknowledged event cannot be failed, a failed one is never acknowledged, also not by `autoAck`). Does nothing
       * once the loop ended.
       */
      ack(): void;
      /**
       * Fails this attempt at the event (nats.js's `nak`): it is never acknowledged, and its slot stays taken. Until
       * {@link IterateOptions.maxAttempts} attempts failed, the event is given to the loop again as a new record after
       * the backoff of a handler's retries (100 ms, doubling, at most 5 s), behind the records handed over meanwhile.
       * After the last attempt: with the manager's `deadLetterDir` the event is set aside in the dead-letter spool
       * (`reason` kept as its error, scrubbed of secrets), the position moves past it and the loop goes on; without
       * one the watch stops with `HANDLER_FAILED` (its position before the event) and the loop throws that error.
       * Settles the record like `ack()`: later calls of either do nothing; does nothing once the loop ended.
       * @param reason why, for the error and the dead letter (an `Error`, or anything: it is turned into one)
       */
      fail(reason?: unknown): void;
    }
  | {
      /** The position could not be resumed: re-list (see {@link ResyncNotice}). */
      kind: 'resync';
      /** What was skipped and where delivery goes on; with a `resync.list` option its `snapshot`. */
      notice: ResyncNotice<T>;
    }
  | {
      /** The missed events were all delivered; live events follow. */
      kind: 'live';
      /** The topic now live. */
      topic: string;
    };

/** Options of {@link WatchManager.watch}. `T`: what `resync.list` lists, inferred from it. */
export interface IterateOptions<T = unknown> extends Pick<WatchOptions<T>, 'from' | 'resync' | 'filter'> {
  /** Aborting ends the iteration and closes the watch. */
  signal?: AbortSignal;
  /**
   * Records handed over and not yet acknowledged, at most (1 to 1000): the loop's concurrency, as `concurrency` of
   * `registerWatch` is its handlers'. Past it the SDK stops reading the stream, so HTTP/2 flow control pushes back on
   * the service: memory does not grow with the backlog.
   * @default 100
   */
  concurrency?: number;
  /**
   * The old name of {@link concurrency}; giving both is refused (`INVALID_CONFIG`).
   * @deprecated Since 0.2: use `concurrency` (removed in 0.3)
   */
  highWaterMark?: number;
  /**
   * Attempts at an event the loop fails (`record.fail()`), the first included (1 to 100): with more than one, a failed
   * event comes again as a new record after a backoff. See `fail()` for what follows the last one.
   * @default 1
   */
  maxAttempts?: number;
  /**
   * Acknowledge a record when the consumer asks for the next one. With false, each event must be `ack()`ed; the
   * stored position is the highest sequence id below which every event was acknowledged.
   * @default true
   */
  autoAck?: boolean;
}

/**
 * What {@link WatchManager.watch} returns: the records of one topic, for `for await`, and the position they reached.
 * `break`, `return()` or an aborted signal close the watch and write its position.
 */
export interface WatchLoop<T = unknown> extends AsyncIterableIterator<WatchRecord<T>, undefined, undefined> {
  /**
   * The acknowledged position: every event up to it was acknowledged (or set aside, or filtered out, or skipped by a
   * resync), as `metrics().watches[i].acknowledgedSequenceId`. It is what is stored, or about to be (writes are
   * batched per `positionFlush`). Readable any time; undefined until the watch knows its position (the stored one
   * read, `from` applied, the newest id asked) and when it never started. Once the loop ended (`break`, `return()`,
   * an aborted signal, a thrown error), the final position, written — where the next run resumes.
   */
  readonly acknowledgedSequenceId: number | undefined;
  /**
   * Ends the loop (what `break` calls): closes the watch and writes its position; the record the loop holds is not
   * acknowledged (with `autoAck`: a restart delivers it again). Idempotent; resolves once the watch is closed.
   */
  return(): Promise<IteratorResult<WatchRecord<T>, undefined>>;
  /** The next record; resolves `{ done: true }` once the loop ended, rejects with the error that stopped the watch. */
  next(): Promise<IteratorResult<WatchRecord<T>, undefined>>;
  /** The loop itself (`for await (const record of loop)`). */
  [Symbol.asyncIterator](): WatchLoop<T>;
}
