import type { Resource } from '../core/resource';

/** What {@link ResourceCache.list} keeps: every criterion given must hold. */
export interface CacheFilter {
  /** The resource's kind, for example `APIService`. */
  kind?: string;
  /** Its API group, for example `management`. */
  group?: string;
  /** Its scope: the scope's name, and its kind when given. */
  scope?: {
    /** The scope's kind, for example `Environment`. @default any */
    kind?: string;
    /** The scope's name. */
    name: string;
  };
}

/** What every {@link ResourceChange} carries, whatever its type. */
export interface ResourceChangeBase {
  /** The resource's self link. */
  selfLink: string;
  /** Its kind. */
  kind: string;
  /** The position the cache reflects with this change (an event's sequence id, or a sync's position). */
  sequenceId: number;
  /**
   * `event`: an event applied; `sync`: the initial sync; `resync`: a re-list after history was purged (or the topic's
   * sequence restarted), a `DELETED` made up for what the new list lacks; `validation`: a re-list of a collection
   * whose count differed.
   */
  cause: 'event' | 'sync' | 'resync' | 'validation';
}

/**
 * One change of a cache: a resource that appeared, changed or went, and why. Keyed on `type`: after a check of it,
 * `before` and `after` are known to be there or not (`if (change.type === 'CREATED') change.after.metadata`).
 */
export type ResourceChange = ResourceChangeCreated | ResourceChangeUpdated | ResourceChangeDeleted;

/** A self link now holds a resource it did not. */
export interface ResourceChangeCreated extends ResourceChangeBase {
  /** `CREATED`. */
  type: 'CREATED';
  /** Nothing: the self link held no resource. */
  before: undefined;
  /** What the cache holds now; frozen. */
  after: Resource;
}

/** Another state of the resource a self link holds (the same id). */
export interface ResourceChangeUpdated extends ResourceChangeBase {
  /** `UPDATED`. */
  type: 'UPDATED';
  /** What the cache held before; frozen. */
  before: Resource;
  /** What it holds now; frozen. */
  after: Resource;
}

/** The resource a self link held went. */
export interface ResourceChangeDeleted extends ResourceChangeBase {
  /** `DELETED`. */
  type: 'DELETED';
  /** What the cache held; frozen. */
  before: Resource;
  /** Nothing: the self link holds no resource now. */
  after: undefined;
}

/** Told after an initial sync or a re-list of the whole topic. */
export interface CacheSynced {
  /** The topic's self link. */
  topic: string;
  /** How many resources the cache holds. */
  resources: number;
  /** The position it reflects: every event up to it. */
  sequenceId: number;
  /** `sync`: the initial sync; `resync`: a re-list after history was purged. */
  cause: 'sync' | 'resync';
}

/**
 * A cache of every resource a WatchTopic covers, kept in step with its events (`manager.cache(topic)`): an initial
 * sync lists the topic's filters' collections (the newest sequence id taken before the lists), then each event after
 * that position is applied in order; a purged history lists again. The resources handed out are frozen: reading is
 * free, changing one throws.
 */
export interface ResourceCache {
  /** The WatchTopic's self link. */
  readonly topic: string;
  /**
   * Resolves once the initial sync (or the stored cache) is loaded and the topic's events are live. Rejects with the
   * error that stopped the cache (a permanent failure, a failed store write, `CLOSED`).
   */
  ready(): Promise<void>;
  /** The resource at `selfLink`, if cached. */
  get(selfLink: string): Resource | undefined;
  /** The resource with the id `id`, if cached. */
  getById(id: string): Resource | undefined;
  /** The cached resources `filter` keeps (all without one), ordered by self link. */
  list(filter?: CacheFilter): Resource[];
  /** The cached resources that refer to `selfLink` (`metadata.references`), ordered by self link. */
  referencing(selfLink: string): Resource[];
  /** How many resources it holds. */
  readonly size: number;
  /** The position its resources reflect; undefined before the first sync or load. */
  readonly sequenceId: number | undefined;
  /** Whether it is synced and following live events. */
  readonly live: boolean;
  /** Tells every change, as it is applied. A listener that throws is logged. */
  on(event: 'change', listener: (change: ResourceChange) => void): this;
  /** Tells every initial sync and re-list of the topic. */
  on(event: 'synced', listener: (synced: CacheSynced) => void): this;
  /** Removes a `change` listener. */
  off(event: 'change', listener: (change: ResourceChange) => void): this;
  /** Removes a `synced` listener. */
  off(event: 'synced', listener: (synced: CacheSynced) => void): this;
  /**
   * Every change from now on, as an iterator: it buffers up to `maxPendingChanges`; a full buffer holds the cache's
   * application of events back until it is read. `break`, `return()` or `signal` end it; the cache's close ends it.
   */
  changes(options?: { signal?: AbortSignal }): AsyncIterableIterator<ResourceChange>;
  /** Stops following the topic, ends its iterators and writes what is pending to the store. Idempotent. */
  close(): Promise<void>;
}
