import { WatchError } from '../core/errors';
import type { Resource } from '../core/resource';
import type { ResourceClient } from '../resources/resource-client';
import { collectionHolds, topicCollections, type TopicCollection } from './topic-filters';

/** How a topic's collections are read. */
export interface ListingOptions {
  pageSize: number;
  /** Pages of one list read at once. */
  concurrency: number;
  plurals: Readonly<Record<string, string>>;
  signal: AbortSignal;
}

/**
 * Every resource of `collection`, each checked to lie in it: a list that answers with a resource of another kind or
 * scope breaks the API, and the cache must not take it (`PROTOCOL`).
 */
export async function listCollection(
  client: ResourceClient,
  collection: TopicCollection,
  options: ListingOptions,
): Promise<Resource[]> {
  const { pageSize, concurrency, signal } = options;
  const items = await client.list(collection.link, { pageSize, concurrency, signal });
  for (const item of items) {
    if (!collectionHolds(collection, item))
      throw new WatchError(
        'PROTOCOL',
        `list ${collection.link}: the service answered with ${item.metadata.selfLink} (${item.group} ${item.kind}), which the collection does not hold`,
      );
  }
  return items;
}

/**
 * What a topic covers now: its WatchTopic read (its filters may have changed since the last time), then each of its
 * collections listed, at once; a resource two collections list (a kind in one scope and across scopes) is kept once.
 */
export async function listTopic(
  client: ResourceClient,
  topic: string,
  options: ListingOptions,
): Promise<{ collections: TopicCollection[]; resources: Resource[] }> {
  const watchTopic = await client.get(topic, { signal: options.signal });
  const collections = topicCollections(topic, watchTopic, options.plurals);
  return { collections, resources: await listCollections(client, collections, options) };
}

/** Every resource of `collections`, listed at once; one a collection lists twice over (overlapping filters) once. */
export async function listCollections(
  client: ResourceClient,
  collections: readonly TopicCollection[],
  options: ListingOptions,
): Promise<Resource[]> {
  const lists = await Promise.all(collections.map((c) => listCollection(client, c, options)));
  // One collection's list holds each resource once already (the client refuses a list that repeats one).
  if (lists.length === 1) return lists[0] as Resource[];
  const bySelfLink = new Map<string, Resource>();
  for (const list of lists) for (const item of list) bySelfLink.set(item.metadata.selfLink, item);
  return [...bySelfLink.values()];
}
