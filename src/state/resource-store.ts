import type { Resource } from '../core/resource';
import type { TopicLease } from './coordinator';

/** One change of a cached topic's resources, as a store writes it: a resource put (by self link) or removed. */
export type StoredChange =
  | {
      /** A put: the resource replaces whatever its self link holds. */
      op: 'put';
      /** The resource, whole. */
      resource: Resource;
    }
  | {
      /** A delete: what the self link holds is removed (nothing held: no change). */
      op: 'delete';
      /** The self link of the resource removed. */
      selfLink: string;
    };

/** What a store holds for one topic: the resources and the position they reflect, read together. */
export interface StoredCache {
  /** The sequence id the resources reflect: every event up to it is applied, none after it. */
  position: number;
  /** Every resource of the topic, in no particular order; one per self link. */
  resources: Resource[];
}

/**
 * Where a resource cache (`manager.cache`) keeps each topic's resources together with their position, so that a
 * restart resumes from the position without listing again. The one rule: the resources and the position are written
 * together, atomically — after a crash a store holds either the state before a write or the state after it, never the
 * resources of one position with another position. A write need not be durable when its promise resolves unless the
 * store says so: a write lost in a crash loses its position with it (the events after the stored position are applied
 * again), which keeps the rule. A store proves it keeps this contract by passing `resourceStoreContract` of
 * `watch-manager/testing`, as the built-in stores do.
 *
 * Writes of one topic are never called concurrently (the cache waits for one before the next), and their positions
 * only grow, except `replace`, which may set any position (a re-list after the topic's sequence restarted).
 */
export interface ResourceStore {
  /** What is stored for `topic`, or undefined when nothing is (the cache then starts with an initial sync). */
  load(topic: string): Promise<StoredCache | undefined>;
  /** Replaces every resource of `topic` with `resources`, at `position` (an initial sync, a re-list). */
  replace(topic: string, resources: readonly Resource[], position: number): Promise<void>;
  /**
   * Applies `changes` in order (a put replaces the resource of its self link, a delete of an absent self link is no
   * change) and moves the position to `position`: all of it or nothing. `changes` may be empty (events that changed
   * nothing still move the position).
   */
  apply(topic: string, changes: readonly StoredChange[], position: number): Promise<void>;
  /**
   * This store's writes fenced by `lease`: a store whose `replace` and `apply` commit only while this member holds
   * the lease at its epoch (a deposed holder's write rejects with `LEASE_LOST` and changes nothing), its reads the
   * store's own. What a cache under a coordinator writes through; a store without it cannot keep a cache under a
   * coordinator (`manager.cache` refuses it). `PostgresResourceStore` has it. Optional.
   */
  fenced?(lease: TopicLease): ResourceStore;
  /** Forgets `topic` (the cache was dropped for good). Optional. */
  drop?(topic: string): Promise<void>;
  /**
   * Releases what the store holds (a lock, files, connections); called once by the manager's `close()`, also for a
   * store several caches share. Optional.
   */
  close?(): Promise<void>;
}
