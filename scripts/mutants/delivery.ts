/**
 * The mutants of the code in src/delivery/: dedupe, the watermark, backpressure marks, handler retries, dead letters.
 */
import type { Mutant } from './mutant';
import {
  CATCH_UP,
  CHAOS,
  CLI,
  CLOSE,
  CONCURRENCY,
  COORDINATED_WATCH,
  DEAD_LETTER,
  FETCH_MODE,
  FIFO,
  FILTER,
  HANDLER_RUNNER,
  HEALTH,
  HOSTILE,
  INTAKE,
  ITERATOR,
  ITERATOR_ACK,
  LIVE,
  OTEL,
  RESTART,
  WATCH_ITERATOR,
  WATERMARK,
} from './tests';

export const deliveryMutants: Mutant[] = [
  // ── Dedupe of repeated sequence ids (delivery.ts) ────────────────────────────────────────────────────────────
  {
    // The hand-off's classic off-by-one: a live event equal to the last one replayed from history is delivered twice.
    name: 'delivery-dedupe-boundary',
    find: 'const late = seq <= this.seen.highest;',
    replace: 'const late = seq < this.seen.highest;',
    tests: [CATCH_UP, LIVE, HOSTILE],
  },
  {
    // A repeat is handed over again instead of dropped (and an id never handed over would be dropped).
    name: 'delivery-dedupe-repeat-not-dropped',
    find: 'if (late && !this.seen.missing(seq)) {',
    replace: 'if (late && this.seen.missing(seq)) {',
    tests: [CATCH_UP, LIVE, HOSTILE, CHAOS],
  },
  {
    // A filtered event does not count as handed over: the id stays "missing", so a repeat of it is not a repeat.
    name: 'delivery-dedupe-filtered-not-recorded',
    find: '    this.seen.advance(event.sequenceId);\n    this.watermark.add(event.sequenceId);',
    replace: '    this.watermark.add(event.sequenceId);',
    tests: [FILTER, CATCH_UP, HOSTILE],
  },
  {
    // After a resync the position stays where it was: a restart would hit the purged range (410) again.
    name: 'delivery-resync-moves-position',
    find: 'if (target > this.watermark.position) {',
    replace: 'if (target < this.watermark.position) {',
    tests: [CATCH_UP, ITERATOR, CLI, HOSTILE],
  },

  // ── The contiguous watermark (watermark.ts) ──────────────────────────────────────────────────────────────────
  {
    // Completing a later event marks the head done: the position passes an event still being handled.
    name: 'watermark-head-shortcut',
    find: 'head !== undefined && head.seq === seq ? head : this.find(seq)',
    replace: 'head !== undefined && head.seq <= seq ? head : this.find(seq)',
    tests: [CONCURRENCY, ITERATOR],
  },
  {
    // The binary search goes the wrong way: an out-of-order completion is not found, the position sticks.
    name: 'watermark-binary-search',
    find: 'if (slot.seq < seq) lo = mid + 1;',
    replace: 'if (slot.seq > seq) lo = mid + 1;',
    tests: [CONCURRENCY, ITERATOR],
  },
  {
    // The position advances over slots that are not acknowledged (every slot's `acked` is a boolean, never undefined).
    name: 'watermark-advance-over-undone',
    find: 'front?.acked === true;',
    replace: 'front?.acked !== undefined;',
    tests: [CONCURRENCY, ITERATOR, WATERMARK],
  },

  // ── Backpressure marks (intake.ts) ──────────────────────────────────────────────────────────────────────────
  {
    // The stream is never paused: live events pile up in memory without bound.
    name: 'backpressure-pause',
    find: 'if (!this.paused && (this.live ? this.size : this.held.length) >= this.maxBufferedEvents) {',
    replace: 'if (this.paused && (this.live ? this.size : this.held.length) >= this.maxBufferedEvents) {',
    tests: [INTAKE, LIVE, ITERATOR, HOSTILE],
  },
  {
    // A stream paused during a catch-up is never resumed once live (resumeIfLow returns whenever live).
    name: 'backpressure-resume-when-live',
    find: 'if (!this.paused || !this.live ||',
    replace: 'if (!this.paused || this.live ||',
    tests: [INTAKE, LIVE, ITERATOR, HOSTILE],
  },
  {
    // Taking from the queue never resumes the stream: a paused stream stays paused.
    name: 'backpressure-on-low',
    find: '    this.resumeIfLow();\n    if (this.waiters.waiting',
    replace: '    if (this.waiters.waiting',
    tests: [INTAKE, LIVE, ITERATOR, HOSTILE],
  },
  {
    // The resume mark is the maximum: the stream resumes at once, pausing and resuming on every event.
    name: 'backpressure-low-mark',
    find: 'this.resumeAt = Math.floor(options.maxBufferedEvents / 2);',
    replace: 'this.resumeAt = options.maxBufferedEvents;',
    tests: [INTAKE, LIVE, ITERATOR, HOSTILE],
  },
  {
    // A for-await record's ack never reaches delivery: the position never moves.
    name: 'iterator-ack-dropped',
    find: 'if (!this.ended) this.acker?.ack(event);',
    replace: '',
    tests: [ITERATOR],
  },
  {
    // The iterator's buffer is a Fifo ring now (fifo.ts, shared with the intake and the watermark): there is no
    // compaction step left. Nearest bug: a slot taken is not let go, so the queue keeps every record (event) handed
    // over alive until its slot is reused, up to a burst's worth.
    name: 'iterator-buffer-not-compacted',
    find: '    this.items[this.head] = undefined;\n',
    replace: '',
    tests: [FIFO, WATCH_ITERATOR],
  },
  {
    // A record acknowledged twice frees two slots in delivery: more records out than concurrency. (Also: ack() after
    // fail(), or the loop moving on past a failed record, acknowledges an event that failed.)
    name: 'iterator-ack-not-idempotent',
    find: 'ack(): void {\n    if (this.#settled) return;',
    replace: 'ack(): void {\n',
    tests: [ITERATOR, ITERATOR_ACK],
  },
  {
    // fail() after ack(), or twice: an acknowledged event is retried, a failed one retried twice per attempt.
    name: 'iterator-fail-not-idempotent',
    find: 'fail(reason?: unknown): void {\n    if (this.#settled) return;',
    replace: 'fail(reason?: unknown): void {\n',
    tests: [ITERATOR_ACK],
  },
  {
    // A stop leaves a retried record's attempt waiting for an ack the ended loop never gives: close() waits for it
    // until closeTimeoutMs.
    name: 'sink-retry-not-cancelled-on-stop',
    find: 'for (const retry of this.retries.values()) retry.reject(RETRY_CANCELLED);',
    replace: '',
    tests: [ITERATOR_ACK],
  },

  // ── Handler retries (handler-runner.ts) ──────────────────────────────────────────────────────────────────────
  {
    // One attempt more than maxAttempts.
    name: 'handler-max-attempts',
    find: 'attempts < policy.maxAttempts && !isTimeout(error)',
    replace: 'attempts <= policy.maxAttempts && !isTimeout(error)',
    tests: [CONCURRENCY, DEAD_LETTER],
  },
  {
    // A timed-out attempt is retried while it may still run (and plain failures are not retried).
    name: 'handler-timeout-final',
    find: 'attempts < policy.maxAttempts && !isTimeout(error)',
    replace: 'attempts < policy.maxAttempts && isTimeout(error)',
    tests: [CONCURRENCY, DEAD_LETTER],
  },
  {
    // handlerTimeoutMs 0 (no limit) becomes a 0 ms limit.
    name: 'handler-no-timeout',
    find: 'timeoutMs <= 0',
    replace: 'timeoutMs < 0',
    tests: [CONCURRENCY],
  },
  {
    // A backoff sleep that completes stops the retries; one that is aborted (closing) goes on retrying.
    name: 'handler-retry-after-sleep',
    find: 'if (!(await sleep(policy.clock, backoff.next(), signal))) break;',
    replace: 'if ((await sleep(policy.clock, backoff.next(), signal))) break;',
    tests: [CONCURRENCY, DEAD_LETTER],
  },

  // ── Dead letters (dead-letter-spool.ts, delivery.ts) ─────────────────────────────────────────────────────────
  {
    // The spool is never used: a failed event stops the watch instead of being set aside.
    name: 'dead-letter-used',
    find: 'if (outcome.ok || spool === undefined || this.stopped) return outcome;',
    replace: 'if (outcome.ok || spool !== undefined || this.stopped) return outcome;',
    tests: [DEAD_LETTER],
  },
  {
    // An entry whose redrive fails is removed all the same.
    name: 'dead-letter-redrive-keeps-failed',
    find: 'failed += 1;\n        continue;',
    replace: 'failed += 1;',
    tests: [DEAD_LETTER],
  },
  {
    // The recovery pass quarantines the whole entries and keeps the torn ones.
    name: 'dead-letter-recovery-suspects',
    find: '(await this.read(e.name)) === undefined',
    replace: '(await this.read(e.name)) !== undefined',
    tests: [DEAD_LETTER],
  },
  {
    // An entry of the right format and version is read even when its checksum does not match.
    name: 'dead-letter-checksum',
    find: 'version !== VERSION || sum !== checksum(entry)',
    replace: 'version !== VERSION && sum !== checksum(entry)',
    tests: [DEAD_LETTER],
  },
  {
    // the live barrier reached after onLive returned: ready() inside onLive (or before a for await loop) never resolves
    name: 'live-reached-after-on-live',
    find: "    if (item.kind === 'live') this.options.liveReached?.();\n    const running",
    replace: '    const running',
    tests: [HEALTH],
  },
  {
    // a handler that failed for good recorded as a success (no error.type on messaging.process.duration)
    name: 'handler-failure-timed-as-success',
    find: '    telemetry.handled(Math.max(0, policy.clock.now() - started), !ok);',
    replace: '    telemetry.handled(Math.max(0, policy.clock.now() - started), false);',
    tests: [OTEL],
  },
  {
    // a sync handler's duration never recorded
    name: 'sync-handler-not-timed',
    find: '      this.timed(started, true);\n      this.handled(event, SYNC_OK);',
    replace: '      this.handled(event, SYNC_OK);',
    tests: [OTEL],
  },

  // ── issue 20 #1: a 410 at or below the position ───────────────────────────────────────────────────────────
  {
    // A restarted sequence's ids (below the old highest id) dropped by delivery as repeats.
    name: 'delivery-resync-restart-seen',
    find: '    this.watermark.reset(target);\n    this.seen.reset(target);\n  }',
    replace: '    this.watermark.reset(target);\n  }',
    tests: [CATCH_UP, CLI],
  },

  // ── Issue 20: items 11, 12 and 14 ──────────────────────────────────────────────────────────────────────────
  {
    // a handler that returns when its ctx.signal aborted (a close) acknowledges the event it skipped
    name: 'settled-after-abort-acknowledged',
    find: '    if (outcome.ok && outcome.afterCut === true) return;',
    replace: '',
    tests: [CONCURRENCY, CLOSE, COORDINATED_WATCH],
  },
  {
    // the abort's marker queued after the abort: a handler resolved by its abort listener itself counts as done
    name: 'late-marker-after-abort',
    find: '    queueMicrotask(() => (this.cutSeen = true));\n    this.cut.abort(reason);',
    replace: '    this.cut.abort(reason);\n    queueMicrotask(() => (this.cutSeen = true));',
    tests: [CONCURRENCY],
  },
  {
    // judged at once instead of after the microtasks queued before the abort: a handler that resolved just before
    // close() (the application closes as soon as its handler told it it is done) is repeated
    name: 'late-marker-at-once',
    find: '    queueMicrotask(() => (this.cutSeen = true));',
    replace: '    this.cutSeen = true;',
    tests: [CONCURRENCY],
  },
  {
    // an attempt's lateness never asked: every handler that settles after the abort acknowledges its event
    name: 'late-never-asked',
    find: '        resolve(isCut?.() === true);',
    replace: '        resolve(false);',
    tests: [CONCURRENCY, CLOSE, HANDLER_RUNNER],
  },
  {
    // a hand-off's drain aborts ctx.signal too: what its handlers finish is not stored, the next member repeats it
    name: 'drain-aborts-signal',
    find: '    if (reason !== undefined) this.cutShort(reason);',
    replace: '    this.cutShort(reason);',
    tests: [CONCURRENCY, COORDINATED_WATCH],
  },

  // ── issue 20 #1: a restarted sequence moves the stored position back ──────────────────────────────────────
  {
    // The resync of a restarted sequence does not move the stored position back: a restart after the new sequence
    // passed the old position resumes there, and the new events up to it are never delivered.
    name: 'restart-reset-not-awaited',
    find: '        await keeper.reset(target);',
    replace: '        await keeper.flush();',
    tests: [RESTART],
  },

  // ── issue 21: an unknown event counted when it leaves the intake, not each time it is screened ─────────────
  {
    // An unknown event handed over (unknownEventTypes 'deliver') is never counted nor told.
    name: 'unknown-counted-on-hand-over',
    find: "if (event.type === 'UNKNOWN') this.unknownSeen(event);",
    replace: "if (event.type !== 'UNKNOWN') this.unknownSeen(event);",
    tests: [HOSTILE],
  },
  {
    // A kind's shouldHandle is read backwards: the kind handler takes what it refuses.
    name: 'kind-should-handle',
    find: 'return kind.shouldHandle === undefined || kind.shouldHandle(event) ? kind : undefined;',
    replace: 'return kind.shouldHandle === undefined || !kind.shouldHandle(event) ? kind : undefined;',
    tests: [FETCH_MODE],
  },
  {
    // With both given, only the kind's handler runs: the every-kind onEvent is skipped for its events.
    name: 'kind-then-every-kind',
    find: 'if (handlers.onEvent === undefined) return kind.onEvent(event, ctx);',
    replace: 'if (handlers.onEvent !== undefined) return kind.onEvent(event, ctx);',
    tests: [FETCH_MODE],
  },
  {
    // Without an every-kind onEvent, no event is taken: the kinds' handlers never run.
    name: 'kind-takes',
    find: 'return this.handlers.onEvent !== undefined || this.taker(event) !== undefined;',
    replace: 'return this.handlers.onEvent !== undefined && this.taker(event) !== undefined;',
    tests: [FETCH_MODE],
  },
];
