import type { Resource } from './resource';

/**
 * Whether a list of `collection` may hold `item`: its self link is the collection's link and its name
 * (`{collection}/{name}`), or, for a collection without a scope (`/{group}/{version}/{plural}`, a kind across scopes),
 * `/{group}/{version}/{scopePlural}/{scopeName}/{plural}/{name}` where `scopeName` is the item's own
 * `metadata.scope.name`. A list is checked item by item with this where it enters: a resource of another collection
 * (another scope, kind or group) must not reach a cache that keeps the list.
 */
export function inCollection(collection: string, item: Resource): boolean {
  const self = item.metadata.selfLink;
  if (self === `${collection}/${item.name}`) return true;
  const c = collection.split('/');
  if (c.length !== 4) return false;
  // ['', group, version, plural] across scopes: ['', group, version, scopePlural, scopeName, plural, name].
  const s = self.split('/');
  return (
    s.length === 7 &&
    s[1] === c[1] &&
    s[2] === c[2] &&
    s[3] !== '' &&
    s[4] === item.metadata.scope?.name &&
    s[5] === c[3] &&
    s[6] === item.name
  );
}
