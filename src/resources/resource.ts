export type { Resource, ResourceAudit, ResourceMetadata } from '../core/resource';

/** Options of {@link ResourceClient.get}. */
export interface ResourceGetOptions {
  /**
   * Only these top-level keys or dotted paths (`spec`, `x-agent-details`, `metadata.id`); the meta keys (`group`,
   * `apiVersion`, `kind`, `name`, `metadata`) are always added. How strictly the service projects is its own: never
   * depend on a field you did not ask for being absent. @default the whole resource
   */
  fields?: readonly string[];
  /** References to embed (the service's `embed` parameter). @default none */
  embed?: readonly string[];
  /** Cancels the call (it rejects with `CLOSED`). */
  signal?: AbortSignal;
}

/** Options of {@link ResourceClient.list}. */
export interface ResourceListOptions {
  /**
   * An RSQL filter (`name=="x"`, `attributes.k=="v"`, `;` AND, `,` OR). A list with a query is read page by page
   * (the collection's count would not be the query's). @default none
   */
  query?: string;
  /** As {@link ResourceGetOptions.fields}. @default whole resources */
  fields?: readonly string[];
  /** Items per page, 10 to 100 (the resource API answers 400 outside). @default 100 */
  pageSize?: number;
  /** Pages read at once once the count is known, 1 to 10. @default 3 */
  concurrency?: number;
  /** Cancels the call (it rejects with `CLOSED`). */
  signal?: AbortSignal;
}

/** Options of {@link ResourceClient.count}. */
export interface ResourceCountOptions {
  /** Cancels the call (it rejects with `CLOSED`). */
  signal?: AbortSignal;
}
