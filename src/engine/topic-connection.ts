import * as grpc from '@grpc/grpc-js';
import type { Timer } from '../core/clock';
import type { Flow, Intake } from '../delivery/intake';
import { WatchError } from '../core/errors';
import type { Log } from '../logging/logger';
import type { ResolvedOptions } from '../config/options';
import type { WatchClient } from '../transport/grpc-channel';
import { StallWatchdog } from '../transport/stall-watchdog';
import { WatchStream } from '../transport/watch-stream';
import type { AgentStatusFeed, TokenFeed } from '../transport/stream-feeds';

// The protocol has no "subscription active" message (docs/wire.md#acceptance). A stream on a READY channel that the
// service has neither answered nor refused after this long counts as accepted, so a quiet topic does not look like a
// stall. Its hand-off still waits for a real sign of life (see catch-up.ts).
const QUIET_ACCEPT_MS = 2_000;

/** Options of {@link TopicConnection}. */
export interface TopicConnectionOptions {
  client: WatchClient;
  topic: string;
  options: ResolvedOptions;
  log: Log;
  /** The watch's intake: this connection's stream and catch-up feed it, and it pauses the stream. */
  intake: Intake;
  /** Followed by the stream itself: new tokens and the watch's agent status reach it without a relay. */
  tokens: TokenFeed;
  agentStatus: AgentStatusFeed;
  /** The subscription was accepted. */
  onReady: (conn: TopicConnection) => void;
  /** The stream ended by itself (never after `close()`). */
  onEnd: (conn: TopicConnection, error: WatchError) => void;
}

/**
 * One connection of a topic: its stream, feeding the watch's intake (which holds its live events back while the
 * catch-up runs, and pauses the stream when full), its connect deadline and its stall watchdog.
 */
export class TopicConnection {
  private readonly stream: WatchStream;
  private readonly abort = new AbortController();
  /** `abort.signal.aborted`, read per event without the signal's getter. */
  private closed = false;
  /** What the intake pauses and resumes: reading the stream, and the watchdog's count of its silence with it. */
  private readonly flow: Flow = {
    pause: () => {
      this.watchdog?.suspend();
      this.stream.pause();
    },
    resume: () => {
      this.watchdog?.resume();
      this.stream.resume();
    },
  };
  /** Whether this connection's catch-up finished and its live events went to delivery (known after it ended). */
  private wentLive = false;
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
      tokens: opts.tokens,
      agentStatus: opts.agentStatus,
      callbacks: {
        onReady: () => {
          this.attemptTimer?.cancel();
          this.watch();
          opts.onReady(this);
        },
        onAlive: () => this.markAlive(),
        onEvent: (event) => {
          if (this.closed) return;
          this.watchdog?.event();
          opts.intake.receive(event);
        },
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
    return this.wentLive;
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
    this.opts.intake.connect(this.flow);
    this.stream.open(token);
    this.judge(this.opts.options.clock.now());
  }

  /** The catch-up is complete: the intake marks the hand-off and moves the held-back live events on. */
  goLive(): void {
    this.wentLive = true;
    this.opts.intake.goLive();
  }

  /**
   * Cancels the stream and the catch-up; the intake drops what this connection held back and what is queued. No
   * `onEnd` follows. Idempotent.
   */
  close(): void {
    this.closed = true;
    this.abort.abort();
    this.attemptTimer?.cancel();
    this.watchdog?.stop();
    this.stream.cancel();
    this.opts.intake.disconnect(this.flow);
    this.markAlive(); // releases a catch-up waiting for life; it sees the abort
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
    if (this.opts.intake.isPaused) this.watchdog.suspend();
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
