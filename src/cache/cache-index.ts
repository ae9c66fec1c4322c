import type { Resource } from '../core/resource';
import type { CacheFilter } from './resource-cache';

/**
 * Freezes `value` and everything it holds: a cached resource is handed out as it is, so no reader may change it.
 * Called when a resource is handed out (read, or told in a change), not when it is put: an initial sync of many
 * thousands of resources nobody reads yet must not pay for freezing them all (a resource is frozen once: a frozen
 * one returns at once).
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const inner of Object.values(value as Record<string, unknown>)) deepFreeze(inner);
  return value;
}

function addTo(index: Map<string, Set<string>>, key: string, selfLink: string): void {
  let set = index.get(key);
  if (set === undefined) index.set(key, (set = new Set()));
  set.add(selfLink);
}

function removeFrom(index: Map<string, Set<string>>, key: string, selfLink: string): void {
  const set = index.get(key);
  if (set === undefined) return;
  set.delete(selfLink);
  if (set.size === 0) index.delete(key);
}

function referencedLinks(resource: Resource): string[] {
  const refs = resource.metadata.references;
  if (!Array.isArray(refs)) return [];
  const links: string[] = [];
  for (const ref of refs) {
    const link = (ref as { selfLink?: unknown } | null)?.selfLink;
    if (typeof link === 'string') links.push(link);
  }
  return links;
}

function bySelfLink(a: Resource, b: Resource): number {
  const x = a.metadata.selfLink;
  const y = b.metadata.selfLink;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The indexes besides the one by self link. */
interface Secondary {
  byId: Map<string, string>;
  byKind: Map<string, Set<string>>;
  byScope: Map<string, Set<string>>;
  byReference: Map<string, Set<string>>;
}

function indexInto(secondary: Secondary, resource: Resource): void {
  const selfLink = resource.metadata.selfLink;
  secondary.byId.set(resource.metadata.id, selfLink);
  addTo(secondary.byKind, resource.kind, selfLink);
  const scope = resource.metadata.scope?.name;
  if (typeof scope === 'string') addTo(secondary.byScope, scope, selfLink);
  for (const link of referencedLinks(resource)) addTo(secondary.byReference, link, selfLink);
}

function unindexFrom(secondary: Secondary, held: Resource): void {
  const selfLink = held.metadata.selfLink;
  if (secondary.byId.get(held.metadata.id) === selfLink) secondary.byId.delete(held.metadata.id);
  removeFrom(secondary.byKind, held.kind, selfLink);
  const scope = held.metadata.scope?.name;
  if (typeof scope === 'string') removeFrom(secondary.byScope, scope, selfLink);
  for (const link of referencedLinks(held)) removeFrom(secondary.byReference, link, selfLink);
}

/**
 * The resources of one cache, one per self link, with their indexes: by id, by kind, by scope name and by the self
 * links they refer to. Kept by the cache's one writer (events, syncs and validations are serialized).
 *
 * The indexes besides the self link's are built at their first use and kept from then on: an initial sync (or a
 * store's load) of many thousands of resources is on the way to `ready()`, and a cache read only by self link (or
 * through its changes) never needs them; the first `list`, `getById` or `referencing` builds them in one pass.
 */
export class CacheIndex {
  private readonly bySelfLink = new Map<string, Resource>();
  private built: Secondary | undefined;

  get size(): number {
    return this.bySelfLink.size;
  }

  get(selfLink: string): Resource | undefined {
    return this.bySelfLink.get(selfLink);
  }

  getById(id: string): Resource | undefined {
    const link = this.secondary().byId.get(id);
    return link === undefined ? undefined : this.bySelfLink.get(link);
  }

  /** Every resource, in no order. */
  all(): IterableIterator<Resource> {
    return this.bySelfLink.values();
  }

  /**
   * Puts `resource` in place of what its self link held; returns what it replaced. The cache never changes a resource
   * it holds; it is frozen when handed out ({@link deepFreeze}).
   */
  put(resource: Resource): Resource | undefined {
    const selfLink = resource.metadata.selfLink;
    const before = this.remove(selfLink);
    this.bySelfLink.set(selfLink, resource);
    if (this.built !== undefined) indexInto(this.built, resource);
    return before;
  }

  /** Removes what `selfLink` holds; returns it. */
  remove(selfLink: string): Resource | undefined {
    const held = this.bySelfLink.get(selfLink);
    if (held === undefined) return undefined;
    this.bySelfLink.delete(selfLink);
    if (this.built !== undefined) unindexFrom(this.built, held);
    return held;
  }

  /** The resources `filter` keeps, ordered by self link. */
  list(filter: CacheFilter = {}): Resource[] {
    const { kind, group, scope } = filter;
    // Candidates from the narrower index that applies, then every criterion checked on them.
    let links: Iterable<string> = this.bySelfLink.keys();
    if (kind !== undefined || scope !== undefined) {
      const { byKind, byScope } = this.secondary();
      if (kind !== undefined) links = byKind.get(kind) ?? [];
      if (scope !== undefined) {
        const inScope = byScope.get(scope.name) ?? new Set<string>();
        if (kind === undefined || inScope.size < (byKind.get(kind)?.size ?? 0)) links = inScope;
      }
    }
    const out: Resource[] = [];
    for (const link of links) {
      const r = this.bySelfLink.get(link);
      if (r === undefined) continue;
      if (kind !== undefined && r.kind !== kind) continue;
      if (group !== undefined && r.group !== group) continue;
      if (scope !== undefined) {
        const held = r.metadata.scope;
        if (held?.name !== scope.name || (scope.kind !== undefined && held.kind !== scope.kind)) continue;
      }
      out.push(r);
    }
    return out.sort(bySelfLink);
  }

  /** The resources that refer to `selfLink`, ordered by self link. */
  referencing(selfLink: string): Resource[] {
    const links = this.secondary().byReference.get(selfLink);
    if (links === undefined) return [];
    const out: Resource[] = [];
    for (const link of links) {
      const r = this.bySelfLink.get(link);
      if (r !== undefined) out.push(r);
    }
    return out.sort(bySelfLink);
  }

  /** Forgets everything. */
  clear(): void {
    this.bySelfLink.clear();
    this.built = undefined;
  }

  /** The indexes besides the self link's, built now if they were not. */
  private secondary(): Secondary {
    if (this.built === undefined) {
      const built: Secondary = { byId: new Map(), byKind: new Map(), byScope: new Map(), byReference: new Map() };
      for (const resource of this.bySelfLink.values()) indexInto(built, resource);
      this.built = built;
    }
    return this.built;
  }
}
