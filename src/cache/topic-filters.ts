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
}

/** Whether `collection` lists `resource` (its group, kind and, for a scoped collection, scope). */
export function collectionHolds(collection: TopicCollection, resource: Resource): boolean {
  if (resource.kind !== collection.kind || resource.group !== collection.group) return false;
  const { scope } = collection;
  if (scope === undefined) return true;
  const held = resource.metadata.scope;
  return held?.name === scope.name && held.kind === scope.kind;
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
    throw new WatchError('TOPIC_NOT_FOUND', `cache of ${topic}: the resource API has no WatchTopic at ${topic}`);
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
    let scopeLink: { plural: string; name: string } | undefined;
    if (filter.scope !== undefined && filter.scope !== null) {
      const s = filter.scope as unknown;
      if (!isRecord(s) || typeof s.kind !== 'string' || typeof s.name !== 'string')
        throw new WatchError('INVALID_CONFIG', `${where}.scope has no usable kind and name`);
      if (s.name !== '*') {
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
    if (!byLink.has(link)) byLink.set(link, { link, group, kind, scope });
  });
  // A kind across scopes lists every scope's: the kind's scoped collections add nothing to it.
  const across = new Set([...byLink.values()].filter((c) => c.scope === undefined).map((c) => `${c.group}/${c.kind}`));
  return [...byLink.values()].filter((c) => c.scope === undefined || !across.has(`${c.group}/${c.kind}`));
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
