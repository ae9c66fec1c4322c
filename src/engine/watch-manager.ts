import { EventEmitter } from 'node:events';
import { DeadLetterSpool } from '../delivery/dead-letter-spool';
import { WatchError, errorMessage, toWatchError } from '../core/errors';
import { channelRoute, createWatchClient, type ChannelRoute, type WatchClient } from '../transport/grpc-channel';
import { proxyForUrl, type ProxyEndpoint } from '../config/proxy';
import { isStandaloneCredentialsToken, managerCredentialsToken } from '../auth/client-credentials';
import { probeProxy } from '../transport/proxy-probe';
import { createLog, type Log } from '../logging/logger';
import { selfLink as checkSelfLink } from '../core/option-checks';
import {
  checkAgentStatus,
  checkFieldsRead,
  checkHandlers,
  checkOptionHome,
  resolveIterateOptions,
} from './manager-arguments';
import { resolveOptions, type ResolvedOptions, type WatchManagerOptions } from '../config/options';
import { attachTelemetry } from '../telemetry/guarded-link';
import { warnIfEndOfLife } from '../core/node-support';
import type { TelemetryLink } from '../telemetry/watch-telemetry';
import { TokenRefresher } from '../auth/token-refresher';
import type { RoutedHandlers, WatchHandlers } from '../delivery/watch-handlers';
import { KindDispatch } from '../delivery/kind-dispatch';
import { warnUncoveredKinds } from './kind-coverage';
import type { Consumer } from '../delivery/delivery';
import { HistoryClient } from '../history/history-client';
import type { HistorySource } from '../history/history-source';
import { HttpTransport } from '../transport/http-transport';
import { HttpResourceClient } from '../resources/http-resource-client';
import type { ResourceClient } from '../resources/resource-client';
import { resolveWatchOptions, type WatchOptions } from '../config/watch-options';
import { TopicWatch, type TopicWatchContext, type WatchWiring } from './topic-watch';
import { WatchIterator } from '../delivery/watch-iterator';
import type { IterateOptions, WatchLoop } from '../delivery/watch-loop';
import type {
  AgentStatus,
  LeaseChange,
  ManagerState,
  ManagerStatus,
  StateChange,
  WatchMetrics,
  WatchState,
  WatchStatus,
} from '../core/types';
import { CoordinatedWatch } from './coordinated-watch';
import type { ManagedWatch } from './managed-watch';
import type { Coordinator, CoordinatorTrouble, TopicLease } from '../state/coordinator';
import { LeasePositions } from '../state/lease-positions';
import type { AgentStatusFeed } from '../transport/stream-feeds';
import { VERSION } from '../core/version';
import type { HealthReport } from '../health/health-report';
import { ManagerHealth } from './manager-health';
import type { Resource } from '../core/resource';
import { resolveCacheOptions, type CacheOptions } from '../config/cache-options';
import { TopicCache, type CacheLeaseHooks, type CacheWatch } from '../cache/topic-cache';
import type { ResourceCache } from '../cache/resource-cache';
import { MemoryResourceStore } from '../state/memory-resource-store';
import type { ResourceStore } from '../state/resource-store';
import type { SequenceProvider } from '../state/sequence-provider';

/** The events a {@link WatchManager} emits. */
export interface WatchManagerEvents {
  /** A watch changed state (connecting → subscribed → reconnecting → … → closed; with a coordinator also standby). */
  state: [change: StateChange];
  /** With a coordinator: a lease of a watch's topic was won, lost or let go by this member. */
  lease: [change: LeaseChange];
}

/** A registered watch, as {@link WatchManager.registerWatch} hands it out. */
export interface Subscription {
  /** Unique within its manager. */
  readonly id: string;
  /** The WatchTopic self link. */
  readonly topic: string;
  /** Closes this watch only; same as `manager.closeWatch(id)`. */
  close(): Promise<void>;
}

/** Coordinators given to a manager, for good: the first of two managers to close would close a shared one. */
const coordinatorsTaken = new WeakSet<Coordinator>();

// How long the diagnosis of a proxied failure may wait for the proxy's answer to CONNECT: long enough for a busy
// proxy, short enough that a refusal is reported well within the 10 s a user waits for a typed error.
const PROBE_TIMEOUT_MS = 5_000;

/**
 * Subscribes to resource-change events of a watch service, one `subscribe` stream per WatchTopic over one shared
 * gRPC channel, with in-stream token refresh, ping answers, HTTP/2 keepalive and reconnects.
 *
 * ```ts
 * const manager = new WatchManager({ target: 'apicentral.axway.com:443', tenantId, getToken });
 * await manager.registerWatch('/management/v1alpha1/watchtopics/my-topic', {
 *   onEvent: async (event) => { await apply(event); },
 * });
 * ```
 */
export class WatchManager extends EventEmitter<WatchManagerEvents> {
  private readonly options: ResolvedOptions;
  private readonly log: Log;
  private readonly tokens: TokenRefresher;
  private readonly watches = new Map<string, ManagedWatch>();
  /** The resource caches (`cache()`), by id; their watches are theirs, apart from `watches`. */
  private readonly caches = new Map<string, TopicCache>();
  /** The stores of every cache made here, closed once each by close() (several caches may share one). */
  private readonly cacheStores = new Set<ResourceStore>();
  /** The `for await` loop each watch of `watch()` feeds: told when its watch closes from elsewhere. */
  private readonly loops = new WeakMap<ManagedWatch, Pick<WatchIterator, 'watchClosed'>>();
  /** Each watch's check of its `kinds` against its WatchTopic (see checkKinds): aborted when the watch closes. */
  private readonly kindChecks = new Map<ManagedWatch, AbortController>();
  private client: WatchClient | undefined;
  private readonly route: ChannelRoute;
  private probing: Promise<WatchError | undefined> | undefined;
  /** Aborted by close(): ends a proxy probe still waiting. */
  private readonly closed = new AbortController();
  private readonly historyProxy: ProxyEndpoint | undefined;
  private history: HistorySource | undefined;
  private readonly apiProxy: ProxyEndpoint | undefined;
  private resourceClient: HttpResourceClient | undefined;
  /** The dead-letter spool (`deadLetterDir`): list, redrive and remove set-aside events. Undefined without one. */
  readonly deadLetters: DeadLetterSpool | undefined;
  private nextId = 1;
  private closing: Promise<void> | undefined;
  private isClosed = false;
  /** Where metrics go besides metrics(), with the `telemetry` option. */
  private readonly telemetry: TelemetryLink | undefined;
  /** Watches whose last counters went to the telemetry already (a watch leaves once, however it closed). */
  private readonly retired = new WeakSet<ManagedWatch>();
  private readonly healthCheck: ManagerHealth;

  /** Validates `options` (throws `WatchError` `INVALID_CONFIG` naming the field) and starts nothing yet. */
  constructor(options: WatchManagerOptions) {
    super();
    // Once per process, before anything can fail: an agent on an ended Node.js line hears of it at start.
    warnIfEndOfLife();
    checkOptionHome(options, 'new WatchManager(...)');
    this.options = resolveOptions(options, VERSION, managerCredentialsToken);
    const { coordinator } = this.options;
    if (coordinator !== undefined) refuseTaken(coordinator);
    this.log = createLog(this.options.logger);
    if (isStandaloneCredentialsToken(options.getToken) && (options.proxy !== undefined || options.tls !== undefined)) {
      // Before, such a getter silently took this manager's settings; now only `clientCredentials` does.
      this.log.warn(
        "getToken was made by clientCredentialsToken: its token requests use its own proxy and TLS options, not this manager's; give the credentials as the clientCredentials option to share them",
      );
    }
    // Proxy decisions are made here, once, so that a bad proxy variable fails the constructor like a bad option.
    this.route = channelRoute(this.options);
    this.historyProxy = proxyForUrl(this.options.proxy, this.options.proxyEnv, this.options.historyUrl);
    this.apiProxy = proxyForUrl(this.options.proxy, this.options.proxyEnv, this.options.apiUrl);
    this.deadLetters =
      this.options.deadLetterDir === undefined ? undefined : new DeadLetterSpool(this.options.deadLetterDir);
    this.tokens = new TokenRefresher({
      getToken: this.options.getToken,
      timeoutMs: this.options.tokenTimeoutMs,
      fallbackRefreshMs: this.options.tokenRefreshIntervalMs,
      backoff: this.options.reconnect,
      clock: this.options.clock,
      log: this.log,
    });
    this.healthCheck = new ManagerHealth({
      statuses: () => this.status().watches,
      coordinator,
      clock: this.options.clock,
      connectTimeoutMs: this.options.connectTimeoutMs,
      isClosed: () => this.isClosed,
    });
    // Last: a constructor that throws after this would leave the backend reading a manager that never ran.
    this.telemetry =
      this.options.telemetry === undefined
        ? undefined
        : attachTelemetry(this.options.telemetry, () => this.metrics().watches, this.log);
    // Once nothing can throw any more: a manager that was never made holds no coordinator.
    if (coordinator !== undefined) coordinatorsTaken.add(coordinator);
  }

  /**
   * Starts watching `selfLink`: delivery resumes after the topic's stored position (or starts per `from`), replays
   * what was missed from the history API, then follows live events. Resolves once the service accepted the
   * subscription (or once a handler failed before that: the watch then stopped, see below). Rejects only with:
   * - `INVALID_CONFIG`: a bad self link, handlers or option; the topic already watched here; `transaction` without a
   *   transactional coordinator;
   * - `STATE_CORRUPT`, `STATE_IO`, `STATE_LOCKED`: the stored position cannot be read (a `SequenceProvider` of your
   *   own rejects with its own `WatchError` code, or `STATE_IO`);
   * - `UNAUTHENTICATED`, `PERMISSION_DENIED`, `TOPIC_NOT_FOUND`, `PROTOCOL`: the service (or its history API) refused
   *   for good, or broke the wire contract; `HISTORY_GONE`: the position was purged and there is no `onResync`;
   * - `PROXY_AUTH`, `PROXY_REFUSED`, `PROXY_UNREACHABLE`: at once;
   * - not subscribed within `connectTimeoutMs`: the last retryable error's code (`CONNECTION_LOST`,
   *   `TOKEN_UNAVAILABLE`, `TOKEN_EXPIRED`, `HISTORY_UNAVAILABLE`, `PROTOCOL`), `CONNECTION_LOST` if there was none;
   * - `CLOSED`: the manager or the watch was closed (before or while it started); `INTERNAL`: a bug of this SDK.
   *
   * Never with `HANDLER_FAILED`: a handler's failure reaches `handlers.onError` and the `'state'` event only, whenever
   * it happens (also in the first catch-up, before the service accepted the stream: then this resolves with a watch
   * already stopped). After it resolves, every error goes to `handlers.onError`.
   *
   * With a `coordinator`, it resolves once the coordinator started and the topic is claimed (the watch stands by);
   * the watch runs here only while this member holds the topic's lease (`'lease'` events, `status().watches[i].role`).
   * Besides `INVALID_CONFIG` and `CLOSED` above, only the coordinator's start rejects it: `STATE_IO` (database
   * unreachable, credentials refused: naming `connectionString`) or `INVALID_CONFIG` (missing privileges: naming
   * `schema`); every error of a lease's engine goes to `handlers.onError`.
   *
   * `T` is what `options.resync.list` lists, inferred from it: `onResync` reads `notice.snapshot` as `T[]`. A `list`
   * that takes the topic needs its parameter typed (`(topic: string) => …`): the handlers come before the options, so
   * an untyped one is inferred too late (give `T` explicitly then: `registerWatch<Api>(…)`).
   */
  registerWatch<T = unknown>(
    selfLink: string,
    handlers: WatchHandlers<T>,
    options: WatchOptions<T> = {},
  ): Promise<Subscription> {
    return this.register(selfLink, handlers, options, { liveWaitsForAcks: true });
  }

  private async register(
    selfLink: string,
    handlers: WatchHandlers,
    options: WatchOptions,
    consumer: Consumer,
    created?: (watch: ManagedWatch) => void,
  ): Promise<Subscription> {
    if (this.isClosed) throw new WatchError('CLOSED', 'the watch manager is closed');
    checkSelfLink(selfLink);
    checkHandlers(handlers);
    // watch() hands over options of its own making: only registerWatch's can hold another call's.
    checkOptionHome(options, 'registerWatch(...)');
    const resolved = resolveWatchOptions(options);
    checkFieldsRead(handlers, resolved.fetch);
    for (const existing of this.watches.values()) {
      if (existing.topic === selfLink && existing.currentState !== 'closed') {
        throw new WatchError(
          'INVALID_CONFIG',
          `invalid argument 'selfLink': ${selfLink} is already watched by ${existing.id}`,
        );
      }
    }
    const { coordinator } = this.options;
    if (coordinator !== undefined && consumer.sink !== undefined)
      throw new WatchError(
        'INVALID_CONFIG',
        'watch() (for await) is not coordinated: use registerWatch with a coordinator',
      );
    if (resolved.transaction && coordinator?.transactional !== true)
      throw new WatchError(
        'INVALID_CONFIG',
        "invalid argument 'options.transaction': needs a coordinator with transactions (PostgresCoordinator)",
      );
    const id = `watch-${this.nextId++}`;
    // Handlers per kind become one onEvent here, so that every engine (and a transaction around it) runs one.
    const dispatch = handlers.kinds === undefined ? undefined : new KindDispatch(handlers);
    const routed: RoutedHandlers = dispatch === undefined ? (handlers as RoutedHandlers) : dispatch.routed();
    const watchOptions: WatchWiring = { ...resolved, ...consumer, ...(dispatch === undefined ? {} : { dispatch }) };
    const watch: ManagedWatch =
      coordinator === undefined
        ? new TopicWatch(id, selfLink, routed, watchOptions, {
            ...this.engineContext(selfLink),
            positions: this.options.sequenceProvider,
            stateChanged: (w, from, to, error) => this.stateChanged(w, from, to, error),
          })
        : new CoordinatedWatch(id, selfLink, routed, resolved.transaction, {
            coordinator,
            engine: (lease, leaseHandlers, agentStatus, changed) =>
              this.leaseEngine(id, lease, leaseHandlers, watchOptions, agentStatus, changed),
            stateChanged: (w, from, to, error) => this.stateChanged(w, from, to, error),
            leaseChanged: (change) => this.emitSafely('lease', () => this.emit('lease', change)),
            log: this.log,
          });
    this.replaceStopped(selfLink);
    this.watches.set(id, watch);
    created?.(watch);
    if (handlers.kinds !== undefined && resolved.fetch !== false) this.checkKinds(watch, Object.keys(handlers.kinds));
    try {
      await watch.start();
    } catch (err) {
      this.kindChecks.get(watch)?.abort();
      this.watches.delete(id);
      this.retire(watch);
      throw err;
    }
    return { id, topic: selfLink, close: () => this.closeWatch(id) };
  }

  /**
   * Watches `selfLink` as an async iterable of records, for `for await` consumers: events (acknowledged when the
   * loop asks for the next record, or at once by `record.ack()`; `record.fail()` retries the event up to
   * `maxAttempts`, then sets it aside or stops the watch), `resync` and `live` records, in order. At most
   * `concurrency` records wait unacknowledged; past that the stream is not read, so memory stays bounded however slow
   * the loop. `break`, `return` or an aborted `signal` close the watch and write its position, which
   * `acknowledgedSequenceId` holds then. Errors that stop the watch (also those of the start) are thrown by the loop.
   * The loop's own options (`concurrency`, `maxAttempts`, `autoAck`, unknown keys, another call's options) are
   * checked at once (`INVALID_CONFIG` thrown by this call); `from`, `resync` and `filter` with the start, thrown by
   * the loop at its first step.
   *
   * `T` is what `options.resync.list` lists, inferred from it: a `resync` record's `notice.snapshot` is a `T[]`.
   *
   * ```ts
   * const loop = manager.watch(topic);
   * for await (const record of loop) {
   *   if (record.kind === 'event') await apply(record.event);
   * }
   * console.log(`stopped at ${loop.acknowledgedSequenceId}`);
   * ```
   */
  watch<T = unknown>(selfLink: string, options: IterateOptions<T> = {}): WatchLoop<T> {
    const { concurrency, maxAttempts, autoAck } = resolveIterateOptions(options);
    let subscription: Subscription | undefined;
    let starting: Promise<unknown> = Promise.resolve();
    let cancelled = false;
    let own: ManagedWatch | undefined;
    const iterator = new WatchIterator<T>(
      autoAck,
      async () => {
        cancelled = true;
        // Ending the loop while its own watch starts cancels that start instead of waiting for it (never another
        // watch of the same topic: a refused registration created none).
        if (subscription === undefined) void own?.close();
        await starting;
        await subscription?.close();
      },
      options.signal,
      // A loop is never coordinated (refused below): its watch is an engine of its own, closed or not.
      () => (own instanceof TopicWatch ? own.acknowledgedSequenceId : undefined),
    );
    const watchOptions: WatchOptions<T> = {
      // Records taken by the loop and not acknowledged count as running: at most `concurrency` of them. A failed
      // record is retried as a failed handler is (maxAttempts, backoff); the loop's own pace needs no timeout.
      concurrency,
      maxAttempts,
      handlerTimeoutMs: 0,
    };
    if (options.from !== undefined) watchOptions.from = options.from;
    if (options.resync !== undefined) watchOptions.resync = options.resync;
    if (options.filter !== undefined) watchOptions.filter = options.filter;
    // `live` is handed over in order without waiting for acks the loop has not given yet (that would deadlock).
    const consumer: Consumer = { liveWaitsForAcks: false, sink: iterator };
    const created = (w: ManagedWatch): void => {
      own = w;
      this.loops.set(w, iterator);
    };
    starting = this.register(selfLink, iterator.handlers(), watchOptions, consumer, created).then(
      (sub) => {
        subscription = sub;
        if (cancelled) void sub.close();
      },
      (err: unknown) => iterator.failed(err instanceof WatchError ? err : new WatchError('INTERNAL', String(err))),
    );
    return iterator;
  }

  /** What every engine of a topic gets from this manager. */
  private engineContext(
    topic: string,
  ): Pick<
    TopicWatchContext,
    | 'options'
    | 'client'
    | 'history'
    | 'diagnose'
    | 'tokens'
    | 'log'
    | 'deadLetters'
    | 'telemetry'
    | 'resources'
    | 'cachedResource'
  > {
    const telemetry = this.telemetry?.topic(topic);
    return {
      ...(telemetry === undefined ? {} : { telemetry }),
      options: this.options,
      client: () => this.channel(),
      history: () => (this.history ??= this.createHistory()),
      diagnose: (error) => this.diagnose(topic, error),
      tokens: this.tokens,
      log: this.log,
      deadLetters: this.deadLetters,
      resources: () => this.resources,
      cachedResource: (t, selfLink, sequenceId) => this.cachedResource(t, selfLink, sequenceId),
    };
  }

  /**
   * The copy a running cache of `topic` holds of `selfLink`, if that cache applied the event `sequenceId` already:
   * what fetch mode merges a subresource onto. A cache runs on its own stream, often behind a watch of the same
   * topic: a copy from before the event would hand the new subresource over with an older rest (a whole GET then).
   */
  private cachedResource(topic: string, selfLink: string, sequenceId: number): Resource | undefined {
    for (const cache of this.caches.values()) {
      // A standby's cache (another member runs the topic) holds what the store held when it last looked: no base.
      const { state, role } = cache.status();
      if (cache.topic !== topic || state === 'closed' || role === 'standby') continue;
      // A copy of its own: the handler's resource must be writable and share nothing with the cache (a merge copies
      // only the top level), as a whole fetch's is.
      if ((cache.sequenceId ?? 0) >= sequenceId) return structuredClone(cache.get(selfLink));
    }
    return undefined;
  }

  /** The engine of one lease of a coordinated watch: positions under the lease's fence, its epoch as fencing token. */
  private leaseEngine(
    id: string,
    lease: TopicLease,
    handlers: RoutedHandlers,
    watchOptions: WatchWiring,
    agentStatus: AgentStatusFeed,
    changed: (from: WatchStatus['state'], to: WatchStatus['state'], error: WatchError | undefined) => void,
  ): TopicWatch {
    return new TopicWatch(id, lease.topic, handlers, watchOptions, {
      ...this.engineContext(lease.topic),
      positions: new LeasePositions(lease),
      fencingToken: lease.epoch,
      agentStatus,
      stateChanged: (_w, from, to, error) => changed(from, to, error),
    });
  }

  /**
   * A cache of every resource the WatchTopic `topic` covers, kept in step with its events
   * (docs/resources.md#the-cache): resolves once the store is loaded (then `cache.ready()` waits for the initial
   * sync and the live events). Options are checked first (`INVALID_CONFIG` naming the field); a topic already
   * cached here, and a manager with a coordinator, are `INVALID_CONFIG` too. Rejects with the store's error when it
   * cannot be loaded, `CLOSED` when the manager is closed. The cache's watch shows in `status().watches`
   * (`cache: true`), and `health()` and `ready()` wait for it; a topic may have a cache and a `registerWatch` at once
   * (two streams).
   */
  async cache(topic: string, options: CacheOptions = {}): Promise<ResourceCache> {
    if (this.isClosed) throw new WatchError('CLOSED', 'the watch manager is closed');
    checkSelfLink(topic, 'topic');
    checkOptionHome(options, 'cache(...)');
    const resolved = resolveCacheOptions(options);
    const { coordinator } = this.options;
    const store: ResourceStore = resolved.store ?? new MemoryResourceStore();
    // Under a coordinator, every member may write the topic's rows: only writes fenced by the lease keep a deposed
    // member's from landing after its successor's.
    if (coordinator !== undefined && typeof store.fenced !== 'function')
      throw new WatchError(
        'INVALID_CONFIG',
        `invalid argument 'options.store': a manager with a coordinator keeps a cache only in a store with fenced writes (PostgresResourceStore in the coordinator's database), not ${storeName(store)}`,
      );
    for (const [id, existing] of this.caches) {
      if (existing.topic !== topic) continue;
      // One stopped for good is replaced, as a stopped watch is: it leaves status() and health().
      if (existing.status().state === 'closed') {
        this.caches.delete(id);
        void existing.close();
        continue;
      }
      throw new WatchError('INVALID_CONFIG', `invalid argument 'topic': ${topic} is already cached by ${existing.id}`);
    }
    const id = `watch-${this.nextId++}`;
    const { clock, reconnect } = this.options;
    const cache: TopicCache = new TopicCache(id, topic, resolved, {
      resources: this.resources,
      newest: (signal) => (this.history ??= this.createHistory()).newest(topic, signal),
      store,
      clock,
      backoff: reconnect,
      log: this.log,
      coordinated: coordinator !== undefined,
      watch: (handlers, positions, stopped, lease): CacheWatch =>
        this.cacheWatch(id, topic, resolved.fetchConcurrency, handlers, positions, stopped, lease, (selfLink) =>
          cache.get(selfLink),
        ),
      closed: () => {
        if (this.caches.get(id) === cache) this.caches.delete(id);
      },
    });
    this.caches.set(id, cache);
    this.cacheStores.add(store);
    // The watch's connection (TCP, TLS, a proxy's CONNECT, HTTP/2) is made while the initial sync lists, not after
    // it: its watch then goes live one handshake sooner. A hint to the channel only; the watch connects as ever.
    this.channel().getChannel().getConnectivityState(true);
    try {
      await cache.start();
    } catch (err) {
      this.caches.delete(id);
      throw toWatchError(err, 'STATE_IO', `cache of ${topic}: loading its store`);
    }
    return cache;
  }

  /**
   * The watch of a cache: one event applied at a time, in fetch mode (each event's resource fetched ahead,
   * `fetchConcurrency` at once; a failed fetch fails the watch as in any fetch mode), its positions the cache's.
   */
  private cacheWatch(
    id: string,
    topic: string,
    fetchConcurrency: number,
    handlers: RoutedHandlers,
    positions: SequenceProvider,
    stopped: (error: WatchError) => void,
    lease: CacheLeaseHooks,
    held: (selfLink: string) => Resource | undefined,
  ): CacheWatch {
    const resolved = resolveWatchOptions({
      concurrency: 1,
      maxAttempts: 100,
      handlerTimeoutMs: 0,
      fetch: { concurrency: fetchConcurrency },
    });
    const wiring: WatchWiring = { ...resolved, liveWaitsForAcks: true };
    const stateChanged = (w: ManagedWatch, from: WatchState, to: WatchState, error: WatchError | undefined): void => {
      this.stateChanged(w, from, to, error);
      if (to === 'closed' && error !== undefined && error.code !== 'CLOSED') stopped(error);
    };
    const { coordinator } = this.options;
    // The cache's own copy, whatever event it reflects: the cache takes only the subresource from the fetch, onto
    // the copy it holds when it applies the event (TopicCache.applied).
    const own = { ...this.engineContext(topic), cachedResource: (_t: string, selfLink: string) => held(selfLink) };
    if (coordinator === undefined)
      return new TopicWatch(id, topic, handlers, wiring, { ...own, positions, stateChanged });
    // Under a coordinator: the cache runs while this member holds the lease of `<topic>#cache` (apart from a
    // registerWatch of the topic), loading its store after each lease won; its positions are stored with its
    // resources, in the lease's transactions (the store's fenced writes), never by the engine.
    return new CoordinatedWatch(id, topic, handlers, false, {
      coordinator,
      claimKey: `${topic}#cache`,
      prepare: (won) => lease.won(won),
      finish: (held) => lease.finish(held),
      engine: (lease, leaseHandlers, agentStatus, changed) =>
        new TopicWatch(id, topic, leaseHandlers, wiring, {
          ...own,
          positions,
          fencingToken: lease.epoch,
          agentStatus,
          stateChanged: (_w, from, to, error) => changed(from, to, error),
        }),
      stateChanged,
      leaseChanged: (change) => this.emitSafely('lease', () => this.emit('lease', change)),
      log: this.log,
    });
  }

  /**
   * Checks in the background that the WatchTopic covers each kind of `kinds` (a warning for one it does not): never
   * delaying or failing the watch, ended when the watch closes or the manager does. In fetch mode only: the watch
   * reads the resource API anyway, where a watch without fetch mode would get a new dependency (a request, a
   * permission to read WatchTopics, a minute of retries and a warning when no resource API answers at `apiUrl`).
   */
  private checkKinds(watch: ManagedWatch, kinds: readonly string[]): void {
    const stop = new AbortController();
    this.kindChecks.set(watch, stop);
    const signal = AbortSignal.any([stop.signal, this.closed.signal]);
    void warnUncoveredKinds(watch.topic, kinds, () => this.resources, this.log, signal).finally(() => {
      if (this.kindChecks.get(watch) === stop) this.kindChecks.delete(watch);
    });
  }

  /** Closes one watch (see {@link Subscription.close}). Unknown ids resolve quietly: closing is idempotent. */
  async closeWatch(id: string): Promise<void> {
    const watch = this.watches.get(id);
    if (watch === undefined) return;
    await watch.close();
    this.watches.delete(id);
    this.retire(watch);
  }

  /**
   * A watch of `topic` that stopped for good (a permanent error: HANDLER_FAILED…) is replaced by the one registered
   * now: it leaves status() and health() (else /healthz answered 503 for ever after the application had registered
   * the topic again, a restart loop under Kubernetes). Its subscription's close() then finds nothing to do.
   */
  private replaceStopped(topic: string): void {
    for (const [id, old] of this.watches) {
      if (old.topic !== topic || old.currentState !== 'closed') continue;
      this.watches.delete(id);
      this.retire(old);
    }
  }

  /** Hands a watch's last counters to the telemetry, once. */
  private retire(watch: ManagedWatch): void {
    if (this.telemetry === undefined || this.retired.has(watch)) return;
    this.retired.add(watch);
    let last: WatchMetrics;
    try {
      last = watch.metrics();
    } catch (err) {
      this.log.warn('the metrics of a closed watch could not be read', { id: watch.id, error: errorMessage(err) });
      return;
    }
    this.telemetry.retire(last);
  }

  /**
   * Sends an `AGENT_STATUS` request on the stream of `topic`, or of every watch when `topic` is omitted. The status
   * is kept and sent again after each reconnect. Resolves with the number of streams it was written to now.
   */
  async sendAgentStatus(status: AgentStatus, topic?: string): Promise<number> {
    if (this.isClosed) throw new WatchError('CLOSED', 'the watch manager is closed');
    checkAgentStatus(status);
    const targets = [...this.watches.values()].filter(
      (w) => w.currentState !== 'closed' && (topic === undefined || w.topic === topic),
    );
    if (topic !== undefined && targets.length === 0) {
      throw new WatchError('INVALID_CONFIG', `invalid argument 'topic': ${topic} is not watched`);
    }
    // A valid token first (fetched if the held one is about to expire): the streams send the status with it.
    await this.tokens.current();
    return targets.filter((w) => w.agentStatus.set(status)).length;
  }

  /** Counters and gauges of every watch (delivered, acknowledged, in flight, buffered, reconnects, catch-up, lag). */
  metrics(): {
    /** One entry per watch not closed yet. */
    watches: WatchMetrics[];
  } {
    const watches = [...this.watches.values()].map((w) => w.metrics());
    for (const cache of this.caches.values()) {
      const m = cache.metrics();
      if (m !== undefined) watches.push(m);
    }
    return { watches };
  }

  /**
   * What `util.inspect` and `JSON.stringify` show of a manager: a summary without options, tokens or connections,
   * so that logging a manager can never leak a token, a proxy password or key material.
   */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `WatchManager ${JSON.stringify(this.toJSON())}`;
  }

  /** The summary `JSON.stringify` and `util.inspect` show: no options, tokens or connections. */
  toJSON(): {
    /** The service's `host:port`. */
    target: string;
    /** The channel's proxy as `http://host:port` (never its credentials), or `none`. */
    proxy: string;
    /** The manager's state. */
    state: ManagerState;
    /** How many watches it has. */
    watches: number;
  } {
    const proxy = this.route.proxy === undefined ? 'none' : this.route.proxy.toString();
    return { target: this.options.target, proxy, state: this.status().state, watches: this.watches.size };
  }

  /**
   * What liveness and readiness probes ask (see `serveProbes`): `healthy` — not stuck: no watch stopped for good, the
   * coordinator (if any) not closed, and the event loop was not blocked for more than 5 s since the last report;
   * `ready` — every watch caught up and live (a standby watch counts as ready while another member runs its topic,
   * not when no member has held it for more than 2 x leaseMs), the coordinator renewing and claiming, and at least
   * one watch registered; `reasons` says why not, without secrets.
   */
  health(): HealthReport {
    return this.healthCheck.report();
  }

  /**
   * Resolves when every registered watch is caught up and live (a standby one counts), for a start-up that must not
   * take traffic before. Rejects with the code of a watch that stopped for good, with `NOT_READY` (retryable, the
   * reasons in its message) after `timeoutMs`, and with `CLOSED` when the manager closes, `signal` aborts, or the
   * coordinator can never run anything again (closed, its pool ended).
   */
  ready(options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    return this.healthCheck.ready(options);
  }

  /** The manager's state and each watch's, accurate at the moment of the call. */
  status(): ManagerStatus {
    const watches = [...this.watches.values()].map((w) => w.status());
    for (const cache of this.caches.values()) watches.push(cache.status());
    return { state: this.aggregateState(watches), watches };
  }

  /**
   * Closes every watch (cancelling its stream, waiting for a running handler up to `closeTimeoutMs`), stops the
   * token refresher and closes the channel. Idempotent; resolves only when nothing is left running, so the process
   * can exit.
   */
  close(): Promise<void> {
    this.isClosed = true; // before anything runs: the state events of the closing watches already say 'closed'
    this.closing ??= (async () => {
      this.closed.abort();
      this.healthCheck.close();
      this.tokens.close();
      try {
        await Promise.all([
          ...[...this.watches.values()].map((w) => w.close()),
          ...[...this.caches.values()].map((c) => c.close()),
        ]);
      } finally {
        // Also when a close failed: the backend keeps their last counters and stops reading this manager.
        for (const w of this.watches.values()) this.retire(w);
        this.telemetry?.close();
      }
      // Every watch stored its position and let its lease go: the member leaves (its heartbeat row goes).
      try {
        await this.options.coordinator?.close();
      } catch (err) {
        this.log.warn('the coordinator failed to close', { error: errorMessage(err) });
      }
      // Every cache wrote what it held: each store lets go of what it holds, once however many caches shared it.
      for (const store of this.cacheStores) {
        try {
          await store.close?.();
        } catch (err) {
          this.log.warn('a resource store failed to close', { error: errorMessage(err) });
        }
      }
      this.client?.close();
      this.client = undefined;
      await this.history?.close();
      this.history = undefined;
      await this.resourceClient?.close();
      // The positions are written (each watch flushed on close): the provider may let go of what it holds (the file
      // store's lock). A FileSequenceStore takes it again if it is used after this.
      try {
        await this.options.sequenceProvider.close?.();
      } catch (err) {
        this.log.warn('the sequence provider failed to close', {
          error: errorMessage(err),
        });
      }
    })();
    return this.closing;
  }

  /** Emits through `emit`; a listener that throws is logged, never let into the SDK's own code. */
  private emitSafely(name: keyof WatchManagerEvents, emit: () => void): void {
    try {
      emit();
    } catch (err) {
      this.log.error(`a '${name}' listener threw`, { error: errorMessage(err) });
    }
  }

  private stateChanged(
    watch: ManagedWatch,
    from: WatchStatus['state'],
    to: WatchStatus['state'],
    error: WatchError | undefined,
  ): void {
    if (to === 'closed') {
      this.loops.get(watch)?.watchClosed(error);
      this.kindChecks.get(watch)?.abort();
    }
    if (this.listenerCount('state') === 0) return;
    const managerState = this.status().state;
    const base = { watchId: watch.id, topic: watch.topic, from, managerState, manager: managerState };
    // Only a move to reconnecting, closed or standby has a cause (the union of StateChange says so).
    const cause = error === undefined ? {} : { errorCode: error.code };
    const change: StateChange =
      to === 'standby'
        ? { ...base, to, ...cause }
        : to === 'reconnecting' || to === 'closed'
          ? { ...base, to, ...cause }
          : { ...base, to };
    this.emitSafely('state', () => this.emit('state', change));
  }

  /** See {@link ManagerState}: the first state that applies, in its order. */
  private aggregateState(watches: readonly WatchStatus[]): ManagerState {
    if (this.isClosed) return 'closed';
    // Stopped for good: still listed, closed, with the error behind it (as health() sees it, it is not healthy).
    if (watches.some((w) => w.state === 'closed' && w.lastErrorCode !== undefined)) return 'degraded';
    const open = watches.map((w) => w.state).filter((s) => s !== 'closed');
    if (open.length === 0) return 'idle';
    if (open.includes('reconnecting')) return 'reconnecting';
    if (open.includes('connecting')) return 'connecting';
    return 'subscribed';
  }

  /**
   * The client of the resource API (`apiUrl`) on this manager's token, tenant, TLS, proxy and entry address: for an
   * application's own reads (`get`, `list`, `count`). Made at the first use; closed with the manager (a call then
   * rejects with `CLOSED`). Throws `CLOSED` once the manager is closed.
   */
  get resources(): ResourceClient {
    if (this.isClosed) throw new WatchError('CLOSED', 'manager.resources: the manager is closed');
    const { apiUrl, tenantId, historyTimeoutMs, userAgent, clock, reconnect } = this.options;
    this.resourceClient ??= new HttpResourceClient({
      baseUrl: apiUrl,
      tenantId,
      tokens: this.tokens,
      transport: this.httpTransport(apiUrl, this.apiProxy),
      timeoutMs: historyTimeoutMs,
      userAgent,
      clock,
      backoff: reconnect,
      closed: this.closed.signal,
      log: this.log,
    });
    return this.resourceClient;
  }

  private createHistory(): HistorySource {
    const { historyUrl, tenantId, historyTimeoutMs, userAgent, clock } = this.options;
    return new HistoryClient({
      baseUrl: historyUrl,
      tenantId,
      tokens: this.tokens,
      transport: this.httpTransport(historyUrl, this.historyProxy),
      timeoutMs: historyTimeoutMs,
      userAgent,
      clock,
    });
  }

  /** The HTTP stack for requests to `url`'s origin: this manager's TLS and entry address where they apply. */
  private httpTransport(url: URL, proxy: ProxyEndpoint | undefined): HttpTransport {
    const { tls, clock, entryAddress, host } = this.options;
    // The entry address, the servername and the client certificate belong to the service's host: they apply to an
    // HTTP API when it lives on that host, never to another one.
    const sameHost = url.hostname === host;
    const entryHost = entryAddress !== undefined && sameHost ? entryAddress.host.replace(/^\[|\]$/g, '') : undefined;
    const originTls =
      tls === false || sameHost ? tls : { ...tls, servername: undefined, cert: undefined, key: undefined };
    return new HttpTransport({ secure: url.protocol === 'https:', tls: originTls, proxy, entryHost, clock });
  }

  private channel(): WatchClient {
    this.client ??= createWatchClient(this.options, this.log, this.route);
    return this.client;
  }

  /** A stream that failed before any sign of life, through a proxy: ask the proxy why (one probe for all watches). */
  private async diagnose(topic: string, error: WatchError): Promise<WatchError> {
    const { proxy, destination } = this.route;
    if (proxy === undefined) return error;
    const timeoutMs = Math.min(PROBE_TIMEOUT_MS, this.options.connectTimeoutMs);
    this.probing ??= probeProxy(proxy, destination, timeoutMs, this.options.clock, this.closed.signal).finally(
      () => (this.probing = undefined),
    );
    const found = await this.probing;
    return found === undefined
      ? error
      : new WatchError(found.code, `watch ${topic}: ${found.message}`, { cause: error });
  }
}

/**
 * A coordinator serves one manager: refused (`INVALID_CONFIG` naming `coordinator`) when another manager has it, or
 * when it is closed.
 */
/** What an error message calls a store: its class's name. */
function storeName(store: ResourceStore): string {
  const name = (store as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' && name !== 'Object' ? `a ${name}` : 'this store';
}

function refuseTaken(coordinator: Coordinator): void {
  if (coordinatorsTaken.has(coordinator))
    throw new WatchError(
      'INVALID_CONFIG',
      "invalid option 'coordinator': it belongs to another WatchManager already (closing that manager closes it): give each manager a coordinator of its own",
    );
  let trouble: CoordinatorTrouble | undefined;
  try {
    trouble = coordinator.trouble?.();
  } catch {
    trouble = undefined; // judged by health() once it runs
  }
  if (trouble?.final === true)
    throw new WatchError(
      'INVALID_CONFIG',
      `invalid option 'coordinator': ${trouble.reason}; it cannot be used again: give a new one`,
    );
}
