import type { WatchErrorCode } from './errors';
import type { WatchMetrics } from './types';

/**
 * The counters of {@link WatchMetrics}: they only go up, so those of watches that came before (the engines of earlier
 * leases, the watches of a topic that left) are added to the current ones.
 */
export const WATCH_COUNTERS = [
  'delivered',
  'filtered',
  'duplicates',
  'deadLettered',
  'unknownTypes',
  'lateEvents',
  'reconnects',
  'historyPages',
  'historyRetries',
  'historyGoneNothingMissed',
  'fetched',
  'fetchedGone',
] as const;

/** One of {@link WATCH_COUNTERS}. */
export type WatchCounter = (typeof WATCH_COUNTERS)[number];

/** Every counter of a watch, with its reconnects by code. */
export type WatchCounts = Pick<WatchMetrics, WatchCounter | 'reconnectsByCode'>;

/** Counts of nothing yet. */
export function zeroCounts(): WatchCounts {
  const counts = Object.fromEntries(WATCH_COUNTERS.map((c) => [c, 0])) as Record<WatchCounter, number>;
  return { ...counts, reconnectsByCode: {} };
}

/** Adds the counters of `from` into `into` (its `reconnectsByCode` changed in place). */
export function addCounts(into: WatchCounts, from: WatchCounts): void {
  for (const c of WATCH_COUNTERS) into[c] += from[c];
  const byCode = into.reconnectsByCode;
  for (const [code, n] of Object.entries(from.reconnectsByCode) as Array<[WatchErrorCode, number]>)
    byCode[code] = (byCode[code] ?? 0) + n;
}
