import { WatchError } from '../core/errors';
import { isRecord } from '../core/option-checks';
import type { Resource } from '../core/resource';
import { collectionLink, pluralOfKind } from '../resources/kind-plurals';

/** One collection a WatchTopic covers: a filter's kind in its scope (every scope when `scope` is undefined). */
export interface TopicCollection {
  /** `/{group}/{version}[/{scopePlural}/{scopeName}]/{plural}`. */
  link: string;
  group: string;
  kind: string;
  /** The scope listed; undefined: the kind across scopes (a scope name `*`), or an unscoped kind. */
  scope: { kind: string; name: string } | undefined;
  /**
   * Of a collection across scopes (`scope` undefined): the scope kinds it holds, those its filters name with the scope
   * name `*`. The link lists the kind in every scope of every scope kind (the API has no address for "every
   * Environment"), so the others' are in its list and not covered. Undefined: every scope kind and none (an unscoped
   * kind, a filter without a scope).
   */
  scopeKinds: readonly string[] | undefined;
}

/**
 * Whether `collection`'s link lists `resource` (its group, kind and, for a scoped collection, scope): what a list of
 * it may answer with. One of another scope kind is listed and not held ({@link collectionHolds}).
 */
export function collectionLists(collection: TopicCollection, resource: Resource): boolean {
  if (resource.kind !== collection.kind || resource.group !== collection.group) return false;
  const { scope } = collection;
  if (scope === undefined) return true;
  const held = resource.metadata.scope;
  return held?.name === scope.name && held.kind === scope.kind;
}

/** Whether `collection` covers `resource`: its link lists it and, across scopes, it lies in a scope kind named. */
export function collectionHolds(collection: TopicCollection, resource: Resource): boolean {
  if (!collectionLists(collection, resource)) return false;
  const { scopeKinds } = collection;
  if (scopeKinds === undefined || collection.scope !== undefined) return true;
  const held = resource.metadata.scope?.kind;
  return held !== undefined && scopeKinds.includes(held);
}

/** Whether `collection` is narrowed: its link lists more than it holds (other scope kinds' resources). */
export function isNarrowed(collection: TopicCollection): boolean {
  return collection.scope === undefined && collection.scopeKinds !== undefined;
}

const SEGMENT = /^[A-Za-z0-9._~-]+$/;

function segment(value: unknown): value is string {
  return typeof value === 'string' && SEGMENT.test(value) && value !== '.' && value !== '..';
}

/**
 * The collections `watchTopic` (the resource at `topic`) covers, one per kind and scope however many filters name
 * them (docs/resources.md#watchtopic-filters: a filter's `name` and `type` narrow the events, not the lists). The
 * version is the filter's `apiVersion` (or `version`) when it has one, else the topic's own. Throws
 * `INVALID_CONFIG` for a topic whose filters cannot be listed (none, a kind without a known plural: `plurals` adds
 * it), `TOPIC_NOT_FOUND` when the WatchTopic is not there.
 */
export function topicCollections(
  topic: string,
  watchTopic: Resource | undefined,
  plurals: Readonly<Record<string, string>>,
): TopicCollection[] {
  if (watchTopic === undefined)
    throw new WatchError(
      'TOPIC_NOT_FOUND',
      `cache of ${topic}: the resource API has no WatchTopic at ${topic} (it answered 404): check the topic's self link, and apiUrl, the API's base, which usually ends in /apis`,
    );
  const spec = watchTopic.spec;
  const filters = isRecord(spec) ? spec['filters'] : undefined;
  if (!Array.isArray(filters) || filters.length === 0)
    throw new WatchError(
      'INVALID_CONFIG',
      `cache of ${topic}: the WatchTopic has no spec.filters (missing, empty or not an array): nothing to list`,
    );
  const version = topic.split('/')[2] ?? '';
  const byLink = new Map<string, TopicCollection>();
  filters.forEach((filter: unknown, i) => {
    const where = `cache of ${topic}: spec.filters[${i}]`;
    if (!isRecord(filter) || !segment(filter.group) || typeof filter.kind !== 'string')
      throw new WatchError('INVALID_CONFIG', `${where} has no usable group and kind`);
    const { group, kind } = filter;
    const plural = pluralOfKind(kind, plurals);
    if (plural === undefined)
      throw new WatchError(
        'INVALID_CONFIG',
        `${where}: the kind ${JSON.stringify(kind)} has no known collection name: give it in the cache option 'plurals' ({ ${kind}: '<plural>' })`,
      );
    let scope: TopicCollection['scope'];
    let scopeKinds: TopicCollection['scopeKinds'];
    let scopeLink: { plural: string; name: string } | undefined;
    if (filter.scope !== undefined && filter.scope !== null) {
      const s = filter.scope as unknown;
      if (!isRecord(s) || typeof s.kind !== 'string' || typeof s.name !== 'string')
        throw new WatchError('INVALID_CONFIG', `${where}.scope has no usable kind and name`);
      if (s.name === '*') scopeKinds = [s.kind];
      else {
        const scopePlural = pluralOfKind(s.kind, plurals);
        if (scopePlural === undefined)
          throw new WatchError(
            'INVALID_CONFIG',
            `${where}: the scope kind ${JSON.stringify(s.kind)} has no known collection name: give it in the cache option 'plurals' ({ ${s.kind}: '<plural>' })`,
          );
        if (!segment(s.name)) throw new WatchError('INVALID_CONFIG', `${where}.scope.name is not a plain name`);
        scope = { kind: s.kind, name: s.name };
        scopeLink = { plural: scopePlural, name: s.name };
      }
    }
    // A filter may name its kind's version (`apiVersion`, or `version`); else the topic's own.
    const own = [filter.apiVersion, filter.version].find((v) => v !== undefined);
    if (own !== undefined && !segment(own))
      throw new WatchError('INVALID_CONFIG', `${where}: its version is not a plain name`);
    const link = collectionLink(group, own ?? version, plural, scopeLink);
    const same = byLink.get(link);
    if (same === undefined) byLink.set(link, { link, group, kind, scope, scopeKinds });
    // Across scopes at one link: the scope kinds of every filter (any scope kind if one filter names none).
    else if (same.scopeKinds !== undefined)
      same.scopeKinds = scopeKinds === undefined ? undefined : [...new Set([...same.scopeKinds, ...scopeKinds])].sort();
  });
  // A kind across scopes holds every scope's of its scope kinds: the kind's scoped collections there add nothing.
  const across = [...byLink.values()].filter((c) => c.scope === undefined);
  const covered = ({ group, kind, scope }: TopicCollection): boolean =>
    scope !== undefined &&
    across.some(
      (a) => a.group === group && a.kind === kind && (a.scopeKinds === undefined || a.scopeKinds.includes(scope.kind)),
    );
  return [...byLink.values()].filter((c) => !covered(c));
}

/**
 * The kinds `watchTopic`'s filters name, in their order; undefined when that cannot be told: no filters (missing,
 * empty, not an array), or a filter without a plain kind (a `*`, or none).
 */
export function filterKinds(watchTopic: Resource): readonly string[] | undefined {
  const spec = watchTopic.spec;
  const filters = isRecord(spec) ? spec['filters'] : undefined;
  if (!Array.isArray(filters)) return undefined;
  const kinds = new Set<string>();
  for (const filter of filters as unknown[]) {
    if (!isRecord(filter) || !segment(filter.kind)) return undefined;
    kinds.add(filter.kind);
  }
  return kinds.size === 0 ? undefined : [...kinds];
}
