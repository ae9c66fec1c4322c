import type { Resource } from '../core/resource';
import type { ResourceStore, StoredCache, StoredChange } from './resource-store';

/**
 * Keeps each topic's resources and position in memory for the life of the process: a new process starts empty, and
 * its cache lists again. The default store of a cache.
 */
export class MemoryResourceStore implements ResourceStore {
  private readonly topics = new Map<string, { position: number; resources: Map<string, Resource> }>();

  load(topic: string): Promise<StoredCache | undefined> {
    const held = this.topics.get(topic);
    return Promise.resolve(held && { position: held.position, resources: [...held.resources.values()] });
  }

  replace(topic: string, resources: readonly Resource[], position: number): Promise<void> {
    this.topics.set(topic, { position, resources: new Map(resources.map((r) => [r.metadata.selfLink, r])) });
    return Promise.resolve();
  }

  apply(topic: string, changes: readonly StoredChange[], position: number): Promise<void> {
    const resources = this.topics.get(topic)?.resources ?? new Map<string, Resource>();
    for (const change of changes) {
      if (change.op === 'put') resources.set(change.resource.metadata.selfLink, change.resource);
      else resources.delete(change.selfLink);
    }
    this.topics.set(topic, { position, resources });
    return Promise.resolve();
  }

  drop(topic: string): Promise<void> {
    this.topics.delete(topic);
    return Promise.resolve();
  }
}
