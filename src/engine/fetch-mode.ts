import { WatchError, toWatchError } from '../core/errors';
import type { Resource } from '../core/resource';
import type { WatchEvent } from '../core/types';
import { Waiters } from '../core/waiters';
import type { ResolvedFetchOptions } from '../config/watch-options';
import type { KindDispatch } from '../delivery/kind-dispatch';
import type { KindHandlers } from '../delivery/watch-handlers';
import type { FetchFields } from '../resources/event-fetch';
import { NO_FETCH, Prefetcher, type FetchPlan, type QueuedItem } from '../resources/prefetcher';
import type { ResourceClient } from '../resources/resource-client';

/** Options of {@link FetchMode}. */
export interface FetchModeOptions {
  topic: string;
  fetch: ResolvedFetchOptions;
  /** The handlers per kind, when `kinds` was given. */
  dispatch: KindDispatch | undefined;
  /** Whether delivery may hand `event` to a handler, kinds aside (the filter, a skipped unknown type). */
  passes: (event: WatchEvent) => boolean;
  client: () => ResourceClient;
  /** The copy the manager's caches hold of a resource of this topic, if any (for a subresource's merge). */
  cachedResource: ((topic: string, selfLink: string, sequenceId: number) => Resource | undefined) | undefined;
  /** The queue the fetches look ahead in (the watch's intake). */
  queue: { ahead(index: number): QueuedItem | undefined };
  /**
   * A fetch failed for good as the client sees it: the watch fails with `error` (a retryable one reconnects, a
   * permanent one stops the watch). The event waits, unacknowledged, and is fetched again once subscribed again.
   */
  failed: (error: WatchError) => void;
  /** Aborted when the watch stops. */
  stopped: AbortSignal;
}

/**
 * Fetch mode of one watch: what each event fetches (the union of the fields of the handlers that take it), the
 * {@link Prefetcher} that fetches ahead in the intake, and the step delivery runs before an event's handlers (see
 * `DeliveryOptions.prepare`): the event handed over is a new object with `resource` and `gone`.
 */
export class FetchMode {
  readonly prefetcher: Prefetcher;
  /** Resources fetched for events handed over, and those of them gone (404): `metrics()`'s `fetched`, `fetchedGone`. */
  fetched = 0;
  fetchedGone = 0;
  /** Prepares waiting for the watch to be subscribed again after a failed fetch. */
  private readonly resumed = new Waiters();
  /** Per kind's handlers: the fields its events fetch (with the every-kind handler's), made at the first use. */
  private readonly fieldsOf = new Map<KindHandlers, FetchFields>();

  constructor(private readonly options: FetchModeOptions) {
    const { fetch, topic, cachedResource } = options;
    this.prefetcher = new Prefetcher({
      client: options.client,
      concurrency: fetch.concurrency,
      lookahead: fetch.lookahead,
      plan: (event) => this.plan(event),
      cached:
        cachedResource === undefined
          ? () => undefined
          : (selfLink, sequenceId) => cachedResource(topic, selfLink, sequenceId),
      queue: options.queue,
    });
  }

  /** What `event` fetches: nothing for `DELETED` and for an event no handler takes, else the takers' fields. */
  plan(event: WatchEvent): FetchPlan {
    if (event.type === 'DELETED' || !this.options.passes(event)) return NO_FETCH;
    const { dispatch, fetch } = this.options;
    let kind: KindHandlers | undefined;
    try {
      kind = dispatch?.taker(event);
    } catch {
      // The application's shouldHandle threw (asked here from the intake, ahead of delivery): nothing is fetched, and
      // delivery asks it again when the event comes up, where a throw stops the watch (HANDLER_FAILED) as it does
      // without fetch mode. It must not escape into the intake, which feeds the stream.
      return NO_FETCH;
    }
    if (kind === undefined) return dispatch === undefined || dispatch.everyKind ? fetch.fields : NO_FETCH;
    let fields = this.fieldsOf.get(kind);
    if (fields === undefined && !this.fieldsOf.has(kind)) {
      fields = dispatch?.everyKind === true ? union(kind.fields, fetch.fields) : kind.fields;
      this.fieldsOf.set(kind, fields);
    }
    return fields;
  }

  /**
   * The event its handlers get: a new object, the intake's own left as it is, with the fetch's `resource` and
   * `gone`. A failed fetch fails the watch (see {@link FetchModeOptions.failed}) and is made again once the watch is
   * subscribed again; rejects only once the watch stopped.
   */
  readonly prepare = async (event: WatchEvent): Promise<WatchEvent> => {
    const { stopped, topic } = this.options;
    for (;;) {
      try {
        const { resource, gone } = await this.prefetcher.take(event);
        if (resource !== undefined || gone) this.fetched += 1;
        if (gone) this.fetchedGone += 1;
        return { ...event, resource, gone };
      } catch (err) {
        if (stopped.aborted) throw err;
        this.options.failed(fetchError(err, topic, event));
      }
      // Stopped by that failure (a permanent one): nothing more to wait for.
      if (stopped.aborted) throw new WatchError('CLOSED', `watch ${topic} stopped`);
      await this.resumed.wait();
      if (stopped.aborted) throw new WatchError('CLOSED', `watch ${topic} stopped`);
    }
  };

  /** The watch is subscribed again: fetches that failed are made again. */
  subscribed(): void {
    this.resumed.releaseAll();
  }

  /** The watch stops: every fetch is aborted, and what waits is let go. */
  close(): void {
    this.prefetcher.close();
    this.resumed.releaseAll();
  }
}

/**
 * The error a failed fetch fails the watch with: the client's own, except that a self link or subresource the client
 * refuses to put into a URL (its `INVALID_CONFIG`) came from the service: the event breaks the contract (`PROTOCOL`).
 */
function fetchError(err: unknown, topic: string, event: WatchEvent): WatchError {
  const where = `watch ${topic}: fetching the resource of sequence id ${event.sequenceId}`;
  if (err instanceof WatchError && err.code === 'INVALID_CONFIG')
    return new WatchError(
      'PROTOCOL',
      `${where}: the event names no resource the API can be asked for: ${err.message}`,
      {
        cause: err,
      },
    );
  return toWatchError(err, 'RESOURCE_UNAVAILABLE', where);
}

/** Both lists of fields (once each); undefined, the whole resource, when either is. */
function union(a: FetchFields, b: FetchFields): FetchFields {
  if (a === undefined || b === undefined) return undefined;
  return [...new Set([...a, ...b])];
}
