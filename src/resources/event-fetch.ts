import type { Resource } from '../core/resource';
import type { WatchEvent } from '../core/types';
import type { ResourceClient } from './resource-client';

/**
 * What fetching an event's resource gave: the resource as the API returned it after the event, or `gone` (404: it
 * was deleted since). `resource` is undefined for a `DELETED` event (never fetched) and when gone.
 */
export interface FetchOutcome {
  resource: Resource | undefined;
  gone: boolean;
}

/** Which fields of an event's resource to fetch: `undefined` = the whole resource. */
export type FetchFields = readonly string[] | undefined;

const NOT_FETCHED: FetchOutcome = { resource: undefined, gone: false };

/**
 * A subresource name that may be asked for by `fields`: one top-level key of letters, digits, `_` and `-` (what the
 * resource client's field check accepts, without the dots of a path: a dotted name would be read as a path, and the
 * merge would take the wrong key).
 */
const PLAIN_KEY = /^[A-Za-z0-9_-]{1,100}$/;
const GONE: FetchOutcome = { resource: undefined, gone: true };

/**
 * Fetches the resource an event names, the rule of fetch mode and of the cache (docs/resources.md#fetch-mode):
 * `DELETED` is never fetched (its payload is what was deleted); `SUBRESOURCEUPDATED` of a resource `cached` holds
 * (the same id) reads only `name,metadata.id,<subresource>` and merges that key onto the cached copy; every other
 * event reads the resource once, `fields` of it. A 404 is `gone`, never an error. Errors of the client (after its
 * own retries) reject.
 *
 * The merge is made when this is called: a caller that fetches ahead of the order it applies in must merge when the
 * event is applied instead (the cache does, through {@link mergeSubresource}).
 */
export async function fetchForEvent(
  client: ResourceClient,
  event: WatchEvent,
  fields: FetchFields,
  cached: Resource | undefined,
  signal?: AbortSignal,
): Promise<FetchOutcome> {
  if (event.type === 'DELETED') return NOT_FETCHED;
  const selfLink = event.payload.metadata.selfLink;
  const sub = event.type === 'SUBRESOURCEUPDATED' ? event.subresource : '';
  // The name comes from the service and would become part of the URL (`fields=`): one that is not a plain key is
  // never sent; the whole resource is read instead, which holds the subresource whatever its name.
  const plain = sub === '' || PLAIN_KEY.test(sub);
  if (plain && sub !== '' && cached !== undefined && cached.metadata.id === event.payload.metadata.id) {
    const part = await client.get(selfLink, withSignal({ fields: ['name', 'metadata.id', sub] }, signal));
    if (part === undefined) return GONE;
    const merged = mergeSubresource(cached, part, sub);
    if (merged !== undefined) return { resource: merged, gone: false };
    // Recreated under the same self link since the copy was cached: the copy is of another resource.
  }
  const wanted = plain ? fields : undefined;
  const resource = await client.get(selfLink, withSignal(wanted === undefined ? {} : { fields: wanted }, signal));
  return resource === undefined ? GONE : { resource, gone: false };
}

/**
 * `cached` with the key `sub` taken from `part` (a projection `name,metadata.id,<sub>` of the same resource), or
 * undefined when `part` is another resource (another id: deleted and recreated under the self link). A key `part`
 * lacks was removed from the resource: the merge removes it too.
 */
export function mergeSubresource(cached: Resource, part: Resource, sub: string): Resource | undefined {
  if (part.metadata.id !== cached.metadata.id) return undefined;
  const merged: Resource = { ...cached };
  // Defined, not assigned: a key the service names `__proto__` must stay a key, never become the copy's prototype.
  if (Object.prototype.hasOwnProperty.call(part, sub))
    Object.defineProperty(merged, sub, { value: part[sub], enumerable: true, writable: true, configurable: true });
  else delete merged[sub];
  return merged;
}

function withSignal<T extends object>(options: T, signal: AbortSignal | undefined): T & { signal?: AbortSignal } {
  return signal === undefined ? options : { ...options, signal };
}
