import * as grpc from '@grpc/grpc-js';
import type { Timer } from './clock';
import type { Delivery } from './delivery/delivery';
import { WatchError } from './errors';
import type { Log } from './logging/logger';
import type { ResolvedOptions } from './config/options';
import type { WatchClient } from './transport/grpc-channel';
import type { AgentStatus, WatchEvent } from './types';
import { StallWatchdog } from './transport/stall-watchdog';
import { WatchStream } from './transport/watch-stream';

// The protocol has no "subscription active" message (WIRE.md). A stream on a READY channel that the service has
// neither answered nor refused after this long counts as accepted, so a quiet topic does not look like a stall.
// Its hand-off still waits for a real sign of life (see catch-up.ts).
const QUIET_ACCEPT_MS = 2_000;

/** Options of {@link TopicConnection}. */
export interface TopicConnectionOptions {
  client: WatchClient;
  topic: string;
  options: ResolvedOptions;
  log: Log;
  delivery: Delivery;
  /** The subscription was accepted. */
  onReady: (conn: TopicConnection) => void;
  /** The stream ended by itself (never after `close()`). */
  onEnd: (conn: TopicConnection, error: WatchError) => void;
}

/**
 * One connection of a topic: its stream, and the live events held back while the catch-up runs. Until
 * {@link goLive} events wait here; after it they go straight to delivery. Either buffer is bounded: past
 * `maxBufferedEvents` the stream stops being read, so HTTP/2 flow control pushes back on the service.
 */
export class TopicConnection {
  private readonly stream: WatchStream;
  private readonly abort = new AbortController();
  private held: WatchEvent[] = [];
  private live = false;
  private paused = false;
  private attemptTimer: Timer | undefined;
  private watchdog: StallWatchdog | undefined;
  private markAlive!: () => void;
  private readonly alive = new Promise<void>((resolve) => (this.markAlive = resolve));

  constructor(private readonly opts: TopicConnectionOptions) {
    this.stream = new WatchStream({
      client: opts.client,
      topic: opts.topic,
      tenantId: opts.options.tenantId,
      log: opts.log,
      callbacks: {
        onReady: () => {
          this.attemptTimer?.cancel();
          this.watch();
          opts.onReady(this);
        },
        onAlive: () => this.markAlive(),
        onEvent: (event) => this.receive(event),
        onPing: () => this.watchdog?.ping(),
        onEnd: (error) => {
          this.attemptTimer?.cancel();
          this.watchdog?.stop();
          opts.onEnd(this, error);
        },
      },
    });
  }

  /** Aborted when this connection is closed: cancels its catch-up. */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  get isReady(): boolean {
    return this.stream.isReady;
  }

  get isLive(): boolean {
    return this.live;
  }

  /**
   * Whether this connection moved the watch forward: it went live (so its live events were handed over). A
   * connection that did is a healthy one that ended (a load balancer's maximum connection age): the reconnect
   * backoff starts over.
   */
  get madeProgress(): boolean {
    return this.live;
  }

  /** Whether the stream showed a sign of life (headers or a message). */
  get hasShownLife(): boolean {
    return this.stream.hasShownLife;
  }

  /** Resolves at the stream's first sign of life, or when the connection closes. */
  whenAlive(): Promise<void> {
    return this.alive;
  }

  open(token: string): void {
    this.stream.open(token);
    this.judge(this.opts.options.clock.now());
  }

  sendToken(token: string): void {
    this.stream.sendToken(token);
  }

  sendAgentStatus(status: AgentStatus, token: string): boolean {
    return this.stream.isReady && this.stream.sendAgentStatus(status, token);
  }

  /** The catch-up is complete: mark the hand-off, then deliver the held-back live events (repeats are dropped there). */
  goLive(): void {
    const { delivery } = this.opts;
    delivery.push({ kind: 'live' });
    this.live = true;
    for (const event of this.held) delivery.push({ kind: 'event', event });
    this.held = [];
    this.resumeIfLow();
  }

  /** Reads again once delivery has room (called when its queue fell low). */
  resumeIfLow(): void {
    if (!this.paused || !this.live || this.opts.delivery.size > this.opts.options.maxBufferedEvents / 2) return;
    this.paused = false;
    this.watchdog?.resume();
    this.stream.resume();
  }

  /** Live events held back now, and the first one's sequence id (what the catch-up catches up to). */
  get heldBack(): { count: number; first: number | undefined } {
    return { count: this.held.length, first: this.held[0]?.sequenceId };
  }

  /** Cancels the stream and the catch-up; drops what was held back. No `onEnd` follows. Idempotent. */
  close(): void {
    this.abort.abort();
    this.attemptTimer?.cancel();
    this.watchdog?.stop();
    this.stream.cancel();
    this.held = [];
    this.markAlive(); // releases a catch-up waiting for life; it sees the abort
  }

  private receive(event: WatchEvent): void {
    if (this.abort.signal.aborted) return;
    const { delivery, options } = this.opts;
    this.watchdog?.event();
    if (this.live) delivery.push({ kind: 'event', event });
    else this.held.push(event);
    const waiting = this.live ? delivery.size : this.held.length;
    if (!this.paused && waiting >= options.maxBufferedEvents) {
      // Bounded buffers: stop reading so HTTP/2 flow control pushes back on the service (nats.js #67).
      this.paused = true;
      this.watchdog?.suspend();
      this.stream.pause();
    }
  }

  /** Starts the stall watchdog once the subscription is accepted (before, the connect deadline judges it). */
  private watch(): void {
    const { clock, stallTimeoutMs } = this.opts.options;
    if (stallTimeoutMs === false || this.watchdog !== undefined) return;
    this.watchdog = new StallWatchdog({
      clock,
      timeoutMs: stallTimeoutMs,
      onStall: (silentMs) => {
        if (this.abort.signal.aborted) return;
        this.stream.fail(
          new WatchError(
            'STALLED',
            `watch ${this.opts.topic}: neither an event nor a ping for ${silentMs} ms on an open stream; replacing it`,
          ),
        );
      },
    });
    if (this.paused) this.watchdog.suspend();
  }

  /** Judges a stream that has said nothing: accepted on a READY channel, or given up after `connectTimeoutMs`. */
  private judge(openedAt: number): void {
    const { clock, connectTimeoutMs, target } = this.opts.options;
    this.attemptTimer = clock.setTimeout(
      () => {
        if (this.abort.signal.aborted || this.stream.isReady) return;
        if (this.opts.client.getChannel().getConnectivityState(false) === grpc.connectivityState.READY) {
          this.stream.accept();
        } else if (clock.now() - openedAt >= connectTimeoutMs) {
          this.stream.fail(
            new WatchError(
              'CONNECTION_LOST',
              `watch ${this.opts.topic}: could not connect to ${target} within ${connectTimeoutMs} ms`,
            ),
          );
        } else {
          this.judge(openedAt);
        }
      },
      Math.min(QUIET_ACCEPT_MS, connectTimeoutMs),
    );
  }
}
