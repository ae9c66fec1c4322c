import type { ResourceInstance, ResourceReference, ResourceScope, WatchEventType } from '../core/types';
import { FAKE_API_VERSION, placeOf, type ResourcePlace } from './resource-address';

/** The metadata of a {@link FakeResource}. */
export interface FakeResourceMetadata {
  /** The resource's id: the same in every event about it, new when its self link is created again. */
  id: string;
  /** Its self link. */
  selfLink: string;
  /** Its scope; absent for an unscoped resource. */
  scope?: ResourceScope;
  /** A decimal string, bumped (service-wide) by every change of the resource except a subresource's. */
  resourceVersion: string;
  /** The resources it refers to. */
  references: ResourceReference[];
  /** When it was created and last changed, as the service writes times (`2026-01-01T00:00:00.000+0000`). */
  audit: {
    /** Its creation. */
    createTimestamp: string;
    /** Its last change (a subresource's excepted). */
    modifyTimestamp: string;
  };
}

/**
 * A whole resource as the fake's resource API serves it (docs/resources.md#a-full-resource): the event's thin
 * resource plus `apiVersion`, `title`, `tags`, `finalizers`, `spec`, audit metadata and subresources, each a further
 * top-level key (`status`, `x-agent-details`…).
 */
export interface FakeResource {
  /** Subresources, by name. */
  [subresource: string]: unknown;
  /** The API group. */
  group: string;
  /** Always `v1alpha1` in the fake. */
  apiVersion: string;
  /** The kind. */
  kind: string;
  /** The name, unique in its scope. */
  name: string;
  /** The title. @default the name */
  title: string;
  /** Identity, place, version and audit. */
  metadata: FakeResourceMetadata;
  /** Free-form string attributes: the event's. */
  attributes: Record<string, string>;
  /** Tags. */
  tags: string[];
  /** Finalizers (always empty in the fake). */
  finalizers: unknown[];
  /** The spec. */
  spec: Record<string, unknown>;
}

/** A scope named by kind and name, as a publish and a WatchTopic filter give it. */
export interface ScopeName {
  /** The scope's kind, for example `Environment`. */
  kind: string;
  /** Its name (in a filter, `*` for any). */
  name: string;
}

/**
 * What keeps resources in step with the events of a `TopicLog`: told each event as it is appended, it answers
 * the thin resource the event carries. The fake service's resource state is one.
 */
export interface ResourceKeeper {
  /**
   * Applies an event of `type` about `thin` (the defaults the topic log drew for it) at `time` (ISO), with the
   * `content` the publisher gave and the event's `subresource`; returns the thin resource the event carries.
   */
  apply(
    type: WatchEventType,
    thin: ResourceInstance,
    content: ResourceContent,
    subresource: string,
    time: string,
  ): ResourceInstance;
}

/** One filter of a WatchTopic's `spec.filters` (docs/resources.md#watchtopic-filters). */
export interface WatchTopicFilter {
  /** The API group of the kind. */
  group: string;
  /** The kind. */
  kind: string;
  /** The resource name, `*` for any. */
  name: string;
  /** The scope the filter covers; absent for an unscoped kind. `name` `*` is any scope of that kind. */
  scope?: ScopeName;
  /** The event types (`created`, `updated`, `deleted`). */
  type: string[];
}

/** What a published event may say of the resource besides its thin form (fields of `PublishInput`). */
export interface ResourceContent {
  /**
   * The resource's scope: `null` for an unscoped kind.
   * @default `{ kind: 'Environment', name: 'env-<sequence id mod 3>' }`
   */
  scope?: ScopeName | null;
  /** The title. @default the name on creation, else kept */
  title?: string;
  /** The whole spec after the change. @default `{ description: '<kind> <name>' }` on creation, else kept */
  spec?: Record<string, unknown>;
  /**
   * Subresources set by the change, by name. A `SUBRESOURCEUPDATED` sets the one its `subresource` names to this
   * entry. @default `{ revision: '<n>' }` for the named subresource of a `SUBRESOURCEUPDATED`, none otherwise
   */
  subresources?: Record<string, unknown>;
  /** The tags. @default [] on creation, else kept */
  tags?: string[];
}

/** Keys that are not subresources: what a subresource may not be called. */
const META_KEYS: ReadonlySet<string> = new Set([
  'group',
  'apiVersion',
  'kind',
  'name',
  'title',
  'metadata',
  'attributes',
  'tags',
  'finalizers',
  'spec',
  'owner',
]);

interface Held {
  resource: FakeResource;
  place: ResourcePlace;
}

/**
 * The resources the fake service holds, kept in step with the events published on any of its topics: each event
 * changes the resource its payload names (by self link), and the event carries the resource as it is then (its
 * stable id; for `DELETED`, as it was). The rules are docs/resources.md#the-fake-service; every stored object is
 * replaced, never changed, so a rendered form can be kept per object.
 */
export class ResourceState implements ResourceKeeper {
  private readonly held = new Map<string, Held>();
  private version = 0;
  private changes = 0;
  private subresourceWrites = 0;

  /** {@inheritDoc ResourceKeeper.apply} */
  apply(
    type: WatchEventType,
    thin: ResourceInstance,
    content: ResourceContent,
    subresource: string,
    time: string,
  ): ResourceInstance {
    const named = type === 'SUBRESOURCEUPDATED' ? [subresource] : [];
    for (const key of [...Object.keys(content.subresources ?? {}), ...named])
      if (META_KEYS.has(key)) throw new Error(`fake watch service: ${key} is not a subresource`);
    const selfLink = thin.metadata.selfLink;
    const stored = this.held.get(selfLink)?.resource;
    switch (type) {
      case 'DELETED':
        if (this.held.delete(selfLink)) this.changes += 1;
        return stored === undefined ? thin : thinOf(stored);
      case 'TRIGGERACTION':
        return stored === undefined ? thin : thinOf(stored);
      case 'SUBRESOURCEUPDATED': {
        const subs = withNamed(content.subresources, subresource, () => ({
          revision: String(++this.subresourceWrites),
        }));
        if (stored === undefined) return thinOf(this.put(this.created(thin, { ...content, subresources: subs }, time)));
        // A subresource write changes that key only: a client that merges the subresource onto its copy holds the
        // whole resource (docs/resources.md#the-fake-service).
        return thinOf(this.put({ ...stored, ...structuredClone(subs) }));
      }
      case 'CREATED':
        // A create of a self link that exists makes a new resource (a new id): the old one's delete went untold.
        this.held.delete(selfLink);
        this.put(this.created(thin, content, time));
        return thin; // what was stored was copied from it
      case 'UPDATED':
        if (stored === undefined) {
          this.put(this.created(thin, content, time));
          return thin;
        }
        this.put(this.updated(stored, thin, content, time));
        // The event carries what it drew (attributes, references: what was stored) under the resource's one id.
        return { ...thin, metadata: { ...thin.metadata, id: stored.metadata.id } };
    }
  }

  /**
   * Creates or replaces the WatchTopic at `selfLink` (unscoped, group `management`) with `id` and `filters`; a new
   * id (a topic created again) gives it a new creation time.
   */
  putTopic(selfLink: string, id: string, filters: readonly WatchTopicFilter[], time: string): FakeResource {
    const name = selfLink.split('/').at(-1) ?? selfLink;
    const before = this.held.get(selfLink)?.resource;
    const stamp = serviceTime(time);
    return this.put({
      group: 'management',
      apiVersion: FAKE_API_VERSION,
      kind: 'WatchTopic',
      name,
      title: before?.title ?? name,
      metadata: {
        id,
        selfLink,
        resourceVersion: String(++this.version),
        references: [],
        audit: {
          createTimestamp: before?.metadata.id === id ? before.metadata.audit.createTimestamp : stamp,
          modifyTimestamp: stamp,
        },
      },
      attributes: {},
      tags: [],
      finalizers: [],
      spec: { filters: structuredClone([...filters]), description: `watch topic ${name}` },
    });
  }

  /** Goes up with every change of what is held: a list computed at one generation holds until the next. */
  get generation(): number {
    return this.changes;
  }

  /** The resource at `selfLink`, as stored (not to be changed). */
  get(selfLink: string): FakeResource | undefined {
    return this.held.get(selfLink)?.resource;
  }

  /** Every resource with its place, in list order (oldest creation first). */
  entries(): IterableIterator<Held> {
    return this.held.values();
  }

  private put(resource: FakeResource): FakeResource {
    const place = placeOf(resource.metadata.selfLink);
    if (place === undefined)
      throw new Error(
        `fake watch service: ${resource.metadata.selfLink} is not a resource's self link (docs/resources.md)`,
      );
    this.held.set(resource.metadata.selfLink, { resource, place });
    this.changes += 1;
    return resource;
  }

  private created(thin: ResourceInstance, content: ResourceContent, time: string): FakeResource {
    const stamp = serviceTime(time);
    const { scope } = thin.metadata;
    return {
      group: thin.group,
      apiVersion: FAKE_API_VERSION,
      kind: thin.kind,
      name: thin.name,
      title: content.title ?? thin.name,
      metadata: {
        id: thin.metadata.id,
        selfLink: thin.metadata.selfLink,
        ...(scope === null ? {} : { scope: { ...scope } }),
        resourceVersion: String(++this.version),
        references: copyReferences(thin.metadata.references),
        audit: { createTimestamp: stamp, modifyTimestamp: stamp },
      },
      attributes: { ...thin.attributes },
      tags: [...(content.tags ?? [])],
      finalizers: [],
      spec: content.spec === undefined ? { description: `${thin.kind} ${thin.name}` } : structuredClone(content.spec),
      ...(content.subresources === undefined ? {} : structuredClone(content.subresources)),
    };
  }

  private updated(stored: FakeResource, thin: ResourceInstance, content: ResourceContent, time: string): FakeResource {
    return {
      ...stored,
      title: content.title ?? stored.title,
      metadata: {
        ...stored.metadata,
        references: copyReferences(thin.metadata.references),
        resourceVersion: String(++this.version),
        audit: { ...stored.metadata.audit, modifyTimestamp: serviceTime(time) },
      },
      attributes: { ...thin.attributes },
      tags: content.tags === undefined ? stored.tags : [...content.tags],
      spec: content.spec === undefined ? stored.spec : structuredClone(content.spec),
      ...(content.subresources === undefined ? {} : structuredClone(content.subresources)),
    };
  }
}

/** The thin form an event carries of `resource`. */
function thinOf(resource: FakeResource): ResourceInstance {
  const { id, scope, selfLink, references } = resource.metadata;
  return {
    group: resource.group,
    kind: resource.kind,
    name: resource.name,
    metadata: {
      id,
      scope: scope === undefined ? null : { ...scope },
      selfLink,
      references: copyReferences(references),
    },
    attributes: { ...resource.attributes },
  };
}

/** A copy of references (flat objects): cheaper than `structuredClone`, which costs a publish several µs. */
function copyReferences(references: readonly ResourceReference[]): ResourceReference[] {
  return references.map((r) => ({ ...r }));
}

/** `subresources` with the entry `name` present (its default drawn if missing). */
function withNamed(
  subresources: Record<string, unknown> | undefined,
  name: string,
  fallback: () => unknown,
): Record<string, unknown> {
  if (name === '' || subresources?.[name] !== undefined) return subresources ?? {};
  return { ...subresources, [name]: fallback() };
}

/** An ISO time as the service writes audit times (`+0000` for `Z`). */
function serviceTime(iso: string): string {
  return iso.endsWith('Z') ? `${iso.slice(0, -1)}+0000` : iso;
}
