/**
 * The mutants of the code in src/history/: catch-up, history pages and their status mapping, the 410 hand-off.
 */
import type { Mutant } from './mutant';
import {
  AUTH,
  CATCH_UP,
  CHAOS,
  FAKE_HISTORY,
  HEALTH,
  HISTORY_SOURCE,
  HOSTILE,
  ITERATOR,
  LIVE,
  OTEL,
  RECONNECT,
  TOKEN,
} from './tests';

export const historyMutants: Mutant[] = [
  // ── Catch-up (catch-up.ts) ───────────────────────────────────────────────────────────────────────────────────
  {
    // The end of a pass (an empty page right after the last id) without the sign-of-life condition: the activation
    // window of a quiet stream loses events.
    name: 'catchup-short-page-unconfirmed',
    find: 'result.after === last) return { last, confirmed: result.aliveAtRequest',
    replace: 'result.after === last) return { last, confirmed: true',
    tests: [CATCH_UP, HOSTILE],
  },
  {
    // The same at the other end of a pass: a short page followed by an empty one, after whole pages.
    name: 'catchup-last-page-unconfirmed',
    find: 'was fetched.\n        return { last, confirmed: result.aliveAtRequest',
    replace: 'was fetched.\n        return { last, confirmed: true',
    tests: [CATCH_UP, HOSTILE],
  },
  {
    // Prefetched pages numbered from 0 instead of 1 (history pages are 1-based).
    name: 'catchup-page-numbering',
    find: '++requested',
    replace: 'requested++',
    tests: [CATCH_UP, FAKE_HISTORY],
  },
  {
    // After a resync (or a restart of the numbering) pages go on counting from the old start: the first pages after
    // the new position are never asked for.
    name: 'catchup-page-counter-not-reset',
    find: 'requested = 0;\n    fill();',
    replace: 'fill();',
    tests: [CATCH_UP, ITERATOR, HOSTILE],
  },
  {
    // Catch-up feeds delivery without waiting for room: memory grows with the backlog.
    name: 'catchup-when-below-dropped',
    find: 'await ctx.intake.room();',
    replace: '',
    tests: [CATCH_UP, HOSTILE, CHAOS],
  },
  {
    // A 410 without an onResync handler resyncs silently, and one with a handler stops the watch.
    name: 'catchup-410-without-handler',
    find: 'if (!ctx.canResync) {',
    replace: 'if (ctx.canResync) {',
    tests: [CATCH_UP, ITERATOR, HOSTILE],
  },
  {
    // The 410 hand-off continues after the purged position instead of the newest one.
    name: 'catchup-410-newest',
    find: 'const newest = gone.newestSequenceId;',
    replace: 'const newest = gone.after;',
    tests: [CATCH_UP, ITERATOR, HOSTILE],
  },
  {
    // Retryable history failures stop the watch; permanent ones are retried forever.
    name: 'catchup-retryable-history-failure',
    find: 'if (!error.retryable) throw error;',
    replace: 'if (error.retryable) throw error;',
    tests: [CATCH_UP, HOSTILE],
  },

  // ── History page decode and status mapping (history-client.ts) ───────────────────────────────────────────────
  {
    // A 401 is not retried once with a fresh token (a token that expired between our check and the server's).
    name: 'history-401-fresh-token-retry',
    find: "if (attempt === 0 && codeOfHttpStatus('history', res.status) === 'UNAUTHENTICATED')",
    replace: "if (attempt === 1 && codeOfHttpStatus('history', res.status) === 'UNAUTHENTICATED')",
    tests: [TOKEN, AUTH, RECONNECT],
  },
  {
    // Every usable 410 header is refused: no resync ever happens.
    name: 'history-410-header-check',
    find: 'if (!Number.isSafeInteger(newest)) {',
    replace: 'if (Number.isSafeInteger(newest)) {',
    tests: [CATCH_UP, ITERATOR, HOSTILE],
  },
  {
    // The newest id taken as the lowest of the answer: from 'latest' replays history.
    name: 'history-newest',
    find: 'Math.max(max, e.sequenceId)',
    replace: 'Math.min(max, e.sequenceId)',
    tests: [CATCH_UP, LIVE],
  },

  // ── The ping answer (watch-stream.ts) ────────────────────────────────────────────────────────────────────────
  {
    // HistoryGone answers instanceof for every WatchError (the brand it inherits): a 503 would be taken for a purge.
    name: 'history-gone-own-brand',
    find: '(value as Record<symbol, unknown>)[GONE] === true',
    replace: 'value instanceof WatchError',
    tests: [HISTORY_SOURCE, CATCH_UP],
  },

  // ── Dead letters (dead-letter-spool.ts, delivery.ts) ─────────────────────────────────────────────────────────
  {
    // a failed history request retried without being counted (watch.history.retries stays 0)
    name: 'history-retry-not-counted',
    find: '        ctx.requests.retries += 1;',
    replace: '',
    tests: [OTEL],
  },

  // ── issue 20 #1: a 410 at or below the position ───────────────────────────────────────────────────────────
  {
    // A restarted sequence (newest below the position) taken as "nothing missed": no resync, the re-list never asked.
    name: 'catchup-410-restart-as-nothing-missed',
    find: '      if (gone.newestSequenceId === gone.after && !gapsBelow) {',
    replace: '      if (gone.newestSequenceId <= gone.after && !gapsBelow) {',
    tests: [HOSTILE, CATCH_UP],
  },
  {
    // A 410 that said nothing was missed is not counted in metrics().
    name: 'catchup-410-nothing-missed-counted',
    find: 'ctx.requests.goneNothingMissed += 1;',
    replace: 'ctx.requests.goneNothingMissed -= 1;',
    tests: [CATCH_UP, HOSTILE],
  },
  {
    // After a resync to a restarted sequence, a later 410 is compared with the old ids: asked from the old position
    // again, resynced again (a loop).
    name: 'catchup-410-restart-forgets-old-ids',
    find: '      if (target < gone.after) {',
    replace: '      if (target > gone.after) {',
    tests: [HOSTILE, CATCH_UP],
  },

  // ── issue 20 #14: catch-up overlap check ──────────────────────────────────────────────────────────────────
  {
    // A page repeating exactly the previous page's last id is not reported as an overlap, and the pass is not read
    // again.
    name: 'catchup-overlap-one-id',
    find: 'if (event.sequenceId <= last) behind ??= event.sequenceId;',
    replace: 'if (event.sequenceId < last) behind ??= event.sequenceId;',
    tests: [CATCH_UP],
  },

  // ── issue 20 #13: health after a watch stopped for good; the default history URL ──────────────────────────
  {
    // History errors no longer name the URL they tried.
    name: 'history-error-names-url',
    find: 'const tried = `${where} (GET ${url.protocol}//${url.host}${url.pathname})`;',
    replace: 'const tried = where;',
    tests: [HEALTH],
  },
  {
    // A "nothing missed" 410 answered before the stream's first sign of life ends the catch-up: an event published
    // in a silent service's activation window is neither delivered nor named.
    name: 'catchup-410-nothing-missed-confirmed',
    find: '          sequenceId: gone.after,\n        });\n        return { last, confirmed: result.aliveAtRequest, disordered };',
    replace: '          sequenceId: gone.after,\n        });\n        return { last, confirmed: true, disordered };',
    tests: [CATCH_UP],
  },
];
