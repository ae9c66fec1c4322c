import type { Resource } from '../core/resource';
import type { ResourceStore, StoredCache, StoredChange } from './resource-store';

/** One topic's resources: as a sync replaced them (kept as given) until a change asks for them by self link. */
interface Held {
  position: number;
  listed?: readonly Resource[];
  bySelfLink?: Map<string, Resource>;
}

function bySelfLink(held: Held): Map<string, Resource> {
  held.bySelfLink ??= new Map((held.listed ?? []).map((r) => [r.metadata.selfLink, r]));
  held.listed = undefined;
  return held.bySelfLink;
}

/**
 * Keeps each topic's resources and position in memory for the life of the process: a new process starts empty, and
 * its cache lists again. The default store of a cache.
 *
 * A replace keeps the list it is given (a copy of the array, not of the resources) and maps it by self link at the
 * first change: a sync's write costs nothing on the way to the cache's ready().
 */
export class MemoryResourceStore implements ResourceStore {
  private readonly topics = new Map<string, Held>();

  load(topic: string): Promise<StoredCache | undefined> {
    const held = this.topics.get(topic);
    if (held === undefined) return Promise.resolve(undefined);
    const resources = held.listed !== undefined ? [...held.listed] : [...bySelfLink(held).values()];
    return Promise.resolve({ position: held.position, resources });
  }

  replace(topic: string, resources: readonly Resource[], position: number): Promise<void> {
    this.topics.set(topic, { position, listed: [...resources] });
    return Promise.resolve();
  }

  apply(topic: string, changes: readonly StoredChange[], position: number): Promise<void> {
    const held = this.topics.get(topic) ?? { position };
    const resources = bySelfLink(held);
    for (const change of changes) {
      if (change.op === 'put') resources.set(change.resource.metadata.selfLink, change.resource);
      else resources.delete(change.selfLink);
    }
    held.position = position;
    this.topics.set(topic, held);
    return Promise.resolve();
  }

  drop(topic: string): Promise<void> {
    this.topics.delete(topic);
    return Promise.resolve();
  }
}
