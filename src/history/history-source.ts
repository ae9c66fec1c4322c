import { WatchError } from '../core/errors';
import type { WatchEvent } from '../core/types';

/** Which events a page holds: the `page`-th page (from 1) of `pageSize` events above `after`. */
export interface HistoryQuery {
  /** The position: events above this sequence id. */
  after: number;
  /** Pages numbered from `after`, so that several can be asked at once. */
  page: number;
  pageSize: number;
}

/** One page of history. */
export interface HistoryPage {
  /**
   * The events, ascending and above the position asked. Whether a short page is the last one is the catch-up's
   * to judge (a server may serve fewer than asked), so the page does not claim it.
   */
  events: WatchEvent[];
}

/**
 * Where a catch-up reads what it missed: the events after a position, the newest id, and whether history still
 * reaches back to a position. The catch-up depends on this contract only; {@link HistoryClient} serves it from the
 * event-history API (docs/wire.md#history-api), and a second API shape is one more implementation.
 *
 * - `page` answers with strictly ascending events above `after` (a page breaking that is refused by the source as a
 *   retryable `PROTOCOL` error, never passed on in part); it may serve fewer than `pageSize`. A position that history
 *   no longer reaches throws {@link HistoryGone}. Other failures are `WatchError`s; retryable ones are retried by the
 *   catch-up, after `retryAfterMs` when the source gives it.
 * - `newest` is the newest sequence id of the topic (0 when it has none), for `from: 'latest'`.
 * - `close` releases what the source holds (connections); the manager calls it when it closes.
 */
export interface HistorySource {
  page(topic: string, query: HistoryQuery, signal: AbortSignal): Promise<HistoryPage>;
  newest(topic: string, signal: AbortSignal): Promise<number>;
  close(): Promise<void>;
}

// Its own brand: WatchError's `instanceof` answers for every WatchError, this one only for HistoryGone.
const GONE = Symbol.for('watch-manager.HistoryGone');

/**
 * Thrown by {@link HistorySource.page} when the events after `after` were purged (docs/wire.md#410-gone: `410 Gone`
 * with the newest id). A `HISTORY_GONE` WatchError: the catch-up turns it into a resync to `newestSequenceId`, or stops
 * the watch with it when the application takes no resync.
 */
export class HistoryGone extends WatchError {
  constructor(
    /** The newest sequence id now: where delivery goes on after the resync. */
    readonly newestSequenceId: number,
    /** The position asked for. */
    readonly after: number,
  ) {
    super('HISTORY_GONE', `events after ${after} were purged from history; newest is ${newestSequenceId}`);
    Object.defineProperty(this, GONE, { value: true });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[GONE] === true;
  }
}
