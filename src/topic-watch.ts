import * as grpc from '@grpc/grpc-js';
import { Backoff } from './backoff';
import { sleep, type Timer } from './clock';
import { WatchError, toWatchError } from './errors';
import type { Log } from './logger';
import type { ResolvedOptions } from './options';
import type { WireWatchClient } from './proto';
import type { TokenRefresher } from './token-refresher';
import type { AgentStatus, WatchEvent, WatchStatus } from './types';
import { WatchStream } from './watch-stream';

/** What the application gives {@link WatchManager.registerWatch}. */
export interface WatchHandlers {
  /**
   * Called once per resource event, in sequence order, one at a time: the next call waits until the promise this
   * one returns settles. A throw or rejection stops the watch with `HANDLER_FAILED` before that event.
   */
  onEvent(event: WatchEvent): void | Promise<void>;
  /**
   * Told about every error of the watch after it started: retryable ones (`error.retryable`, the SDK reconnects by
   * itself) and the final one that stopped it.
   */
  onError?(error: WatchError): void;
}

/** Dependencies a {@link TopicWatch} gets from its manager. */
export interface TopicWatchContext {
  options: ResolvedOptions;
  client: () => WireWatchClient;
  tokens: TokenRefresher;
  log: Log;
}

type WatchState = WatchStatus['state'];

// The protocol has no "subscription active" message (WIRE.md). A stream on a READY channel that the service has
// neither answered nor refused after this long counts as accepted, so a quiet topic does not look like a stall.
const QUIET_ACCEPT_MS = 2_000;

/**
 * The engine of one watch topic: connects, delivers events to the handler one at a time in sequence order, drops
 * repeats by sequence id, reconnects with backoff after retryable failures and stops on permanent ones.
 */
export class TopicWatch {
  private state: WatchState = 'connecting';
  private lastSequenceId = 0;
  private lastError: WatchError | undefined;
  private nextAttemptAt: number | undefined;
  private stream: WatchStream | undefined;
  private readonly queue: WatchEvent[] = [];
  private paused = false;
  private pumping = false;
  private inflight: Promise<unknown> | undefined;
  private readonly backoff: Backoff;
  private readonly closing = new AbortController();
  private closed: Promise<void> | undefined;
  private attemptTimer: Timer | undefined;
  private readyAt: number | undefined;
  private forceFreshToken = false;
  private started = false;
  private startWaiter: { resolve: () => void; reject: (err: WatchError) => void } | undefined;
  private agentStatus: AgentStatus | undefined;
  /** Events dropped because their sequence id was not above the last delivered one. */
  duplicatesDropped = 0;

  constructor(
    readonly id: string,
    readonly topic: string,
    private readonly handlers: WatchHandlers,
    private readonly ctx: TopicWatchContext,
  ) {
    this.backoff = new Backoff(ctx.options.reconnect, () => ctx.options.clock.random());
  }

  /** Connects; resolves once the first subscription is accepted, rejects on a permanent failure or the deadline. */
  start(): Promise<void> {
    const { clock, connectTimeoutMs } = this.ctx.options;
    const deadline = clock.setTimeout(() => {
      const cause = this.lastError;
      const error = new WatchError(cause?.code ?? 'CONNECTION_LOST', `watch ${this.topic}: not subscribed within ${connectTimeoutMs} ms${cause === undefined ? '' : ` (last error: ${cause.message})`}`, { cause });
      void this.stop(error);
    }, connectTimeoutMs);
    const ready = new Promise<void>((resolve, reject) => {
      this.startWaiter = { resolve, reject };
    }).finally(() => deadline.cancel());
    void this.connect();
    return ready;
  }

  /** Sends a fresh token on the open stream (in-stream refresh). */
  sendToken(token: string): void {
    this.stream?.sendToken(token);
  }

  /** Sends `status` now if a stream is open, and again after every reconnect. Returns whether it was sent now. */
  sendAgentStatus(status: AgentStatus, token: string): boolean {
    this.agentStatus = status;
    return this.stream?.isReady === true && this.stream.sendAgentStatus(status, token);
  }

  status(): WatchStatus {
    const status: WatchStatus = { id: this.id, topic: this.topic, state: this.state, lastSequenceId: this.lastSequenceId };
    if (this.lastError !== undefined) status.lastErrorCode = this.lastError.code;
    if (this.state === 'reconnecting' && this.nextAttemptAt !== undefined) status.nextAttemptAt = this.nextAttemptAt;
    return status;
  }

  get currentState(): WatchState {
    return this.state;
  }

  /**
   * Stops intake, cancels the stream and timers, waits up to `closeTimeoutMs` for a handler still running.
   * Idempotent; resolves when nothing of this watch is left running.
   */
  close(): Promise<void> {
    return this.stop(new WatchError('CLOSED', `watch ${this.topic} was closed`));
  }

  private stop(reason: WatchError): Promise<void> {
    this.closed ??= (async () => {
      this.setState('closed');
      if (reason.code !== 'CLOSED') this.lastError = reason;
      this.closing.abort();
      this.attemptTimer?.cancel();
      this.stream?.cancel();
      this.stream = undefined;
      this.queue.length = 0;
      this.settleStart(reason);
      const running = this.inflight;
      if (running !== undefined) {
        await Promise.race([running.catch(() => undefined), sleep(this.ctx.options.clock, this.ctx.options.closeTimeoutMs)]);
      }
    })();
    return this.closed;
  }

  private setState(state: WatchState): void {
    if (this.state === state || this.state === 'closed') return;
    this.state = state;
  }

  private settleStart(error?: WatchError): void {
    const waiter = this.startWaiter;
    this.startWaiter = undefined;
    if (waiter === undefined) return;
    if (error === undefined) waiter.resolve();
    else waiter.reject(error);
  }

  private report(error: WatchError): void {
    this.lastError = error;
    if (!this.started) return; // before the start resolves, errors reach the caller through its rejection
    try {
      this.handlers.onError?.(error);
    } catch (err) {
      this.ctx.log.error('onError handler threw', { topic: this.topic, error: err instanceof Error ? err.message : String(err) });
    }
  }

  private async connect(): Promise<void> {
    if (this.closing.signal.aborted) return;
    this.setState(this.lastError === undefined && !this.started ? 'connecting' : 'reconnecting');
    let token: { token: string; fresh: boolean };
    try {
      token = await this.ctx.tokens.current(this.forceFreshToken);
    } catch (err) {
      this.failed(toWatchError(err, 'TOKEN_UNAVAILABLE', 'getToken failed'), false);
      return;
    }
    if (this.closing.signal.aborted) return;
    this.forceFreshToken = false;
    const client = this.ctx.client();
    const stream: WatchStream = new WatchStream(
      {
        client,
        topic: this.topic,
        tenantId: this.ctx.options.tenantId,
        log: this.ctx.log,
        callbacks: {
          onReady: () => this.onReady(stream),
          onEvent: (event) => this.enqueue(stream, event),
          onEnd: (error) => this.onEnd(stream, error, token.fresh),
        },
      },
      () => this.ctx.options.clock.now(),
    );
    this.stream = stream;
    this.paused = false;
    stream.open(token.token);
    this.watchAttempt(stream, client, this.ctx.options.clock.now());
  }

  /** Judges a stream that has said nothing: accepted on a READY channel, or given up after `connectTimeoutMs`. */
  private watchAttempt(stream: WatchStream, client: WireWatchClient, openedAt: number): void {
    const { clock, connectTimeoutMs } = this.ctx.options;
    this.attemptTimer = clock.setTimeout(() => {
      if (stream !== this.stream || stream.isReady) return;
      if (client.getChannel().getConnectivityState(false) === grpc.connectivityState.READY) {
        stream.accept();
      } else if (clock.now() - openedAt >= connectTimeoutMs) {
        stream.fail(new WatchError('CONNECTION_LOST', `watch ${this.topic}: could not connect to ${this.ctx.options.target} within ${connectTimeoutMs} ms`));
      } else {
        this.watchAttempt(stream, client, openedAt);
      }
    }, Math.min(QUIET_ACCEPT_MS, connectTimeoutMs));
  }

  private onReady(stream: WatchStream): void {
    if (stream !== this.stream) return;
    this.attemptTimer?.cancel();
    this.readyAt = this.ctx.options.clock.now();
    this.nextAttemptAt = undefined;
    this.setState('ready');
    this.ctx.log.info('watch subscribed', { topic: this.topic, id: this.id });
    if (this.agentStatus !== undefined) {
      const token = this.ctx.tokens.peek();
      if (token !== undefined) stream.sendAgentStatus(this.agentStatus, token);
    }
    if (!this.started) {
      this.started = true;
      this.settleStart();
    }
  }

  private onEnd(stream: WatchStream, error: WatchError, tokenWasFresh: boolean): void {
    if (stream !== this.stream || this.closing.signal.aborted) return;
    this.stream = undefined;
    this.attemptTimer?.cancel();
    let outcome = error;
    if (error.code === 'UNAUTHENTICATED' && (stream.isReady || !tokenWasFresh)) {
      // A token the service took before (or one from our cache) is refused: it expired or was revoked. Try once
      // more with a fresh one; a fresh token refused before any sign of life is a permanent refusal.
      this.forceFreshToken = true;
      outcome = new WatchError('TOKEN_EXPIRED', `watch ${this.topic}: the service ended the stream for its token (${error.message})`, { cause: error, grpcCode: error.grpcCode });
    }
    this.failed(outcome, stream.isReady);
  }

  private failed(error: WatchError, wasReady: boolean): void {
    if (this.closing.signal.aborted) return;
    if (!error.retryable) {
      this.report(error);
      void this.stop(error);
      return;
    }
    const { clock, reconnect } = this.ctx.options;
    if (wasReady && this.readyAt !== undefined && clock.now() - this.readyAt >= reconnect.resetAfterMs) this.backoff.reset();
    const delay = this.backoff.next();
    this.nextAttemptAt = clock.now() + delay;
    this.report(error);
    this.setState('reconnecting');
    this.ctx.log.info(`watch reconnecting in ${delay} ms`, { topic: this.topic, code: error.code, attempt: this.backoff.attempts });
    // Ref'd: while a watch waits to reconnect, nothing else may keep the process alive, and an open watch must.
    void sleep(clock, delay, this.closing.signal, { ref: true }).then((elapsed) => {
      if (elapsed) void this.connect();
    });
  }

  private enqueue(stream: WatchStream, event: WatchEvent): void {
    if (stream !== this.stream || this.closing.signal.aborted) return;
    this.queue.push(event);
    if (!this.paused && this.queue.length >= this.ctx.options.maxBufferedEvents) {
      // Bounded buffer: stop reading so HTTP/2 flow control pushes back on the service (nats.js #67).
      this.paused = true;
      stream.pause();
    }
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0 && !this.closing.signal.aborted) {
        const event = this.queue.shift() as WatchEvent;
        if (this.paused && this.queue.length <= this.ctx.options.maxBufferedEvents / 2) {
          this.paused = false;
          this.stream?.resume();
        }
        if (event.sequenceId <= this.lastSequenceId) {
          // Sequence ids only grow per topic; anything not above the last delivered one was delivered already.
          this.duplicatesDropped += 1;
          continue;
        }
        const running = Promise.resolve().then(() => this.handlers.onEvent(event));
        this.inflight = running;
        try {
          await running;
        } catch (err) {
          const error = new WatchError('HANDLER_FAILED', `watch ${this.topic}: onEvent threw for sequence id ${event.sequenceId}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
          this.report(error);
          void this.stop(error);
          return;
        } finally {
          this.inflight = undefined;
        }
        this.lastSequenceId = event.sequenceId;
      }
    } finally {
      this.pumping = false;
    }
  }
}
