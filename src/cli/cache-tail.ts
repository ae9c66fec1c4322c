import type { Resource } from '../core/resource';
import type { SyncedNotice } from './records';

/** What `watch-tail --cache` uses of a topic's resource cache (a `ResourceCache` of `manager.cache()`). */
export interface TailCache {
  readonly topic: string;
  /** The position its resources reflect; undefined before the first sync or load. */
  readonly sequenceId: number | undefined;
  ready(): Promise<void>;
  list(): Resource[];
  on(event: 'synced', listener: (synced: SyncedNotice) => void): unknown;
  off(event: 'synced', listener: (synced: SyncedNotice) => void): unknown;
}

/**
 * The position `cache`'s resources reflect: at once for a cache its store held, else once its initial sync is done.
 * Where the tail's events of a topic start when it has no position of its own: a `synced` record at P, then the
 * events after P, so that the records add up to the cache. Rejects when the cache stops before its first sync.
 */
export function cachedPosition(cache: TailCache): Promise<number> {
  if (cache.sequenceId !== undefined) return Promise.resolve(cache.sequenceId);
  return new Promise((resolve, reject) => {
    const settle = (outcome: () => void): void => {
      cache.off('synced', synced);
      outcome();
    };
    const synced = (notice: SyncedNotice): void => settle(() => resolve(notice.sequenceId));
    cache.on('synced', synced);
    cache.ready().then(
      // Live, and no 'synced' heard (the sync ended before this listened): the cache itself knows its position.
      () =>
        settle(() =>
          cache.sequenceId === undefined
            ? reject(new Error(`the cache of ${cache.topic} is live without a position`))
            : resolve(cache.sequenceId),
        ),
      (err: unknown) => settle(() => reject(err instanceof Error ? err : new Error(String(err)))),
    );
  });
}

/** What `--dump` writes: every cached resource, ordered by topic then self link (code-unit order of both). */
export function dumpOrder(caches: readonly TailCache[]): Array<{ topic: string; resource: Resource }> {
  const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return [...caches]
    .sort((a, b) => byText(a.topic, b.topic))
    .flatMap((cache) =>
      [...cache.list()]
        .sort((a, b) => byText(a.metadata.selfLink, b.metadata.selfLink))
        .map((resource) => ({ topic: cache.topic, resource })),
    );
}
