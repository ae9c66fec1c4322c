import { Backoff } from '../core/backoff';
import { backoffStartsOver, readStreamEnd, retryDelayMs, verdictOn, type FailedAttempt } from './failure-policy';
import { catchUp, type HistoryRequests } from '../history/catch-up';
import { sleep, withDeadline } from '../core/clock';
import type { DeadLetterSpool } from '../delivery/dead-letter-spool';
import { Delivery, type Consumer } from '../delivery/delivery';
import type { RoutedHandlers } from '../delivery/watch-handlers';
import { WatchError, toWatchError, errorMessage, type WatchErrorCode } from '../core/errors';
import type { HistorySource } from '../history/history-source';
import type { Log } from '../logging/logger';
import type { ResolvedOptions } from '../config/options';
import type { ResolvedWatchOptions, WatchFilter } from '../config/watch-options';
import { PositionKeeper } from '../state/position-keeper';
import type { SequenceProvider } from '../state/sequence-provider';
import type { WatchClient } from '../transport/grpc-channel';
import type { TokenRefresher } from '../auth/token-refresher';
import { TopicConnection } from './topic-connection';
import { StateMachine } from '../core/state-machine';
import { Once } from '../core/once';
import { PUBLIC_STATE, WATCH_TRANSITIONS, type WatchPhase } from './watch-lifecycle';
import type { WatchEvent, WatchMetrics, WatchStatus } from '../core/types';
import { AgentStatusFeed } from '../transport/stream-feeds';
import type { TopicTelemetry } from '../telemetry/watch-telemetry';
import type { KindDispatch } from '../delivery/kind-dispatch';
import type { Resource } from '../core/resource';
import type { ResourceClient } from '../resources/resource-client';
import { FetchMode } from './fetch-mode';

/** The default resource key: the changed resource's self link. */
export function defaultKeyOf(event: WatchEvent): string {
  return event.payload.metadata.selfLink !== ''
    ? event.payload.metadata.selfLink
    : `${event.payload.kind}/${event.payload.name}`;
}

/** Retry backoff of a failing handler: short, since the event waits. */
const HANDLER_BACKOFF = { initialDelayMs: 100, maxDelayMs: 5_000, multiplier: 2 };

/** Compiles a filter into a predicate (undefined: no filter). */
function compileFilter(filter: WatchFilter | undefined): ((event: WatchEvent) => boolean) | undefined {
  if (filter === undefined) return undefined;
  const kinds = filter.kinds === undefined ? undefined : new Set(filter.kinds);
  const types = filter.types === undefined ? undefined : new Set<string>(filter.types);
  const names = filter.names;
  return (event) =>
    (kinds === undefined || kinds.has(event.payload.kind)) &&
    (types === undefined || types.has(event.type)) &&
    (names === undefined ||
      names.some((n) => (typeof n === 'string' ? n === event.payload.name : n.test(event.payload.name))));
}

/**
 * How a watch hands events over, as its manager made it: its resolved options, its consumer, and the handlers per
 * kind when `kinds` was given (the handlers it gets dispatch by kind already: this says which events they take).
 */
export type WatchWiring = ResolvedWatchOptions & Consumer & { dispatch?: KindDispatch };

/** The filter and the handlers per kind as one predicate: which events reach a handler (undefined: every one). */
function acceptOf(
  filter: ((event: WatchEvent) => boolean) | undefined,
  dispatch: KindDispatch | undefined,
): ((event: WatchEvent) => boolean) | undefined {
  if (dispatch === undefined || dispatch.everyKind) return filter;
  if (filter === undefined) return (event) => dispatch.takes(event);
  return (event) => filter(event) && dispatch.takes(event);
}

/** Dependencies a {@link TopicWatch} gets from its manager. */
export interface TopicWatchContext {
  options: ResolvedOptions;
  client: () => WatchClient;
  history: () => HistorySource;
  /**
   * Finds out why a stream failed before any sign of life, where grpc-js cannot say (a proxy's refusal reads as a
   * bare UNAVAILABLE): resolves with a more precise error, or `error` itself.
   */
  diagnose: (error: WatchError) => Promise<WatchError>;
  tokens: TokenRefresher;
  log: Log;
  /** The dead-letter spool, when the manager has one. */
  deadLetters: DeadLetterSpool | undefined;
  /** Where this watch's position is kept: the manager's provider, or the lease's (with a coordinator). */
  positions: SequenceProvider;
  /** The lease epoch it runs under (`ctx.fencingToken` of its handlers); undefined without a coordinator. */
  fencingToken?: number;
  /** The agent status its streams send; a watch that outlives this engine (under leases) keeps one across them. */
  agentStatus?: AgentStatusFeed;
  /** Where its durations go, when the manager reports to a metrics backend (the `telemetry` option). */
  telemetry?: TopicTelemetry;
  /** The resource client fetch mode reads with (the manager's `resources`). */
  resources?: () => ResourceClient;
  /**
   * A cached copy of a resource of `topic` that reflects at least the event `sequenceId` (undefined when no cache
   * holds one that far): fetch mode merges a subresource onto it. A copy behind the event would pair the new
   * subresource with an older rest of the resource.
   */
  cachedResource?: (topic: string, selfLink: string, sequenceId: number) => Resource | undefined;
  /** Called on every state change of this watch, with the error behind it, if any. */
  stateChanged: (
    watch: TopicWatch,
    from: WatchStatus['state'],
    to: WatchStatus['state'],
    error: WatchError | undefined,
  ) => void;
}

type WatchState = WatchStatus['state'];

/** Where a watch starts: a position known (stored, or `from`), or the newest id, asked of the service at connect. */
type StartPosition = 'known' | 'newest-to-ask';

/** Which token the next attempt takes: the one held (fresh enough), or a fresh one (the held one was refused). */
type NextToken = 'held' | 'fresh';

/**
 * The engine of one watch topic. Each (re)connect opens the stream first and holds its live events back, replays
 * the events after the acknowledged position from the history API, then hands over to the live events (see
 * catch-up.ts for why that order is gap-free); delivery drops repeats by sequence id. Retryable failures reconnect
 * with backoff; permanent ones stop the watch.
 */
export class TopicWatch {
  /** The lifecycle: one table of legal moves (watch-lifecycle.ts); an illegal move is an INTERNAL error. */
  private readonly phase: StateMachine<WatchPhase>;
  private lastError: WatchError | undefined;
  private nextAttemptAt: number | undefined;
  private conn: TopicConnection | undefined;
  private readonly delivery: Delivery;
  private readonly keeper: PositionKeeper;
  private readonly backoff: Backoff;
  /** Aborted when the watch stops: the position read, the newest id and a backoff still waiting give up. */
  private readonly stopped = new AbortController();
  /** The one stop: `close()`, a failure, or the owner's `stopFor`, whichever comes first. */
  private readonly stopping = new Once();
  /** When the current subscription became ready (for the backoff reset after a healthy period). */
  private readyAt: number | undefined;
  private nextToken: NextToken = 'held';
  private startPosition: StartPosition = 'known';
  /** Whether the position is known: the stored one read, `from` applied, or the newest id asked. */
  private positioned = false;
  private startWaiter: { resolve: () => void; reject: (err: WatchError) => void } | undefined;
  /** The agent status its streams send once accepted and whenever it changes (`manager.sendAgentStatus`). */
  readonly agentStatus: AgentStatusFeed;
  private reconnects = 0;
  private readonly reconnectsByCode: Partial<Record<WatchErrorCode, number>> = {};
  private readonly historyRequests: HistoryRequests = { pages: 0, retries: 0, goneNothingMissed: 0 };
  private replayed = 0;
  /** Where the store goes back to before the next catch-up: a restarted sequence whose reset write failed. */
  private resetTo: number | undefined;
  /**
   * Where the next catch-up reads from after the service broke the ascending order: what it held back or skipped lies
   * below the position, where no catch-up looks. Cleared by a catch-up from there that saw no disorder.
   */
  private rereadFrom: number | undefined;
  /** The position the current connection's catch-up started from. */
  private connectionFrom = 0;
  /** When the current connection's catch-up started. */
  private catchUpStarted = 0;
  /** Whether the current connection's missed events were all delivered (its `live` item ran): live, for status. */
  private caughtUp = false;
  /** The last error reported to `onError`. */
  private lastReported: WatchError | undefined;
  /** Fetch mode (`fetch` option), when on. */
  private readonly fetching: FetchMode | undefined;

  constructor(
    readonly id: string,
    readonly topic: string,
    private readonly handlers: RoutedHandlers,
    private readonly watchOptions: WatchWiring,
    private readonly ctx: TopicWatchContext,
  ) {
    const { options } = ctx;
    this.agentStatus = ctx.agentStatus ?? new AgentStatusFeed();
    this.phase = new StateMachine<WatchPhase>(`watch ${topic}`, 'idle', WATCH_TRANSITIONS);
    this.backoff = new Backoff(options.reconnect, () => options.clock.random());
    // A failed save is never held back until the start resolves (nor dropped if it rejects): the application is
    // told at once that a position it believes stored is not.
    this.keeper = new PositionKeeper({
      provider: ctx.positions,
      topic,
      maxUnsaved: options.maxUnsavedAcks,
      onError: (err) => this.report(err, true),
      flush: { ...options.positionFlush, clock: options.clock, timeoutMs: options.stateTimeoutMs },
      onNoReset: (stored, target) =>
        ctx.log.warnOnce(
          `no-reset:${topic}`,
          `the sequence provider has no resetSequence: the stored position of ${topic} stays ${stored} although the topic's sequence restarted at ${target}; a restart after the new sequence passed ${stored} while nobody watched would never deliver its events up to ${stored} (implement resetSequence)`,
          { topic },
        ),
    });
    const filter = compileFilter(watchOptions.filter);
    this.fetching = this.fetchMode(filter);
    this.delivery = new Delivery({
      topic,
      handlers,
      keeper: this.keeper,
      maxBufferedEvents: options.maxBufferedEvents,
      onFailure: (err) => this.handlerFailed(err),
      accept: acceptOf(filter, watchOptions.dispatch),
      concurrency: watchOptions.concurrency,
      keyOf: watchOptions.keyOf ?? defaultKeyOf,
      policy: {
        maxAttempts: watchOptions.maxAttempts,
        timeoutMs: watchOptions.handlerTimeoutMs,
        backoff: HANDLER_BACKOFF,
        clock: options.clock,
      },
      liveWaitsForAcks: watchOptions.liveWaitsForAcks,
      ...(ctx.fencingToken === undefined ? {} : { fencingToken: ctx.fencingToken }),
      ...(watchOptions.sink === undefined ? {} : { sink: watchOptions.sink }),
      ...(ctx.telemetry === undefined ? {} : { telemetry: ctx.telemetry }),
      ...(this.fetching === undefined ? {} : { prepare: this.fetching.prepare, lookahead: this.fetching.prefetcher }),
      liveReached: () => this.liveReached(),
      onResetFailed: (error, target) => this.resetFailed(error, target),
      unknownTypes: options.unknownEventTypes,
      onUnknownType: (event) => {
        ctx.log.warnOnce(
          `unknown-type:${event.rawType ?? ''}`,
          `events of a type this SDK does not know (${JSON.stringify(event.rawType)}) are ${options.unknownEventTypes === 'skip' ? 'skipped (the position moves past them)' : 'handed over as UNKNOWN'}; a newer service? (unknownEventTypes)`,
          { topic, sequenceId: event.sequenceId },
        );
      },
      onLate: (event, highest) => {
        this.suspect(this.connectionFrom);
        const error = new WatchError(
          'PROTOCOL',
          `watch ${topic}: sequence id ${event.sequenceId} arrived after ${highest} and was not handed over before: handed over late, out of order (the service broke the ascending order)`,
          { retryable: true },
        );
        ctx.log.warn(error.message, { topic, sequenceId: event.sequenceId });
        this.report(error, true);
      },
      deadLetter:
        ctx.deadLetters === undefined
          ? undefined
          : async (event, error, attempts) => {
              const letter = await (ctx.deadLetters as DeadLetterSpool).add(
                event,
                error,
                attempts,
                options.clock.now(),
              );
              ctx.log.warn('event set aside in the dead-letter spool', {
                topic,
                sequenceId: event.sequenceId,
                id: letter.id,
                attempts,
              });
            },
    });
  }

  /** Fetch mode, when the `fetch` option turned it on. */
  private fetchMode(filter: ((event: WatchEvent) => boolean) | undefined): FetchMode | undefined {
    const { fetch, dispatch } = this.watchOptions;
    if (fetch === false) return undefined;
    const { resources, cachedResource, options } = this.ctx;
    if (resources === undefined) throw new WatchError('INTERNAL', `watch ${this.topic}: fetch mode without a client`);
    const skipsUnknown = options.unknownEventTypes !== 'deliver';
    return new FetchMode({
      topic: this.topic,
      fetch,
      dispatch,
      passes: (event) => (filter === undefined || filter(event)) && !(skipsUnknown && event.type === 'UNKNOWN'),
      client: resources,
      cachedResource,
      queue: { ahead: (index) => this.delivery.intake.ahead(index) },
      failed: (error) => this.fetchFailed(error),
      stopped: this.stopped.signal,
    });
  }

  /**
   * A fetch of fetch mode failed (the client gave up): the watch fails with its error, as a failed connection does:
   * a retryable one reconnects, a permanent one stops the watch. Not while a reconnect is under way already (no
   * connection): the fetch is made again once subscribed again.
   */
  private fetchFailed(error: WatchError): void {
    if (this.conn === undefined || this.stopped.signal.aborted) return;
    this.ctx.log.warn('fetch mode: a resource could not be fetched', { topic: this.topic, code: error.code });
    this.failed(error);
  }

  /** Reads the stored position and connects; resolves once subscribed, rejects on a permanent failure or deadline. */
  async start(): Promise<void> {
    const { clock, connectTimeoutMs } = this.ctx.options;
    this.move('positioning');
    // Reading the position has the start's deadline too: a provider that hangs must not hang registerWatch.
    const stored = await withDeadline(this.keeper.read(), {
      clock,
      ms: connectTimeoutMs,
      onTimeout: () =>
        new WatchError('STATE_IO', `reading the position of ${this.topic} took longer than ${connectTimeoutMs} ms`),
      signal: this.stopped.signal,
      onAbort: () => new WatchError('CLOSED', `watch ${this.topic} was closed while starting`),
    });
    if (this.stopped.signal.aborted) throw new WatchError('CLOSED', `watch ${this.topic} was closed while starting`);
    if (stored !== undefined) {
      this.delivery.startAt(stored, false);
    } else {
      const from = this.watchOptions.from ?? this.ctx.options.from;
      if (typeof from === 'number') this.delivery.startAt(from, from > 0);
      else if (from === 'latest') this.startPosition = 'newest-to-ask';
    }
    this.positioned = this.startPosition === 'known';
    const deadline = clock.setTimeout(() => {
      const cause = this.lastError;
      const error = new WatchError(
        cause?.code ?? 'CONNECTION_LOST',
        `watch ${this.topic}: not subscribed within ${connectTimeoutMs} ms${cause === undefined ? '' : ` (last error: ${cause.message})`}`,
        { cause },
      );
      this.settleStart(error);
      void this.stop(error);
    }, connectTimeoutMs);
    const ready = new Promise<void>((resolve, reject) => {
      this.startWaiter = { resolve, reject };
    }).finally(() => deadline.cancel());
    this.attempt();
    return ready;
  }

  status(): WatchStatus {
    const status: WatchStatus = {
      id: this.id,
      topic: this.topic,
      state: this.state,
      live: this.conn?.isLive === true && this.caughtUp && this.phase.is('subscribed'),
      acknowledgedSequenceId: this.delivery.acked,
      lastSequenceId: this.delivery.acked,
    };
    if (this.lastError !== undefined) status.lastErrorCode = this.lastError.code;
    if (this.state === 'reconnecting' && this.nextAttemptAt !== undefined) status.nextAttemptAt = this.nextAttemptAt;
    return status;
  }

  metrics(): WatchMetrics {
    const d = this.delivery;
    const held = this.conn === undefined ? { count: 0, first: undefined } : d.intake.heldBack;
    const catchUp: WatchMetrics['catchUp'] = {
      active: this.conn !== undefined && !(this.conn.isLive && this.caughtUp),
      replayed: this.replayed,
    };
    if (held.first !== undefined) catchUp.targetSequenceId = held.first;
    const m: WatchMetrics = {
      id: this.id,
      topic: this.topic,
      state: this.state,
      delivered: d.delivered,
      acknowledgedSequenceId: d.acked,
      inFlight: d.running,
      buffered: d.size + held.count,
      filtered: d.filtered,
      duplicates: d.duplicates,
      deadLettered: d.deadLettered,
      unknownTypes: d.unknownTypes,
      lateEvents: d.late,
      reconnects: this.reconnects,
      reconnectsByCode: { ...this.reconnectsByCode },
      historyPages: this.historyRequests.pages,
      historyRetries: this.historyRequests.retries,
      historyGoneNothingMissed: this.historyRequests.goneNothingMissed,
      fetched: this.fetching?.fetched ?? 0,
      fetchedGone: this.fetching?.fetchedGone ?? 0,
      catchUp,
    };
    if (d.lastEvent !== undefined) {
      m.lastEventTime = d.lastEvent.time;
      const at = Date.parse(d.lastEvent.time);
      if (!Number.isNaN(at)) m.lagMs = Math.max(0, this.ctx.options.clock.now() - at);
    }
    return m;
  }

  /** The acknowledged position (as `metrics()`'s), undefined until {@link positioned}. */
  get acknowledgedSequenceId(): number | undefined {
    return this.positioned ? this.delivery.acked : undefined;
  }

  get currentState(): WatchState {
    return this.state;
  }

  /**
   * Whether it reported `error` (the one that stopped it) to `onError` itself: every error once subscribed, and a
   * handler's failure at any time; before, its start's rejection carries the error and the owner reports it.
   */
  reported(error: WatchError): boolean {
    return this.lastReported === error;
  }

  /** The public state of the current phase. */
  private get state(): WatchState {
    return PUBLIC_STATE[this.phase.state];
  }

  /**
   * Stops intake, cancels the stream, catch-up and timers, waits up to `closeTimeoutMs` for a running handler, and
   * writes the acknowledged position. A handler that finishes within `closeTimeoutMs` counts (a graceful shutdown
   * does not deliver its event again); its `ctx.signal` aborts when that time is up, and what it settles with after
   * that acknowledges nothing. Idempotent; resolves when nothing of this watch is left running.
   */
  close(): Promise<void> {
    return this.stop(new WatchError('CLOSED', `watch ${this.topic} was closed`));
  }

  /**
   * Stops as `close()` does, for `reason` (a lease lost or handed off), and the watch moves to `closed` without an
   * error (its owner reports the reason). `drain`: waits for every running handler however long it takes (past
   * `closeTimeoutMs`) before its position is written and this resolves — a lease must not go to another member while
   * one still runs. `cut`: the handlers' `ctx.signal` is aborted with `reason`, and what they settle with no longer
   * counts (a lost lease); without it they finish and their acknowledgements are stored (a hand-off's drain).
   */
  stopFor(reason: WatchError, drain: boolean, cut: boolean): Promise<void> {
    return this.stopping.run(() => this.shutDown(reason, false, drain, cut));
  }

  /** Aborts the running handlers' `ctx.signal` after a `stopFor` without `cut` (a lease lost during the drain). */
  cutShort(reason: WatchError): void {
    this.delivery.cutShort(reason);
  }

  private stop(reason: WatchError): Promise<void> {
    const failure = reason.code !== 'CLOSED';
    return this.stopping.run(() => this.shutDown(reason, failure, false, failure));
  }

  private async shutDown(reason: WatchError, failure: boolean, drain: boolean, cut: boolean): Promise<void> {
    // The error first: the 'state' listeners told of the move read it in status() (the manager's state: degraded).
    if (failure) this.lastError = reason;
    this.move('closed', failure ? reason : undefined);
    this.stopped.abort();
    // Before delivery stops (in this same tick): a fetch aborted here is seen as the stop's, never as a failure.
    this.fetching?.close();
    this.dropConnection();
    this.settleStart(reason);
    if (drain) {
      await this.delivery.stop(undefined, cut ? reason : undefined);
      await this.keeper.close();
      return;
    }
    const { clock, closeTimeoutMs } = this.ctx.options;
    const grace = new AbortController();
    const graceSleep = sleep(clock, closeTimeoutMs, grace.signal);
    // A failure cuts the running handlers short at once; a close gives them closeTimeoutMs to finish, and what they
    // acknowledge meanwhile counts. Cut once that grace is over (or all of them settled): what settles after it was
    // abandoned, and its event is delivered again by whoever runs the topic next.
    await this.delivery.stop(graceSleep, cut ? reason : undefined);
    this.delivery.cutShort(reason);
    await Promise.race([this.keeper.close(), graceSleep]);
    grace.abort();
  }

  /**
   * Moves the lifecycle to `next` (throws `INTERNAL` on a move the table does not allow) and tells the manager when
   * the public state changed, with the error behind it.
   */
  private move(next: WatchPhase, cause?: WatchError): void {
    const from = this.state;
    try {
      this.phase.to(next);
    } catch (err) {
      // A bug of the SDK: the watch stops, typed and told, rather than go on in a state no code expects. Never
      // thrown on: a move is made inside stream and timer callbacks, where a throw would leave the watch stuck.
      const error = toWatchError(err, 'INTERNAL', `watch ${this.topic}`);
      this.ctx.log.error(error.message, { topic: this.topic, id: this.id });
      this.report(error, true);
      void this.stop(error);
      return;
    }
    const to = this.state;
    if (from !== to) this.ctx.stateChanged(this, from, to, cause);
  }

  /** Starts an attempt; an unexpected throw in it stops the watch typed instead of an unhandled rejection. */
  private attempt(): void {
    this.connect().catch((err: unknown) => this.giveUp(toWatchError(err, 'INTERNAL', `watch ${this.topic}`)));
  }

  private settleStart(error?: WatchError): void {
    const waiter = this.startWaiter;
    this.startWaiter = undefined;
    if (waiter === undefined) return;
    if (error === undefined) waiter.resolve();
    else waiter.reject(error);
  }

  /** The service broke the ascending order: the next catch-up reads again from `from` (see {@link rereadFrom}). */
  private suspect(from: number): void {
    this.rereadFrom = Math.min(this.rereadFrom ?? from, from);
  }

  private dropConnection(): void {
    const conn = this.conn;
    this.conn = undefined;
    if (conn === undefined) return;
    conn.close();
  }

  private async connect(): Promise<void> {
    if (this.stopped.signal.aborted) return;
    // A first attempt (after the position was read, or after a failed first attempt) is `connecting`; one after a
    // lost subscription stays `reconnecting` until it is subscribed.
    if (!this.phase.is('reconnecting')) this.move('connecting');
    let token: { token: string; fresh: boolean };
    try {
      token = await this.ctx.tokens.current(this.nextToken === 'fresh');
    } catch (err) {
      this.failed(toWatchError(err, 'TOKEN_UNAVAILABLE', 'getToken failed'));
      return;
    }
    if (this.stopped.signal.aborted) return;
    this.nextToken = 'held';
    if (this.startPosition === 'newest-to-ask') {
      // from: 'latest' (the reference SDK's behaviour): start after the newest event, replay nothing. Asked before
      // the stream opens, so that whatever is published from here on is delivered (by catch-up or live), and
      // written at once, so that a restart before the first event does not skip what came meanwhile.
      try {
        this.delivery.startAt(await this.ctx.history().newest(this.topic, this.stopped.signal), true);
        this.startPosition = 'known';
        this.positioned = true;
      } catch (err) {
        this.failed(toWatchError(err, 'HISTORY_UNAVAILABLE', `newest event of ${this.topic}`));
        return;
      }
      if (this.stopped.signal.aborted) return;
    }
    this.replayed = 0;
    this.caughtUp = false;
    const conn: TopicConnection = new TopicConnection({
      client: this.ctx.client(),
      topic: this.topic,
      options: this.ctx.options,
      log: this.ctx.log,
      intake: this.delivery.intake,
      tokens: this.ctx.tokens,
      agentStatus: this.agentStatus,
      onReady: (c) => this.onReady(c),
      onEnd: (c, error) => this.onEnd(c, error, token.fresh),
    });
    this.conn = conn;
    conn.open(token.token);
    void this.handOver(conn);
  }

  /** Catch-up, then the switch to live events. Runs once per connection. */
  private async handOver(conn: TopicConnection): Promise<void> {
    const { options } = this.ctx;
    const signal = conn.signal;
    this.connectionFrom = Math.min(this.delivery.acked, this.rereadFrom ?? this.delivery.acked);
    let suspected = false;
    this.catchUpStarted = options.clock.now();
    const resetTo = this.resetTo;
    if (resetTo !== undefined) {
      // Told once (the resync whose reset failed): stored now, then the catch-up reads the new sequence from it.
      try {
        await this.keeper.reset(resetTo);
      } catch (err) {
        if (!signal.aborted && conn === this.conn) this.resetFailed(toWatchError(err, 'STATE_IO', this.topic), resetTo);
        return;
      }
      this.resetTo = undefined;
      this.delivery.restartAt(resetTo);
      this.connectionFrom = resetTo;
      if (signal.aborted || conn !== this.conn) return;
    }
    try {
      const history = this.ctx.history();
      await catchUp(
        {
          topic: this.topic,
          history,
          intake: this.delivery.intake,
          pageSize: options.historyPageSize,
          clock: options.clock,
          backoff: options.reconnect,
          signal,
          alive: () => conn.hasShownLife,
          whenAlive: () => conn.whenAlive(),
          report: (e) => this.report(e),
          log: this.ctx.log,
          list: this.watchOptions.resync?.list.bind(this.watchOptions.resync),
          canResync: this.handlers.onResync !== undefined,
          replayed: (n) => void (this.replayed += n),
          requests: this.historyRequests,
          suspect: (from) => {
            suspected = true;
            this.suspect(from);
          },
        },
        this.delivery.acked,
        this.rereadFrom,
      );
      if (!suspected) this.rereadFrom = undefined;
    } catch (err) {
      if (signal.aborted || conn !== this.conn) return;
      this.failed(toWatchError(err, 'HISTORY_UNAVAILABLE', `catch-up of ${this.topic}`));
      return;
    }
    if (conn === this.conn) conn.goLive();
  }

  /**
   * The position could not be moved back to `target` (a restarted sequence): the connection ends (dropping what is
   * queued behind the resync) and the next one stores `target` before its catch-up, reading from it. Told once per
   * attempt, as a retryable error with the store's code.
   */
  private resetFailed(error: WatchError, target: number): void {
    this.resetTo = target;
    if (this.conn === undefined || this.stopped.signal.aborted) return;
    this.failed(
      new WatchError(
        error.code,
        `watch ${this.topic}: the topic's sequence restarted and its stored position could not be moved back to ${target}; delivery waits until it is: ${error.message}`,
        { cause: error, retryable: true },
      ),
    );
  }

  /** The current connection's `live` item ran: the catch-up is over for the application too. */
  private liveReached(): void {
    // A live item of an earlier connection still running when it ended finds the new one not live yet.
    if (this.conn?.isLive !== true || this.caughtUp) return;
    this.caughtUp = true;
    this.ctx.telemetry?.caughtUp(Math.max(0, this.ctx.options.clock.now() - this.catchUpStarted));
  }

  private onReady(conn: TopicConnection): void {
    if (conn !== this.conn) return;
    this.readyAt = this.ctx.options.clock.now();
    this.nextAttemptAt = undefined;
    this.move('subscribed');
    this.fetching?.subscribed();
    this.ctx.log.info('watch subscribed', { topic: this.topic, id: this.id });
    this.settleStart(); // the first subscription resolves start(); later ones find no waiter
  }

  // The failure path: a stream's end is read (onEnd), then every failure of an attempt or of its connection takes the
  // one step `failed`: the verdict (failure-policy.ts), then a retry after a backoff (retryIn) or the stop (giveUp).

  /** The stream of `conn` ended by itself: read its end, then fail the attempt (after asking why, if need be). */
  private onEnd(conn: TopicConnection, error: WatchError, tokenWasFresh: boolean): void {
    if (conn !== this.conn || this.stopped.signal.aborted) return;
    const end = readStreamEnd(this.topic, error, {
      subscribed: conn.isReady,
      shownLife: conn.hasShownLife,
      tokenWasFresh,
    });
    if (end.freshToken) this.nextToken = 'fresh';
    if (!end.diagnose) {
      this.failed(end.error);
      return;
    }
    void this.ctx.diagnose(end.error).then((diagnosed) => {
      if (conn === this.conn && !this.stopped.signal.aborted) this.failed(diagnosed);
    });
  }

  /** The current attempt (or its connection) failed with `error`: retry after a backoff, or stop for good. */
  private failed(error: WatchError): void {
    if (this.stopped.signal.aborted) return;
    const attempt = this.failedAttempt();
    // A passing error ends the connection at once (with what it holds back); a permanent one ends it with the stop.
    if (error.retryable) this.dropConnection();
    if (verdictOn(error, { started: this.phase.hasBeen('subscribed') }) === 'stop') {
      this.giveUp(error);
      return;
    }
    if (backoffStartsOver(attempt, this.ctx.options.reconnect.resetAfterMs)) this.backoff.reset();
    this.retryIn(retryDelayMs(this.backoff.next(), error), error);
  }

  /** What the current attempt achieved, read before its connection goes (none yet: nothing). */
  private failedAttempt(): FailedAttempt {
    const conn = this.conn;
    if (conn === undefined) return { progressed: false, subscribedMs: undefined };
    const { clock } = this.ctx.options;
    return {
      progressed: conn.isLive || this.replayed > 0,
      subscribedMs: conn.isReady && this.readyAt !== undefined ? clock.now() - this.readyAt : undefined,
    };
  }

  /** Tells the failure (`reconnecting` once subscribed before, else `retrying`) and attempts again after `delay` ms. */
  private retryIn(delay: number, error: WatchError): void {
    const { clock } = this.ctx.options;
    if (this.phase.hasBeen('subscribed')) {
      this.reconnects += 1;
      this.reconnectsByCode[error.code] = (this.reconnectsByCode[error.code] ?? 0) + 1;
    }
    this.nextAttemptAt = clock.now() + delay;
    this.report(error);
    this.move(this.phase.hasBeen('subscribed') ? 'reconnecting' : 'retrying', error);
    this.ctx.log.info(`watch reconnecting in ${delay} ms`, {
      topic: this.topic,
      code: error.code,
      attempt: this.backoff.attempts,
    });
    // Ref'd: while a watch waits to reconnect, nothing else may keep the process alive, and an open watch must.
    void sleep(clock, delay, this.stopped.signal, { ref: true }).then((elapsed) => {
      if (elapsed) this.attempt();
    });
  }

  /** A permanent failure: tell the application, then stop the watch. */
  private giveUp(error: WatchError): void {
    this.report(error);
    void this.stop(error);
  }

  /**
   * A handler failed for good (`HANDLER_FAILED`): the watch stops. Told one way whenever it happens, `onError` and the
   * `'state'` event, also in a catch-up before the subscription was accepted: the start resolves, never rejects.
   */
  private handlerFailed(error: WatchError): void {
    this.report(error, true);
    this.settleStart();
    void this.stop(error);
  }

  /**
   * Tells the application. Before the start resolves, a failed attempt reaches the caller through the start's
   * rejection (the last error) instead; `always` errors (a failed save, a broken order) are not about the attempt
   * and go to `onError` at once.
   */
  private report(error: WatchError, always = false): void {
    this.lastError = error;
    if (!this.phase.hasBeen('subscribed') && !always) return;
    this.lastReported = error;
    try {
      this.handlers.onError?.(error);
    } catch (err) {
      this.ctx.log.error('onError handler threw', {
        topic: this.topic,
        error: errorMessage(err),
      });
    }
  }
}
