import type { Resource } from '../core/resource';
import type { ResourceStore, StoredCache, StoredChange } from './resource-store';

/**
 * Keeps each topic's resources and position in memory, for the life of the process: a new process starts empty and
 * so lists again; a second cache of the same topic in this process (a new manager given the same store) resumes from
 * what the first left. The default store of `manager.cache`. It keeps the resources it is given (the cache hands it
 * frozen ones) and hands out copies of its lists.
 */
export class MemoryResourceStore implements ResourceStore {
  private readonly topics = new Map<string, { position: number; resources: Map<string, Resource> }>();

  load(topic: string): Promise<StoredCache | undefined> {
    const held = this.topics.get(topic);
    if (held === undefined) return Promise.resolve(undefined);
    return Promise.resolve({ position: held.position, resources: [...held.resources.values()] });
  }

  replace(topic: string, resources: readonly Resource[], position: number): Promise<void> {
    const bySelfLink = new Map<string, Resource>();
    for (const resource of resources) bySelfLink.set(resource.metadata.selfLink, resource);
    this.topics.set(topic, { position, resources: bySelfLink });
    return Promise.resolve();
  }

  apply(topic: string, changes: readonly StoredChange[], position: number): Promise<void> {
    let held = this.topics.get(topic);
    if (held === undefined) {
      held = { position, resources: new Map() };
      this.topics.set(topic, held);
    }
    for (const change of changes) {
      if (change.op === 'put') held.resources.set(change.resource.metadata.selfLink, change.resource);
      else held.resources.delete(change.selfLink);
    }
    held.position = position;
    return Promise.resolve();
  }

  drop(topic: string): Promise<void> {
    this.topics.delete(topic);
    return Promise.resolve();
  }
}
