/** Resources as the resource API and the events name them: the types every layer may use. */

/** A reference from one resource to another (`Reference`, docs/wire.md#resource-model). */
export interface ResourceReference {
  /** The referenced resource's id. */
  id: string;
  /** Its kind, for example `APIService`. */
  kind: string;
  /** Its name. */
  name: string;
  /** The kind of its scope, for example `Environment`. */
  scopeKind: string;
  /** The name of its scope. */
  scopeName: string;
  /** Its self link. */
  selfLink: string;
  /** A `HARD` reference keeps the referenced resource from being deleted; a `SOFT` one does not. */
  type: 'SOFT' | 'HARD';
}

/** The scope (environment, catalog…) a resource lives in. */
export interface ResourceScope {
  /** The scope's id. */
  id: string;
  /** Its kind, for example `Environment`. */
  kind: string;
  /** Its name. */
  name: string;
  /** Its self link. */
  selfLink: string;
}

/** Who made a resource and when, as the service tells it. */
export interface ResourceAudit {
  /** When the resource was created (the service's timestamp text). */
  createTimestamp?: string;
  /** When the resource last changed. */
  modifyTimestamp?: string;
  /** Other audit fields the service adds. */
  [key: string]: unknown;
}

/**
 * The `metadata` of a {@link Resource}. `id` and `selfLink` are always there (the client refuses a resource without
 * them); the rest is optional because an unscoped kind has no `scope` and a `fields` projection may leave parts out.
 */
export interface ResourceMetadata {
  /** The resource's id: stable for its life, never reused. */
  id: string;
  /** Its address under the API base (`/{group}/{version}[/{scopePlural}/{scopeName}]/{plural}/{name}`). */
  selfLink: string;
  /** Its scope; absent for an unscoped kind. */
  scope?: ResourceScope;
  /** The service's version string of this state (never compare it as a number). */
  resourceVersion?: string;
  /** The resources this one refers to. */
  references?: ResourceReference[];
  /** Creation and modification times. */
  audit?: ResourceAudit;
  /** `DELETING` while the resource is being deleted. */
  state?: string;
  /** Other metadata the service adds. */
  [key: string]: unknown;
}

/**
 * A resource as the API server returns it (`GET {apiUrl}{selfLink}`): the meta keys, `spec`, and every other
 * top-level key is a subresource (`status`, `x-agent-details`…), reachable through the index signature. `group`,
 * `apiVersion`, `kind`, `name`, `metadata.id` and `metadata.selfLink` are checked on every resource the client
 * hands out; the other fields are the service's, as it sent them.
 */
export interface Resource {
  /** The API group, for example `management`. */
  group: string;
  /** The group's version, for example `v1alpha1`. */
  apiVersion: string;
  /** The kind, for example `APIService`. */
  kind: string;
  /** The name, unique within the kind and scope. */
  name: string;
  /** The display title. */
  title?: string;
  /** Ids, addresses, scope, version, references, audit. */
  metadata: ResourceMetadata;
  /** Free string attributes. */
  attributes?: Record<string, string>;
  /** Free tags. */
  tags?: string[];
  /** Finalizers holding a deletion back. */
  finalizers?: unknown[];
  /** The kind's specification. */
  spec?: Record<string, unknown>;
  /** Subresources (`status`, `x-agent-details`…) and any other key the service sends. */
  [subresource: string]: unknown;
}
