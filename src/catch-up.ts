import { Backoff, type ResolvedBackoff } from './backoff';
import { sleep, type Clock } from './clock';
import type { Delivery } from './delivery';
import { WatchError, toWatchError } from './errors';
import { HistoryGone, type HistoryClient, type HistoryPage } from './history-client';

/** What one catch-up needs from its watch. */
export interface CatchUpContext {
  topic: string;
  history: HistoryClient;
  delivery: Delivery;
  pageSize: number;
  /** Catch-up stops feeding while this many items wait for delivery. */
  highWater: number;
  clock: Clock;
  backoff: ResolvedBackoff;
  /** Aborted when the connection ends or the watch closes. */
  signal: AbortSignal;
  /** Whether the stream has shown a sign of life (response headers or any message). */
  alive: () => boolean;
  /** Resolves at the stream's first sign of life (or when `signal` aborts). */
  whenAlive: () => Promise<void>;
  /** A retryable history failure, for the application's `onError`. */
  report: (error: WatchError) => void;
  /** Captures the newest position and lists the resources, for list-then-watch after a 410. */
  list: ((topic: string) => unknown[] | Promise<unknown[]>) | undefined;
  /** Whether the application takes resync notices (else a 410 stops the watch). */
  canResync: boolean;
  /** Counts events handed to delivery from history. */
  replayed: (count: number) => void;
}

/**
 * Replays the events after `from` from the event-history API into delivery, and returns once the hand-off to the
 * live stream is gap-free.
 *
 * The protocol has no "subscription active" acknowledgement, so events published between the last history page and
 * the moment the service starts sending on our stream could fall in a gap (the reference Go SDK loses them: it
 * subscribes only after its catch-up). The stream is therefore opened first and its live events held back, and the
 * catch-up is complete only when a page fetched *after the stream showed a sign of life* came back short: every
 * event older than the first one the stream can carry is then in history and was fetched. If the last page was
 * requested before any sign of life, catch-up waits for one and makes one more pass from where it got to. Live
 * events held back meanwhile are delivered after it; those already delivered from history are dropped by sequence id.
 *
 * Pages are numbered from a fixed `from`, so the next pages are fetched while the current one is delivered.
 */
export async function catchUp(ctx: CatchUpContext, from: number): Promise<void> {
  let after = from;
  for (;;) {
    const pass = await onePass(ctx, after);
    after = pass.last;
    if (pass.confirmed) return;
    // No sign of life yet (a quiet stream that was accepted without headers): wait for one, but poll history
    // meanwhile, so that events still flow if the stream stays silent.
    await Promise.race([ctx.whenAlive(), sleep(ctx.clock, QUIET_POLL_MS, ctx.signal)]);
    if (ctx.signal.aborted) throw new WatchError('CLOSED', `catch-up of ${ctx.topic} cancelled`);
  }
}

/** How often history is polled while a stream stays silent after its catch-up. */
const QUIET_POLL_MS = 5_000;

interface PassResult {
  /** The highest sequence id handed to delivery (or the start position). */
  last: number;
  /** Whether the final, short page was requested after the stream's first sign of life. */
  confirmed: boolean;
}

/**
 * Pages requested ahead of the one being delivered, so that request latency overlaps the work on other pages.
 * Measured with bench/catchup.ts on 2 cores: 4 pages of 100 beat 2 and 3; with pages of 1000, 4 in flight cost more
 * in garbage collection than they gain, and 3 is best.
 */
function pagesInFlight(pageSize: number): number {
  return pageSize <= 250 ? 4 : 3;
}

async function onePass(ctx: CatchUpContext, start: number): Promise<PassResult> {
  let after = start;
  let last = start;
  let requested = 0;
  const window = pagesInFlight(ctx.pageSize);
  const inFlight: Array<ReturnType<typeof fetchPage>> = [];
  const fill = (): void => {
    while (inFlight.length < window) inFlight.push(fetchPage(ctx, after, ++requested));
  };
  fill();
  for (;;) {
    const result = await (inFlight.shift() as ReturnType<typeof fetchPage>).promise;
    if (result instanceof HistoryGone) {
      inFlight.length = 0; // pages of the purged range are void
      after = last = await resync(ctx, result);
      requested = 0;
      fill();
      continue;
    }
    let handed = 0;
    for (const event of result.page.events) {
      if (event.sequenceId <= last) continue; // a page boundary that moved under us: already handed over
      ctx.delivery.push({ kind: 'event', event });
      last = event.sequenceId;
      handed += 1;
    }
    ctx.replayed(handed);
    // A short page ends the pass. Pages requested after it are ignored: one of them may hold events appended
    // since, while the short page's own tail (appended after it was served) was never fetched. The next pass,
    // if any, starts from `last`.
    if (result.page.last) return { last, confirmed: result.aliveAtRequest };
    fill();
    await ctx.delivery.whenBelow(ctx.highWater);
    if (ctx.signal.aborted) throw new WatchError('CLOSED', `catch-up of ${ctx.topic} cancelled`);
  }
}

/** A page request under way; failures that trying again can cure are retried with backoff inside. */
function fetchPage(ctx: CatchUpContext, after: number, page: number): { promise: Promise<{ page: HistoryPage; aliveAtRequest: boolean } | HistoryGone> } {
  const promise = (async () => {
    const retry = new Backoff(ctx.backoff, () => ctx.clock.random());
    for (;;) {
      const aliveAtRequest = ctx.alive();
      try {
        return { page: await ctx.history.page(ctx.topic, after, page, ctx.pageSize, ctx.signal), aliveAtRequest };
      } catch (err) {
        if (err instanceof HistoryGone) return err;
        if (ctx.signal.aborted) throw new WatchError('CLOSED', `catch-up of ${ctx.topic} cancelled`);
        const error = toWatchError(err, 'HISTORY_UNAVAILABLE', `history of ${ctx.topic}`);
        if (!error.retryable) throw error;
        ctx.report(error);
        await sleep(ctx.clock, retry.next(), ctx.signal);
      }
    }
  })();
  // A prefetch may fail before anyone awaits it; its failure is read where it is awaited.
  promise.catch(() => undefined);
  return { promise };
}

/** 410 Gone: tell the application (with a fresh list if configured) and continue after the newest position. */
async function resync(ctx: CatchUpContext, gone: HistoryGone): Promise<number> {
  if (!ctx.canResync) {
    throw new WatchError('HISTORY_GONE', `watch ${ctx.topic}: ${gone.message}; give an onResync handler to be told and continue`);
  }
  const newest = gone.newestSequenceId;
  const reason = `history after sequence id ${gone.after} was purged`;
  if (ctx.list === undefined) {
    ctx.delivery.push({ kind: 'resync', notice: { topic: ctx.topic, reason, newestSequenceId: newest } });
    return newest;
  }
  // List-then-watch (the Kubernetes informer's idea): the newest id was captured before listing, so changes made
  // during the list come again as events after it (they may repeat what the snapshot shows; never go missing).
  let snapshot: unknown[];
  try {
    snapshot = [...(await ctx.list(ctx.topic))];
  } catch (err) {
    throw new WatchError('HANDLER_FAILED', `watch ${ctx.topic}: resync.list threw: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  // The connection may have ended during the list: its notice is void (the next catch-up makes its own).
  if (ctx.signal.aborted) throw new WatchError('CLOSED', `catch-up of ${ctx.topic} cancelled`);
  ctx.delivery.push({ kind: 'resync', notice: { topic: ctx.topic, reason, newestSequenceId: newest, snapshot } });
  return newest;
}
