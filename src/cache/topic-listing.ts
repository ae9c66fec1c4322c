import { WatchError } from '../core/errors';
import type { Resource } from '../core/resource';
import type { Log } from '../logging/logger';
import type { ResourceClient } from '../resources/resource-client';
import { collectionHolds, collectionLists, isNarrowed, topicCollections, type TopicCollection } from './topic-filters';

/** How a topic's collections are read. */
export interface ListingOptions {
  pageSize: number;
  /** Pages of one list read at once. */
  concurrency: number;
  plurals: Readonly<Record<string, string>>;
  signal: AbortSignal;
  log: Log;
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
 * Whether `err` is the API's 404 for `collection` because its scope does not exist (yet): a filter may name an
 * environment before it is created, and what the API answers for a collection in a missing scope is not documented
 * (an empty list, or 404). Either way the collection holds nothing; its resources come as events once the scope is
 * made. Only a scoped collection's: a 404 of a collection across scopes (a kind or version the API does not serve)
 * stays an error, as a topic the cache cannot list.
 */
function isMissingScope(collection: TopicCollection, err: unknown): boolean {
  return collection.scope !== undefined && err instanceof WatchError && err.code === 'RESOURCE_NOT_FOUND';
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
  let items: Resource[];
  try {
    items = await client.list(collection.link, { pageSize, concurrency, signal });
  } catch (err) {
    if (!isMissingScope(collection, err)) throw err;
    options.log.debug('cache: a collection whose scope does not exist (404) holds nothing', {
      collection: collection.link,
    });
    return { resources: [], others: 0 };
  }
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

/** The number of resources `collection`'s link lists (`HEAD`): 0 for a scope that does not exist (yet). */
export async function countCollection(
  client: ResourceClient,
  collection: TopicCollection,
  options: Pick<ListingOptions, 'signal' | 'log'>,
): Promise<number> {
  try {
    return await client.count(collection.link, { signal: options.signal });
  } catch (err) {
    if (!isMissingScope(collection, err)) throw err;
    options.log.debug('cache: a collection whose scope does not exist (404) counts nothing', {
      collection: collection.link,
    });
    return 0;
  }
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
