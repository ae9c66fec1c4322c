import type { Resource, ResourceCountOptions, ResourceGetOptions, ResourceListOptions } from './resource';

/**
 * Reads resources of the API server (docs/resources.md): `manager.resources`, on the manager's token (refreshed once
 * on a 401), tenant header, TLS, proxy and entry address, against `apiUrl`. A 5xx, a 429 or a network failure is
 * retried with backoff (the `reconnect` policy), at least the server's `Retry-After`, for up to a minute per call,
 * then rejected as `RESOURCE_UNAVAILABLE` (retryable); 401 is `UNAUTHENTICATED`, 403 `PERMISSION_DENIED`, an answer
 * that breaks the API's shape `PROTOCOL`. Every argument is checked before it reaches a URL (`INVALID_CONFIG`
 * naming it). Tokens never appear in errors.
 */
export interface ResourceClient {
  /**
   * The resource at `selfLink`, or `undefined` when the service answers 404: the resource is gone (deleted since its
   * event, or never was). Undefined rather than an error: a deleted resource is an everyday answer a caller must
   * handle (the type makes it), not a failure; it is never retried and never dropped silently.
   */
  get(selfLink: string, options?: ResourceGetOptions): Promise<Resource | undefined>;
  /**
   * Every resource of `collection` (`/{group}/{version}[/{scopePlural}/{scopeName}]/{plural}`), in the service's
   * order. Pages are read until a short page; when the first page is full (and there is no `query`), a `HEAD` asks
   * for `X-Axway-Total-Count` and pages 2..N are read `concurrency` at once; without a readable count, page by page.
   * Every page is checked: a bare JSON array of resources. Pages that repeat a resource of an earlier page, or that
   * disagree with the count, mean the list moved while it was read (or the service broke paging): the list is read
   * again page by page, up to 3 reads, then rejected as a retryable `PROTOCOL` error; never a wrong list. A list is
   * not a snapshot: resources may change while it is read. 404 (an unknown collection) is `RESOURCE_NOT_FOUND`.
   */
  list(collection: string, options?: ResourceListOptions): Promise<Resource[]>;
  /**
   * The number of resources in `collection`: `HEAD` and its `X-Axway-Total-Count`. A missing or unreadable header
   * is a `PROTOCOL` error; 404 is `RESOURCE_NOT_FOUND`.
   */
  count(collection: string, options?: ResourceCountOptions): Promise<number>;
}
