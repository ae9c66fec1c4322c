/**
 * The mutants of the code in src/cache/: the resource cache's rules of applying events, its re-lists and
 * validation, its store writes and its changes' backpressure.
 */
import type { Mutant } from './mutant';
import { CACHE_PREFETCH, REPLICA_CACHE, RESOURCE_CACHE } from './tests';

export const cacheMutants: Mutant[] = [
  {
    // A DELETED event removes whatever its self link holds, also a newer resource created under it since.
    name: 'cache-delete-by-id',
    find: 'if (held?.metadata.id !== id) return [];',
    replace: 'if (held?.metadata.id === id) return [];',
    tests: [RESOURCE_CACHE],
  },
  {
    // A 404 between event and fetch leaves the held resource in the cache.
    name: 'cache-gone-removes',
    find: "return held === undefined ? [] : [deleted(held, at, 'event')];",
    replace: "return held !== undefined ? [] : [deleted(held, at, 'event')];",
    tests: [RESOURCE_CACHE],
  },
  {
    // A put equal to what is held is told as a change; a changed one is not.
    name: 'cache-put-unchanged',
    find: 'if (before !== undefined && isDeepStrictEqual(before, resource)) return [];',
    replace: 'if (before !== undefined && !isDeepStrictEqual(before, resource)) return [];',
    tests: [RESOURCE_CACHE],
  },
  {
    // Another state of the same resource is told as a delete and a create.
    name: 'cache-put-same-id',
    find: 'if (before.metadata.id !== resource.metadata.id)',
    replace: 'if (before.metadata.id === resource.metadata.id)',
    tests: [RESOURCE_CACHE],
  },
  {
    // A re-list makes up no DELETED for what it lacks: a resource deleted while history was purged stays for ever.
    name: 'cache-resync-made-up-deletes',
    find: 'if (!inScope(held) || listed.has(held.metadata.selfLink)) continue;',
    replace: 'if (!inScope(held) || !listed.has(held.metadata.selfLink)) continue;',
    tests: [RESOURCE_CACHE],
  },
  {
    // Validation never finds a difference.
    name: 'cache-validation-compare',
    find: 'if (others !== undefined && counted === held + others) continue;',
    replace: 'if (others !== undefined && counted !== held + others) continue;',
    tests: [RESOURCE_CACHE],
  },
  {
    // A list across scopes keeps every scope kind's: a topic of the Environments' secrets holds an Integration's.
    name: 'cache-list-narrowed',
    find: 'if (!isNarrowed(collection)) return { resources: items, others: 0 };',
    replace: 'if (isNarrowed(collection)) return { resources: items, others: 0 };',
    tests: [RESOURCE_CACHE],
  },
  {
    // A narrowed collection's count compared as the cache's alone: it is listed at every validation.
    name: 'cache-validation-others',
    find: 'const others = narrowed ? this.otherScopeKinds.get(collection.link) : 0;',
    replace: 'const others = narrowed ? 0 : 0;',
    tests: [RESOURCE_CACHE],
  },
  {
    // A 404 of a collection in a scope that does not exist (yet) stops the cache.
    name: 'cache-missing-scope-empty',
    find: "return collection.scope !== undefined && err instanceof WatchError && err.code === 'RESOURCE_NOT_FOUND';",
    replace: "return collection.scope === undefined && err instanceof WatchError && err.code === 'RESOURCE_NOT_FOUND';",
    tests: [RESOURCE_CACHE],
  },
  {
    // The watch starts from the manager's `from`, not after the synced or stored position.
    name: 'cache-positions-read',
    find: 'getSequence: () => this.position,',
    replace: 'getSequence: () => undefined,',
    tests: [RESOURCE_CACHE],
  },
  {
    // A full changes() iterator does not hold the events back: its buffer grows without bound.
    name: 'cache-changes-backpressure',
    find: 'for (const it of this.open) if (it.pending >= this.bound) return true;',
    replace: 'for (const it of this.open) if (it.pending >= Infinity) return true;',
    tests: [RESOURCE_CACHE],
  },
  {
    // A second apply starts while one is in flight: writes race, the store may end at an older position.
    name: 'cache-store-one-in-flight',
    find: 'if (this.writing !== undefined || this.pendingPosition === undefined) return;',
    replace: 'if (this.writing === null || this.pendingPosition === undefined) return;',
    tests: [RESOURCE_CACHE],
  },
  {
    // A WatchTopic with an empty filter list is synced as covering nothing.
    name: 'cache-topic-without-filters',
    find: 'if (!Array.isArray(filters) || filters.length === 0)',
    replace: 'if (!Array.isArray(filters) || filters.length === -1)',
    tests: [RESOURCE_CACHE],
  },
  {
    // A cached resource handed out can be changed by its reader.
    name: 'cache-frozen',
    find: 'Object.freeze(value); for (const inner of Object.values(value as Record<string, unknown>)) deepFreeze(inner);',
    replace:
      'Object.isFrozen(value); for (const inner of Object.values(value as Record<string, unknown>)) deepFreeze(inner);',
    tests: [RESOURCE_CACHE],
  },
  {
    // A permanent failure of a store write is retried silently instead of stopping the cache.
    name: 'cache-store-failure-stops',
    find: 'this.writer = new StoreWriter(ctx.store, topic, options.maxPendingChanges, (error) => this.fail(error));',
    replace:
      'this.writer = new StoreWriter(ctx.store, topic, options.maxPendingChanges, (error) => this.report(error));',
    tests: [RESOURCE_CACHE],
  },
  {
    // A fetch refused for good stops the cache's watch (fetch mode) but not the cache: it is only told, its iterators
    // wait for ever instead of ending with the code.
    name: 'cache-permanent-fetch-failure',
    find: 'if (started) this.fail(error);',
    replace: 'if (started) this.report(error);',
    tests: [RESOURCE_CACHE],
  },
  {
    // A subresource event's fetch (merged, when it started, onto the copy held then) is put whole, also when an event
    // applied since changed the copy: the cache goes back to the older copy's other keys.
    name: 'cache-subresource-merge-at-apply',
    find: 'if (held === undefined || held.metadata.id !== event.payload.metadata.id) return fetched;',
    replace: 'if (held === undefined || held.metadata.id === event.payload.metadata.id) return fetched;',
    tests: [CACHE_PREFETCH, RESOURCE_CACHE],
  },
  {
    // A standby member's cache waits for a lease it may never get: its ready() (and a start-up gated on it) hangs.
    name: 'cache-standby-never-ready',
    find: "status?.role === 'standby' && status.owner !== undefined",
    replace: "status?.role === 'standby' && status.owner === undefined",
    tests: [REPLICA_CACHE],
  },
  {
    // A resource replaced or removed stays in the reference index under what it referred to: referencing() answers
    // a resource that no longer refers to the link.
    name: 'cache-reference-index-removal',
    find: 'for (const link of referencedLinks(held)) removeFrom(secondary.byReference, link, selfLink);',
    replace: 'for (const link of referencedLinks(held)) addTo(secondary.byReference, link, selfLink);',
    tests: [RESOURCE_CACHE],
  },
];
