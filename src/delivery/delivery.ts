import { WatchError, errorMessage, toWatchError } from '../core/errors';
import { isThenable } from '../core/thenable';
import { afterFirst, afterThrow, type HandlerOutcome, type HandlerPolicy } from './handler-runner';
import type { PositionKeeper } from '../state/position-keeper';
import type { WatchEvent } from '../core/types';
import { SequenceHoles } from './sequence-holes';
import { Watermark } from './watermark';
import type { ResyncNotice, RoutedHandlers } from './watch-handlers';
import type { Lookahead } from './lookahead';
import { Intake, type DeliveryItem } from './intake';
import { Waiters } from '../core/waiters';
import { HandlerContext } from './event-context';
import type { TopicTelemetry } from '../telemetry/watch-telemetry';

/** Acknowledges (or fails) an event a {@link EventSink} took. */
export interface Acknowledger {
  ack(event: WatchEvent): void;
  /**
   * The sink failed an attempt at the event (`record.fail()`): it is offered again after a backoff, up to the
   * policy's `maxAttempts`; after the last, set aside in the dead-letter spool, or the watch stops.
   */
  reject(event: WatchEvent, reason: unknown): void;
  /** The sink ran out of events: hand over what can be handed over now. */
  refill(): void;
}

/**
 * A consumer that takes events itself (the `for await` loop) instead of handlers that delivery runs: it is offered
 * each event in order and acknowledges it later. No promise, closure or retry per event.
 */
export interface EventSink {
  offer(event: WatchEvent, from: Acknowledger): void;
  /** Whether the consumer waits for an event now (an ack then hands over more at once). */
  readonly hungry: boolean;
}

const SYNC_OK: HandlerOutcome = { ok: true };

/** What an attempt a sink holds is settled with when delivery stops: the stop's, not the event's, failure. */
const RETRY_CANCELLED = new WatchError('CLOSED', 'delivery stopped while the event was offered again');

/**
 * Who takes the events: handlers delivery runs (`live` after every ack), or a sink (`live` once handed over in order).
 */
export type Consumer = Pick<DeliveryOptions, 'liveWaitsForAcks' | 'sink'>;

/** Options of {@link Delivery}. */
export interface DeliveryOptions {
  topic: string;
  handlers: RoutedHandlers;
  keeper: PositionKeeper;
  /** A handler failed for good: the watch must stop. */
  onFailure: (error: WatchError) => void;
  /** Items queued at most (see {@link Intake}). */
  maxBufferedEvents: number;
  /** Events it refuses are not handed to the application, but acknowledged (their position is never fetched again). */
  accept?: (event: WatchEvent) => boolean;
  /** Handlers running at once (with a `sink`: events taken and not yet acknowledged). */
  concurrency: number;
  /**
   * Hands events to this consumer instead of `handlers.onEvent` (which is then not called); barriers still run
   * handlers.
   */
  sink?: EventSink;
  /** The resource an event belongs to: events with one key never run concurrently or out of order. */
  keyOf: (event: WatchEvent) => string;
  /** Retries and timeout of a handler. */
  policy: HandlerPolicy;
  /**
   * Whether `live` waits until every event before it is acknowledged (handlers), or only until it is handed over
   * in order (`for await`, where waiting for acks the loop has not given yet would deadlock).
   * @default true
   */
  liveWaitsForAcks?: boolean;
  /**
   * Sets an event aside after its last failed attempt (the dead-letter spool); the watermark then moves on. Without
   * it such a failure stops the watch.
   */
  deadLetter?: (event: WatchEvent, error: unknown, attempts: number) => Promise<void>;
  /**
   * What to do with an event of a type this SDK does not know (a newer service): hand it over, or skip it. @default
   * 'skip'
   */
  unknownTypes?: 'skip' | 'deliver';
  /** Told of each event of an unknown type, before it is skipped or handed over. */
  onUnknownType?: (event: WatchEvent) => void;
  /** Told of each event that arrived after a higher id and was never handed over: it is handed over late. */
  onLate?: (event: WatchEvent, highest: number) => void;
  /** The lease epoch the watch runs under (`ctx.fencingToken`); undefined without a coordinator. */
  fencingToken?: number;
  /** Told how long each handler ran (handlers only: a sink's loop is the application's own). */
  telemetry?: TopicTelemetry;
  /** Told when a `live` item is reached: every event before it was handled (a sink: handed over); before `onLive`. */
  liveReached?: () => void;
  /**
   * The topic's sequence restarted and the stored position could not be moved back to `target`: delivery did not go
   * past the resync (its position stays), and the owner must drop what is queued behind it before it drains on.
   */
  onResetFailed?: (error: WatchError, target: number) => void;
  /**
   * Fetch mode: makes what the handlers get for an event (the event with its resource) before its first attempt, the
   * event holding its slot meanwhile. Rejects only when the watch stops: the event is then not acknowledged.
   */
  prepare?: (event: WatchEvent) => Promise<WatchEvent>;
  /** Told what the intake queues and what delivery passes over or drops (fetch mode's prefetcher). */
  lookahead?: Lookahead;
}

/** A `live` or `resync` item: it runs alone, after the events before it. */
type Barrier = Exclude<DeliveryItem, { kind: 'event' }>;

/**
 * What to do with the event at the front of the intake: `skip` (a repeat, or one the application does not get: taken
 * off and accounted for), `wait` (too many events outstanding), `next` (hand it over) or `late` (hand it over, out of
 * order: an id below the highest handed over that never was).
 */
type Verdict = 'skip' | 'wait' | 'next' | 'late';

/**
 * The ordered hand-off to the application: a queue drained in sequence order, repeats dropped by sequence id
 * (anything not above the last id handed over was handed over already — ids only grow per topic, but need not be
 * consecutive), up to `concurrency` handlers at once with per-key order, positions acknowledged as a contiguous
 * watermark. `live` and `resync` items are barriers: they run alone, after everything before them is done.
 *
 * An event is *acknowledged* when it counts for the position: its handler succeeded (or the sink acked it), it was
 * set aside in the dead-letter spool, or the application does not get it (filtered, an unknown type).
 */
export class Delivery implements Acknowledger {
  /** Events dropped as repeats. */
  duplicates = 0;
  /** Events the filter kept from the application (acknowledged all the same). */
  filtered = 0;
  /** Events acknowledged by their handler or the sink (not those set aside). */
  delivered = 0;
  /** Events set aside in the dead-letter spool. */
  deadLettered = 0;
  /** Events of a type this SDK does not know (skipped or handed over, per `unknownTypes`). */
  unknownTypes = 0;
  /** Events handed over late: they arrived after a higher id and had not been handed over before. */
  late = 0;
  /** The last event acknowledged by its handler (its `time` gives the lag in metrics, computed when asked). */
  lastEvent: WatchEvent | undefined;
  private readonly watermark = new Watermark();
  /** The highest id handed over, and the ids below it never handed over (a repeat vs. an id out of order). */
  private readonly seen = new SequenceHoles();
  /** What feeds delivery (the stream, the catch-up): the one bounded buffer, with its pausing and waiting. */
  readonly intake: Intake;
  /** Events handed over and not yet below the watermark, at most: bounds the per-key waiting lists of a hot key. */
  private readonly window: number;
  private pumping = false;
  private stopped = false;
  #running = 0;
  /** What {@link stop} waits for: handlers that went asynchronous, and a barrier's handler. */
  private readonly tracked = new Set<Promise<unknown>>();
  /** Per busy key: the events waiting for the one running. */
  private readonly keys = new Map<string, WatchEvent[]>();
  /** The drain waiting for a slot, an acknowledgement or a stop. */
  private readonly slotFreed = new Waiters();
  /** Delivery waits for a sink to acknowledge (all slots taken). */
  private parked = false;
  /** The handlers' `ctx.signal`: aborted when their outcome can no longer count (see {@link stop}). */
  private readonly cut = new AbortController();
  /** Set in the first microtask after `cut` aborted: a handler's promise settling from then on settled after it. */
  private cutSeen = false;
  private readonly policy: HandlerPolicy;
  /** Aborted by every stop: no more retries. */
  private readonly ended = new AbortController();
  /** Events a sink failed, offered again: the attempt the sink holds now, settled by its ack or its failure. */
  private readonly retries = new Map<WatchEvent, { resolve: () => void; reject: (reason: unknown) => void }>();

  constructor(private readonly options: DeliveryOptions) {
    this.policy = { ...options.policy, isCut: () => this.cutSeen };
    this.window = options.concurrency * 8;
    const { lookahead } = options;
    // Without a lookahead (fetch mode off) the intake's callback is what it always was: nothing more per event.
    this.intake =
      lookahead === undefined
        ? new Intake({ maxBufferedEvents: options.maxBufferedEvents, onItem: () => this.pump() })
        : new Intake({
            maxBufferedEvents: options.maxBufferedEvents,
            onItem: () => {
              lookahead.queued();
              this.pump();
            },
            onDrop: () => lookahead.dropped(),
          });
  }

  /** The acknowledged position: every event up to it was acknowledged (or was a resync target). */
  get acked(): number {
    return this.watermark.position;
  }

  /** Items waiting (not counting those being handled, nor live events held back during a catch-up). */
  get size(): number {
    return this.intake.size;
  }

  /** Handlers running now (with a sink: events it took and has not acknowledged yet). */
  get running(): number {
    return this.#running;
  }

  /** Sets the position without delivering anything (a stored position, or `from`); written when `persist`. */
  startAt(position: number, persist: boolean): void {
    this.watermark.reset(position);
    if (position >= this.seen.highest) this.seen.reset(position);
    if (persist) this.options.keeper.record(position);
  }

  /**
   * Starts over at `target`, below the position (the topic's sequence restarted and the store holds `target`
   * already): ids above it are new events, never repeats. Only while nothing runs (no event is outstanding).
   */
  restartAt(target: number): void {
    this.watermark.reset(target);
    this.seen.reset(target);
  }

  /** The sink acknowledges an event it took. Ignored once delivery stopped. */
  ack(event: WatchEvent): void {
    if (this.stopped) return;
    const retry = this.retries.get(event);
    if (retry !== undefined) {
      retry.resolve(); // its retry settles the slot (see retrySink)
      return;
    }
    this.#running -= 1;
    this.handled(event, SYNC_OK);
    this.sinkSlotFreed();
  }

  /** The sink fails an attempt at an event it took (see {@link Acknowledger.reject}). Ignored once delivery stopped. */
  reject(event: WatchEvent, reason: unknown): void {
    if (this.stopped) return;
    const retry = this.retries.get(event);
    if (retry !== undefined) retry.reject(reason);
    else this.retrySink(event, reason);
  }

  /** A sink's slot was let go: delivery goes on. */
  private sinkSlotFreed(): void {
    // Refilled when half the slots are free or the consumer waits: one drain per batch, not one per event.
    if (!this.parked) this.slotFreed.releaseAll();
    else if (this.#running * 2 <= this.options.concurrency || this.options.sink?.hungry === true) this.refill();
  }

  /**
   * A sink failed its first attempt at `event`: retried as a handler is (handler-runner.ts: the same backoff and
   * `maxAttempts`), each attempt offering the event again and settled by the sink's ack or failure of it. Its slot
   * stays taken until the outcome: acknowledged, set aside in the dead-letter spool, or the watch stopped.
   */
  private retrySink(event: WatchEvent, reason: unknown): void {
    const sink = this.options.sink as EventSink;
    const again = (): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        if (this.stopped) return reject(RETRY_CANCELLED);
        this.retries.set(event, { resolve, reject });
        sink.offer(event, this);
      }).finally(() => this.retries.delete(event));
    const tracked = afterThrow(again, this.policy, this.ended.signal, reason)
      .then((o) => this.setAside(event, o))
      .then((o) => {
        this.#running -= 1;
        this.handled(event, o);
        this.sinkSlotFreed();
      })
      .catch((err: unknown) => this.fail('delivery failed', err));
    this.tracked.add(tracked);
    void tracked.finally(() => this.tracked.delete(tracked));
  }

  refill(): void {
    if (!this.parked) return;
    this.parked = false;
    this.pump();
  }

  /**
   * Stops intake and delivery; resolves when the running handlers settled, or when `grace` resolves (without one:
   * however long they take). No handler is retried. With a `reason` (a close, a failure, a lost lease) the running
   * handlers' `ctx.signal` is aborted with it, and from then on a handler that settles acknowledges nothing, whatever
   * it returns: it may have cut its work short, so the event is delivered again by whoever runs the topic next.
   * Without one (a hand-off's drain) they finish, and what they acknowledge counts.
   */
  async stop(grace: Promise<unknown> | undefined, reason: WatchError | undefined): Promise<void> {
    this.stopped = true;
    this.ended.abort(reason);
    if (reason !== undefined) this.cutShort(reason);
    // A sink's retry waiting for an ack that will never come (the loop ended with the watch) is let go.
    for (const retry of this.retries.values()) retry.reject(RETRY_CANCELLED);
    this.intake.close();
    this.slotFreed.releaseAll();
    const idle = this.idle();
    await (grace === undefined ? idle : Promise.race([idle, grace]));
  }

  /**
   * Aborts the handlers' `ctx.signal` with `reason`: what they settle with from now on acknowledges nothing. Also after
   * a stop that let them finish (a hand-off's drain overtaken by the loss of its lease). Idempotent.
   */
  cutShort(reason: WatchError): void {
    if (this.cut.signal.aborted) return;
    // Queued before the abort: the first reaction to a handler's promise that settled before it (a handler that
    // returned just before close() was called) runs before this microtask, one that settled on the abort or after
    // runs after it. Judged by `signal.aborted` instead, the first kind would be taken for the second.
    queueMicrotask(() => (this.cutSeen = true));
    this.cut.abort(reason);
  }

  /** Resolves once nothing tracked runs (a handler that ends may have started another of its key: waited for too). */
  private async idle(): Promise<void> {
    while (this.tracked.size > 0) await Promise.allSettled([...this.tracked]);
  }

  /**
   * Drains the queue. Synchronous while it can be (a synchronous handler costs no promise per event); when it must
   * wait (all slots busy, the store behind, a barrier) it continues once the wait is over.
   */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    const sink = this.options.sink;
    let wait: Promise<unknown> | undefined;
    try {
      wait = sink === undefined ? this.drainToHandlers() : this.drainToSink(sink);
    } catch (err) {
      this.pumping = false;
      this.fail('delivery failed', err);
      return;
    }
    if (wait === undefined) {
      this.pumping = false;
      return;
    }
    wait.then(
      () => {
        this.pumping = false;
        this.pump();
      },
      (err: unknown) => {
        this.pumping = false;
        this.fail('delivery failed', err);
      },
    );
  }

  /**
   * Hands events to the handlers: up to `concurrency` at once, those of one key in order. Returns what to wait for
   * before going on (a free slot, the store, a barrier), or undefined when the queue is empty or delivery stopped.
   */
  private drainToHandlers(): Promise<unknown> | undefined {
    const { concurrency } = this.options;
    for (let item = this.intake.peek(); item !== undefined && !this.stopped; item = this.intake.peek()) {
      if (item.kind !== 'event') return this.atBarrier(item);
      const event = item.event;
      const verdict = this.screen(event);
      if (verdict === 'skip') continue;
      if (verdict === 'wait' || this.#running >= concurrency) return this.slotFreed.wait();
      let key = '';
      try {
        // One at a time, events cannot overlap: the key matters only with concurrency.
        if (concurrency > 1) key = this.options.keyOf(event);
      } catch (err) {
        this.fail(`keyOf threw for sequence id ${event.sequenceId}`, err);
        return undefined;
      }
      // A store that falls too far behind holds delivery back (bounding what a crash can repeat).
      const bound = this.options.keeper.withinBound();
      if (bound !== undefined) return bound;
      this.handOver(event, verdict === 'late');
      this.dispatch(event, key);
    }
    return undefined;
  }

  /**
   * Offers events to the sink (the `for await` loop), up to `concurrency` not yet acknowledged. With all of them out
   * it parks and returns: the sink acknowledges from its own call stack, and delivery goes on from there (see
   * {@link ack} and {@link refill}), in batches, with no promise per event.
   */
  private drainToSink(sink: EventSink): Promise<unknown> | undefined {
    const { concurrency } = this.options;
    for (let item = this.intake.peek(); item !== undefined && !this.stopped; item = this.intake.peek()) {
      if (item.kind !== 'event') return this.atBarrier(item);
      const event = item.event;
      const verdict = this.screen(event);
      if (verdict === 'skip') continue;
      if (verdict === 'wait') return this.slotFreed.wait();
      if (this.#running >= concurrency) {
        this.parked = true;
        return undefined;
      }
      const bound = this.options.keeper.withinBound();
      if (bound !== undefined) return bound;
      this.handOver(event, verdict === 'late');
      this.#running += 1;
      sink.offer(event, this);
    }
    return undefined;
  }

  /** What to do with the event at the front of the intake, whoever consumes it (see {@link Verdict}). */
  private screen(event: WatchEvent): Verdict {
    const seq = event.sequenceId;
    // Not above the highest id handed over: a repeat (dropped), or an id that came out of order and was never
    // handed over (a server breaking the ascending order): handed over late, never dropped without a trace.
    const late = seq <= this.seen.highest;
    if (late && !this.seen.missing(seq)) {
      this.intake.take();
      this.duplicates += 1;
      this.options.lookahead?.passed(event);
      return 'skip';
    }
    // Filtered events take a watermark slot too: past the window they wait like any other.
    if (!late && this.watermark.outstanding >= this.window) return 'wait';
    // Counted and told when the event leaves the intake (here, or in handOver): an event screened while it waits for
    // a slot or for the store is screened again.
    const unknown = event.type === 'UNKNOWN';
    const { accept } = this.options;
    if ((unknown && this.options.unknownTypes !== 'deliver') || (accept !== undefined && !accept(event))) {
      this.intake.take();
      if (unknown) this.unknownSeen(event);
      else this.filtered += 1;
      this.options.lookahead?.passed(event);
      this.passOver(event, late);
      return 'skip';
    }
    return late ? 'late' : 'next';
  }

  /** Takes the event off the intake: from here on it is handed over. */
  private handOver(event: WatchEvent, late: boolean): void {
    this.intake.take();
    if (event.type === 'UNKNOWN') this.unknownSeen(event);
    const seq = event.sequenceId;
    if (late) {
      // Not in the watermark (its slots ascend, and the position is past this id already): a crash while it is
      // handled does not bring it back. The application is told (onLate) that order was broken.
      this.seen.fill(seq);
      this.late += 1;
      this.options.onLate?.(event, this.seen.highest);
    } else {
      this.seen.advance(seq);
      this.watermark.add(seq);
    }
  }

  private unknownSeen(event: WatchEvent): void {
    this.unknownTypes += 1;
    this.options.onUnknownType?.(event);
  }

  /** An event not handed to the application (filtered, or of an unknown type): acknowledged at once. */
  private passOver(event: WatchEvent, late: boolean): void {
    if (late) {
      this.seen.fill(event.sequenceId);
      return;
    }
    this.seen.advance(event.sequenceId);
    this.watermark.add(event.sequenceId);
    this.acknowledge(event.sequenceId);
  }

  /** A `live` or `resync` item: run once the events before it are acknowledged (`live` of a sink: handed over). */
  private atBarrier(item: Barrier): Promise<unknown> {
    const waits = item.kind === 'resync' || this.options.liveWaitsForAcks !== false;
    if (waits && this.watermark.outstanding > 0) return this.slotFreed.wait();
    this.intake.take();
    return this.barrier(item);
  }

  private dispatch(event: WatchEvent, key: string): void {
    if (this.options.concurrency === 1) {
      this.execute(event, key);
      return;
    }
    const waiting = this.keys.get(key);
    if (waiting !== undefined) {
      waiting.push(event); // runs when the event before it on this resource is done
      return;
    }
    this.keys.set(key, []);
    this.execute(event, key);
  }

  private execute(event: WatchEvent, key: string): void {
    const { prepare } = this.options;
    if (prepare !== undefined) {
      this.prepareFirst(prepare, event, key);
      return;
    }
    this.run(event, key);
  }

  /**
   * Fetch mode: the event holds its slot (and its key) while what its handlers get is made; then it runs as any event.
   * Made only once per event: a retried attempt gets the same object. A stop meanwhile leaves it unacknowledged.
   */
  private prepareFirst(prepare: (event: WatchEvent) => Promise<WatchEvent>, event: WatchEvent, key: string): void {
    this.#running += 1;
    const tracked = prepare(event).then(
      (handed) => {
        if (this.stopped) {
          this.freeSlot(key);
          return;
        }
        this.#running -= 1; // run() takes the slot again, in this same tick
        this.run(handed, key);
      },
      (err: unknown) => {
        if (!this.stopped)
          this.fail(`the event's resource could not be fetched (sequence id ${event.sequenceId})`, err);
        this.freeSlot(key);
      },
    );
    this.tracked.add(tracked);
    void tracked.finally(() => this.tracked.delete(tracked));
  }

  private run(event: WatchEvent, key: string): void {
    this.#running += 1;
    // Read only with a metrics backend: without one the hot path makes no clock call.
    const started = this.options.telemetry === undefined ? 0 : this.options.policy.clock.now();
    // The first attempt is made here, so that a synchronous handler costs no closure and no promise.
    let first: unknown;
    let threw = false;
    const ctx = new HandlerContext(this.options.topic, event.sequenceId, this.options.fencingToken, this.cut.signal);
    try {
      first = this.options.handlers.onEvent(event, ctx);
    } catch (err) {
      first = err;
      threw = true;
    }
    if (!threw && !isThenable(first)) {
      this.timed(started, true);
      this.handled(event, SYNC_OK);
      this.freeSlot(key);
      return;
    }
    const again = (): unknown => this.options.handlers.onEvent(event, ctx);
    const { policy } = this;
    const outcome = threw
      ? afterThrow(again, policy, this.ended.signal, first)
      : afterFirst(again, policy, this.ended.signal, first);
    if (!(outcome instanceof Promise)) {
      this.timed(started, outcome.ok);
      this.handled(event, outcome);
      this.freeSlot(key);
      return;
    }
    const tracked = outcome
      .then((o) => {
        this.timed(started, o.ok);
        return this.setAside(event, o);
      })
      .then(async (o) => {
        const abandoned = o.abandoned;
        this.handled(event, o);
        // A timed-out attempt may still run: its slot and its resource stay busy until it ends, so that no two
        // events of one resource overlap and close() waits for it.
        if (abandoned !== undefined)
          await abandoned.then(
            () => undefined,
            () => undefined,
          );
        this.freeSlot(key);
      })
      .catch((err: unknown) => {
        this.fail('delivery failed', err);
        this.freeSlot(key);
      });
    this.tracked.add(tracked);
    void tracked.finally(() => this.tracked.delete(tracked));
  }

  /** Tells the telemetry how long a handler ran; not a run a stop cut short (that is no handler's failure). */
  private timed(started: number, ok: boolean): void {
    const { telemetry, policy } = this.options;
    if (telemetry === undefined || (!ok && this.ended.signal.aborted)) return;
    // A wall clock stepped back (NTP) must not make a negative duration.
    telemetry.handled(Math.max(0, policy.clock.now() - started), !ok);
  }

  /** A failure for good goes to the dead-letter spool if there is one; only a failed write still fails. */
  private async setAside(
    event: WatchEvent,
    outcome: HandlerOutcome,
  ): Promise<HandlerOutcome & { setAside?: boolean; abandoned?: Promise<unknown> }> {
    const spool = this.options.deadLetter;
    if (outcome.ok || spool === undefined || this.stopped) return outcome;
    const abandoned = outcome.abandoned;
    try {
      await spool(event, outcome.error, outcome.attempts);
    } catch (err) {
      return abandoned === undefined
        ? { ok: false, error: err, attempts: outcome.attempts }
        : { ok: false, error: err, attempts: outcome.attempts, abandoned };
    }
    this.deadLettered += 1;
    return abandoned === undefined ? { ok: true, setAside: true } : { ok: true, setAside: true, abandoned };
  }

  /** A handler's outcome (or a sink's ack): its event acknowledged, or the watch stopped by a failure not set aside. */
  private handled(event: WatchEvent, outcome: HandlerOutcome & { setAside?: boolean }): void {
    // Settled after its ctx.signal aborted: a handler that returns on the abort skipped its work, so it acknowledges
    // nothing. The position stays before the event (see stop).
    if (outcome.ok && outcome.afterCut === true) return;
    if (!outcome.ok) {
      if (!this.stopped)
        this.fail(
          `${this.options.sink === undefined ? 'onEvent failed for' : 'the loop failed (record.fail())'} sequence id ${event.sequenceId} after ${outcome.attempts} attempt(s)`,
          outcome.error,
        );
      return;
    }
    if (outcome.setAside !== true) {
      this.delivered += 1;
      this.lastEvent = event;
    }
    this.acknowledge(event.sequenceId);
  }

  /** Frees the slot, and starts the next event waiting for the same resource. */
  private freeSlot(key: string): void {
    this.#running -= 1;
    if (this.options.concurrency > 1) {
      const next = this.keys.get(key)?.shift();
      if (next === undefined) this.keys.delete(key);
      else if (!this.stopped) this.execute(next, key);
    }
    this.slotFreed.releaseAll();
  }

  /** The event counts for the position: the watermark moves (when it can) and the keeper records it. */
  private acknowledge(seq: number): void {
    if (this.watermark.ack(seq)) this.options.keeper.record(this.watermark.position);
  }

  /** Runs a `live` or `resync` item alone; false when its handler failed and the watch stops. */
  private async barrier(item: Barrier): Promise<boolean> {
    const { handlers, topic } = this.options;
    // Before onLive runs: every event before the item was handled (the barrier waited for their acks), and onLive
    // itself may wait for the watch to be live (manager.ready() inside it, or a for await loop that has not taken
    // the live record yet).
    if (item.kind === 'live') this.options.liveReached?.();
    const running = Promise.resolve().then(() =>
      item.kind === 'resync' ? handlers.onResync?.(item.notice) : handlers.onLive?.(topic),
    );
    this.tracked.add(running); // close() waits for it like for an event handler
    try {
      await running;
    } catch (err) {
      if (!this.stopped) this.fail(`on${item.kind === 'resync' ? 'Resync' : 'Live'} threw`, err);
      return false;
    } finally {
      this.tracked.delete(running);
    }
    if (this.stopped) return false; // closed meanwhile: the position is not moved after the fact
    return item.kind === 'resync' ? this.moveToResync(item.notice) : true;
  }

  /** After onResync: the position moves on to the notice's target, or back to it when the topic was recreated. */
  private async moveToResync(notice: ResyncNotice): Promise<boolean> {
    const { topic, keeper } = this.options;
    const { newestSequenceId: target, previousSequenceId: previous } = notice;
    if (target >= previous) {
      if (target > this.watermark.position) {
        this.watermark.reset(target);
        // Ids up to the target were skipped by the resync (the application re-lists them): none is "missing" now.
        if (target > this.seen.highest) this.seen.reset(target);
        keeper.record(target);
      }
      return true;
    }
    // The topic's sequence restarted (recreated): its new ids are below the old ones and are new events. Left at the
    // old position, a restart after the new sequence passed it would never deliver the new events up to it, untold:
    // the store is moved back first. After onResync, so a crash before the reset meets the same 410 and tells again.
    try {
      await keeper.reset(target);
    } catch (err) {
      if (this.stopped) return false;
      // Not stored: nothing behind the resync is delivered (the owner drops it and tries again; without an owner
      // that can, delivery stops).
      const error = toWatchError(err, 'STATE_IO', `watch ${topic}`);
      if (this.options.onResetFailed === undefined) this.fail('the position could not be moved back', error);
      else this.options.onResetFailed(error, target);
      return false;
    }
    // A store without resetSequence keeps the old position (its owner warned): delivery starts over all the same.
    if (this.stopped) return false;
    this.restartAt(target);
    return true;
  }

  private fail(what: string, err: unknown): void {
    this.stopped = true;
    this.intake.close(); // nothing more is queued, and a catch-up waiting for room is let go
    this.options.onFailure(
      new WatchError('HANDLER_FAILED', `watch ${this.options.topic}: ${what}: ${errorMessage(err)}`, { cause: err }),
    );
  }
}
