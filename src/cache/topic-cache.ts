import { isDeepStrictEqual } from 'node:util';
import { Backoff, type ResolvedBackoff } from '../core/backoff';
import { sleep, type Clock, type Timer } from '../core/clock';
import { WatchError, errorMessage, toWatchError } from '../core/errors';
import type { Resource } from '../core/resource';
import type { WatchEvent, WatchMetrics, WatchStatus } from '../core/types';
import type { Log } from '../logging/logger';
import type { ResolvedCacheOptions } from '../config/cache-options';
import type { ResyncNotice, RoutedHandlers } from '../delivery/watch-handlers';
import { mergeSubresource } from '../resources/event-fetch';
import type { ResourceClient } from '../resources/resource-client';
import type { TopicLease } from '../state/coordinator';
import type { ResourceStore, StoredChange } from '../state/resource-store';
import type { SequenceProvider } from '../state/sequence-provider';
import { CacheIndex, deepFreeze } from './cache-index';
import { ChangeStreams } from './change-stream';
import type { CacheFilter, CacheSynced, ResourceCache, ResourceChange } from './resource-cache';
import { StoreWriter } from './store-writer';
import { collectionHolds, isNarrowed, topicCollections, type TopicCollection } from './topic-filters';
import { countCollection, listCollection, listCollections, listTopic, type ListingOptions } from './topic-listing';

/** The cache's watch, as its manager builds it (a `TopicWatch` of the topic, concurrency 1). */
export interface CacheWatch {
  start(): Promise<void>;
  close(): Promise<void>;
  status(): WatchStatus;
  metrics(): WatchMetrics;
}

/** What a {@link TopicCache} gets from its manager. */
export interface CacheContext {
  resources: ResourceClient;
  /** The topic's newest sequence id now (the history API's). */
  newest(signal: AbortSignal): Promise<number>;
  store: ResourceStore;
  /**
   * Under a coordinator: the cache runs only while this member holds its lease (its watch a coordinated one), loads
   * the store after each lease won ({@link TopicCache.leaseWon}) and writes through `store.fenced(lease)`.
   */
  coordinated?: boolean;
  clock: Clock;
  backoff: ResolvedBackoff;
  log: Log;
  /**
   * A new watch of the topic with `handlers`, its position read from `positions`; `stopped` is told when it stops for
   * good with an error (after its start resolved). Under a coordinator, `lease` is called around each lease's engine.
   */
  watch(
    handlers: RoutedHandlers,
    positions: SequenceProvider,
    stopped: (error: WatchError) => void,
    lease: CacheLeaseHooks,
  ): CacheWatch;
  /** Told once the cache is closed (the manager forgets it). */
  closed(): void;
}

/** What a cache does around each lease of its topic (under a coordinator). */
export interface CacheLeaseHooks {
  /** After the lease is won, before its engine starts: the store loaded under it (or synced). */
  won(lease: TopicLease): Promise<void>;
  /** After its engine stopped, before the lease is let go (a hand-off, a close): what is pending is written. */
  finish(lease: TopicLease): Promise<void>;
}

type Listener<T> = (value: T) => void;

/** How often a standby's cache looks whether another member runs its topic (its `ready()`). */
const STANDBY_CHECK_MS = 200;

/**
 * One topic's {@link ResourceCache}: loads the store or makes an initial sync (the newest id taken before the lists),
 * then runs a watch of the topic from that position in fetch mode (its resources fetched ahead, `fetchConcurrency` at
 * once) whose one handler applies each event in order ({@link applied}: a subresource merged at apply time); a resync
 * re-lists, validation re-lists a collection whose count drifted. Events,
 * re-lists and validations run one at a time ({@link exclusive}); every change goes to the store through one
 * {@link StoreWriter}. Its position lives with its resources: the watch's positions are read from the cache
 * ({@link positions}) and never written elsewhere.
 */
export class TopicCache implements ResourceCache {
  private readonly index = new CacheIndex();
  private readonly streams: ChangeStreams;
  /** Under a coordinator, a new one (over the store fenced by the lease) for each lease won. */
  private writer: StoreWriter;
  private readonly listeners = {
    change: new Set<Listener<ResourceChange>>(),
    synced: new Set<Listener<CacheSynced>>(),
  };
  private position: number | undefined;
  private collections: TopicCollection[] = [];
  /**
   * Of each narrowed collection (across the scopes of some scope kinds, its link listing every scope kind's), by
   * link: the items of other scope kinds its last list served, what its count (`HEAD`) adds to the cache's
   * ({@link validate}). Unknown until it is listed in this process.
   */
  private otherScopeKinds = new Map<string, number>();
  private watch: CacheWatch | undefined;
  private synced = false;
  private error: WatchError | undefined;
  private closing: Promise<void> | undefined;
  /** The sync and the watch's start ({@link run}): close() waits for it, so that no sync writes after it. */
  private running: Promise<void> = Promise.resolve();
  /** Aborted when the cache stops (closed or failed): lists, fetches and waits give up. */
  private readonly stopped = new AbortController();
  private serial: Promise<unknown> = Promise.resolve();
  private validation: Timer | undefined;
  private standbyCheck: Timer | undefined;
  private readonly readyPromise: Promise<void>;
  private settleReady: { resolve: () => void; reject: (err: WatchError) => void } | undefined;

  constructor(
    readonly id: string,
    readonly topic: string,
    private readonly options: ResolvedCacheOptions,
    private readonly ctx: CacheContext,
  ) {
    this.streams = new ChangeStreams(options.maxPendingChanges);
    this.writer = new StoreWriter(ctx.store, topic, options.maxPendingChanges, (error) => this.fail(error));
    this.readyPromise = new Promise<void>((resolve, reject) => (this.settleReady = { resolve, reject }));
    // Whoever never asks ready() must not see an unhandled rejection.
    this.readyPromise.catch(() => undefined);
  }

  /** Loads what the store holds; then the sync (if nothing was stored) and the watch run in the background. */
  async start(): Promise<void> {
    const held = await this.ctx.store.load(this.topic);
    if (held === undefined) {
      this.running = this.run();
      return;
    }
    for (const resource of held.resources) this.index.put(resource);
    this.position = held.position;
    // Under a coordinator what was loaded is only a view for a standby: each lease won loads the store again.
    if (this.ctx.coordinated !== true) this.synced = true;
    this.running = this.run();
  }

  ready(): Promise<void> {
    return this.readyPromise;
  }

  get(selfLink: string): Resource | undefined {
    return deepFreeze(this.index.get(selfLink));
  }

  getById(id: string): Resource | undefined {
    return deepFreeze(this.index.getById(id));
  }

  list(filter?: CacheFilter): Resource[] {
    return frozen(this.index.list(filter));
  }

  referencing(selfLink: string): Resource[] {
    return frozen(this.index.referencing(selfLink));
  }

  get size(): number {
    return this.index.size;
  }

  get sequenceId(): number | undefined {
    return this.position;
  }

  get live(): boolean {
    return this.synced && this.error === undefined && this.watch?.status().live === true;
  }

  on(event: 'change', listener: Listener<ResourceChange>): this;
  on(event: 'synced', listener: Listener<CacheSynced>): this;
  on(event: 'change' | 'synced', listener: Listener<never>): this {
    this.listeners[event].add(listener as Listener<unknown>);
    return this;
  }

  off(event: 'change', listener: Listener<ResourceChange>): this;
  off(event: 'synced', listener: Listener<CacheSynced>): this;
  off(event: 'change' | 'synced', listener: Listener<never>): this {
    this.listeners[event].delete(listener as Listener<unknown>);
    return this;
  }

  changes(options: { signal?: AbortSignal } = {}): AsyncIterableIterator<ResourceChange> {
    return this.streams.iterator(options.signal);
  }

  /** The status of its watch, marked `cache: true`; a cache still syncing is `connecting`, a failed one `closed`. */
  status(): WatchStatus {
    const base: WatchStatus = this.watch?.status() ?? {
      id: this.id,
      topic: this.topic,
      state: 'connecting',
      live: false,
      acknowledgedSequenceId: this.position ?? 0,
      lastSequenceId: this.position ?? 0,
    };
    const status: WatchStatus = { ...base, id: this.id, live: this.live, cache: true };
    if (this.error !== undefined) {
      status.state = 'closed';
      status.lastErrorCode = this.error.code;
    }
    return status;
  }

  /** Its watch's metrics, once it has one. */
  metrics(): WatchMetrics | undefined {
    const m = this.watch?.metrics();
    return m === undefined ? undefined : { ...m, id: this.id };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stop();
      this.settle(new WatchError('CLOSED', `cache of ${this.topic} was closed`));
      // First: an event held back by a full iterator must not hold the watch's close for its whole grace period.
      this.streams.close(this.error);
      await this.watch?.close();
      try {
        // A sync under way (its store write cannot be called back) ends before the cache's close does.
        await this.running;
        await this.watch?.close(); // started by the run meanwhile
        await this.serial;
        await this.writer.drain();
      } catch {
        // told when it failed
      }
      this.ctx.closed();
    })();
    return this.closing;
  }

  /** The sync (unless loaded), then the watch; a permanent failure stops the cache. */
  private async run(): Promise<void> {
    try {
      // Under a coordinator the sync is a lease's (leaseWon), never made before the lease is won.
      if (!this.synced && this.ctx.coordinated !== true) await this.retrying('initial sync', () => this.initialSync());
      this.armValidation();
      await this.retrying('watch start', () => this.startWatch());
      if (this.ctx.coordinated === true) this.armStandbyCheck();
    } catch (err) {
      this.fail(toWatchError(err, 'INTERNAL', `cache of ${this.topic}`));
    }
  }

  private async initialSync(): Promise<void> {
    const signal = this.stopped.signal;
    const watchTopic = await this.ctx.resources.get(this.topic, { signal });
    // Filters checked before the position is taken: a topic the cache cannot list costs no history request.
    const collections = topicCollections(this.topic, watchTopic, this.options.plurals);
    // The newest id BEFORE the lists: what changes while they are read comes again as an event after it.
    const newest = await this.ctx.newest(signal);
    const { resources, others } = await listCollections(this.ctx.resources, collections, this.listing());
    await this.writer.replace(resources, newest);
    // Closed while it was written: nothing is told after close() (the store holds the sync; a restart resumes it).
    this.check();
    this.collections = collections;
    this.otherScopeKinds = others;
    this.index.clear();
    for (const resource of resources) this.index.put(resource);
    this.position = newest;
    this.synced = true;
    // A change told to nobody is not made: an initial sync of many thousands is on the way to ready().
    if (this.listening) for (const resource of resources) this.tell(created(resource, newest, 'sync'));
    this.tellSynced('sync');
  }

  private async startWatch(): Promise<void> {
    if (this.stopped.signal.aborted) throw new WatchError('CLOSED', `cache of ${this.topic} was closed`);
    const handlers: RoutedHandlers = {
      onEvent: (event) => this.applyEvent(event),
      onResync: (notice) => this.resync(notice),
      onLive: () => this.wentLive(),
      onError: (error) => this.report(error),
    };
    // A stop before the start resolved is the start's to tell (its rejection), unless the start resolved anyway (a
    // handler that failed for good during the first catch-up).
    let started = false;
    let stoppedBy: WatchError | undefined;
    const watch = this.ctx.watch(
      handlers,
      this.positions(),
      (error) => {
        if (started) this.fail(error);
        else stoppedBy = error;
      },
      { won: (lease) => this.leaseWon(lease), finish: () => this.writer.drain() },
    );
    this.watch = watch;
    try {
      await watch.start();
    } catch (err) {
      // A watch whose start failed is over: a retryable failure tries a new one.
      if (this.watch === watch) this.watch = undefined;
      throw err;
    }
    started = true;
    if (stoppedBy !== undefined) this.fail(stoppedBy);
  }

  /**
   * The watch's positions: read from the cache (the stored or synced position), never written — a position is stored
   * only with the resources that reflect it (the store writer's job).
   */
  private positions(): SequenceProvider {
    return {
      getSequence: () => this.position,
      setSequence: () => undefined,
      resetSequence: () => undefined,
    };
  }

  /**
   * A lease won (under a coordinator), before its engine starts. The store is read now, after winning: a deposed
   * holder's last write committed before the lease changed hands, or never will (fenced off). Holding nothing: an
   * initial sync, stored by a fenced replace. Otherwise the cache becomes what the store holds, the differences from
   * what it held (a standby's view, or changes an earlier lease told whose writes were rolled back) told with cause
   * `resync`. From here on every write goes through `store.fenced(lease)`. A failure here is the engine's start
   * failing: a retryable one lets the lease go (tried again by a later round), a permanent one stops the cache.
   */
  private leaseWon(lease: TopicLease): Promise<void> {
    return this.exclusive(async () => {
      this.check();
      if (lease.signal.aborted) throw toWatchError(lease.signal.reason, 'LEASE_LOST', `cache of ${this.topic}`);
      const fenced = this.ctx.store.fenced?.(lease);
      if (fenced === undefined)
        throw new WatchError('INVALID_CONFIG', `cache of ${this.topic}: its store has no fenced writes`);
      this.writer = new StoreWriter(fenced, this.topic, this.options.maxPendingChanges, (error) =>
        this.writeFailed(error, lease),
      );
      lease.signal.addEventListener('abort', () => void this.leaseEnded(), { once: true });
      const held = await fenced.load(this.topic);
      this.synced = false;
      if (held === undefined) {
        await this.initialSync();
        return;
      }
      const changes = this.replaceWhere(() => true, held.resources, held.position, 'resync');
      this.position = held.position;
      this.synced = true;
      for (const c of changes) this.tell(c);
      if (changes.length > 0) this.tellSynced('resync');
    });
  }

  /**
   * The lease ended (lost, released, or fenced off): its engine stops (the coordinated watch's doing). Changes told
   * under it may have been rolled back with their writes, so the cache becomes what the store holds now, the
   * differences told with cause `resync`: a standby answers what the store held when it let the topic go.
   */
  private async leaseEnded(): Promise<void> {
    try {
      await this.exclusive(async () => {
        if (this.stopped.signal.aborted) return;
        const held = await this.ctx.store.load(this.topic);
        const at = held?.position ?? this.position ?? 0;
        const changes = this.replaceWhere(() => true, held?.resources ?? [], at, 'resync');
        this.position = held?.position;
        for (const c of changes) this.tell(c);
        if (changes.length > 0) this.tellSynced('resync');
      });
    } catch (err) {
      // The next lease loads the store anyway; a standby keeps what it held meanwhile.
      this.ctx.log.warn('cache: the store could not be read after the lease ended', {
        topic: this.topic,
        error: errorMessage(err),
      });
    }
  }

  /**
   * A write under `lease` failed. The lease ended with it (fenced off, or the database failed under it): the engine
   * steps down and whoever takes the topic next resumes from what the store holds — not the cache's failure. Any
   * other failure stops the cache, as without a coordinator.
   */
  private writeFailed(error: WatchError, lease: TopicLease): void {
    if (lease.signal.aborted || error.code === 'LEASE_LOST') {
      this.ctx.log.warn('cache: a store write was fenced off, the lease ended', {
        topic: this.topic,
        error: error.message,
      });
      return;
    }
    this.fail(error);
  }

  /**
   * A standby's cache is ready as a standby watch is: while another member holds its lease (and runs it). Looked at
   * every {@link STANDBY_CHECK_MS} on the manager's clock until the cache is ready or stops.
   */
  private armStandbyCheck(): void {
    if (this.settleReady === undefined || this.stopped.signal.aborted) return;
    const status = this.watch?.status();
    if (status?.role === 'standby' && status.owner !== undefined && status.stalled === undefined) {
      this.settle();
      return;
    }
    this.standbyCheck = this.ctx.clock.setTimeout(() => this.armStandbyCheck(), STANDBY_CHECK_MS);
  }

  private wentLive(): void {
    if (this.error !== undefined || this.stopped.signal.aborted) return;
    this.settle();
  }

  /**
   * Applies one event, in order: its changes told, then queued for the store at its sequence id. Its resource was
   * fetched by the watch's fetch mode (a fetch that failed failed the watch, never this handler).
   */
  private async applyEvent(event: WatchEvent): Promise<void> {
    // A reader of changes() that is behind holds the events back (and with them the stream).
    await this.streams.whenRoom();
    await this.exclusive(async () => {
      this.check();
      let changes: ResourceChange[];
      try {
        changes = this.changesOf(event);
      } catch (err) {
        // A broken event (no usable self link): a retry would find it as broken, the cache stops.
        const error = toWatchError(err, 'INTERNAL', `cache of ${this.topic}: event ${event.sequenceId}`);
        this.fail(error);
        throw error;
      }
      this.position = event.sequenceId;
      for (const c of changes) this.tell(c);
      await this.writer.add(changes.map(stored), event.sequenceId);
    });
  }

  /** What `event` (with its fetched `resource` or `gone`) changes, applied to the index. */
  private changesOf(event: WatchEvent): ResourceChange[] {
    const { selfLink, id } = event.payload.metadata;
    const at = event.sequenceId;
    switch (event.type) {
      case 'DELETED': {
        // Only the resource the event deleted: a newer one created under the same link since stays.
        const held = this.index.get(selfLink);
        if (held?.metadata.id !== id) return [];
        this.index.remove(selfLink);
        return [deleted(held, at, 'event')];
      }
      case 'CREATED':
      case 'UPDATED':
      case 'SUBRESOURCEUPDATED': {
        // The service's own text: one that is not a self link must not reach a URL, nor read as a bad argument.
        if (!isResourceLink(selfLink))
          throw new WatchError('PROTOCOL', `cache of ${this.topic}: event ${at} names no usable self link`);
        if (event.resource !== undefined) return this.put(this.applied(event, event.resource), at, 'event');
        if (event.gone !== true)
          throw new WatchError('INTERNAL', `cache of ${this.topic}: event ${at} came without its resource`);
        // Gone (404): deleted since the event; its DELETED event comes later and finds nothing.
        const held = this.index.remove(selfLink);
        return held === undefined ? [] : [deleted(held, at, 'event')];
      }
      default:
        return [];
    }
  }

  /**
   * What an event's fetched resource puts, decided when the event is applied: its fetch ran ahead, maybe before the
   * events before it were applied. A `SUBRESOURCEUPDATED` of the resource held now (the same id) changes only that
   * subresource, its key of the fetched resource merged onto the copy held now (the fetch merged onto the copy held
   * when it started, which events applied since may have changed); any other event, or one of a resource held under
   * another id or not at all, puts the fetched resource whole.
   */
  private applied(event: WatchEvent, fetched: Resource): Resource {
    const sub = event.subresource;
    if (event.type !== 'SUBRESOURCEUPDATED' || sub === '') return fetched;
    const held = this.index.get(event.payload.metadata.selfLink);
    if (held === undefined || held.metadata.id !== event.payload.metadata.id) return fetched;
    // Another id fetched (recreated since the event): that resource whole.
    return mergeSubresource(held, fetched, sub) ?? fetched;
  }

  /** Puts `resource` in place of what its self link holds: its changes (none when nothing changed). */
  private put(resource: Resource, at: number, cause: ResourceChange['cause']): ResourceChange[] {
    const before = this.index.get(resource.metadata.selfLink);
    if (before !== undefined && isDeepStrictEqual(before, resource)) return [];
    this.index.put(resource);
    if (before === undefined) return [created(resource, at, cause)];
    // Another id under the same self link: the one held was deleted and a new one created.
    if (before.metadata.id !== resource.metadata.id) return [deleted(before, at, cause), created(resource, at, cause)];
    return [updated(before, resource, at, cause)];
  }

  /** History no longer reaches the position: every collection listed again, the differences told, stored whole. */
  private resync(notice: ResyncNotice): Promise<void> {
    return this.exclusive(async () => {
      this.check();
      const { collections, resources, others } = await this.retrying('re-list', () =>
        listTopic(this.ctx.resources, this.topic, this.listing()),
      );
      const at = notice.newestSequenceId;
      const changes = this.replaceWhere(() => true, resources, at, 'resync');
      await this.writer.replace([...this.index.all()], at);
      this.check(); // closed while it was written: nothing is told after close()
      this.collections = collections;
      this.otherScopeKinds = others;
      this.position = at;
      for (const c of changes) this.tell(c);
      this.tellSynced('resync');
    });
  }

  /**
   * Replaces the held resources `inScope` keeps with `resources`: a `DELETED` made up for each one the list lacks,
   * then the list put. Returns the changes.
   */
  private replaceWhere(
    inScope: (r: Resource) => boolean,
    resources: readonly Resource[],
    at: number,
    cause: ResourceChange['cause'],
  ): ResourceChange[] {
    const listed = new Set(resources.map((r) => r.metadata.selfLink));
    const changes: ResourceChange[] = [];
    for (const held of [...this.index.all()]) {
      if (!inScope(held) || listed.has(held.metadata.selfLink)) continue;
      this.index.remove(held.metadata.selfLink);
      changes.push(deleted(held, at, cause));
    }
    for (const resource of resources) changes.push(...this.put(resource, at, cause));
    return changes;
  }

  /** Arms the next validation, when `validateEveryMs` asks for them. */
  private armValidation(): void {
    const every = this.options.validateEveryMs;
    if (every === 0 || this.stopped.signal.aborted) return;
    this.validation = this.ctx.clock.setTimeout(() => {
      void this.validate().finally(() => this.armValidation());
    }, every);
  }

  /**
   * Compares each collection's count with the cache's and lists again those that differ (a missed event, a store
   * that lost a write): one at a time with the events. A narrowed collection's count (its link's, every scope kind's)
   * is compared with the cache's plus the other scope kinds' items its last list served: a difference is a change the
   * cache missed or one of the other scope kinds (which no event tells), and a list tells them apart. So such a
   * collection is listed at its first validation in a process and when the others move, never at every validation; a
   * missed creation and another scope kind's deletion between two validations cancel out (counts, not contents).
   */
  private async validate(): Promise<void> {
    // Not live (catching up, reconnecting): the counts would differ by the events still to come.
    if (!this.live) return;
    try {
      await this.exclusive(async () => {
        if (this.collections.length === 0) {
          // Loaded from the store: the topic's collections were not read in this process yet.
          const watchTopic = await this.ctx.resources.get(this.topic, { signal: this.stopped.signal });
          this.collections = topicCollections(this.topic, watchTopic, this.options.plurals);
        }
        for (const collection of this.collections) {
          this.check();
          const counted = await countCollection(this.ctx.resources, collection, this.listing());
          let held = 0;
          for (const r of this.index.all()) if (collectionHolds(collection, r)) held += 1;
          const narrowed = isNarrowed(collection);
          const others = narrowed ? this.otherScopeKinds.get(collection.link) : 0;
          if (others !== undefined && counted === held + others) continue;
          const what = { topic: this.topic, collection: collection.link, counted, held, others };
          // A narrowed collection's count also moves with the other scope kinds': not told as a drift.
          if (narrowed)
            this.ctx.log.debug('cache validation: listing a collection across scope kinds to count its own', what);
          else this.ctx.log.warn('cache validation: a collection differs from the service, listing it again', what);
          const list = await listCollection(this.ctx.resources, collection, this.listing());
          if (narrowed) this.otherScopeKinds.set(collection.link, list.others);
          const listed = list.resources;
          const at = this.position ?? 0;
          const changes = this.replaceWhere((r) => collectionHolds(collection, r), listed, at, 'validation');
          if (changes.length === 0) continue;
          if (narrowed) this.ctx.log.warn('cache validation: a collection differed from the service', what);
          // Stored whole: the store's positions only grow, and this change has no position of its own.
          await this.writer.replace([...this.index.all()], at);
          for (const c of changes) this.tell(c);
        }
      });
    } catch (err) {
      const error = toWatchError(err, 'INTERNAL', `cache of ${this.topic}: validation`);
      if (this.stopped.signal.aborted) return;
      // A validation that could not run is tried again at the next; a broken answer stops the cache.
      if (error.retryable) this.report(error);
      else this.fail(error);
    }
  }

  private listing(): ListingOptions {
    const { pageSize, listConcurrency, plurals } = this.options;
    return { pageSize, concurrency: listConcurrency, plurals, signal: this.stopped.signal, log: this.ctx.log };
  }

  /** Runs `work` after everything serialized before it (events, re-lists, validations). */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.serial.then(work, work);
    this.serial = run.catch(() => undefined);
    return run;
  }

  /** Runs `work` until it succeeds, retrying retryable failures with the manager's backoff; throws the others. */
  private async retrying<T>(what: string, work: () => Promise<T>): Promise<T> {
    const backoff = new Backoff(this.ctx.backoff, () => this.ctx.clock.random());
    for (;;) {
      this.check();
      try {
        return await work();
      } catch (err) {
        const error = toWatchError(err, 'INTERNAL', `cache of ${this.topic}: ${what}`);
        if (this.stopped.signal.aborted)
          throw this.error ?? new WatchError('CLOSED', `cache of ${this.topic} was closed`);
        if (error.retryable !== true) throw error;
        this.report(error);
        const delay = Math.max(backoff.next(), error.retryAfterMs ?? 0);
        await sleep(this.ctx.clock, delay, this.stopped.signal);
      }
    }
  }

  private check(): void {
    if (this.error !== undefined) throw this.error;
    if (this.stopped.signal.aborted) throw new WatchError('CLOSED', `cache of ${this.topic} was closed`);
  }

  /** Stops for good with `error`: told, ready() rejects, the iterators throw it, the watch closes. */
  private fail(error: WatchError): void {
    if (this.error !== undefined || this.closing !== undefined) return;
    this.error = error;
    this.ctx.log.error('the resource cache stopped', { topic: this.topic, code: error.code, error: error.message });
    this.report(error);
    this.stop();
    this.settle(error);
    this.streams.close(error);
    void this.watch?.close();
  }

  private stop(): void {
    this.stopped.abort();
    this.validation?.cancel();
    this.standbyCheck?.cancel();
  }

  private settle(error?: WatchError): void {
    const waiter = this.settleReady;
    this.settleReady = undefined;
    if (waiter === undefined) return;
    if (error === undefined) waiter.resolve();
    else waiter.reject(error);
  }

  private report(error: WatchError): void {
    try {
      this.options.onError?.(error);
    } catch (err) {
      this.ctx.log.error('a cache onError threw', { topic: this.topic, error: errorMessage(err) });
    }
  }

  /** Whether a change told now reaches anyone (a listener, an iterator). */
  private get listening(): boolean {
    return this.listeners.change.size > 0 || this.streams.listening;
  }

  private tell(c: ResourceChange): void {
    // Handed out from here on (a listener, an iterator): frozen as a read is. Told to nobody, it is not handed out.
    if (this.listening) {
      deepFreeze(c.before);
      deepFreeze(c.after);
    }
    this.streams.tell(c);
    this.emit('change', c);
  }

  private tellSynced(cause: CacheSynced['cause']): void {
    const synced: CacheSynced = {
      topic: this.topic,
      resources: this.index.size,
      sequenceId: this.position ?? 0,
      cause,
    };
    this.emit('synced', synced);
  }

  private emit<T>(event: 'change' | 'synced', value: T): void {
    for (const listener of [...this.listeners[event]]) {
      try {
        (listener as Listener<T>)(value);
      } catch (err) {
        this.ctx.log.error(`a cache '${event}' listener threw`, { topic: this.topic, error: errorMessage(err) });
      }
    }
  }
}

function created(after: Resource, sequenceId: number, cause: ResourceChange['cause']): ResourceChange {
  const { selfLink } = after.metadata;
  return Object.freeze({ type: 'CREATED', selfLink, kind: after.kind, before: undefined, after, sequenceId, cause });
}

function updated(
  before: Resource,
  after: Resource,
  sequenceId: number,
  cause: ResourceChange['cause'],
): ResourceChange {
  const { selfLink } = after.metadata;
  return Object.freeze({ type: 'UPDATED', selfLink, kind: after.kind, before, after, sequenceId, cause });
}

function deleted(before: Resource, sequenceId: number, cause: ResourceChange['cause']): ResourceChange {
  const { selfLink } = before.metadata;
  return Object.freeze({ type: 'DELETED', selfLink, kind: before.kind, before, after: undefined, sequenceId, cause });
}

/** `/{group}/{version}[/{scopePlural}/{scopeName}]/{plural}/{name}`: plain segments, none `.` or `..`. */
function isResourceLink(link: string): boolean {
  const segments = link.split('/');
  return (
    segments[0] === '' &&
    (segments.length === 5 || segments.length === 7) &&
    segments.slice(1).every((s) => /^[A-Za-z0-9._~-]+$/.test(s) && s !== '.' && s !== '..')
  );
}

function stored(c: ResourceChange): StoredChange {
  return c.type === 'DELETED' ? { op: 'delete', selfLink: c.selfLink } : { op: 'put', resource: c.after };
}

/** `resources`, each frozen: the array is the caller's own. */
function frozen(resources: Resource[]): Resource[] {
  for (const r of resources) deepFreeze(r);
  return resources;
}
