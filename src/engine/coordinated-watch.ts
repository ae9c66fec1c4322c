import { HandlerContext } from '../delivery/event-context';
import type { EventContext, RoutedHandlers } from '../delivery/watch-handlers';
import { WatchError, errorMessage, toWatchError } from '../core/errors';
import { addCounts, zeroCounts, type WatchCounts } from '../core/watch-counters';
import { verdictOn } from './failure-policy';
import { LEASE_TRANSITIONS, type LeasePhase } from './lease-lifecycle';
import type { Log } from '../logging/logger';
import type { ManagedWatch } from './managed-watch';
import type { Coordinator, TopicLease } from '../state/coordinator';
import { StateMachine } from '../core/state-machine';
import { Once } from '../core/once';
import type { TopicWatch } from './topic-watch';
import { AgentStatusFeed } from '../transport/stream-feeds';
import type { LeaseChange, WatchEvent, WatchMetrics, WatchState, WatchStatus } from '../core/types';

/** Dependencies a {@link CoordinatedWatch} gets from its manager. */
export interface CoordinatedWatchContext {
  coordinator: Coordinator;
  /**
   * Makes the engine of one lease: its positions kept under the lease's fence, `ctx.fencingToken` its epoch, these
   * handlers, this agent status, and its state changes told to `changed`.
   */
  engine(
    lease: TopicLease,
    handlers: RoutedHandlers,
    agentStatus: AgentStatusFeed,
    changed: (from: WatchState, to: WatchState, error: WatchError | undefined) => void,
  ): TopicWatch;
  /**
   * The key whose lease it claims: its topic by default. A resource cache claims `<topic>#cache` (a self link never
   * holds `#`), so that its lease and a `registerWatch` of the same topic are apart.
   */
  claimKey?: string;
  /**
   * Runs after a lease is won and before its engine starts (a cache loads its store under the lease): its failure is
   * the engine's start failing.
   */
  prepare?(lease: TopicLease): Promise<void>;
  /**
   * Runs after a lease's engine stopped and before the lease is let go (a cache writes what it has pending under the
   * lease still held). Given up on when the lease ends meanwhile.
   */
  finish?(lease: TopicLease): Promise<void>;
  /** Called on every public state change of this watch. */
  stateChanged(watch: ManagedWatch, from: WatchState, to: WatchState, error: WatchError | undefined): void;
  /** Called when a lease of its topic was won, lost or let go here. */
  leaseChanged(change: LeaseChange): void;
  log: Log;
}

/**
 * A watch under a coordinator: it claims its topic and runs an engine ({@link TopicWatch}) only while this member
 * holds the topic's lease: one engine per lease, its positions written under that lease's fence and its handlers
 * given the epoch as `ctx.fencingToken`. A lost lease stops the engine at once (its handlers' `ctx.signal` aborted,
 * `LEASE_LOST` told to `onError`); a hand-off lets the running handlers finish and stores the position before the
 * lease is released (drain, commit, release). The next lease waits until the last engine stopped, so that no two
 * engines of one topic ever run here at once.
 */
export class CoordinatedWatch implements ManagedWatch {
  readonly agentStatus = new AgentStatusFeed();
  private readonly phase: StateMachine<LeasePhase>;
  private current: { lease: TopicLease; engine: TopicWatch } | undefined;
  private withdraw: (() => Promise<void>) | undefined;
  /** Settles when the last engine stopped and its lease was let go. */
  private steppingDown: Promise<void> = Promise.resolve();
  private readonly stopping = new Once();
  /** Aborted when the watch stops: a start still waiting for the coordinator gives up waiting. */
  private readonly stopped = new AbortController();
  private lastError: WatchError | undefined;
  /** The position as last known here: the lease's when won, the engine's when it stopped. */
  private position = 0;
  /** The counters of the engines of earlier leases. */
  private readonly past: WatchCounts = zeroCounts();

  constructor(
    readonly id: string,
    readonly topic: string,
    private readonly handlers: RoutedHandlers,
    private readonly transaction: boolean,
    private readonly ctx: CoordinatedWatchContext,
  ) {
    this.phase = new StateMachine<LeasePhase>(`watch ${topic}`, 'idle', LEASE_TRANSITIONS);
  }

  get currentState(): WatchState {
    switch (this.phase.state) {
      case 'idle':
      case 'joining':
        return 'connecting';
      case 'active': {
        const state = this.current?.engine.currentState ?? 'connecting';
        return state === 'closed' ? 'standby' : state;
      }
      case 'closed':
        return 'closed';
      default:
        return 'standby';
    }
  }

  /**
   * Starts the coordinator (its typed errors reject this) and claims the topic; resolves standing by. Closed
   * meanwhile: rejects `CLOSED` at once, however long the coordinator still takes (a database that never answers).
   */
  async start(): Promise<void> {
    this.move('joining');
    const { signal } = this.stopped;
    const closed = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    try {
      await Promise.race([this.ctx.coordinator.start(), closed]);
    } catch (err) {
      if (!this.phase.is('closed')) {
        const error = toWatchError(err, 'STATE_IO', `the coordinator of ${this.topic}`);
        void this.stop(error);
        throw error;
      }
    }
    if (this.phase.is('closed')) throw new WatchError('CLOSED', `watch ${this.topic} was closed while starting`);
    this.move('standby');
    this.withdraw = this.ctx.coordinator.claim(
      this.claimKey,
      (lease) => void this.won(lease),
      (error) => this.claimFailed(error),
    );
  }

  status(): WatchStatus {
    const cur = this.phase.is('active') ? this.current : undefined;
    // An engine that drains (a hand-off) acknowledges on until it stops: its position, not the lease's older one, as
    // metrics() shows it (a position never goes back).
    const position = Math.max(this.position, this.current?.engine.metrics().acknowledgedSequenceId ?? 0);
    const status: WatchStatus =
      cur === undefined
        ? {
            id: this.id,
            topic: this.topic,
            state: this.currentState,
            live: false,
            acknowledgedSequenceId: position,
            lastSequenceId: position,
          }
        : { ...cur.engine.status(), state: this.currentState };
    if (status.lastErrorCode === undefined && this.lastError !== undefined) status.lastErrorCode = this.lastError.code;
    // A standby watch waits for another member; when none runs the topic, health() must see it.
    const seen =
      cur === undefined && !this.phase.is('closed') ? this.ctx.coordinator.observed(this.claimKey) : undefined;
    if (seen?.stalled !== undefined) status.stalled = seen.stalled;
    return { ...status, ...this.role(cur) };
  }

  metrics(): WatchMetrics {
    // An engine that stops (draining) still counts until it is retired: counters never go back.
    const cur = this.current;
    const m: WatchMetrics =
      cur === undefined
        ? {
            id: this.id,
            topic: this.topic,
            state: this.currentState,
            ...this.past,
            reconnectsByCode: { ...this.past.reconnectsByCode },
            acknowledgedSequenceId: this.position,
            inFlight: 0,
            buffered: 0,
            catchUp: { active: false, replayed: 0 },
          }
        : { ...cur.engine.metrics(), state: this.currentState };
    if (cur !== undefined) addCounts(m, this.past);
    return { ...m, ...this.role(this.phase.is('active') ? cur : undefined) };
  }

  close(): Promise<void> {
    return this.stop(new WatchError('CLOSED', `watch ${this.topic} was closed`));
  }

  private role(cur: { lease: TopicLease } | undefined): Pick<WatchStatus, 'role' | 'owner' | 'epoch'> {
    if (cur !== undefined) return { role: 'active', owner: cur.lease.owner, epoch: cur.lease.epoch };
    const seen = this.ctx.coordinator.observed(this.claimKey);
    if (seen === undefined) return { role: 'standby' };
    return seen.owner === undefined
      ? { role: 'standby', epoch: seen.epoch }
      : { role: 'standby', owner: seen.owner, epoch: seen.epoch };
  }

  /** Won a lease: once the last engine stopped, runs a new one under it. */
  private async won(lease: TopicLease): Promise<void> {
    await this.steppingDown;
    if (!this.phase.is('standby') || lease.signal.aborted) {
      await lease.release();
      return;
    }
    this.position = Math.max(this.position, lease.position ?? 0);
    let handlers: RoutedHandlers;
    try {
      handlers = this.transaction ? this.transactional(lease) : this.handlers;
    } catch (err) {
      await lease.release();
      this.giveUp(toWatchError(err, 'INVALID_CONFIG', `watch ${this.topic}`), true);
      return;
    }
    const engine: TopicWatch = this.ctx.engine(lease, handlers, this.agentStatus, (from, to, error) =>
      this.engineChanged(engine, from, to, error),
    );
    this.current = { lease, engine };
    this.move('active');
    this.announce('won', lease);
    this.ctx.log.info('lease won: the topic runs here', { topic: this.topic, epoch: lease.epoch, owner: lease.owner });
    lease.signal.addEventListener('abort', () => this.lost(lease, engine), { once: true });
    lease.onHandOff(() => this.stepDown(lease, engine, 'handed-off'));
    // A listener told of the win may have closed the watch (or the lease ended) meanwhile: the engine never starts.
    if (!this.phase.is('active') || this.current?.engine !== engine) return;
    const started =
      this.ctx.prepare === undefined
        ? engine.start()
        : this.ctx.prepare(lease).then(() => {
            // Lost or closed while preparing: the engine was stopped before it started, and never starts.
            if (this.current?.engine !== engine || !this.phase.is('active'))
              throw new WatchError('LEASE_LOST', `the lease of ${this.topic} ended before its engine started`);
            return engine.start();
          });
    started.catch((err: unknown) => this.engineFailed(engine, toWatchError(err, 'INTERNAL', this.topic), false));
  }

  /** {@link CoordinatedWatchContext.finish}, at most until the lease ends; its failure is its own to tell. */
  private async finish(lease: TopicLease): Promise<void> {
    if (this.ctx.finish === undefined || lease.signal.aborted) return;
    const ended = new Promise<void>((resolve) =>
      lease.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
    await Promise.race([this.ctx.finish(lease).catch(() => undefined), ended]);
  }

  private get claimKey(): string {
    return this.ctx.claimKey ?? this.topic;
  }

  private lost(lease: TopicLease, engine: TopicWatch): void {
    const error =
      this.lostWith(lease) ??
      new WatchError('LEASE_LOST', `the lease of ${this.topic} ended: ${errorMessage(lease.signal.reason)}`);
    // Lost while a hand-off drains: the handlers still running are no longer fenced, so they are cut short now.
    if (this.current?.engine === engine && this.phase.is('stepping-down')) engine.cutShort(error);
    this.stepDown(lease, engine, 'lost', error);
  }

  /**
   * The engine stops. A lost lease: at once, told to `onError` and the `'lease'` listeners. A hand-off (or an
   * engine that could not subscribe): the handlers finish and the position is stored under the lease still held,
   * then it is released.
   */
  private stepDown(lease: TopicLease, engine: TopicWatch, how: 'lost' | 'handed-off', error?: WatchError): void {
    if (this.current?.engine !== engine || !this.phase.is('active')) return;
    this.move('stepping-down', how === 'lost' ? error : undefined);
    if (how === 'lost' && error !== undefined) {
      this.ctx.log.warn(error.message, { topic: this.topic, epoch: lease.epoch });
      this.announce('lost', lease, error);
      this.report(error);
    }
    const reason =
      error ?? new WatchError('LEASE_LOST', `watch ${this.topic}: handed over to another member (rebalancing)`);
    this.steppingDown = (async () => {
      // Every handler ends first, however long it runs (past closeTimeoutMs), and its position is stored under the
      // lease still held (and renewed): the topic never runs on another member, or in a new engine here, meanwhile.
      // A hand-off lets them finish (what they acknowledge counts); a lost lease aborts their ctx.signal at once.
      await engine.stopFor(reason, true, how === 'lost');
      if (how === 'handed-off') await this.finish(lease);
      this.retire(engine);
      this.current = undefined;
      if (how === 'handed-off') {
        const ended = this.lostWith(lease);
        if (ended !== undefined) {
          // Lost while it drained (the lease ran out, the position write was fenced off): said as lost, not released.
          this.announce('lost', lease, ended);
          this.report(ended);
        } else {
          await lease.release();
          this.announce('released', lease);
        }
      }
      if (this.phase.is('stepping-down')) this.move('standby');
    })();
  }

  /**
   * The engine stopped by itself, or could not subscribe. Retryable (not subscribed within `connectTimeoutMs`): the
   * lease is let go for another member or a later round. Permanent (a topic not found, a handler failed): the same
   * on every member, so the watch stops as it would without a coordinator.
   */
  private engineFailed(engine: TopicWatch, error: WatchError, reported: boolean): void {
    const cur = this.current;
    if (cur?.engine !== engine || !this.phase.is('active')) return;
    // Started: this watch's start resolved (standing by) before any lease ran an engine.
    if (verdictOn(error, { started: true }) === 'stop') {
      this.giveUp(error, !reported);
      return;
    }
    this.report(error);
    this.stepDown(cur.lease, engine, 'handed-off');
  }

  private engineChanged(engine: TopicWatch, from: WatchState, to: WatchState, error: WatchError | undefined): void {
    if (this.current?.engine !== engine || !this.phase.is('active')) return;
    if (to === 'closed') {
      // An engine stops by itself only for a permanent error (told to onError by it once it was subscribed, or a
      // handler's failure; else its start's rejection carries it, and this watch tells): the watch stops.
      if (error !== undefined) this.engineFailed(engine, error, engine.reported(error));
      return;
    }
    this.ctx.stateChanged(this, from === 'closed' ? 'standby' : from, to, error);
  }

  /** The counters and position of an engine that stopped, kept for the next. */
  private retire(engine: TopicWatch): void {
    const m = engine.metrics();
    addCounts(this.past, m);
    this.position = Math.max(this.position, m.acknowledgedSequenceId);
  }

  /** Handlers whose every event runs in a transaction of the lease that also stores its position. */
  private transactional(lease: TopicLease): RoutedHandlers {
    const transaction = lease.transaction?.bind(lease);
    if (transaction === undefined)
      throw new WatchError(
        'INVALID_CONFIG',
        "invalid argument 'options.transaction': the coordinator has no transactions",
      );
    const handlers = this.handlers;
    const wrapped: RoutedHandlers = {
      onEvent: (event: WatchEvent, ctx: EventContext) =>
        transaction(event.sequenceId, async (client) => {
          const inTransaction = new HandlerContext(ctx.topic, ctx.sequenceId, ctx.fencingToken, ctx.signal, client);
          await handlers.onEvent(event, inTransaction);
          // Returned after its signal aborted (it may have cut its work short): rolled back, never committed with the
          // event's position, so whoever runs the topic next handles it again.
          if (ctx.signal.aborted) throw ctx.signal.reason;
        }),
    };
    if (handlers.onError !== undefined) wrapped.onError = (e) => handlers.onError?.(e);
    if (handlers.onLive !== undefined) wrapped.onLive = (t) => handlers.onLive?.(t);
    if (handlers.onResync !== undefined) wrapped.onResync = (n) => handlers.onResync?.(n);
    return wrapped;
  }

  /**
   * The coordinator cannot run this topic on any member (its lease row is corrupt: the lease was given back, and the
   * topic is not tried again): told as a lease let go with the code, and the watch stops, as for any permanent error.
   */
  private claimFailed(error: WatchError): void {
    this.ctx.log.error(error.message, { topic: this.topic });
    const owner = this.ctx.coordinator.memberId;
    this.ctx.leaseChanged({
      watchId: this.id,
      topic: this.topic,
      kind: 'released',
      epoch: 0,
      owner,
      errorCode: error.code,
    });
    this.giveUp(error, true);
  }

  private giveUp(error: WatchError, report: boolean): void {
    if (report) this.report(error);
    void this.stop(error);
  }

  private stop(reason: WatchError): Promise<void> {
    return this.stopping.run(() => this.shutDown(reason));
  }

  private async shutDown(reason: WatchError): Promise<void> {
    this.stopped.abort();
    const failure = reason.code !== 'CLOSED';
    if (failure) this.lastError = reason;
    const cur = this.phase.is('active') ? this.current : undefined;
    this.move('closed', failure ? reason : undefined);
    if (cur !== undefined) {
      // Handlers finish (up to closeTimeoutMs, as without a coordinator) and the position is stored under the lease,
      // then the claim goes and the lease with it.
      await cur.engine.close();
      await this.finish(cur.lease);
      this.retire(cur.engine);
      this.current = undefined;
    }
    await this.steppingDown;
    const ended = cur === undefined ? undefined : this.lostWith(cur.lease);
    await this.withdraw?.();
    if (cur === undefined) return;
    if (ended !== undefined) this.announce('lost', cur.lease, ended);
    else this.announce('released', cur.lease, failure ? reason : undefined);
  }

  /** Why `lease` ended before this watch let it go, if it did (it ran out, or a write was fenced off). */
  private lostWith(lease: TopicLease): WatchError | undefined {
    const reason: unknown = lease.signal.reason;
    return lease.signal.aborted && reason instanceof WatchError ? reason : undefined;
  }

  private report(error: WatchError): void {
    this.lastError = error;
    try {
      this.handlers.onError?.(error);
    } catch (err) {
      this.ctx.log.error('onError handler threw', { topic: this.topic, error: errorMessage(err) });
    }
  }

  /** Announces a lease change of this watch to the manager's `'lease'` listeners. */
  private announce(kind: LeaseChange['kind'], lease: TopicLease, error?: WatchError): void {
    const change: LeaseChange = { watchId: this.id, topic: this.topic, kind, epoch: lease.epoch, owner: lease.owner };
    if (error !== undefined) change.errorCode = error.code;
    this.ctx.leaseChanged(change);
  }

  /** Moves the phase and tells the manager when the public state changed. An illegal move stops the watch typed. */
  private move(next: LeasePhase, cause?: WatchError): void {
    const from = this.currentState;
    try {
      this.phase.to(next);
    } catch (err) {
      const error = toWatchError(err, 'INTERNAL', `watch ${this.topic}`);
      this.ctx.log.error(error.message, { topic: this.topic, id: this.id });
      this.giveUp(error, true);
      return;
    }
    const to = this.currentState;
    if (from !== to) this.ctx.stateChanged(this, from, to, cause);
  }
}
