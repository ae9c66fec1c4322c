import { Backoff, type ResolvedBackoff } from '../core/backoff';
import { sleep, type Clock } from '../core/clock';
import type { Intake } from '../delivery/intake';
import { WatchError, toWatchError, errorMessage } from '../core/errors';
import { HistoryGone, type HistoryPage, type HistorySource } from './history-source';
import type { Log } from '../logging/logger';

/** What one catch-up needs from its watch. */
export interface CatchUpContext {
  topic: string;
  history: HistorySource;
  /** Where the events go; the catch-up waits for its room. */
  intake: Intake;
  /** Events asked per page (lowered for this catch-up when the server turns out to serve fewer per page). */
  pageSize: number;
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
  log: Log;
  /** Captures the newest position and lists the resources, for list-then-watch after a 410. */
  list: ((topic: string) => unknown[] | Promise<unknown[]>) | undefined;
  /** Whether the application takes resync notices (else a 410 stops the watch). */
  canResync: boolean;
  /** Counts events handed to delivery from history. */
  replayed: (count: number) => void;
  /**
   * Counts requests: pages fetched (a prefetched page counts even when it is dropped), failed ones retried, and
   * `410 Gone` answers that said nothing was missed.
   */
  requests: HistoryRequests;
  /**
   * Told that history went back below an id it had already given (pages out of order across pages): the ids after
   * `from` cannot be trusted to have all been fetched, and a later catch-up should read them again.
   */
  suspect: (from: number) => void;
}

/** History requests of a watch, counted for its metrics. */
export interface HistoryRequests {
  pages: number;
  retries: number;
  /** `410 Gone` answers whose newest id was the position itself: a quiet topic whose last event aged out. */
  goneNothingMissed: number;
}

/**
 * Replays the events after `from` from the event-history API into delivery, and returns once the hand-off to the
 * live stream is gap-free.
 *
 * The protocol has no "subscription active" acknowledgement, so events published between the last history page and
 * the moment the service starts sending on our stream could fall in a gap (the reference Go SDK loses them: it
 * subscribes only after its catch-up). The stream is therefore opened first and its live events held back, and the
 * catch-up is complete only when the last page of a pass was fetched *after the stream showed a sign of life*:
 * every event older than the first one the stream can carry is then in history and was fetched. If the last page was
 * requested before any sign of life, catch-up waits for one and makes one more pass from where it got to. Live
 * events held back meanwhile are delivered after it; those already delivered from history are dropped by sequence id.
 *
 * Pages are numbered from a fixed start, so the next pages are fetched while the current one is delivered. Which page
 * is the last is decided on evidence, not on the page size asked (see onePass): a server may serve fewer. After the
 * service broke the ascending order, `rereadFrom` (below `from`) makes the catch-up read those ids again.
 */
export async function catchUp(ctx: CatchUpContext, from: number, rereadFrom = from): Promise<void> {
  const gate = new RetryGate(ctx);
  // Per catch-up, not per watch: a wrongly lowered size (see onePass) costs one catch-up, never the watch's life.
  const size = { value: ctx.pageSize };
  // Whether the server served a whole page (as many as asked) in this catch-up: then a short page is the last.
  const served = { full: false };
  // Reading again from below the position (after a server broke the order): what was handed over is dropped as a
  // repeat by delivery, what never was is handed over late, with a typed error naming it.
  let after = Math.min(from, rereadFrom);
  let reread = false;
  // The highest id handed to delivery so far (or the position): where a catch-up resumes when history turns out to
  // be purged below it, never a resync of ids that were delivered; unless the ids below it may have gaps (`gaps`:
  // pages of this catch-up overlapped), which a purge may have taken.
  const handed = { highest: from, position: from, gaps: false };
  for (;;) {
    const start = after;
    const pass = await onePass(ctx, gate, size, served, after, handed);
    after = pass.last;
    if (pass.disordered) {
      ctx.suspect(start);
      // Pages that went back below one another may have jumped over ids (a server that changed how it pages during
      // the pass): the pass is read once more from where it started, before the hand-off.
      if (!reread) {
        reread = true;
        after = start;
        continue;
      }
    }
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
  /** Whether a page went back below an id an earlier page of the pass had given. */
  disordered: boolean;
}

/**
 * Pages requested ahead of the one being delivered, so that request latency overlaps the work on other pages.
 * Measured with bench/catchup.ts on 2 cores: 4 pages of 100 beat 2 and 3; with pages of 1000, 4 in flight cost more
 * in garbage collection than they gain, and 3 is best. Never below 2: the page after a short one must be in flight
 * to tell the last page from a server that caps its pages.
 */
function pagesInFlight(pageSize: number): number {
  return pageSize <= 250 ? 4 : 3;
}

/**
 * A page as it came back (its events, its number and start), or a `410 Gone`; either with whether the stream was
 * alive when it was asked.
 */
type PageResult =
  | { page: HistoryPage; number: number; after: number; aliveAtRequest: boolean }
  | { gone: HistoryGone; aliveAtRequest: boolean };

async function onePass(
  ctx: CatchUpContext,
  gate: RetryGate,
  pageSize: { value: number },
  served: { full: boolean },
  start: number,
  handed: { highest: number; position: number; gaps: boolean },
): Promise<PassResult> {
  let after = start;
  let last = start;
  let requested = 0;
  let disordered = false;
  /** The count of the short page that made this numbering ask again from `last`, while that answer is awaited. */
  let verifyCount: number | undefined;
  const inFlight: Array<Promise<PageResult>> = [];
  const fill = (): void => {
    const size = pageSize.value;
    while (inFlight.length < pagesInFlight(size)) inFlight.push(fetchPage(ctx, gate, after, ++requested, size));
  };
  /** Drops the pages in flight and numbers pages anew from `position`: they were numbered from another start. */
  const restart = (position: number): void => {
    inFlight.length = 0;
    after = position;
    requested = 0;
    fill();
  };
  fill();
  for (;;) {
    const result = await (inFlight.shift() as Promise<PageResult>);
    if ('gone' in result) {
      const gone = result.gone;
      // Pages after `after` are void. When this pass already delivered beyond it in order, ask again from there:
      // only the position itself purged is a resync (else the notice would name events history still holds). But
      // when the ids below what was handed over may have gaps (this pass reads again below the position, or its
      // pages overlapped: the service broke the order), the purge may have taken ids never handed over: a resync
      // from where this reading started, so that none of them goes missing without a notice.
      const resumeAt = Math.max(last, handed.highest);
      const gapsBelow = start < handed.position || handed.gaps;
      if (gone.after < resumeAt && !gapsBelow) {
        restart(resumeAt);
        last = after;
        continue;
      }
      if (gone.newestSequenceId === gone.after && !gapsBelow) {
        // The newest id is the position itself: a quiet topic whose last event aged out of history (the service
        // reads "purged" as the position's own event gone). Nothing after it was missed: no resync, and the pass
        // ends as on an empty last page (the reference SDK's harvester takes it so too). Counted, for an operator
        // who wonders why history answers 410.
        ctx.requests.goneNothingMissed += 1;
        ctx.log.debug('history answered 410 Gone with the position as the newest id: nothing was missed', {
          topic: ctx.topic,
          sequenceId: gone.after,
        });
        return { last, confirmed: result.aliveAtRequest, disordered };
      }
      const target = await resync(ctx, gone);
      if (target < gone.after) {
        // The topic's sequence restarted (newest below the position: the topic was recreated): what was handed over
        // belongs to the old sequence; the new one is read from the target, and a later 410 compares against it
        // (never against the old ids, which would ask from the old position again: a loop).
        handed.highest = handed.position = target;
        handed.gaps = false;
      }
      restart(target);
      last = after;
      continue;
    }
    let given = 0;
    let behind: number | undefined;
    for (const event of result.page.events) {
      // Pages are numbered from one start, so a later page never holds an id at or below one an earlier page held,
      // unless the server pages inconsistently: it ignores sort=ASC (single-event pages pass the per-page check),
      // or it changed its page size during the numbering (a cap switched on, replicas with different caps). Never
      // skipped silently: delivery drops a repeat, and hands an id it never handed over late, with a typed error.
      if (event.sequenceId <= last) behind ??= event.sequenceId;
      else last = event.sequenceId;
      if (event.sequenceId > handed.highest) handed.highest = event.sequenceId;
      ctx.intake.push({ kind: 'event', event });
      given += 1;
    }
    ctx.replayed(given);
    if (behind !== undefined) {
      disordered = true;
      handed.gaps = true;
      ctx.report(
        new WatchError(
          'PROTOCOL',
          `history of ${ctx.topic} after ${result.after}, page ${result.number}: holds sequence id ${behind}, not above ${last} from an earlier page; the pages overlap (the server ignored sort=ASC, or changed its page size meanwhile)`,
          { retryable: true },
        ),
      );
    }
    const size = pageSize.value;
    const count = result.page.events.length;
    if (count >= size) served.full = true;
    if (count < size) {
      // The reference SDK takes a short page for the last one (docs/wire.md#pages-and-page-caps). That holds against
      // a server that serves `size` per page; one that serves fewer (a cap) returns short pages with more after them,
      // and one that offsets its pages by one size and caps them by another may even return an empty next page while
      // events lie in between.
      // nothing after `last`
      if (count === 0 && result.after === last) return { last, confirmed: result.aliveAtRequest, disordered };
      const next = await (inFlight[0] as Promise<PageResult>);
      if (!('gone' in next) && next.page.events.some((e) => e.sequenceId <= last)) {
        // The next page goes back below what was handed over: the server does not page in ascending order (it
        // ignored sort=ASC). Starting over after `last` would skip what lies below it; every page is read instead,
        // in turn, and delivery hands over late (with a typed error each) the ids it never had.
        fill();
        continue;
      }
      const nextCount = 'gone' in next ? 0 : next.page.events.length;
      const verifying = verifyCount;
      verifyCount = undefined;
      if (nextCount === 0 && (served.full || (verifying !== undefined && count !== verifying))) {
        // The last page: the server served whole pages in this catch-up, or asked again from the last id it gave a
        // different count (a cap gives the same one). Pages requested after it are ignored: one may hold events
        // appended since, which the stream carries. Confirmed if it was asked after the stream's first sign of
        // life: every event older than what the stream can carry was in history then, and was fetched.
        return { last, confirmed: result.aliveAtRequest, disordered };
      }
      if (nextCount > 0 ? result.number === 1 && count > 0 && nextCount <= count : verifying !== undefined) {
        // A cap: the first page of a numbering is short with more after it (no longer than it), or the same count
        // came back when asked again. Ask for what the server serves from now on.
        pageSize.value = count;
        ctx.log.warnOnce(
          `page-cap:${ctx.topic}:${count}`,
          `the history API serves at most ${count} events per page (asked ${size}); page size lowered to ${count}`,
          { topic: ctx.topic },
        );
      } else if (nextCount === 0) {
        // Never a whole page yet, and nothing on the next one: ask once more from the last id handed over before
        // taking this page for the last (a capped server's next page may be empty while events lie in between).
        verifyCount = count;
      }
      restart(last);
      continue;
    }
    fill();
    await ctx.intake.room();
    if (ctx.signal.aborted) throw new WatchError('CLOSED', `catch-up of ${ctx.topic} cancelled`);
  }
}

/**
 * One pause for every page of a catch-up: a failure or a `Retry-After` holds back all the pages in flight until it
 * is over, instead of each page retrying on its own schedule (four requests per round against a service that asked
 * for quiet). Retries of failed pages share one backoff, which a success resets.
 */
class RetryGate {
  private until = 0;
  private readonly backoff: Backoff;

  constructor(private readonly ctx: CatchUpContext) {
    this.backoff = new Backoff(ctx.backoff, () => ctx.clock.random());
  }

  /** Resolves when no pause is on (at once, mostly). */
  async pass(): Promise<void> {
    for (;;) {
      const wait = this.until - this.ctx.clock.now();
      if (wait <= 0 || this.ctx.signal.aborted) return;
      await sleep(this.ctx.clock, wait, this.ctx.signal);
    }
  }

  /** A failed request: pauses every page for the next backoff delay, or the server's `Retry-After` if longer. */
  failed(error: WatchError): number {
    const delay = Math.max(this.backoff.next(), error.retryAfterMs ?? 0);
    this.until = Math.max(this.until, this.ctx.clock.now() + delay);
    return delay;
  }

  succeeded(): void {
    this.backoff.reset();
  }
}

/** A page request; failures that trying again can cure are retried inside, behind the gate. */
function fetchPage(
  ctx: CatchUpContext,
  gate: RetryGate,
  after: number,
  page: number,
  pageSize: number,
): Promise<PageResult> {
  const promise = (async (): Promise<PageResult> => {
    for (;;) {
      await gate.pass();
      if (ctx.signal.aborted) throw new WatchError('CLOSED', `catch-up of ${ctx.topic} cancelled`);
      const aliveAtRequest = ctx.alive();
      try {
        const result = {
          page: await ctx.history.page(ctx.topic, { after, page, pageSize }, ctx.signal),
          number: page,
          after,
          aliveAtRequest,
        };
        gate.succeeded();
        ctx.requests.pages += 1;
        return result;
      } catch (err) {
        if (err instanceof HistoryGone) return { gone: err, aliveAtRequest };
        if (ctx.signal.aborted) throw new WatchError('CLOSED', `catch-up of ${ctx.topic} cancelled`);
        const error = toWatchError(err, 'HISTORY_UNAVAILABLE', `history of ${ctx.topic}`);
        if (!error.retryable) throw error;
        const delay = gate.failed(error);
        ctx.requests.retries += 1;
        // The cause (its message names the URL tried, never a token): a wrong historyUrl shows here at once.
        ctx.log.warn(`history request failed; retrying in ${delay} ms`, {
          topic: ctx.topic,
          code: error.code,
          page,
          error: error.message,
        });
        ctx.report(error);
      }
    }
  })();
  // A prefetch may fail before anyone awaits it; its failure is read where it is awaited.
  promise.catch(() => undefined);
  return promise;
}

/**
 * 410 Gone: tell the application (with a fresh list if configured) and continue after the newest position. A newest
 * id below the position is a topic whose sequence restarted: the notice says so, and delivery starts over at it.
 */
async function resync(ctx: CatchUpContext, gone: HistoryGone): Promise<number> {
  if (!ctx.canResync) {
    throw new WatchError(
      'HISTORY_GONE',
      `watch ${ctx.topic}: ${gone.message}; give an onResync handler to be told and continue`,
    );
  }
  const newest = gone.newestSequenceId;
  const reason =
    newest < gone.after
      ? `the topic's sequence restarted: its newest sequence id ${newest} is below the position ${gone.after} (the topic was recreated?); every event up to ${newest} of the new sequence was skipped`
      : `history after sequence id ${gone.after} was purged`;
  if (ctx.list === undefined) {
    ctx.intake.push({
      kind: 'resync',
      notice: { topic: ctx.topic, reason, previousSequenceId: gone.after, newestSequenceId: newest },
    });
    return newest;
  }
  // List-then-watch (the Kubernetes informer's idea): the newest id was captured before listing, so changes made
  // during the list come again as events after it (they may repeat what the snapshot shows; never go missing).
  let snapshot: unknown[];
  try {
    snapshot = [...(await ctx.list(ctx.topic))];
  } catch (err) {
    throw new WatchError('HANDLER_FAILED', `watch ${ctx.topic}: resync.list threw: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  // The connection may have ended during the list: its notice is void (the next catch-up makes its own).
  if (ctx.signal.aborted) throw new WatchError('CLOSED', `catch-up of ${ctx.topic} cancelled`);
  ctx.intake.push({
    kind: 'resync',
    notice: { topic: ctx.topic, reason, previousSequenceId: gone.after, newestSequenceId: newest, snapshot },
  });
  return newest;
}
