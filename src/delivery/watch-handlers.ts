import type { WatchError } from '../core/errors';
import type { TransactionClient } from '../state/coordinator';

export type { TransactionClient };
import type { WatchEvent } from '../core/types';

/** The second argument of `onEvent`: what a handler needs to make its effects safe. */
export interface EventContext {
  /** The topic's self link. */
  readonly topic: string;
  /** The event's sequence id. */
  readonly sequenceId: number;
  /**
   * `${topic}:${sequenceId}`: the same for every delivery of this event, on any replica. A key to make effects
   * outside the database idempotent (an upsert keyed on it, an idempotency header).
   */
  readonly idempotencyKey: string;
  /**
   * With a coordinator: the epoch of the lease this member runs the topic under, higher for every new holder. A
   * system that remembers the highest token it saw can refuse writes of a deposed holder. Undefined without one.
   */
  readonly fencingToken: number | undefined;
  /**
   * Aborted when the watch stops here and a running handler's outcome can no longer count: closed, failed, or (with a
   * coordinator) its lease lost. A handler that settles after it aborted acknowledges nothing, whatever it returns
   * (it may have cut its work short): its event is delivered again by whoever runs the topic next, here after a
   * restart or on another member. A graceful hand-off (rebalancing) does not abort it: the handlers finish and their
   * acknowledgements are stored before the lease goes.
   */
  readonly signal: AbortSignal;
  /**
   * With `{ transaction: true }`: the client of the transaction the position is stored in (it commits only while
   * this member still holds the lease). Undefined otherwise.
   */
  readonly client: TransactionClient | undefined;
}

/**
 * Told when a topic's saved position cannot be resumed: the events up to `newestSequenceId` were skipped. `T` is what
 * the watch's `resync.list` lists (inferred from it: `snapshot` needs no cast).
 */
export interface ResyncNotice<T = unknown> {
  /** The topic whose position could not be resumed. */
  topic: string;
  /** Why, for logs. */
  reason: string;
  /**
   * The position that could not be resumed. The events after it, up to and including `newestSequenceId`, were
   * skipped: exactly that range must be re-listed. When `newestSequenceId` is below it, the topic's sequence
   * restarted (the topic was recreated): every event of the new sequence up to `newestSequenceId` was skipped, and
   * the application re-lists the topic as a whole.
   */
  previousSequenceId: number;
  /** The position delivery continues after (below `previousSequenceId` when the topic's sequence restarted). */
  newestSequenceId: number;
  /** With a `resync.list` option: what `list()` returned, taken after `newestSequenceId` was captured. */
  snapshot?: T[];
}

/**
 * The handlers of one resource kind (`WatchHandlers.kinds`, keyed by `event.payload.kind`): an event of the kind runs
 * this `onEvent` (if `shouldHandle` takes it), then the watch's every-kind `onEvent` if given, as one attempt.
 */
export interface KindHandlers {
  /** Called for each event of the kind that `shouldHandle` takes; retried, acknowledged and ordered as `onEvent` is. */
  onEvent(event: WatchEvent, ctx: EventContext): void | Promise<void>;
  /**
   * In fetch mode, the fields of the resource this handler reads (`spec`, `x-agent-details`, `metadata.id`…): an
   * event's fetch reads the union of the fields of the handlers that take it. Absent: the whole resource. Without
   * fetch mode `registerWatch` refuses them (`INVALID_CONFIG`): pass `{ fetch: true }`.
   */
  fields?: readonly string[];
  /**
   * Whether this handler takes the event (absent: every event of the kind). An event no handler takes is acknowledged
   * without a fetch, counted as `filtered`. Asked before the event's fetch and possibly more than once per event: a
   * pure function of the event. A throw stops the watch with `HANDLER_FAILED` before that event.
   */
  shouldHandle?(event: WatchEvent): boolean;
}

/**
 * What the application gives {@link WatchManager.registerWatch}. `T`: what the watch's `resync.list` lists, the type
 * of `notice.snapshot`'s items in `onResync`.
 */
export interface WatchHandlers<T = unknown> {
  /**
   * Called once per resource event. With `concurrency: 1` (the default) one at a time in sequence order: the next
   * call waits until the promise this one returns settles. With more, events of different resources run in
   * parallel while events of one resource (`keyOf`) never overlap and keep their order. An event is acknowledged
   * when its promise resolves; the stored position is the highest sequence id below which every event is
   * acknowledged — unless it settles after `ctx.signal` aborted: then it acknowledges nothing. A throw or rejection is
   * retried (`maxAttempts`); the last failure stops the watch with `HANDLER_FAILED`, its position before that event,
   * told to `onError` (also during the first catch-up: `registerWatch` never rejects for a handler's failure). `ctx`
   * carries the idempotency key, the fencing token and a signal (see {@link EventContext}).
   *
   * With `kinds`, it runs for every event after the kind's handler (in the same attempt), and may be left out: at least
   * one of `onEvent` and `kinds` is given.
   */
  onEvent?(event: WatchEvent, ctx: EventContext): void | Promise<void>;
  /**
   * Handlers per resource kind (`event.payload.kind` → its {@link KindHandlers}): an event of a kind listed here runs
   * its handler first, then `onEvent` if given. An event neither takes is acknowledged untouched (`filtered`). Works
   * with and without fetch mode; in fetch mode each kind's `fields` say what its events fetch.
   */
  kinds?: Record<string, KindHandlers>;
  /**
   * The saved position was purged from history: events were skipped and the application must re-list (with a
   * `resync.list` option, the list is in `notice.snapshot`). The position moves to `notice.newestSequenceId` once
   * this resolves. Without this handler such a watch stops with `HISTORY_GONE` rather than skip silently.
   */
  onResync?(notice: ResyncNotice<T>): void | Promise<void>;
  /** The missed events were all delivered; live events follow. Called after every (re)connect's catch-up. */
  onLive?(topic: string): void | Promise<void>;
  /**
   * Told about every error of the watch after it started: retryable ones (`error.retryable`, the SDK reconnects by
   * itself) and the final one that stopped it.
   */
  onError?(error: WatchError): void;
}

/**
 * {@link WatchHandlers} as delivery runs them: one `onEvent` for every event (the kinds dispatched inside it, see
 * kind-dispatch.ts).
 */
export type RoutedHandlers<T = unknown> = WatchHandlers<T> & Required<Pick<WatchHandlers<T>, 'onEvent'>>;
