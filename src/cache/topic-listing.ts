import { WatchError } from '../core/errors';
import type { Resource } from '../core/resource';
import type { ResourceClient } from '../resources/resource-client';
import { collectionHolds, collectionLists, isNarrowed, topicCollections, type TopicCollection } from './topic-filters';

/** How a topic's collections are read. */
export interface ListingOptions {
  pageSize: number;
  /** Pages of one list read at once. */
  concurrency: number;
  plurals: Readonly<Record<string, string>>;
  signal: AbortSignal;
}

/** What a list of one collection gave. */
export interface CollectionList {
  /** The resources the collection holds. */
  resources: Resource[];
  /**
   * The items its link listed of scope kinds the collection does not hold (a narrowed collection's, see
   * `TopicCollection.scopeKinds`): what the link's count (`HEAD`) counts beyond the collection.
   */
  others: number;
}

/** What the lists of several collections gave. */
export interface TopicList {
  /** Every resource they hold, once. */
  resources: Resource[];
  /** {@link CollectionList.others} of each narrowed collection, by link. */
  others: Map<string, number>;
}

/**
 * Every resource of `collection`, each checked to lie in its link: a list that answers with a resource of another
 * kind, or of another scope for a scoped link, breaks the API, and the cache must not take it (`PROTOCOL`). One of
 * another scope kind in a list across scopes is the API's answer (one address lists every scope kind's): dropped,
 * counted in `others`.
 */
export async function listCollection(
  client: ResourceClient,
  collection: TopicCollection,
  options: ListingOptions,
): Promise<CollectionList> {
  const { pageSize, concurrency, signal } = options;
  const items = await client.list(collection.link, { pageSize, concurrency, signal });
  for (const item of items) {
    if (!collectionLists(collection, item))
      throw new WatchError(
        'PROTOCOL',
        `list ${collection.link}: the service answered with ${item.metadata.selfLink} (${item.group} ${item.kind}), which the collection does not hold`,
      );
  }
  if (!isNarrowed(collection)) return { resources: items, others: 0 };
  const resources = items.filter((item) => collectionHolds(collection, item));
  return { resources, others: items.length - resources.length };
}

/**
 * What a topic covers now: its WatchTopic read (its filters may have changed since the last time), then each of its
 * collections listed, at once; a resource two collections list (a kind in one scope and across scopes) is kept once.
 */
export async function listTopic(
  client: ResourceClient,
  topic: string,
  options: ListingOptions,
): Promise<TopicList & { collections: TopicCollection[] }> {
  const watchTopic = await client.get(topic, { signal: options.signal });
  const collections = topicCollections(topic, watchTopic, options.plurals);
  return { collections, ...(await listCollections(client, collections, options)) };
}

/** Every resource of `collections`, listed at once; one a collection lists twice over (overlapping filters) once. */
export async function listCollections(
  client: ResourceClient,
  collections: readonly TopicCollection[],
  options: ListingOptions,
): Promise<TopicList> {
  const lists = await Promise.all(collections.map((c) => listCollection(client, c, options)));
  const others = new Map<string, number>();
  collections.forEach((c, i) => {
    if (isNarrowed(c)) others.set(c.link, (lists[i] as CollectionList).others);
  });
  // One collection's list holds each resource once already (the client refuses a list that repeats one).
  if (lists.length === 1) return { resources: (lists[0] as CollectionList).resources, others };
  const bySelfLink = new Map<string, Resource>();
  for (const list of lists) for (const item of list.resources) bySelfLink.set(item.metadata.selfLink, item);
  return { resources: [...bySelfLink.values()], others };
}
