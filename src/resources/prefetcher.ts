import { WatchError } from '../core/errors';
import type { Resource } from '../core/resource';
import type { WatchEvent } from '../core/types';
import { fetchForEvent, type FetchFields, type FetchOutcome } from './event-fetch';
import type { ResourceClient } from './resource-client';

/** What an event fetches: its fields (`undefined`: the whole resource), or `NO_FETCH`. */
export type FetchPlan = FetchFields | typeof NO_FETCH;

/** The plan of an event that fetches nothing: a `DELETED` one, or one no handler takes. */
export const NO_FETCH = Symbol('no fetch');

/** One item of the queue looked ahead at: an event, or a barrier (which has none). */
export interface QueuedItem {
  readonly kind: string;
  readonly event?: WatchEvent;
}

/** Options of {@link Prefetcher}. */
export interface PrefetcherOptions {
  /** The resource client (made at its first use). */
  client: () => ResourceClient;
  /** Fetches in flight at most, those a consumer waits for included. */
  concurrency: number;
  /** Fetches started ahead and not yet taken, at most. */
  lookahead: number;
  /** What `event` fetches. Asked before a fetch starts; a pure function of the event. */
  plan: (event: WatchEvent) => FetchPlan;
  /** The copy a cache holds of a resource, reflecting at least the event `sequenceId`, for its merge. */
  cached: (selfLink: string, sequenceId: number) => Resource | undefined;
  /** The queue, in delivery's order: the item `index` places behind its front, left in place. */
  queue: { ahead(index: number): QueuedItem | undefined };
}

/** A fetch started ahead of its consumer. */
interface Slot {
  readonly outcome: Promise<FetchOutcome>;
  readonly controller: AbortController;
}

/** A consumer waiting for a fetch to be free (all `concurrency` of them in flight). */
interface Demand {
  readonly event: WatchEvent;
  readonly fields: FetchFields;
  take(outcome: Promise<FetchOutcome>): void;
  refuse(error: WatchError): void;
}

/** The answer for an event that fetches nothing: no resource, not gone. */
const NOTHING: Promise<FetchOutcome> = Promise.resolve({ resource: undefined, gone: false });

/**
 * Fetch mode's lookahead: the resources of the events queued for delivery are fetched before their handlers reach
 * them, at most `concurrency` fetches in flight and at most `lookahead` started and not yet taken, in queue order.
 * A consumer takes an event's outcome ({@link take}), starting its fetch then if it had not started. An event
 * delivery passes over or drops lets go of its fetch (aborted if in flight); {@link close} aborts every fetch.
 *
 * Its outcome is what the fetch found when it ran, possibly before the events ahead of it were handled: a cache
 * that applies events in order merges at apply time instead (event-fetch.ts).
 */
export class Prefetcher {
  /** Events looked at and not yet taken: their fetch, or `NO_FETCH`. */
  private readonly slots = new Map<WatchEvent, Slot | typeof NO_FETCH>();
  /** Fetches started ahead and not yet taken (the slots that are fetches). */
  private ahead = 0;
  /** Fetches in flight, ahead or taken. */
  private inFlight = 0;
  private readonly demands: Demand[] = [];
  /** Every fetch in flight, aborted by {@link close}. */
  private readonly running = new Set<AbortController>();
  private closed = false;
  /**
   * The highest sequence id looked at in the queue, and the highest taken by a consumer. An event of the queue at or
   * below the first is a repeat (the stream's live copy of an event the catch-up queued, or the catch-up's of one
   * being handled): delivery drops it, so it is not fetched ahead (a consumer that takes it after all fetches then).
   */
  private highestSeen = 0;
  private highestTaken = 0;

  constructor(private readonly options: PrefetcherOptions) {}

  /** Fetches started ahead and not yet taken (at most `lookahead`). */
  get started(): number {
    return this.ahead;
  }

  /** Events were queued: start the fetches of those ahead, within the bounds. */
  queued(): void {
    this.fill();
  }

  /**
   * The outcome of `event`'s fetch, for its handlers: the one started ahead, or one started now (once a fetch is free:
   * a consumer goes before the lookahead). Rejects with the client's error when the fetch failed, `CLOSED` once closed.
   */
  take(event: WatchEvent): Promise<FetchOutcome> {
    if (this.closed) return Promise.reject(closedError());
    this.highestTaken = Math.max(this.highestTaken, event.sequenceId);
    const slot = this.slots.get(event);
    if (slot !== undefined) this.slots.delete(event);
    if (slot !== undefined && slot !== NO_FETCH) {
      this.ahead -= 1;
      this.fill();
      return slot.outcome;
    }
    const plan = this.options.plan(event);
    if (plan === NO_FETCH) return NOTHING;
    if (this.inFlight < this.options.concurrency) return this.start(event, plan).outcome;
    return new Promise<FetchOutcome>((take, refuse) => this.demands.push({ event, fields: plan, take, refuse }));
  }

  /** Delivery will never hand `event` over: its fetch is let go. */
  passed(event: WatchEvent): void {
    this.release(event);
    this.fill();
  }

  /** The queue is about to be dropped: the fetches of its events are let go (started again if they come again). */
  dropped(): void {
    const { queue } = this.options;
    for (let i = 0, item = queue.ahead(0); item !== undefined; item = queue.ahead(++i)) {
      if (item.event !== undefined) this.release(item.event);
    }
    // The next connection queues again what was dropped: only what a consumer took is a repeat then.
    this.highestSeen = this.highestTaken;
  }

  /** Aborts every fetch; a consumer waiting or taking from now on gets `CLOSED`. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const controller of this.running) controller.abort();
    for (const demand of this.demands.splice(0)) demand.refuse(closedError());
    this.slots.clear();
    this.ahead = 0;
  }

  /** Starts the fetches of the queued events ahead, in order, while the bounds allow. */
  private fill(): void {
    const { queue, lookahead, concurrency } = this.options;
    // Looks at most this far: a long run of events that fetch nothing must not make each call walk the whole queue.
    const horizon = lookahead * 4;
    for (let i = 0; i < horizon && !this.closed; i++) {
      if (this.inFlight >= concurrency || this.ahead >= lookahead || this.demands.length > 0) return;
      const event = queue.ahead(i)?.event;
      if (event === undefined) {
        if (queue.ahead(i) === undefined) return;
        continue; // a barrier
      }
      if (this.slots.has(event)) continue;
      const repeat = event.sequenceId <= this.highestSeen;
      this.highestSeen = Math.max(this.highestSeen, event.sequenceId);
      const plan = repeat ? NO_FETCH : this.options.plan(event);
      if (plan === NO_FETCH) {
        this.slots.set(event, NO_FETCH);
        continue;
      }
      this.slots.set(event, this.start(event, plan));
      this.ahead += 1;
    }
  }

  private start(event: WatchEvent, fields: FetchFields): Slot {
    const controller = new AbortController();
    this.running.add(controller);
    this.inFlight += 1;
    const fetching = (async () => {
      const { client, cached } = this.options;
      const selfLink = event.payload.metadata.selfLink;
      const copy = event.type === 'SUBRESOURCEUPDATED' ? cached(selfLink, event.sequenceId) : undefined;
      return fetchForEvent(client(), event, fields, copy, controller.signal);
    })();
    const outcome = fetching.finally(() => {
      this.running.delete(controller);
      this.inFlight -= 1;
      this.freed();
    });
    // Seen by its consumer; one let go has none, and its rejection (its abort) is nobody's concern.
    outcome.catch(() => undefined);
    return { outcome, controller };
  }

  /** A fetch ended: a waiting consumer's goes first, then the lookahead. */
  private freed(): void {
    if (this.closed) return;
    const demand = this.demands.shift();
    // Started here, at once: nothing else may take the fetch that just ended.
    if (demand !== undefined) demand.take(this.start(demand.event, demand.fields).outcome);
    else this.fill();
  }

  private release(event: WatchEvent): void {
    const slot = this.slots.get(event);
    if (slot === undefined) return;
    this.slots.delete(event);
    if (slot === NO_FETCH) return;
    this.ahead -= 1;
    slot.controller.abort();
  }
}

function closedError(): WatchError {
  return new WatchError('CLOSED', 'fetch mode: the watch stopped');
}
