import type { WatchEvent } from '../core/types';

/**
 * What works ahead of delivery on the events queued in its intake (fetch mode's prefetcher): told when events are
 * queued, when delivery passes one over without handing it to a handler, and when the queue is dropped. Whatever it
 * started for an event passed over or dropped is let go.
 */
export interface Lookahead {
  /** Events were queued: work ahead on them (read through `Intake.ahead`). */
  queued(): void;
  /** Delivery will never hand `event` over (a repeat, filtered, an unknown type skipped). */
  passed(event: WatchEvent): void;
  /** The queue is about to be dropped (still readable through `Intake.ahead`): none of it will be handed over. */
  dropped(): void;
}
