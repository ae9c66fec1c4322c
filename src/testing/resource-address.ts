/**
 * Where a resource and a collection live in the fake's resource API (docs/resources.md#addresses): a self link is
 * `/{group}/{version}/{plural}/{name}` (unscoped) or `/{group}/{version}/{scopePlural}/{scopeName}/{plural}/{name}`,
 * and the collection of a kind is the self link of one of its resources without the name.
 */

/** The version every kind is served at by the fake. */
export const FAKE_API_VERSION = 'v1alpha1';

/**
 * The plural a kind takes in a path: the kind in lower case with `s` added, `es` after `s`, `sh`, `ch`, `x` or `z`,
 * `y` after a consonant becoming `ies` (`APIService` → `apiservices`, `WatchTopic` → `watchtopics`, `Mesh` →
 * `meshes`, `Category` → `categories`): the SDK's table of the real service's kinds follows it.
 */
export function pluralOf(kind: string): string {
  const lower = kind.toLowerCase();
  if (/[^aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`;
  return /(s|sh|ch|x|z)$/.test(lower) ? `${lower}es` : `${lower}s`;
}

/** The parts of a stored resource's self link that decide which collections list it. */
export interface ResourcePlace {
  group: string;
  version: string;
  plural: string;
  /** Undefined for an unscoped resource. */
  scope?: { plural: string; name: string };
}

/** What a path under `/apis` names: one resource (by its self link) or a collection. */
export type ApiTarget =
  | { target: 'resource'; selfLink: string }
  | {
      target: 'collection';
      place: ResourcePlace;
      /** False for `/{group}/{version}/{plural}`: every resource of the kind, whatever its scope. */
      scoped: boolean;
    };

/**
 * Reads a path under `/apis` (`path` without it, starting with `/`): an even number of segments after group and
 * version names a resource, an odd one a collection. Undefined for a path that is neither (fewer than three
 * segments, more than six, an empty segment).
 */
export function readApiPath(path: string): ApiTarget | undefined {
  let segments: string[];
  try {
    segments = path.split('/').slice(1).map(decodeURIComponent);
  } catch {
    return undefined; // a malformed escape names nothing
  }
  if (segments.length < 3 || segments.length > 6 || segments.some((s) => s === '')) return undefined;
  const [group, version, ...rest] = segments as [string, string, ...string[]];
  if (rest.length % 2 === 0) return { target: 'resource', selfLink: `/${segments.join('/')}` };
  if (rest.length === 1)
    return { target: 'collection', place: { group, version, plural: rest[0] as string }, scoped: false };
  const [scopePlural, scopeName, plural] = rest as [string, string, string];
  return {
    target: 'collection',
    place: { group, version, plural, scope: { plural: scopePlural, name: scopeName } },
    scoped: true,
  };
}

/** The place of a stored resource, from its self link; undefined for a self link of another shape. */
export function placeOf(selfLink: string): ResourcePlace | undefined {
  const segments = selfLink.split('/').slice(1);
  if (segments.length === 4) {
    const [group, version, plural] = segments as [string, string, string];
    return { group, version, plural };
  }
  if (segments.length === 6) {
    const [group, version, scopePlural, scopeName, plural] = segments as [string, string, string, string, string];
    return { group, version, plural, scope: { plural: scopePlural, name: scopeName } };
  }
  return undefined;
}

/**
 * Whether a collection lists a resource at `place`: same group, version and plural; for a scoped collection the same
 * scope, whose name `*` stands for any scope of that plural.
 */
export function collectionHolds(collection: ApiTarget & { target: 'collection' }, place: ResourcePlace): boolean {
  const want = collection.place;
  if (want.group !== place.group || want.version !== place.version || want.plural !== place.plural) return false;
  if (!collection.scoped) return true;
  if (place.scope === undefined || want.scope === undefined) return false;
  return want.scope.plural === place.scope.plural && (want.scope.name === '*' || want.scope.name === place.scope.name);
}

/**
 * The collection a WatchTopic filter covers: its kind's collection in its scope (every scope for the scope name `*`,
 * every scope and none for a filter without a scope). A filter's `name` and `type` are not part of it.
 */
export function filterCollection(filter: {
  group: string;
  kind: string;
  scope?: { kind: string; name: string };
}): ApiTarget & { target: 'collection' } {
  const { group, kind, scope } = filter;
  return scope === undefined
    ? { target: 'collection', place: { group, version: FAKE_API_VERSION, plural: pluralOf(kind) }, scoped: false }
    : {
        target: 'collection',
        place: {
          group,
          version: FAKE_API_VERSION,
          plural: pluralOf(kind),
          scope: { plural: pluralOf(scope.kind), name: scope.name },
        },
        scoped: true,
      };
}
