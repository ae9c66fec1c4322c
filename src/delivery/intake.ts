import type { WatchEvent } from '../core/types';
import { Waiters } from '../core/waiters';
import { Fifo } from './fifo';
import type { ResyncNotice } from './watch-handlers';

/** One thing to hand to the application, in order. */
export type DeliveryItem =
  { kind: 'event'; event: WatchEvent } | { kind: 'resync'; notice: ResyncNotice } | { kind: 'live' };

/** What the intake stops and starts: the stream of the connection feeding it (and what watches that stream). */
export interface Flow {
  pause(): void;
  resume(): void;
}

/** Options of {@link Intake}. */
export interface IntakeOptions {
  /**
   * Items waiting, at most, before the stream is paused (its live events, or those it holds back during a
   * catch-up) and before the catch-up waits. Reading resumes once delivery brought the queue down to half of it.
   */
  maxBufferedEvents: number;
  /** An item was queued: delivery should drain. */
  onItem: () => void;
  /** What is queued is about to be dropped (a connection ended, the intake closed): still readable by `ahead`. */
  onDrop?: () => void;
}

/**
 * The one bounded buffer of a watch, between what feeds it (a connection's stream, that connection's catch-up) and
 * delivery, which drains it in order. It owns the high and low marks and both kinds of pushing back: the stream is
 * paused (so HTTP/2 flow control pushes back on the service, nats.js #67) and the catch-up waits for room.
 *
 * While a catch-up runs, the stream's live events are held back here, bounded on their own: the catch-up must be
 * able to finish (its events go to the queue) before the held events can move on, so one shared bound would
 * deadlock. {@link goLive} marks the hand-off and moves them to the queue.
 */
export class Intake {
  private readonly queue = new Fifo<DeliveryItem>();
  private held: WatchEvent[] = [];
  private flow: Flow | undefined;
  private live = false;
  private paused = false;
  private closed = false;
  /** Catch-ups waiting for {@link room}. */
  private readonly waiters = new Waiters();
  private readonly maxBufferedEvents: number;
  /** The stream is resumed once the queue is down to this (half the maximum). */
  private readonly resumeAt: number;

  constructor(private readonly options: IntakeOptions) {
    this.maxBufferedEvents = options.maxBufferedEvents;
    this.resumeAt = Math.floor(options.maxBufferedEvents / 2);
  }

  /** Items queued for delivery (not counting those being handled, nor live events held back). */
  get size(): number {
    return this.queue.size;
  }

  /** Live events held back by the current connection, and the first one's id (what its catch-up catches up to). */
  get heldBack(): { count: number; first: number | undefined } {
    return { count: this.held.length, first: this.held[0]?.sequenceId };
  }

  /** Whether the current connection's catch-up is over (its live events go straight to the queue). */
  get isLive(): boolean {
    return this.live;
  }

  /** Whether the stream is paused now (a watchdog of it started later must not count the silence). */
  get isPaused(): boolean {
    return this.paused;
  }

  /** A new connection feeds the intake from now on: its live events are held back until {@link goLive}. */
  connect(flow: Flow): void {
    this.flow = flow;
    this.held = [];
    this.live = false;
    this.paused = false;
  }

  /**
   * The connection ended: what it held back is dropped, and so is every queued item not yet started (the next
   * catch-up fetches them again from the position; those being handled are known by id when they come again).
   * A connection that is no longer the current one has nothing here.
   */
  disconnect(flow: Flow): void {
    if (this.flow !== flow) return;
    this.flow = undefined;
    this.held = [];
    this.live = false;
    this.paused = false;
    this.drop();
  }

  /** A live event from the stream: queued once live, held back before. Pauses the stream when full. */
  receive(event: WatchEvent): void {
    if (this.closed) return;
    if (this.live) this.enqueue({ kind: 'event', event });
    else this.held.push(event);
    if (!this.paused && (this.live ? this.size : this.held.length) >= this.maxBufferedEvents) {
      this.paused = true;
      this.flow?.pause();
    }
  }

  /** An item of the catch-up (an event from history, a resync notice). The catch-up waits for {@link room}. */
  push(item: DeliveryItem): void {
    if (this.closed) return;
    this.enqueue(item);
  }

  /** Resolves once the queue is below the high mark (or the intake closed): when the catch-up may go on. */
  room(): Promise<void> {
    if (this.size < this.maxBufferedEvents || this.closed) return Promise.resolve();
    return this.waiters.wait();
  }

  /** The catch-up is complete: mark the hand-off, then queue the held-back live events (repeats are dropped later). */
  goLive(): void {
    if (this.closed) return;
    this.enqueue({ kind: 'live' });
    this.live = true;
    const held = this.held;
    this.held = [];
    for (const event of held) this.enqueue({ kind: 'event', event });
    this.resumeIfLow();
  }

  /** The next item, left in place. */
  peek(): DeliveryItem | undefined {
    return this.queue.peek();
  }

  /** The item `index` places behind the next one (0: the next), left in place: what a prefetcher looks ahead at. */
  ahead(index: number): DeliveryItem | undefined {
    return this.queue.at(index);
  }

  /** Removes the item {@link peek} returned; resumes the stream and the catch-up when there is room again. */
  take(): void {
    this.queue.shift();
    this.resumeIfLow();
    if (this.waiters.waiting && this.size < this.maxBufferedEvents) this.waiters.releaseAll();
  }

  /** Nothing is queued or held from now on; a catch-up waiting for room is released (it sees its abort). */
  close(): void {
    this.closed = true;
    this.held = [];
    this.drop();
  }

  private enqueue(item: DeliveryItem): void {
    this.queue.push(item);
    this.options.onItem();
  }

  private drop(): void {
    this.options.onDrop?.();
    this.queue.clear();
    this.waiters.releaseAll();
  }

  private resumeIfLow(): void {
    if (!this.paused || !this.live || this.size > this.resumeAt) return;
    this.paused = false;
    this.flow?.resume();
  }
}
