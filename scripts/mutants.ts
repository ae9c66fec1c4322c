/**
 * The mutants of `npm run mutate` (scripts/mutate.ts): one-token bugs at the decision points the SDK's guarantee
 * rests on. Each is a bug someone could plausibly write, and one a good test suite must catch.
 *
 * Rules: `find` is an exact snippet that occurs exactly once in `file` (else the mutant is stale and the run fails:
 * update the snippet to the code as it is now); `replace` is the same snippet with ONE token changed (an operator, a
 * constant, a boolean, a dropped `!`, a removed call or statement); `tests` are the 1–4 test files that exercise the
 * code, all importing `../src` (the scratch copy has no `dist/`). `equivalent` says why a mutant cannot change
 * behaviour; it is then left out of the kill rate (it still runs: a kill means the claim is wrong).
 */
export interface Mutant {
  /** Unique, lower-case words joined by '-'; `--only` matches a substring of it. */
  name: string;
  /** Repo-relative, under src/. */
  file: string;
  /** An exact snippet that occurs exactly once in `file`. */
  find: string;
  /** `find` with one token changed. */
  replace: string;
  /** The related test files, repo-relative. */
  tests: string[];
  /** Why this mutant cannot change behaviour, if so; excluded from the kill rate. */
  equivalent?: string;
}

const CATCH_UP = 'test/catch-up.test.ts';
const CHAOS = 'test/chaos.test.ts';
const CLI = 'test/cli.test.ts';
const CONCURRENCY = 'test/unit/delivery.test.ts';
const COORDINATED_WATCH = 'test/coordinated-watch.test.ts';
const CRASH = 'test/crash.test.ts';
const CREDENTIALS = 'test/client-credentials.test.ts';
const DEAD_LETTER = 'test/dead-letter.test.ts';
const AUTH = 'test/auth-errors.test.ts';
const FAKE_HISTORY = 'test/fake-history.test.ts';
const FILTER = 'test/filter.test.ts';
const HOSTILE = 'test/hostile-server.test.ts';
const INPUTS = 'test/inputs.test.ts';
const ITERATOR = 'test/iterator.test.ts';
const LIVE = 'test/live-watch.test.ts';
const OTEL = 'test/opentelemetry.test.ts';
const HEALTH = 'test/health.test.ts';
const INTAKE = 'test/unit/intake.test.ts';
const LIVENESS = 'test/liveness.test.ts';
const PROXY = 'test/proxy.test.ts';
const PROXY_CONFIG = 'test/proxy-config.test.ts';
const RECONNECT = 'test/reconnect.test.ts';
const REDACTION = 'test/redaction.test.ts';
const RESTART = 'test/sequence-restart.test.ts';
const STATE = 'test/state.test.ts';
const STORE = 'test/sequence-store.test.ts';
const STORE_CONTRACT = 'test/store-contract.test.ts';
const TOKEN = 'test/token-refresh.test.ts';
const UNITS = 'test/unit/units.test.ts';

export const mutants: Mutant[] = [
  // ── Dedupe of repeated sequence ids (delivery.ts) ────────────────────────────────────────────────────────────
  {
    // The hand-off's classic off-by-one: a live event equal to the last one replayed from history is delivered twice.
    name: 'delivery-dedupe-boundary',
    file: 'src/delivery/delivery.ts',
    find: 'const late = seq <= this.seen.highest;',
    replace: 'const late = seq < this.seen.highest;',
    tests: [CATCH_UP, LIVE, HOSTILE],
  },
  {
    // A repeat is handed over again instead of dropped (and an id never handed over would be dropped).
    name: 'delivery-dedupe-repeat-not-dropped',
    file: 'src/delivery/delivery.ts',
    find: 'if (late && !this.seen.missing(seq)) {',
    replace: 'if (late && this.seen.missing(seq)) {',
    tests: [CATCH_UP, LIVE, HOSTILE, CHAOS],
  },
  {
    // A filtered event does not count as handed over: the id stays "missing", so a repeat of it is not a repeat.
    name: 'delivery-dedupe-filtered-not-recorded',
    file: 'src/delivery/delivery.ts',
    find: '    this.seen.advance(event.sequenceId);\n    this.watermark.add(event.sequenceId);',
    replace: '    this.watermark.add(event.sequenceId);',
    tests: [FILTER, CATCH_UP, HOSTILE],
  },
  {
    // After a resync the position stays where it was: a restart would hit the purged range (410) again.
    name: 'delivery-resync-moves-position',
    file: 'src/delivery/delivery.ts',
    find: '    } else if (target > this.watermark.position) {',
    replace: '    } else if (target < this.watermark.position) {',
    tests: [CATCH_UP, ITERATOR, CLI, HOSTILE],
  },

  // ── The contiguous watermark (watermark.ts) ──────────────────────────────────────────────────────────────────
  {
    // Completing a later event marks the head done: the position passes an event still being handled.
    name: 'watermark-head-shortcut',
    file: 'src/delivery/watermark.ts',
    find: 'head !== undefined && head.seq === seq ? head : this.find(seq)',
    replace: 'head !== undefined && head.seq <= seq ? head : this.find(seq)',
    tests: [CONCURRENCY, ITERATOR],
  },
  {
    // The binary search goes the wrong way: an out-of-order completion is not found, the position sticks.
    name: 'watermark-binary-search',
    file: 'src/delivery/watermark.ts',
    find: 'if (slot.seq < seq) lo = mid + 1;',
    replace: 'if (slot.seq > seq) lo = mid + 1;',
    tests: [CONCURRENCY, ITERATOR],
  },
  {
    // The position advances over slots that are not done (any sequence id is truthy).
    name: 'watermark-advance-over-undone',
    file: 'src/delivery/watermark.ts',
    find: '(this.slots[this.head] as { done: boolean }).done)',
    replace: '(this.slots[this.head] as { seq: number }).seq)',
    tests: [CONCURRENCY, ITERATOR],
  },

  // ── Catch-up (catch-up.ts) ───────────────────────────────────────────────────────────────────────────────────
  {
    // The end of a pass (an empty page right after the last id) without the sign-of-life condition: the activation
    // window of a quiet stream loses events.
    name: 'catchup-short-page-unconfirmed',
    file: 'src/history/catch-up.ts',
    find: 'result.after === last) return { last, confirmed: result.aliveAtRequest',
    replace: 'result.after === last) return { last, confirmed: true',
    tests: [CATCH_UP, HOSTILE],
  },
  {
    // The same at the other end of a pass: a short page followed by an empty one, after whole pages.
    name: 'catchup-last-page-unconfirmed',
    file: 'src/history/catch-up.ts',
    find: 'was fetched.\n        return { last, confirmed: result.aliveAtRequest',
    replace: 'was fetched.\n        return { last, confirmed: true',
    tests: [CATCH_UP, HOSTILE],
  },
  {
    // Prefetched pages numbered from 0 instead of 1 (history pages are 1-based).
    name: 'catchup-page-numbering',
    file: 'src/history/catch-up.ts',
    find: '++requested',
    replace: 'requested++',
    tests: [CATCH_UP, FAKE_HISTORY],
  },
  {
    // After a resync (or a restart of the numbering) pages go on counting from the old start: the first pages after
    // the new position are never asked for.
    name: 'catchup-page-counter-not-reset',
    file: 'src/history/catch-up.ts',
    find: '    requested = 0;',
    replace: '',
    tests: [CATCH_UP, ITERATOR, HOSTILE],
  },
  {
    // Catch-up feeds delivery without waiting for room: memory grows with the backlog.
    name: 'catchup-when-below-dropped',
    file: 'src/history/catch-up.ts',
    find: 'await ctx.intake.room();',
    replace: '',
    tests: [CATCH_UP, HOSTILE, CHAOS],
  },
  {
    // A 410 without an onResync handler resyncs silently, and one with a handler stops the watch.
    name: 'catchup-410-without-handler',
    file: 'src/history/catch-up.ts',
    find: 'if (!ctx.canResync) {',
    replace: 'if (ctx.canResync) {',
    tests: [CATCH_UP, ITERATOR, HOSTILE],
  },
  {
    // The 410 hand-off continues after the purged position instead of the newest one.
    name: 'catchup-410-newest',
    file: 'src/history/catch-up.ts',
    find: 'const newest = gone.newestSequenceId;',
    replace: 'const newest = gone.after;',
    tests: [CATCH_UP, ITERATOR, HOSTILE],
  },
  {
    // Retryable history failures stop the watch; permanent ones are retried forever.
    name: 'catchup-retryable-history-failure',
    file: 'src/history/catch-up.ts',
    find: 'if (!error.retryable) throw error;',
    replace: 'if (error.retryable) throw error;',
    tests: [CATCH_UP, HOSTILE],
  },

  // ── History page decode and status mapping (history-client.ts) ───────────────────────────────────────────────
  {
    // HTTP 500 is no longer a retryable HISTORY_UNAVAILABLE (only 501 and up are).
    name: 'history-500-retryable',
    file: 'src/core/errors.ts',
    find: "if (status === 429 || status >= 500) return 'HISTORY_UNAVAILABLE';",
    replace: "if (status === 429 || status > 500) return 'HISTORY_UNAVAILABLE';",
    tests: [CATCH_UP, FAKE_HISTORY, HOSTILE],
  },
  {
    // A 403 from history reads as a refused token.
    name: 'history-403-code',
    file: 'src/core/errors.ts',
    find: "if (status === 403) return 'PERMISSION_DENIED';",
    replace: "if (status === 403) return 'UNAUTHENTICATED';",
    tests: [AUTH, ITERATOR],
  },
  {
    // A 401 is not retried once with a fresh token (a token that expired between our check and the server's).
    name: 'history-401-fresh-token-retry',
    file: 'src/history/history-client.ts',
    find: "if (attempt === 0 && codeOfHttpStatus('history', res.status) === 'UNAUTHENTICATED')",
    replace: "if (attempt === 1 && codeOfHttpStatus('history', res.status) === 'UNAUTHENTICATED')",
    tests: [TOKEN, AUTH, RECONNECT],
  },
  {
    // Every usable 410 header is refused: no resync ever happens.
    name: 'history-410-header-check',
    file: 'src/history/history-client.ts',
    find: 'if (!Number.isSafeInteger(newest)) {',
    replace: 'if (Number.isSafeInteger(newest)) {',
    tests: [CATCH_UP, ITERATOR, HOSTILE],
  },
  {
    // The newest id taken as the lowest of the answer: from 'latest' replays history.
    name: 'history-newest',
    file: 'src/history/history-client.ts',
    find: 'Math.max(max, e.sequenceId)',
    replace: 'Math.min(max, e.sequenceId)',
    tests: [CATCH_UP, LIVE],
  },

  // ── The start position (topic-watch.ts start() and connect()) ────────────────────────────────────────────────
  {
    // from: 'beginning' behaves as 'latest', and 'latest' as 'beginning'.
    name: 'start-from-beginning',
    file: 'src/engine/topic-watch.ts',
    find: "else if (from === 'latest') this.startPosition = 'newest-to-ask';",
    replace: "else if (from !== 'latest') this.startPosition = 'newest-to-ask';",
    tests: [CATCH_UP, ITERATOR],
  },
  {
    // The stored position is ignored and `from` used instead (and the reverse).
    name: 'start-stored-position',
    file: 'src/engine/topic-watch.ts',
    find: 'if (stored !== undefined) {',
    replace: 'if (stored === undefined) {',
    tests: [CATCH_UP, FILTER],
  },
  {
    // from: N is not written at once: a restart before the first event starts from `from` again, not from N.
    name: 'start-from-number-persisted',
    file: 'src/engine/topic-watch.ts',
    find: 'this.delivery.startAt(from, from > 0);',
    replace: 'this.delivery.startAt(from, from < 0);',
    tests: [CATCH_UP, CLI, STATE],
  },
  {
    // from: 'latest' is not written at once: a restart before the first event skips what came meanwhile.
    name: 'start-latest-persisted',
    file: 'src/engine/topic-watch.ts',
    find: 'this.ctx.history().newest(this.topic, this.closing.signal), true);',
    replace: 'this.ctx.history().newest(this.topic, this.closing.signal), false);',
    tests: [CATCH_UP, LIVE, STATE],
  },

  // ── Filters (compileFilter in topic-watch.ts) ────────────────────────────────────────────────────────────────
  {
    // Kinds OR types instead of AND.
    name: 'filter-and-or',
    file: 'src/engine/topic-watch.ts',
    find: '(kinds === undefined || kinds.has(event.payload.kind)) &&',
    replace: '(kinds === undefined || kinds.has(event.payload.kind)) ||',
    tests: [FILTER, CATCH_UP],
  },
  {
    // A names filter needs every name to match instead of one.
    name: 'filter-names-some',
    file: 'src/engine/topic-watch.ts',
    find: 'names.some(',
    replace: 'names.every(',
    tests: [FILTER],
  },
  {
    // A types filter that is given is ignored.
    name: 'filter-types-ignored',
    file: 'src/engine/topic-watch.ts',
    find: '(types === undefined || types.has(event.type))',
    replace: '(types !== undefined || types.has(event.type))',
    tests: [FILTER],
  },

  // ── Backoff (backoff.ts) and its reset (topic-watch.ts) ──────────────────────────────────────────────────────
  {
    name: 'backoff-cap',
    file: 'src/core/backoff.ts',
    find: 'Math.min(policy.maxDelayMs,',
    replace: 'Math.max(policy.maxDelayMs,',
    tests: [UNITS, RECONNECT],
  },
  {
    name: 'backoff-exponent',
    file: 'src/core/backoff.ts',
    find: 'Math.pow(policy.multiplier, attempt)',
    replace: 'Math.pow(policy.multiplier, attempt + 1)',
    tests: [UNITS, RECONNECT],
  },
  {
    // The attempt counter never grows: no exponential growth at all.
    name: 'backoff-attempt-count',
    file: 'src/core/backoff.ts',
    find: 'Math.min(this.attempt + 1, 64)',
    replace: 'Math.min(this.attempt + 0, 64)',
    tests: [UNITS, RECONNECT],
  },
  {
    // The backoff resets only after an unhealthy (short) period.
    name: 'backoff-reset-after-health',
    file: 'src/engine/topic-watch.ts',
    find: 'clock.now() - this.readyAt >= reconnect.resetAfterMs',
    replace: 'clock.now() - this.readyAt < reconnect.resetAfterMs',
    tests: [RECONNECT],
  },
  {
    // The backoff resets only for connections that were never ready.
    name: 'backoff-reset-was-ready',
    file: 'src/engine/topic-watch.ts',
    find: '(wasReady && this.readyAt !== undefined',
    replace: '(!wasReady && this.readyAt !== undefined',
    tests: [RECONNECT],
  },

  // ── Token refresh timing (token-refresher.ts) ────────────────────────────────────────────────────────────────
  {
    name: 'token-refresh-four-fifths',
    file: 'src/auth/token-refresher.ts',
    find: '* 4) / 5)',
    replace: '* 3) / 5)',
    tests: [TOKEN, INPUTS],
  },
  {
    // A token 1 ms from expiry is still used to open a stream.
    name: 'token-expiry-margin',
    file: 'src/auth/token-refresher.ts',
    find: 'const EXPIRY_MARGIN_MS = 1_000;',
    replace: 'const EXPIRY_MARGIN_MS = 0;',
    tests: [TOKEN, INPUTS],
  },
  {
    // The held token is used only when it is about to expire, and refetched while it is good.
    name: 'token-held-while-valid',
    file: 'src/auth/token-refresher.ts',
    find: 'held.expiresAt - this.options.clock.now() > EXPIRY_MARGIN_MS',
    replace: 'held.expiresAt - this.options.clock.now() < EXPIRY_MARGIN_MS',
    tests: [TOKEN],
  },
  {
    // The floor of the refresh delay becomes its ceiling: refreshes every 100 ms.
    name: 'token-refresh-floor',
    file: 'src/auth/token-refresher.ts',
    find: 'Math.max(MIN_REFRESH_DELAY_MS,',
    replace: 'Math.min(MIN_REFRESH_DELAY_MS,',
    tests: [TOKEN, INPUTS],
  },
  {
    // A refresh that succeeds after failures does not reset the refresh backoff: the next failure waits longer.
    name: 'token-refresh-backoff-reset',
    file: 'src/auth/token-refresher.ts',
    find: 'this.retry.reset();',
    replace: '',
    tests: [TOKEN, INPUTS],
  },

  // ── The ping answer (watch-stream.ts) ────────────────────────────────────────────────────────────────────────
  {
    name: 'ping-answered',
    file: 'src/transport/watch-stream.ts',
    find: "if (this.finalError === undefined)\n        this.write({\n          selfLink: this.options.topic,\n          token: '',",
    replace:
      "if (this.finalError !== undefined)\n        this.write({\n          selfLink: this.options.topic,\n          token: '',",
    tests: [LIVENESS],
  },
  {
    name: 'ping-answer-id',
    file: 'src/transport/watch-stream.ts',
    find: 'pingResponse: { id: message.id }',
    replace: "pingResponse: { id: '' }",
    tests: [LIVENESS],
  },

  {
    // HistoryGone answers instanceof for every WatchError (the brand it inherits): a 503 would be taken for a purge.
    name: 'history-gone-own-brand',
    file: 'src/history/history-source.ts',
    find: '(value as Record<symbol, unknown>)[GONE] === true',
    replace: 'value instanceof WatchError',
    tests: ['test/unit/history-source.test.ts', CATCH_UP],
  },

  {
    // A manager's clientCredentials do not take its proxy: token requests bypass the enterprise proxy.
    name: 'credentials-manager-proxy-dropped',
    file: 'src/config/options.ts',
    find: 'credentialsToken(input.clientCredentials, { proxy, proxyEnv, tls: shared, clock })',
    replace: 'credentialsToken(input.clientCredentials, { proxy: undefined, proxyEnv, tls: shared, clock })',
    tests: [CREDENTIALS],
  },
  {
    // A standalone clientCredentialsToken getter given to a proxied manager: nobody is told it bypasses the proxy.
    name: 'credentials-standalone-not-told',
    file: 'src/engine/watch-manager.ts',
    find: 'if (isStandaloneCredentialsToken(options.getToken) &&',
    replace: 'if (!isStandaloneCredentialsToken(options.getToken) &&',
    tests: [CREDENTIALS],
  },

  {
    // The stream does not follow the token feed: a refreshed token never reaches an open stream, which the service
    // then ends at the old token's expiry.
    name: 'stream-token-feed-unfollowed',
    file: 'src/transport/watch-stream.ts',
    find: '    this.unfollow.push(tokens.onRefresh((next) => this.sendToken(next)));\n',
    replace: '',
    tests: [TOKEN],
  },
  {
    // An accepted stream does not send the agent status set before it: it is lost at every reconnect.
    name: 'stream-agent-status-not-resent',
    file: 'src/transport/watch-stream.ts',
    find: '      if (status !== undefined) this.sendAgentStatus(status);',
    replace: '',
    tests: [LIVE],
  },

  // ── Lease rows (postgres/lease-table.ts) ────────────────────────────────────────────────────────────────────
  {
    // A position write does not check the lease: a deposed holder overwrites its successor's position.
    name: 'lease-write-unfenced',
    file: 'src/postgres/lease-table.ts',
    find: 'WHERE topic = $1 AND holder = $2 AND epoch = $3 AND lease_until > clock_timestamp()`,\n        limited ?',
    // The parameters stay in use (their types must be known to PostgreSQL): only the fence goes.
    replace: 'WHERE topic = $1 AND $2::text IS NOT NULL AND $3::bigint >= 0`,\n        limited ?',
    tests: ['test/unit/lease-table.test.ts', 'test/replicas.test.ts'],
  },
  {
    // A lease is taken whoever holds it: two members own one topic.
    name: 'lease-acquire-steals',
    file: 'src/postgres/lease-table.ts',
    find: 'WHERE t.holder IS NULL OR t.lease_until IS NULL OR t.lease_until <= clock_timestamp()',
    replace: 'WHERE true',
    tests: ['test/unit/lease-table.test.ts', 'test/postgres-coordinator.test.ts'],
  },
  {
    // A takeover keeps the epoch: the deposed holder's writes still pass the fence.
    name: 'lease-epoch-not-bumped',
    file: 'src/postgres/lease-table.ts',
    find: 'epoch = t.epoch + 1,',
    replace: 'epoch = t.epoch,',
    tests: ['test/unit/lease-table.test.ts'],
  },
  {
    // A smaller position replaces a larger one.
    name: 'lease-position-backwards',
    file: 'src/postgres/lease-table.ts',
    find: 'SET position = CASE WHEN position IS NULL OR position < $4 THEN $4 ELSE position END',
    replace: 'SET position = $4',
    tests: ['test/unit/lease-table.test.ts'],
  },
  {
    // The renew deadline is not kept: a member cut off from the database keeps running its topics past it.
    name: 'coordinator-deadline-ignored',
    file: 'src/postgres/postgres-coordinator.ts',
    find: 'const left = Math.max(0, this.renewDeadlineMs - (this.monotonic() - sent));',
    replace: 'const left = Math.max(0, Infinity - (this.monotonic() - sent));',
    tests: ['test/postgres-coordinator.test.ts', 'test/replicas.test.ts'],
  },
  {
    // A member never gives up a topic that belongs elsewhere: the first member keeps everything.
    name: 'coordinator-no-hand-off',
    file: 'src/postgres/postgres-coordinator.ts',
    find: 'if (owner !== undefined && owner !== this.memberId && owner !== h.adoptedFrom) h.lease.askHandOff();',
    replace: '',
    tests: ['test/postgres-coordinator.test.ts'],
  },
  {
    // Wrong credentials, an unknown database or missing privileges are reported as passing I/O failures.
    name: 'pg-config-errors-untyped',
    file: 'src/postgres/connection.ts',
    find: 'const config = code === undefined ? undefined : CONFIG_STATES[code];',
    replace: 'const config = undefined as [string, string] | undefined;',
    tests: ['test/postgres-coordinator.test.ts'],
  },
  {
    // A PostgresSequenceStore write moves a position backwards.
    name: 'pg-store-backwards',
    file: 'src/postgres/postgres-sequence-store.ts',
    find: 'WHERE t.position IS NULL OR t.position < EXCLUDED.position',
    replace: 'WHERE true',
    tests: ['test/postgres-store.test.ts'],
  },

  // ── Coordinated watches (coordinated-watch.ts, postgres transactions, watch-tail --postgres) ─────────────────
  {
    // A lost lease is not followed: the engine keeps running the topic on a member that no longer holds it.
    name: 'coordinated-lost-ignored',
    file: 'src/engine/coordinated-watch.ts',
    find: "lease.signal.addEventListener('abort', () => this.lost(lease, engine), { once: true });",
    replace: '',
    tests: ['test/coordinated-manager.test.ts'],
  },
  {
    // A hand-off releases the lease once the stop's grace ended, while a slow handler still runs.
    name: 'coordinated-release-before-drain',
    file: 'src/engine/coordinated-watch.ts',
    find: "await engine.stopFor(reason, true, how === 'lost');",
    replace: "await engine.stopFor(reason, false, how === 'lost');",
    tests: ['test/coordinated-manager.test.ts'],
  },
  {
    // The handlers' ctx carries no fencing token.
    name: 'coordinated-no-fencing-token',
    file: 'src/engine/topic-watch.ts',
    find: '...(ctx.fencingToken === undefined ? {} : { fencingToken: ctx.fencingToken }),',
    replace: '...(ctx.fencingToken === undefined ? {} : {}),',
    tests: ['test/coordinated-manager.test.ts'],
  },
  {
    // The position of a transactional handler is written beside its transaction, not in it: a crash between the
    // two loses the effect of an event whose position was stored.
    name: 'transaction-position-outside',
    file: 'src/postgres/postgres-coordinator.ts',
    find: 'await this.table.writePosition(this.topic, this.owner, this.epoch, position, client, leaseMs)',
    replace: 'await this.table.writePosition(this.topic, this.owner, this.epoch, position)',
    tests: ['test/replica-watches.test.ts', 'test/replica-kills.test.ts'],
  },
  {
    // A transaction whose fenced position write found no row commits anyway: a deposed member's effect lands.
    name: 'transaction-commit-unfenced',
    file: 'src/postgres/postgres-coordinator.ts',
    find: 'throw new FencedOff(',
    replace: 'void new FencedOff(',
    tests: ['test/replica-watches.test.ts', 'test/replica-kills.test.ts'],
  },
  {
    // The coordinator's timer never keeps the process alive: a member whose watches all stand by exits.
    name: 'coordinator-timer-unref',
    file: 'src/postgres/postgres-coordinator.ts',
    find: '{ ref: this.claims.size > 0 }',
    replace: '{ ref: false }',
    tests: ['test/replica-watches.test.ts'],
  },
  {
    // A database failure under a transaction counts as the handler's: a restart of PostgreSQL stops the watch for good
    // (HANDLER_FAILED after maxAttempts) instead of stepping the topic down until a lease is won anew.
    name: 'transaction-database-failure-as-handler-failure',
    file: 'src/postgres/postgres-coordinator.ts',
    find: '    await this.lost(`the database failed during the transaction for position ${position}: ${errorMessage(err)}`);',
    replace: '    void [position, err];',
    tests: ['test/coordinated-manager.test.ts'],
  },
  {
    // A client inside a transaction has no error listener: a server restart mid-transaction crashes the process.
    name: 'checkout-no-error-listener',
    file: 'src/postgres/connection.ts',
    find: "  client.on('error', onError);\n",
    replace: '',
    tests: ['test/replica-watches.test.ts', 'test/postgres-sessions-ended.test.ts'],
  },
  {
    // watch-tail --postgres is parsed and ignored: two tails of one topic both write every event.
    name: 'cli-postgres-ignored',
    file: 'src/cli/main.ts',
    find: 'options.coordinator = await postgresCoordinator(config);',
    replace: 'void postgresCoordinator;',
    tests: ['test/cli-postgres.test.ts'],
  },

  // ── Backpressure marks (intake.ts) ──────────────────────────────────────────────────────────────────────────
  {
    // The stream is never paused: live events pile up in memory without bound.
    name: 'backpressure-pause',
    file: 'src/delivery/intake.ts',
    find: 'if (!this.paused && (this.live ? this.size : this.held.length) >= this.highWater) {',
    replace: 'if (this.paused && (this.live ? this.size : this.held.length) >= this.highWater) {',
    tests: [INTAKE, LIVE, ITERATOR, HOSTILE],
  },
  {
    // A stream paused during a catch-up is never resumed once live (resumeIfLow returns whenever live).
    name: 'backpressure-resume-when-live',
    file: 'src/delivery/intake.ts',
    find: 'if (!this.paused || !this.live ||',
    replace: 'if (!this.paused || this.live ||',
    tests: [INTAKE, LIVE, ITERATOR, HOSTILE],
  },
  {
    // Taking from the queue never resumes the stream: a paused stream stays paused.
    name: 'backpressure-on-low',
    file: 'src/delivery/intake.ts',
    find: '    this.resumeIfLow();\n    if (this.waiters.length > 0',
    replace: '    if (this.waiters.length > 0',
    tests: [INTAKE, LIVE, ITERATOR, HOSTILE],
  },
  {
    // The low mark is the high mark: the stream resumes at once, pausing and resuming on every event.
    name: 'backpressure-low-mark',
    file: 'src/delivery/intake.ts',
    find: 'this.lowWater = Math.floor(options.highWater / 2);',
    replace: 'this.lowWater = options.highWater;',
    tests: [INTAKE, LIVE, ITERATOR, HOSTILE],
  },
  {
    // A for-await record's ack never reaches delivery: the position never moves.
    name: 'iterator-ack-dropped',
    file: 'src/delivery/watch-iterator.ts',
    find: 'if (!this.ended) this.acker?.ack(event);',
    replace: '',
    tests: [ITERATOR],
  },
  {
    // The iterator's buffer is never compacted while delivery refills it: memory grows with every record handed over.
    name: 'iterator-buffer-not-compacted',
    file: 'src/delivery/watch-iterator.ts',
    find: '} else if (this.head >= 32 && this.head * 2 >= this.buffer.length) {',
    replace: '} else if (this.head < 0) {',
    tests: ['test/unit/watch-iterator.test.ts'],
  },
  {
    // A record acknowledged twice frees two slots in delivery: more records out than highWaterMark.
    name: 'iterator-ack-not-idempotent',
    file: 'src/delivery/watch-iterator.ts',
    find: '    if (this.#acked) return;\n',
    replace: '',
    tests: [ITERATOR],
  },

  // ── Durable write order (durable-file.ts) ────────────────────────────────────────────────────────────────────
  {
    // The temp file is renamed over the target without fsync: a power loss can leave an empty position file.
    name: 'durable-temp-fsync',
    file: 'src/state/durable-file.ts',
    find: 'await handle.sync();\n    await handle.close();',
    replace: 'await handle.close();',
    tests: [STORE, STATE, DEAD_LETTER],
  },
  {
    // The rename is not made durable: after a power loss the old file (or no entry) is back.
    name: 'durable-directory-fsync',
    file: 'src/state/durable-file.ts',
    find: 'await syncDirectory(path.dirname(file), io);',
    replace: '',
    tests: [STORE, STATE, DEAD_LETTER],
  },
  {
    name: 'durable-file-mode',
    file: 'src/state/durable-file.ts',
    find: "(temp, 'wx', 0o600)",
    replace: "(temp, 'wx', 0o644)",
    tests: [STORE, STATE],
  },
  {
    // A write that fails before the rename leaves its temp file behind.
    name: 'durable-temp-cleanup',
    file: 'src/state/durable-file.ts',
    find: 'await io.rm(temp, { force: true }).catch(() => undefined);',
    replace: '',
    tests: [STORE, STATE, DEAD_LETTER],
  },

  // ── Position flush bound and batching (position-keeper.ts) ───────────────────────────────────────────────────
  {
    // A batch is written one acknowledgement late.
    name: 'position-batch-size',
    file: 'src/state/position-keeper.ts',
    find: 'if (this.acks - this.savedAcks >= this.policy.everyAcks) this.startWrite();',
    replace: 'if (this.acks - this.savedAcks > this.policy.everyAcks) this.startWrite();',
    tests: [STORE],
  },
  {
    // The maxUnsavedAcks bound is not enforced: delivery never waits for a store that falls behind.
    name: 'position-unsaved-bound',
    file: 'src/state/position-keeper.ts',
    find: 'return new Promise((resolve) => this.waiters.push(resolve));',
    replace: 'return undefined;',
    tests: [STORE, CRASH, STATE],
  },
  {
    // The interval timer never writes the rest of a batch.
    name: 'position-interval-write',
    file: 'src/state/position-keeper.ts',
    find: 'if (this.writing === undefined && this.written < this.recorded) this.startWrite();',
    replace: 'if (this.writing === undefined && this.written > this.recorded) this.startWrite();',
    tests: [STORE],
  },

  // ── Redaction patterns (redact.ts) ───────────────────────────────────────────────────────────────────────────
  {
    // Only the first JWT of a text is scrubbed.
    name: 'redact-jwt-global',
    file: 'src/logging/redact.ts',
    find: '\\.[A-Za-z0-9_-]*/g, MASK],',
    replace: '\\.[A-Za-z0-9_-]*/, MASK],',
    tests: [REDACTION, PROXY_CONFIG],
  },
  {
    // A lower-case "bearer <token>" is left in clear.
    name: 'redact-bearer-case',
    file: 'src/logging/redact.ts',
    find: '([Bb]earer|BEARER|Basic|BASIC)',
    replace: '([B]earer|BEARER|Basic|BASIC)',
    tests: [REDACTION, PROXY_CONFIG],
  },
  {
    // "Authorization: <opaque value>" is scrubbed only when written in lower case.
    name: 'redact-authorization-case',
    file: 'src/logging/redact.ts',
    find: '/gi,\n    `$1${MASK}`,',
    replace: '/g,\n    `$1${MASK}`,',
    tests: [REDACTION, PROXY_CONFIG],
  },
  {
    // Opaque tokens shorter than 60 characters are never registered, so never scrubbed by value.
    name: 'redact-registry-min-length',
    file: 'src/logging/redact.ts',
    find: 'value.length < 6 ||',
    replace: 'value.length < 60 ||',
    tests: [REDACTION],
  },

  // ── Proxy refusal typing (proxy-probe.ts, http-transport.ts, topic-watch.ts) ─────────────────────────────────
  {
    // A 407 (the proxy wants credentials) is not PROXY_AUTH.
    name: 'proxy-407-auth',
    file: 'src/core/errors.ts',
    find: "if (status === 401 || status === 407) return 'PROXY_AUTH';",
    replace: "if (status === 401 || status === 408) return 'PROXY_AUTH';",
    tests: [PROXY, CREDENTIALS],
  },
  {
    // A 403 (host or port not allowed) is not PROXY_REFUSED.
    name: 'proxy-403-refused',
    file: 'src/core/errors.ts',
    find: 'if (status === 403 || status === 400',
    replace: 'if (status === 404 || status === 400',
    tests: [PROXY],
  },
  {
    // Every answer below 500 counts as a tunnel: refusals are never typed.
    name: 'proxy-2xx-range',
    file: 'src/transport/proxy-probe.ts',
    find: 'statusCode >= 200 && statusCode < 300',
    replace: 'statusCode >= 200 && statusCode < 500',
    tests: [PROXY, CREDENTIALS],
  },
  {
    // The proxy's own answer to CONNECT is taken for the origin's (https-proxy-agent replays it).
    name: 'proxy-answer-is-proxy',
    file: 'src/transport/http-transport.ts',
    find: 'if (proxyAnswer !== undefined && proxy !== undefined) {',
    replace: 'if (proxyAnswer === undefined && proxy !== undefined) {',
    tests: [PROXY, CREDENTIALS],
  },
  {
    // A proxy that cannot be reached reads as an unavailable history API.
    name: 'proxy-unreachable-typing',
    file: 'src/transport/http-transport.ts',
    find: 'proxyAnswer === undefined &&\n          CONNECT_FAILURES.has(',
    replace: 'proxyAnswer !== undefined &&\n          CONNECT_FAILURES.has(',
    tests: [PROXY],
  },
  {
    // An unreachable proxy at start is retried until connectTimeoutMs instead of failing at once.
    name: 'proxy-unreachable-at-start',
    file: 'src/engine/topic-watch.ts',
    find: "(!this.phase.hasBeen('ready') && error.code === 'PROXY_UNREACHABLE')",
    replace: "(this.phase.hasBeen('ready') && error.code === 'PROXY_UNREACHABLE')",
    tests: [PROXY],
  },

  // ── Handler retries (handler-runner.ts) ──────────────────────────────────────────────────────────────────────
  {
    // One attempt more than maxAttempts.
    name: 'handler-max-attempts',
    file: 'src/delivery/handler-runner.ts',
    find: 'attempts < policy.maxAttempts && !isTimeout(error)',
    replace: 'attempts <= policy.maxAttempts && !isTimeout(error)',
    tests: [CONCURRENCY, DEAD_LETTER],
  },
  {
    // A timed-out attempt is retried while it may still run (and plain failures are not retried).
    name: 'handler-timeout-final',
    file: 'src/delivery/handler-runner.ts',
    find: 'attempts < policy.maxAttempts && !isTimeout(error)',
    replace: 'attempts < policy.maxAttempts && isTimeout(error)',
    tests: [CONCURRENCY, DEAD_LETTER],
  },
  {
    // handlerTimeoutMs 0 (no limit) becomes a 0 ms limit.
    name: 'handler-no-timeout',
    file: 'src/delivery/handler-runner.ts',
    find: 'timeoutMs <= 0',
    replace: 'timeoutMs < 0',
    tests: [CONCURRENCY],
  },
  {
    // A backoff sleep that completes stops the retries; one that is aborted (closing) goes on retrying.
    name: 'handler-retry-after-sleep',
    file: 'src/delivery/handler-runner.ts',
    find: 'if (!(await sleep(policy.clock, backoff.next(), signal))) break;',
    replace: 'if ((await sleep(policy.clock, backoff.next(), signal))) break;',
    tests: [CONCURRENCY, DEAD_LETTER],
  },

  // ── Dead letters (dead-letter-spool.ts, delivery.ts) ─────────────────────────────────────────────────────────
  {
    // The spool is never used: a failed event stops the watch instead of being set aside.
    name: 'dead-letter-used',
    file: 'src/delivery/delivery.ts',
    find: 'if (outcome.ok || spool === undefined || this.stopped) return outcome;',
    replace: 'if (outcome.ok || spool !== undefined || this.stopped) return outcome;',
    tests: [DEAD_LETTER],
  },
  {
    // An entry whose redrive fails is removed all the same.
    name: 'dead-letter-redrive-keeps-failed',
    file: 'src/delivery/dead-letter-spool.ts',
    find: 'failed += 1;\n        continue;',
    replace: 'failed += 1;',
    tests: [DEAD_LETTER],
  },
  {
    // The recovery pass quarantines the whole entries and keeps the torn ones.
    name: 'dead-letter-recovery-suspects',
    file: 'src/delivery/dead-letter-spool.ts',
    find: '(await this.read(e.name)) === undefined',
    replace: '(await this.read(e.name)) !== undefined',
    tests: [DEAD_LETTER],
  },
  {
    // An entry of the right format and version is read even when its checksum does not match.
    name: 'dead-letter-checksum',
    file: 'src/delivery/dead-letter-spool.ts',
    find: 'version !== VERSION || sum !== checksum(entry)',
    replace: 'version !== VERSION && sum !== checksum(entry)',
    tests: [DEAD_LETTER],
  },
  {
    // the live barrier reached after onLive returned: ready() inside onLive (or before a for await loop) never resolves
    name: 'live-reached-after-on-live',
    file: 'src/delivery/delivery.ts',
    find: "    if (item.kind === 'live') this.options.liveReached?.();\n    const running",
    replace: '    const running',
    tests: [HEALTH],
  },
  {
    // two openTelemetryMetrics() on one provider each register the instruments: the last observation wins
    name: 'otel-instance-per-call',
    file: 'src/opentelemetry/open-telemetry-metrics.ts',
    find: '    bySystem.set(system, instance);',
    replace: '',
    tests: [OTEL],
  },
  {
    // a closed watch's gauges stay exported at their last values
    name: 'gone-topic-gauges-kept',
    file: 'src/opentelemetry/topic-totals.ts',
    find: '    for (const f of out.values()) if (!f.watched) f.lagMs = 0;',
    replace: '',
    tests: [OTEL],
  },
  {
    // the global meter provider bound when openTelemetryMetrics() is called, before the SDK's setup
    name: 'otel-global-provider-bound-early',
    file: 'src/opentelemetry/open-telemetry-metrics.ts',
    find: '  return {\n    attach: (read) => instanceFor(given ?? metrics.getMeterProvider(), system, perSecond).attach(read),',
    replace:
      '  const early = given ?? metrics.getMeterProvider();\n  return {\n    attach: (read) => instanceFor(early, system, perSecond).attach(read),',
    tests: [OTEL],
  },
  {
    // the sampler's stride from the rate the wrong way round: fast topics recorded in full (the hot-path cost)
    name: 'sampler-stride-inverted',
    file: 'src/opentelemetry/rate-sampler.ts',
    find: '      this.stride = Math.max(1, Math.ceil(rate / this.perWindow));',
    replace: '      this.stride = Math.max(1, Math.ceil(this.perWindow / rate));',
    tests: ['test/unit/rate-sampler.test.ts'],
  },
  {
    // the run that closes a window counted in it: a topic at exactly the limit is sampled
    name: 'sampler-counts-current-run-in-closed-window',
    file: 'src/opentelemetry/rate-sampler.ts',
    find: '    const now = this.now();\n    const elapsed',
    replace: '    this.inWindow += 1;\n    const now = this.now();\n    const elapsed',
    tests: ['test/unit/rate-sampler.test.ts'],
  },
  {
    // no idle limit on the transaction after the fenced write: a member frozen before COMMIT keeps the row locked
    name: 'frozen-commit-holds-lease-row',
    file: 'src/postgres/postgres-coordinator.ts',
    find: 'position, client, leaseMs)))',
    replace: 'position, client)))',
    tests: ['test/postgres-coordinator.test.ts'],
  },
  {
    // a failed history request retried without being counted (watch.history.retries stays 0)
    name: 'history-retry-not-counted',
    file: 'src/history/catch-up.ts',
    find: '        ctx.requests.retries += 1;',
    replace: '',
    tests: [OTEL],
  },
  {
    // a handler that failed for good recorded as a success (no error.type on messaging.process.duration)
    name: 'handler-failure-timed-as-success',
    file: 'src/delivery/delivery.ts',
    find: '    telemetry.handled(Math.max(0, policy.clock.now() - started), !ok);',
    replace: '    telemetry.handled(Math.max(0, policy.clock.now() - started), false);',
    tests: [OTEL],
  },
  {
    // a sync handler's duration never recorded
    name: 'sync-handler-not-timed',
    file: 'src/delivery/delivery.ts',
    find: '      this.timed(started, true);\n      this.finished(event, key, SYNC_OK);',
    replace: '      this.finished(event, key, SYNC_OK);',
    tests: [OTEL],
  },
  {
    // a closed watch's counters dropped: the topic's counters go back when it is watched again
    name: 'closed-watch-not-retired',
    file: 'src/engine/watch-manager.ts',
    find: '    this.watches.delete(id);\n    this.retire(watch);\n  }',
    replace: '    this.watches.delete(id);\n  }',
    tests: [OTEL],
  },
  {
    // a backend that throws in handled() lets the error into delivery
    name: 'telemetry-handled-unguarded',
    file: 'src/telemetry/guarded-link.ts',
    find: '            const result: unknown = backend.handled(durationMs, failedRun);',
    replace: '            const result: unknown = undefined; backend.handled(durationMs, failedRun);',
    tests: [OTEL],
  },
  {
    // reconnects counted without their code
    name: 'reconnect-code-not-counted',
    file: 'src/engine/topic-watch.ts',
    find: '      this.reconnectsByCode[error.code] = (this.reconnectsByCode[error.code] ?? 0) + 1;',
    replace: '',
    tests: [OTEL],
  },
  // ── ctx.client of a transactional handler: the guard over the transaction (issue 20, item 3) ──────────────────
  {
    // texts sent through the simple protocol: 'INSERT …; COMMIT' runs both, the COMMIT past the keyword check
    name: 'guard-simple-protocol',
    file: 'src/postgres/transaction-guard.ts',
    find: "      queryMode: 'extended',",
    replace: '      queryMode: undefined,',
    tests: ['test/transaction-guard.test.ts'],
  },
  {
    // a statement that ends the transaction is sent after all
    name: 'guard-statement-unchecked',
    file: 'src/postgres/transaction-guard.ts',
    find: '    if (refused !== undefined)\n      throw this.refused(',
    replace: '    if (refused !== undefined)\n      void this.refused(',
    tests: ['test/transaction-guard.test.ts'],
  },
  {
    // release() of ctx.client goes unrefused (the SDK's own release then throws after the commit)
    name: 'guard-release-allowed',
    file: 'src/postgres/transaction-guard.ts',
    find: "    throw this.refused(\n      'release()',",
    replace: "    void this.refused(\n      'release()',",
    tests: ['test/transaction-guard.test.ts'],
  },
  {
    // ctx.client stays usable after the handler settled: a late query commits outside the transaction and the fence
    name: 'guard-open-after-handler',
    file: 'src/postgres/transaction-guard.ts',
    find: "    this.#state = 'closed';",
    replace: "    this.#state = 'open';",
    tests: ['test/transaction-guard.test.ts'],
  },
  {
    // the outer client usable while a savepoint runs: its statements land inside the savepoint
    name: 'guard-outer-usable-in-savepoint',
    file: 'src/postgres/transaction-guard.ts',
    find: "    this.#state = 'suspended';",
    replace: "    this.#state = 'open';",
    tests: ['test/transaction-guard.test.ts'],
  },
  {
    // a failed savepoint released instead of rolled back: the transaction stays aborted
    name: 'guard-savepoint-not-rolled-back',
    file: 'src/postgres/transaction-guard.ts',
    find: 'await this.#client.query(`ROLLBACK TO SAVEPOINT ${name}; RELEASE SAVEPOINT ${name}`)',
    replace: 'await this.#client.query(`RELEASE SAVEPOINT ${name}`)',
    tests: ['test/transaction-guard.test.ts'],
  },
  {
    // the status pg holds trusted while the answer to a failed statement is still on its way (it says 'T')
    name: 'end-check-stale-status',
    file: 'src/postgres/transaction-guard.ts',
    find: 'told.readyForQuery === true ? told.getTransactionStatus() : null',
    replace: 'told.readyForQuery !== true ? told.getTransactionStatus() : null',
    tests: ['test/transaction-guard.test.ts'],
  },
  {
    // a transaction that ended while its handler ran is not noticed: a committed effect is retried (twice)
    name: 'end-check-ended-ignored',
    file: 'src/postgres/transaction-guard.ts',
    find: "  if (state === 'ended') throw new TransactionEnded(",
    replace: "  if (state === 'closed') throw new TransactionEnded(",
    tests: ['test/transaction-guard.test.ts'],
  },
  {
    // a handler that caught a failed statement and returned: its aborted transaction taken for a database failure
    // (the topic steps down, LEASE_LOST) instead of a failed attempt
    name: 'end-check-aborted-as-database-failure',
    file: 'src/postgres/transaction-guard.ts',
    find: "  if (state === 'aborted')\n",
    replace: "  if (state === 'failed')\n",
    tests: ['test/transaction-guard.test.ts'],
  },
  {
    // a transaction committed past the guard: its position not stored after it, so the event is applied again
    name: 'slipped-commit-position-not-stored',
    file: 'src/postgres/postgres-coordinator.ts',
    find: "      else if (outcome === 'committed')",
    replace: "      else if (outcome !== 'committed')",
    tests: ['test/transaction-guard.test.ts'],
  },
  {
    // a transaction ended past the guard treated as a plain handler failure: retried, its committed effect twice
    name: 'slipped-transaction-retried',
    file: 'src/postgres/postgres-coordinator.ts',
    find: '      if (err instanceof TransactionEnded && xid !== undefined && broken === undefined) {',
    replace: '      if (err instanceof TransactionEnded && xid !== undefined && broken !== undefined) {',
    tests: ['test/transaction-guard.test.ts'],
  },
  {
    // COMMIT is not among the statements refused
    name: 'statement-commit-allowed',
    file: 'src/postgres/transaction-statement.ts',
    find: "const ENDS = new Set(['BEGIN', 'START', 'COMMIT', 'END',",
    replace: "const ENDS = new Set(['BEGIN', 'START', 'END',",
    tests: ['test/unit/transaction-statement.test.ts', 'test/transaction-guard.test.ts'],
  },
  {
    // a leading semicolon (an empty statement PostgreSQL drops) hides a COMMIT from the check
    name: 'statement-leading-semicolon',
    file: 'src/postgres/transaction-statement.ts',
    find: "(c === ';' || c === '(')",
    replace: "(c === '(' || c === '(')",
    tests: ['test/unit/transaction-statement.test.ts', 'test/transaction-guard.test.ts'],
  },
  {
    // SET [LOCAL | SESSION] TRANSACTION … let through
    name: 'statement-set-transaction-allowed',
    file: 'src/postgres/transaction-statement.ts',
    find: "  if (name === 'TRANSACTION' || characteristics",
    replace: "  if (name === 'TRANSACTIONS' || characteristics",
    tests: ['test/unit/transaction-statement.test.ts'],
  },
  // ── issue 20 #1: a 410 at or below the position ───────────────────────────────────────────────────────────
  {
    // A restarted sequence (newest below the position) taken as "nothing missed": no resync, the re-list never asked.
    name: 'catchup-410-restart-as-nothing-missed',
    file: 'src/history/catch-up.ts',
    find: '      if (gone.newestSequenceId === gone.after && !gapsBelow) {',
    replace: '      if (gone.newestSequenceId <= gone.after && !gapsBelow) {',
    tests: [HOSTILE, CATCH_UP],
  },
  {
    // A 410 that said nothing was missed is not counted in metrics().
    name: 'catchup-410-nothing-missed-counted',
    file: 'src/history/catch-up.ts',
    find: 'ctx.requests.goneNothingMissed += 1;',
    replace: 'ctx.requests.goneNothingMissed -= 1;',
    tests: [CATCH_UP, HOSTILE],
  },
  {
    // After a resync to a restarted sequence, a later 410 is compared with the old ids: asked from the old position
    // again, resynced again (a loop).
    name: 'catchup-410-restart-forgets-old-ids',
    file: 'src/history/catch-up.ts',
    find: '      if (target < gone.after) {',
    replace: '      if (target > gone.after) {',
    tests: [HOSTILE, CATCH_UP],
  },
  {
    // A restarted sequence's ids (below the old highest id) dropped by delivery as repeats.
    name: 'delivery-resync-restart-seen',
    file: 'src/delivery/delivery.ts',
    find: '    this.watermark.reset(target);\n    this.seen.reset(target);\n  }',
    replace: '    this.watermark.reset(target);\n  }',
    tests: [CATCH_UP, CLI],
  },
  {
    // The fake's 'position' reading of "purged" does nothing: the quiet-topic 410 is never served.
    name: 'fake-purged-reading-position',
    file: 'src/testing/topic-log.ts',
    find: "return reading === 'position' && after === this.purged && this.purged > 0;",
    replace: "return reading !== 'position' && after === this.purged && this.purged > 0;",
    tests: [CATCH_UP, CLI],
  },
  {
    // The fake answers a position above a recreated topic's newest id with an empty page, not 410.
    name: 'fake-gone-above-newest',
    file: 'src/testing/topic-log.ts',
    find: 'if (after > this.lastSeq) return true;',
    replace: 'if (after > this.lastSeq) return false;',
    tests: [CATCH_UP, CLI],
  },
  // ── issue 20 #14: catch-up overlap check ──────────────────────────────────────────────────────────────────
  {
    // A page repeating exactly the previous page's last id is not reported as an overlap, and the pass is not read
    // again.
    name: 'catchup-overlap-one-id',
    file: 'src/history/catch-up.ts',
    find: 'if (event.sequenceId <= last) behind ??= event.sequenceId;',
    replace: 'if (event.sequenceId < last) behind ??= event.sequenceId;',
    tests: [CATCH_UP],
  },
  // ── issue 20 #13: health after a watch stopped for good; the default history URL ──────────────────────────
  {
    // A watch stopped for good stays in status() and health() after its topic was registered again (/healthz 503).
    name: 'manager-replace-stopped-watch',
    file: 'src/engine/watch-manager.ts',
    find: '    this.replaceStopped(selfLink);\n    this.watches.set(id, watch);',
    replace: '    this.watches.set(id, watch);',
    tests: [HEALTH],
  },
  {
    // The default history URL drops the target's port (tls: false asks port 80).
    name: 'options-history-url-port',
    file: 'src/config/options.ts',
    find: "if (value === undefined) return new URL(`${tls ? 'https' : 'http'}://${host}:${port}`);",
    replace: "if (value === undefined) return new URL(`${tls ? 'https' : 'http'}://${host}`);",
    tests: ['test/options.test.ts', HEALTH],
  },
  {
    // History errors no longer name the URL they tried.
    name: 'history-error-names-url',
    file: 'src/history/history-client.ts',
    find: 'const tried = `${where} (GET ${url.protocol}//${url.host}${url.pathname})`;',
    replace: 'const tried = where;',
    tests: [HEALTH],
  },
  {
    // A watch catching up does not say its last error (a history API that cannot be reached is not shown).
    name: 'health-catching-up-last-error',
    file: 'src/health/health-report.ts',
    find: "const last = status.lastErrorCode === undefined ? '' :",
    replace: "const last = status.lastErrorCode !== undefined ? '' :",
    tests: [HEALTH],
  },
  {
    // A "nothing missed" 410 answered before the stream's first sign of life ends the catch-up: an event published
    // in a silent service's activation window is neither delivered nor named.
    name: 'catchup-410-nothing-missed-confirmed',
    file: 'src/history/catch-up.ts',
    find: '          sequenceId: gone.after,\n        });\n        return { last, confirmed: result.aliveAtRequest, disordered };',
    replace: '          sequenceId: gone.after,\n        });\n        return { last, confirmed: true, disordered };',
    tests: [CATCH_UP],
  },
  // ── issue 20: corrupt lease rows, sessions ended by the server, a database that never answers, coordinator holes ──
  {
    // hysteresis lost: a member row seen once (a crash-looping replica) takes a share of the topics
    name: 'coordinator-member-counts-after-one-beat',
    file: 'src/postgres/postgres-coordinator.ts',
    find: 'AND (beats >= 2 OR member_id = $2)',
    replace: 'AND (beats >= 1 OR member_id = $2)',
    tests: ['test/postgres-coordinator.test.ts'],
  },
  {
    // a COMMIT of unknown outcome throws LEASE_LOST, but the lease goes on and its row stays held
    name: 'transaction-unknown-commit-lease-kept',
    file: 'src/postgres/postgres-coordinator.ts',
    find: '      await this.lost(why);\n',
    replace: '',
    tests: ['test/postgres-coordinator.test.ts'],
  },
  {
    // a lease taken on a row whose epoch cannot be read is kept: the row stays held by a member that cannot run it
    name: 'lease-corrupt-row-kept',
    file: 'src/postgres/lease-table.ts',
    find: 'SET holder = NULL, lease_until = NULL, updated_at = now()\n           WHERE topic = $1 AND holder = $2 AND epoch = $3::bigint',
    replace:
      'SET holder = $2, lease_until = NULL, updated_at = now()\n           WHERE topic = $1 AND holder = $2 AND epoch = $3::bigint',
    tests: ['test/unit/lease-table.test.ts'],
  },
  {
    // an epoch at bigint's largest (its bump overflows) is a passing I/O failure, tried every round
    name: 'lease-epoch-overflow-untyped',
    file: 'src/postgres/lease-table.ts',
    find: "sqlState(err.cause) === '22003'",
    replace: "sqlState(err.cause) === '22004'",
    tests: ['test/unit/lease-table.test.ts'],
  },
  {
    // a corrupt row seen while standing by is not told: it is taken (its epoch bumped) before anyone hears of it
    name: 'coordinator-corrupt-row-unseen',
    file: 'src/postgres/postgres-coordinator.ts',
    find: '          if (onLease !== undefined) this.fail(onLease, h);\n',
    replace: '',
    tests: ['test/coordinated-manager.test.ts'],
  },
  {
    // any failure to take a lease counts as a corrupt row: a database away for a moment stops the watch for good
    name: 'coordinator-database-blip-as-corrupt',
    file: 'src/postgres/postgres-coordinator.ts',
    find: "if (err instanceof WatchError && err.code === 'STATE_CORRUPT') this.fail(onLease, err);",
    replace: "if (err instanceof WatchError && err.code !== 'STATE_CORRUPT') this.fail(onLease, err);",
    tests: ['test/postgres-coordinator.test.ts', 'test/coordinated-manager.test.ts'],
  },
  {
    // a claim told its row is corrupt is tried again: the row is taken (its epoch bumped) and given back every round
    name: 'coordinator-corrupt-claim-retried',
    file: 'src/postgres/postgres-coordinator.ts',
    find: 'if (this.held.has(topic) || this.failed.has(onLease) || (adoptedFrom',
    replace: 'if (this.held.has(topic) || false || (adoptedFrom',
    tests: ['test/postgres-coordinator.test.ts'],
  },
  {
    // a corrupt row stops the watch without telling onError
    name: 'coordinated-corrupt-row-untold',
    file: 'src/engine/coordinated-watch.ts',
    find: '      errorCode: error.code,\n    });\n    this.giveUp(error, true);',
    replace: '      errorCode: error.code,\n    });\n    this.giveUp(error, false);',
    tests: ['test/coordinated-manager.test.ts'],
  },
  {
    // a registration waits for the coordinator's start whatever close() says: a database that never answers holds it
    name: 'coordinated-start-ignores-close',
    file: 'src/engine/coordinated-watch.ts',
    find: 'await Promise.race([this.ctx.coordinator.start(), closed]);',
    replace: 'await Promise.race([this.ctx.coordinator.start()]);',
    tests: ['test/coordinated-manager.test.ts'],
  },
  {
    // a start ended by close() rejects with the failure of its abandoned connect, not CLOSED
    name: 'coordinator-closed-start-untyped',
    file: 'src/postgres/postgres-coordinator.ts',
    find: "if (this.state === 'closed') throw new WatchError('CLOSED'",
    replace: "if (this.state !== 'closed') throw new WatchError('CLOSED'",
    tests: ['test/postgres-coordinator.test.ts'],
  },
  {
    // close() waits for a connect under way: a database that accepts TCP and never answers holds it 10 s
    name: 'pool-end-waits-for-connects',
    file: 'src/postgres/connection.ts',
    find: "if (state !== 'idle') client.connection.stream.destroy();",
    replace: "if (state === 'in-use') client.connection.stream.destroy();",
    tests: ['test/postgres-coordinator.test.ts'],
  },
  {
    // close() waits for a statement the database never answers: for ever
    name: 'pool-end-waits-for-statements',
    file: 'src/postgres/connection.ts',
    find: "if (state !== 'idle') client.connection.stream.destroy();",
    replace: "if (state === 'connecting') client.connection.stream.destroy();",
    tests: ['test/coordinated-manager.test.ts'],
  },
  {
    // a connect timeout is told as a bare pg message, not as the connectionString that cannot be reached
    name: 'connect-timeout-unnamed',
    file: 'src/postgres/connection.ts',
    find: 'err instanceof Error && CONNECT_TIMEOUT.test(err.message);',
    replace: 'err instanceof Error && CONNECT_TIMEOUT.test("");',
    tests: ['test/postgres-coordinator.test.ts'],
  },
  {
    // connectTimeoutMs is checked and ignored: the pool waits its own 10 s
    name: 'connect-timeout-ignored',
    file: 'src/postgres/connection.ts',
    find: 'connectionTimeoutMillis: connectTimeoutMs }',
    replace: 'connectionTimeoutMillis: 10_000 }',
    tests: ['test/postgres-coordinator.test.ts'],
  },
  {
    // the error listener every client of an SDK pool has from its creation
    name: 'pool-client-unlistened-from-creation',
    file: 'src/postgres/connection.ts',
    find: "      this.on('error', () => undefined);\n",
    replace: '',
    tests: ['test/postgres-sessions-ended.test.ts'],
    equivalent:
      "a second layer: pg-pool's idle listener, its query() listener and checkout's (added in pg-pool's own callback) leave no gap today (20 runs of the termination test green without it)",
  },
  {
    // a coordinator given to a second manager is not marked taken: two managers share it (issue 20 item 2)
    name: 'coordinator-shared-not-marked',
    file: 'src/engine/watch-manager.ts',
    find: '    if (coordinator !== undefined) coordinatorsTaken.add(coordinator);',
    replace: '    if (coordinator !== undefined) coordinatorsTaken.delete(coordinator);',
    tests: ['test/coordinator-health.test.ts'],
  },
  {
    // a closed coordinator accepted by a new manager, whose watches then stand by for ever
    name: 'coordinator-closed-accepted',
    file: 'src/engine/watch-manager.ts',
    find: "  if (trouble?.final === true)\n    throw new WatchError(\n      'INVALID_CONFIG',",
    replace: "  if (trouble?.final === false)\n    throw new WatchError(\n      'INVALID_CONFIG',",
    tests: ['test/coordinator-health.test.ts'],
  },
  {
    // ready() blind to the coordinator's trouble: resolves while nothing can run
    name: 'ready-ignores-coordinator-trouble',
    file: 'src/engine/watch-manager.ts',
    find: '      const report = healthReport(statuses, undefined, trouble);',
    replace: '      const report = healthReport(statuses, undefined, undefined);',
    tests: ['test/coordinator-health.test.ts'],
  },
  {
    // a closed coordinator leaves the member live (no restart), or a passing one makes it not live
    name: 'health-live-ignores-closed-coordinator',
    file: 'src/health/health-report.ts',
    find: '  const live = loopOk && trouble?.final !== true && watches.every((w) => w.live);',
    replace: '  const live = loopOk && trouble?.final !== false && watches.every((w) => w.live);',
    tests: ['test/coordinator-health.test.ts'],
  },
  {
    // a member that cannot renew or claim still says ready (issue 20 item 7)
    name: 'health-ready-ignores-coordinator-trouble',
    file: 'src/health/health-report.ts',
    find: '  const ready = live && trouble === undefined && watches.length > 0',
    replace: '  const ready = live && watches.length > 0',
    tests: ['test/coordinator-health.test.ts'],
  },
  {
    // a topic nobody runs not shown in status(), so health() says ready
    name: 'status-stalled-dropped',
    file: 'src/engine/coordinated-watch.ts',
    find: '    if (seen?.stalled !== undefined) status.stalled = seen.stalled;',
    replace: '    if (seen?.stalled === undefined) status.stalled = seen?.stalled;',
    tests: ['test/coordinator-health.test.ts'],
  },
  {
    // a round that failed counted as one that went through: trouble() never says so
    name: 'coordinator-failed-round-counted-good',
    file: 'src/postgres/postgres-coordinator.ts',
    find: '      if (!failed) this.lastGoodRound = started;',
    replace: '      if (!false) this.lastGoodRound = started;',
    tests: ['test/coordinator-health.test.ts'],
  },
  {
    // trouble() between two rounds of a healthy member: never ready
    name: 'coordinator-trouble-without-deadline',
    file: 'src/postgres/postgres-coordinator.ts',
    find: '    if (since <= this.renewDeadlineMs) return undefined;',
    replace: '    if (since <= 0) return undefined;',
    tests: ['test/coordinator-health.test.ts'],
  },
  {
    // a topic changing hands called stalled after one lease instead of two
    name: 'coordinator-stall-one-lease',
    file: 'src/postgres/postgres-coordinator.ts',
    find: '    if (unheld <= 2 * this.leaseMs) return seen;',
    replace: '    if (unheld <= 1 * this.leaseMs) return seen;',
    tests: ['test/coordinator-health.test.ts'],
  },
  {
    // the wait for an unheld topic restarted every round: never called stalled, never taken over
    name: 'coordinator-unheld-since-reset',
    file: 'src/postgres/postgres-coordinator.ts',
    find: 'unheldSince.set(t, this.unheldSince.get(t) ?? now)',
    replace: 'unheldSince.set(t, now)',
    tests: ['test/coordinator-health.test.ts'],
  },
  {
    // held topics counted as unheld and the reverse
    name: 'coordinator-unheld-inverted',
    file: 'src/postgres/postgres-coordinator.ts',
    find: 'if (h?.holder === undefined) unheldSince.set',
    replace: 'if (h?.holder !== undefined) unheldSince.set',
    tests: ['test/coordinator-health.test.ts'],
  },
  {
    // a topic the hashing gives to a member that does not claim it runs nowhere for as long as that member lives
    name: 'coordinator-never-adopts',
    file: 'src/postgres/postgres-coordinator.ts',
    find: '(adoptedFrom !== undefined && !this.adoptable(topic))',
    replace: '(adoptedFrom !== undefined && !false)',
    tests: ['test/coordinator-health.test.ts'],
  },
  {
    // a topic taken over as soon as it is called stalled: no lease for its owner to come back
    name: 'coordinator-adopts-early',
    file: 'src/postgres/postgres-coordinator.ts',
    find: 'this.monotonic() - since > 3 * this.leaseMs',
    replace: 'this.monotonic() - since > 2 * this.leaseMs',
    tests: ['test/coordinator-health.test.ts'],
  },
  {
    // an adopted topic handed back to the hashing's owner, which does not claim it: stalls again, taken again
    name: 'coordinator-adopted-handed-back',
    file: 'src/postgres/postgres-coordinator.ts',
    find: 'owner !== this.memberId && owner !== h.adoptedFrom)',
    replace: 'owner !== this.memberId && true)',
    tests: ['test/coordinator-health.test.ts'],
  },
  {
    // a transaction's connection refused 53300 gives the lease up at once: a step-down every round
    name: 'coordinator-no-wait-for-room',
    file: 'src/postgres/postgres-coordinator.ts',
    find: '        if (!noRoom(err)) throw err;',
    replace: '        if (noRoom(err)) throw err;',
    tests: ['test/coordinator-health.test.ts'],
  },
  {
    // a pg.Pool the application ended taken for a passing failure: no restart, the member never runs again
    name: 'coordinator-ended-pool-not-final',
    file: 'src/postgres/postgres-coordinator.ts',
    find: '    if (!this.db.owned && this.db.pool.ending)',
    replace: '    if (this.db.owned && this.db.pool.ending)',
    tests: ['test/coordinator-health.test.ts'],
  },
  {
    // trouble() judged against one renew period: a healthy member not ready between two rounds
    name: 'coordinator-trouble-deadline-short',
    file: 'src/postgres/postgres-coordinator.ts',
    find: '    if (since <= this.renewDeadlineMs) return undefined;',
    replace: '    if (since <= this.renewMs) return undefined;',
    tests: ['test/coordinator-health.test.ts'],
  },
  {
    // ready() waits out its whole timeout for a coordinator that can never run anything again
    name: 'ready-waits-for-final-trouble',
    file: 'src/engine/watch-manager.ts',
    find: '      if (trouble?.final === true) throw',
    replace: '      if (trouble?.final === false) throw',
    tests: ['test/coordinator-health.test.ts'],
  },
  {
    // an adopted topic kept for good: members that change never rebalance it
    name: 'coordinator-adopted-kept-for-good',
    file: 'src/postgres/postgres-coordinator.ts',
    find: 'owner !== this.memberId && owner !== h.adoptedFrom)',
    replace: 'owner !== this.memberId && h.adoptedFrom === undefined)',
    tests: ['test/coordinator-health.test.ts'],
  },
  {
    // issue 20.9: the binary leaves the ended Node.js line to the manager's two-line process warning
    name: 'cli-node-eol-not-taken',
    file: 'src/cli/main.ts',
    find: 'const endOfLife = io.ownsProcess === true ? takeEndOfLifeWarning() : undefined;',
    replace: 'const endOfLife = io.ownsProcess !== true ? takeEndOfLifeWarning() : undefined;',
    tests: [CLI],
  },
  {
    // issue 20.9: the CLI's own line told to a machine that asked for errors only, and kept from one that did not
    name: 'cli-node-eol-log-level',
    file: 'src/cli/main.ts',
    find: "io.stdout.isTTY !== true && config.logLevel === 'error'))",
    replace: "io.stdout.isTTY !== true && config.logLevel !== 'error'))",
    tests: [CLI],
  },
  {
    // issue 20.9: JSON to a pipe at --log-level error still told (the terminal's reading taken for the pipe's)
    name: 'cli-node-eol-pipe',
    file: 'src/cli/main.ts',
    find: '!(json && io.stdout.isTTY !== true && config.logLevel',
    replace: '!(json && io.stdout.isTTY === true && config.logLevel',
    tests: [CLI],
  },
  {
    // issue 20.9: the warning taken by the CLI is not marked as told: the manager warns a second time
    name: 'node-eol-taken-not-marked',
    file: 'src/core/node-support.ts',
    find: '  if (message !== undefined) flags[WARNED] = true;',
    replace: '',
    tests: [CLI, 'test/unit/node-support.test.ts'],
  },
  // ── Issue 20: items 11, 12 and 14 ──────────────────────────────────────────────────────────────────────────
  {
    // a handler that returns when its ctx.signal aborted (a close) acknowledges the event it skipped
    name: 'settled-after-abort-acknowledged',
    file: 'src/delivery/delivery.ts',
    find: '    if (outcome.ok && outcome.late === true) return;',
    replace: '',
    tests: [CONCURRENCY, 'test/close.test.ts', COORDINATED_WATCH],
  },
  {
    // the abort's marker queued after the abort: a handler resolved by its abort listener itself counts as done
    name: 'late-marker-after-abort',
    file: 'src/delivery/delivery.ts',
    find: '    queueMicrotask(() => (this.cutSeen = true));\n    this.cut.abort(reason);',
    replace: '    this.cut.abort(reason);\n    queueMicrotask(() => (this.cutSeen = true));',
    tests: [CONCURRENCY],
  },
  {
    // judged at once instead of after the microtasks queued before the abort: a handler that resolved just before
    // close() (the application closes as soon as its handler told it it is done) is repeated
    name: 'late-marker-at-once',
    file: 'src/delivery/delivery.ts',
    find: '    queueMicrotask(() => (this.cutSeen = true));',
    replace: '    this.cutSeen = true;',
    tests: [CONCURRENCY],
  },
  {
    // an attempt's lateness never asked: every handler that settles after the abort acknowledges its event
    name: 'late-never-asked',
    file: 'src/delivery/handler-runner.ts',
    find: '        resolve(late?.() === true);',
    replace: '        resolve(false);',
    tests: [CONCURRENCY, 'test/close.test.ts'],
  },
  {
    // a hand-off's drain aborts ctx.signal too: what its handlers finish is not stored, the next member repeats it
    name: 'drain-aborts-signal',
    file: 'src/delivery/delivery.ts',
    find: '    if (reason !== undefined) this.cutShort(reason);',
    replace: '    this.cutShort(reason);',
    tests: [CONCURRENCY, COORDINATED_WATCH],
  },
  {
    // a lost lease does not abort the handlers' ctx.signal: they run on, on a member that no longer holds the topic
    name: 'lost-lease-keeps-signal',
    file: 'src/engine/coordinated-watch.ts',
    find: "await engine.stopFor(reason, true, how === 'lost');",
    replace: "await engine.stopFor(reason, true, how !== 'lost');",
    tests: [COORDINATED_WATCH],
  },
  {
    // a lease lost while a hand-off drains leaves the running handlers uncut: they work on, no longer fenced
    name: 'drain-not-cut-on-loss',
    file: 'src/engine/coordinated-watch.ts',
    find: "    if (this.current?.engine === engine && this.phase.is('stepping-down')) engine.cutShort(error);",
    replace: '',
    tests: [COORDINATED_WATCH],
  },
  {
    // a transactional handler that returns after its signal aborted commits its position without its effect
    name: 'transaction-commits-after-abort',
    file: 'src/engine/coordinated-watch.ts',
    find: '          if (ctx.signal.aborted) throw ctx.signal.reason;',
    replace: '',
    tests: ['test/coordinated-manager.test.ts'],
  },
  {
    // a handler failing before the stream was accepted rejects registerWatch instead of reaching onError
    name: 'handler-failure-rejects-start',
    file: 'src/engine/topic-watch.ts',
    find: '    this.report(error, true);\n    this.settleStart();',
    replace: '    this.report(error, true);',
    tests: [LIVE],
  },
  {
    // a handler failing before the stream was accepted is told to nobody (registerWatch resolves all the same)
    name: 'handler-failure-not-told-before-ready',
    file: 'src/engine/topic-watch.ts',
    find: '    this.report(error, true);\n    this.settleStart();',
    replace: '    this.report(error, false);\n    this.settleStart();',
    tests: [LIVE],
  },
  {
    // a coordinated engine's handler failure told twice (by the engine, and again by the coordinated watch)
    name: 'handler-failure-told-twice',
    file: 'src/engine/topic-watch.ts',
    find: '    return this.lastTold === error;',
    replace: '    return this.lastTold !== error;',
    tests: [COORDINATED_WATCH],
  },
  {
    // item 14: a lease lost while the previous engine still stopped starts an engine under it
    name: 'coordinated-start-under-lost-lease',
    file: 'src/engine/coordinated-watch.ts',
    find: "if (!this.phase.is('standby') || lease.signal.aborted) {",
    replace: "if (!this.phase.is('standby')) {",
    tests: [COORDINATED_WATCH],
  },
  {
    // item 14: the counters of an engine that stopped replace those of the ones before (counters go back)
    name: 'coordinated-counters-replaced',
    file: 'src/engine/coordinated-watch.ts',
    find: 'for (const c of COUNTERS) this.past[c] += m[c];',
    replace: 'for (const c of COUNTERS) this.past[c] = m[c];',
    tests: [COORDINATED_WATCH],
  },
  {
    // the running engine's counters shown without those of the leases before
    name: 'coordinated-metrics-without-past',
    file: 'src/engine/coordinated-watch.ts',
    find: 'for (const c of COUNTERS) m[c] += this.past[c];',
    replace: 'for (const c of COUNTERS) m[c] = this.past[c];',
    tests: [COORDINATED_WATCH],
  },
  {
    // item 14: a write under a lease already lost is tried, and its refusal told as a second LEASE_LOST
    name: 'lease-positions-write-after-loss',
    file: 'src/state/lease-positions.ts',
    find: '    if (this.lease.signal.aborted) return;',
    replace: '',
    tests: [COORDINATED_WATCH],
  },
  {
    // item 14: resume() restarts the ping count but not the silence: a false stall right after a long pause
    name: 'stall-resume-keeps-last-sign',
    file: 'src/transport/stall-watchdog.ts',
    find: '    this.lastSign = this.pingBase = this.options.clock.now();',
    replace: '    this.pingBase = this.options.clock.now();',
    tests: ['test/unit/stall-watchdog.test.ts', HOSTILE],
  },
  {
    // item 14: a fresh lock whose note names this process's pid (a container restarted as pid 1) refused at once
    name: 'file-lock-own-pid-alive',
    file: 'src/state/file-lock.ts',
    find: '  if (holder.pid === process.pid) return true;',
    replace: '',
    tests: [STATE],
  },
  // ── issue 20 #1: a restarted sequence moves the stored position back ──────────────────────────────────────
  {
    // The resync of a restarted sequence does not move the stored position back: a restart after the new sequence
    // passed the old position resumes there, and the new events up to it are never delivered.
    name: 'restart-reset-not-awaited',
    file: 'src/delivery/delivery.ts',
    find: '        await keeper.reset(target);',
    replace: '        await keeper.flush();',
    tests: [RESTART],
  },
  {
    // The reset goes out while the write in flight (of the old sequence) has not landed.
    name: 'restart-reset-before-write-in-flight',
    file: 'src/state/position-keeper.ts',
    find: '        await this.writing;\n        continue;',
    replace: '        await this.writing;\n        break;',
    tests: [RESTART],
  },
  {
    // The reset goes out while a write given up on at its deadline may still land after it.
    name: 'restart-reset-before-abandoned-write',
    file: 'src/state/position-keeper.ts',
    find: 'if (this.abandoned.size === 0 || clock === undefined',
    replace: 'if (this.abandoned.size >= 0 || clock === undefined',
    tests: [RESTART],
  },
  {
    // After a reset the keeper still holds the old position: the new sequence's positions are never written.
    name: 'restart-keeper-recorded-after-reset',
    file: 'src/state/position-keeper.ts',
    find: '    this.recorded = this.written = sequenceId;\n    this.savedAcks = this.acks;\n    this.release();\n    return true;',
    replace: '    this.written = sequenceId;\n    this.savedAcks = this.acks;\n    this.release();\n    return true;',
    tests: [RESTART],
  },
  {
    // An old position whose write failed (pending) follows the reset in the next write of the file.
    name: 'restart-file-pending-old-position',
    file: 'src/state/file-sequence-store.ts',
    find: '    this.wanted.delete(topic);\n    this.resets.set(topic, sequenceId);',
    replace: '    this.resets.set(topic, sequenceId);',
    tests: [RESTART],
  },
  {
    // A position above a pending reset but below the durable one is ignored (and the reset not written with it).
    name: 'restart-file-set-above-pending-reset',
    file: 'src/state/file-sequence-store.ts',
    find: 'if (sequenceId <= (this.resets.get(topic) ?? durable.get(topic) ?? 0)) return;',
    replace: 'if (sequenceId <= (durable.get(topic) ?? 0)) return;',
    tests: [RESTART],
  },
  {
    // The lease row's reset is not fenced by epoch: a holder of an older epoch moves the position back.
    name: 'restart-lease-reset-unfenced',
    file: 'src/postgres/lease-table.ts',
    find: 'SET position = $4, updated_at = now()\n         WHERE topic = $1 AND holder = $2 AND epoch = $3',
    replace: 'SET position = $4, updated_at = now()\n         WHERE topic = $1 AND holder = $2 AND epoch >= $3',
    tests: [RESTART],
  },
  {
    // A lease that can reset gives LeasePositions no resetSequence: the lease row keeps the old position.
    name: 'restart-lease-positions-no-reset',
    file: 'src/state/lease-positions.ts',
    find: 'if (reset !== undefined) this.resetSequence',
    replace: 'if (reset === undefined) this.resetSequence',
    tests: [RESTART],
  },
  {
    // A failed reset is forgotten: the next connection resumes from the old position and the notice comes again.
    name: 'restart-failed-reset-forgotten',
    file: 'src/engine/topic-watch.ts',
    find: '    this.resetTo = target;\n',
    replace: '    this.resetTo = undefined;\n',
    tests: [RESTART],
  },
  {
    // The PostgreSQL store's reset only moves forward, like setSequence.
    name: 'restart-postgres-store-reset-forward-only',
    file: 'src/postgres/postgres-sequence-store.ts',
    find: 'ON CONFLICT (topic) DO UPDATE SET position = EXCLUDED.position, updated_at = now()`,',
    replace:
      'ON CONFLICT (topic) DO UPDATE SET position = GREATEST(t.position, EXCLUDED.position), updated_at = now()`,',
    tests: [RESTART],
  },
  {
    // A reset fenced off (another member took the topic over) does not end the lease: the deposed holder runs on.
    name: 'restart-fenced-reset-lease-not-lost',
    file: 'src/postgres/postgres-coordinator.ts',
    find: 'position)) return true;\n    await this.lost(\n      `the reset of the position',
    replace: 'position)) return true;\n    await Promise.resolve(\n      `the reset of the position',
    tests: [RESTART],
  },
  {
    // The contract skips its reset check for a store that has resetSequence (a forward-only reset passes).
    name: 'restart-contract-reset-checked',
    file: 'src/testing/sequence-provider-contract.ts',
    find: '        if (store.resetSequence === undefined) return;',
    replace: '        if (store.resetSequence !== undefined) return;',
    tests: [STORE_CONTRACT],
  },
];

/**
 * Each fix of issue 11 (and of what its randomized and chaos tests found), reverted: the test named for the
 * defect must fail. Not always one token (a check is switched off); run them alone with `--only revert`.
 */
export const reverts: Mutant[] = [
  {
    // #1: a getter's token that metadata cannot carry reached grpc-js (a crash, the token on stderr)
    name: 'revert-01-token-header-check',
    file: 'src/auth/token-refresher.ts',
    find: "    if (bad !== undefined) {\n      throw new WatchError(\n        'TOKEN_UNAVAILABLE',\n        `getToken returned a token with a character",
    replace:
      "    if (bad !== undefined && false) {\n      throw new WatchError(\n        'TOKEN_UNAVAILABLE',\n        `getToken returned a token with a character",
    tests: [INPUTS],
  },
  {
    // #1: a tenant id with a tab or non-ASCII accepted at construction
    name: 'revert-01-tenant-header-check',
    file: 'src/config/options.ts',
    find: "    tenantId: headerValue(input.tenantId, 'tenantId'),",
    replace: "    tenantId: nonEmptyString(input.tenantId, 'tenantId'),",
    tests: [INPUTS],
  },
  {
    // #1: --token-file holding two lines accepted
    name: 'revert-01-token-file-one-line',
    file: 'src/cli/main.ts',
    find: '  if (/[\\r\\n]/.test(text)) throw',
    replace: '  if (/[\\r]/.test(text)) throw',
    tests: [INPUTS],
  },
  {
    // #2: a delay above 2^31-1 ms handed to Node as it is (fires after 1 ms: a hot loop)
    name: 'revert-02-timer-cap',
    file: 'src/core/clock.ts',
    find: '        const step = Math.min(remaining, MAX_TIMER_MS);',
    replace: '        const step = Math.max(remaining, 0);',
    tests: [INPUTS],
  },
  {
    // #3: a 410 naming the asked position itself taken as a resync target (a loop); since issue 20 #1 the catch-up
    // tells "nothing missed" (equal) from a restarted sequence (below)
    name: 'revert-03-gone-not-above',
    file: 'src/history/catch-up.ts',
    find: '      if (gone.newestSequenceId === gone.after && !gapsBelow) {',
    replace: '      if (gone.newestSequenceId < gone.after && !gapsBelow) {',
    tests: [HOSTILE],
  },
  {
    // #4: a position asked for counts as stored before the durable write (a retry writes nothing)
    name: 'revert-04-durable-before-state',
    file: 'src/state/file-sequence-store.ts',
    find: '    if (sequenceId <= (this.resets.get(topic) ?? durable.get(topic) ?? 0)) return;',
    replace:
      '    if (sequenceId <= (this.wanted.get(topic) ?? this.resets.get(topic) ?? durable.get(topic) ?? 0)) return;',
    tests: [STATE, STORE_CONTRACT],
  },
  {
    // #4: a save that fails before the start resolves never reaches onError
    name: 'revert-04-failed-save-reported-before-start',
    file: 'src/engine/topic-watch.ts',
    find: '(err) => this.report(err, true)',
    replace: '(err) => this.report(err, false)',
    tests: [STATE],
  },
  {
    // #5: a live holder waited for instead of refused at once (and a dead one refused)
    name: 'revert-05-live-holder-refused',
    file: 'src/state/file-lock.ts',
    find: "      if (holder !== undefined && !holderIsGone(holder)) throw locked(file, holder, '');",
    replace: "      if (holder !== undefined && holderIsGone(holder)) throw locked(file, holder, '');",
    tests: [STATE],
  },
  {
    // #6: a history page out of order handed over (the position moves past ids never delivered)
    name: 'revert-06-history-page-order',
    file: 'src/history/history-client.ts',
    find: '      if (event.sequenceId <= previous) {',
    replace: '      if (event.sequenceId <= previous && previous < 0) {',
    tests: [HOSTILE],
  },
  {
    // #6: an id out of order on the stream dropped as a repeat
    name: 'revert-06-stream-late-dropped',
    file: 'src/delivery/delivery.ts',
    find: '      if (late && !this.seen.missing(seq)) {',
    replace: '      if (late) {',
    tests: [HOSTILE],
  },
  {
    // #7: the page size not lowered to a server's cap
    name: 'revert-07-page-cap-adapts',
    file: 'src/history/catch-up.ts',
    find: '        pageSize.value = count;',
    replace: '        pageSize.value = size;',
    tests: [HOSTILE],
  },
  {
    // #7: a short page with an empty next page taken as the last without asking again
    name: 'revert-07-short-page-verified',
    file: 'src/history/catch-up.ts',
    find: '      if (nextCount === 0 && (served.full || (verifying !== undefined && count !== verifying))) {',
    replace: '      if (nextCount === 0 && (true || (verifying !== undefined && count !== verifying))) {',
    tests: [HOSTILE],
  },
  {
    // #8: an unknown event type stops the watch with PROTOCOL
    name: 'revert-08-unknown-type-stops',
    file: 'src/transport/event-codec.ts',
    find: '  if (meta === null || !(sequenceId > 0)) {',
    replace: "  if (meta === null || !(sequenceId > 0) || type === 'UNKNOWN') {",
    tests: [HOSTILE],
  },
  {
    // #9: Retry-After ignored
    name: 'revert-09-retry-after-ignored',
    file: 'src/history/catch-up.ts',
    find: '    const delay = Math.max(this.backoff.next(), error.retryAfterMs ?? 0);',
    replace: '    const delay = Math.max(this.backoff.next(), 0);',
    tests: [HOSTILE],
  },
  {
    // #10: a per-watch option typo ignored
    name: 'revert-10-watch-option-keys',
    file: 'src/config/watch-options.ts',
    find: "  checkKeys(input, WATCH_OPTION_KEYS, 'options.');",
    replace: "  checkKeys(input, Object.keys(input), 'options.');",
    tests: [INPUTS],
  },
  {
    // #11: the proxy password a plain channel option that grpc-js's tracing prints
    name: 'revert-11-plain-proxy-credentials',
    file: 'src/transport/grpc-channel.ts',
    find: "channel['grpc.http_connect_creds'] = sealedCredentials(route.proxy.credentials);",
    replace: "channel['grpc.http_connect_creds'] = String(route.proxy.credentials);",
    tests: [PROXY_CONFIG],
  },
  {
    // #12: an empty --token-file waited on instead of refused
    name: 'revert-12-empty-token-file',
    file: 'src/cli/main.ts',
    find: "  if (text === '') throw new Error(`${source} is empty`);",
    replace: "  if (text === '\\0') throw new Error(`${source} is empty`);",
    tests: [INPUTS],
  },
  {
    // #12: a proxy value without a scheme taken as a host
    name: 'revert-12-proxy-scheme-required',
    file: 'src/config/options.ts',
    find: '  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\\/\\//.test(value.trim()))',
    replace: '  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\\/?\\/?/.test(value.trim()))',
    tests: [INPUTS],
  },
  {
    // #13: a self link with dot segments accepted (the history request leaves /events)
    name: 'revert-13-dot-segments',
    file: 'src/core/option-checks.ts',
    find: "    if (segment === '' || segment === '.' || segment === '..' || !/^[A-Za-z0-9._~-]+$/.test(segment)) {",
    replace: "    if (segment === '' || !/^[A-Za-z0-9._~-]+$/.test(segment)) {",
    tests: [INPUTS],
  },
  {
    // #14: a setSequence that never settles waited for forever
    name: 'revert-14-write-deadline',
    file: 'src/state/position-keeper.ts',
    find: '    if (clock === undefined || timeoutMs === undefined) return write;',
    replace: '    if (clock === undefined || timeoutMs !== undefined) return write;',
    tests: [STATE],
  },
  {
    // #15: the backoff escalates over healthy streams that a service ends
    name: 'revert-15-backoff-after-progress',
    file: 'src/engine/topic-watch.ts',
    find: '    const progressed = conn.madeProgress || this.replayed > 0;',
    replace: '    const progressed = conn.madeProgress && this.replayed > 0;',
    tests: [RECONNECT],
  },
  {
    // #16: a stream that stays open but stops delivering never replaced
    name: 'revert-16-stall-watchdog',
    file: 'src/transport/stall-watchdog.ts',
    find: '    if (silent < timeout) {',
    replace: '    if (silent < timeout * 1000) {',
    tests: [HOSTILE],
  },
  {
    // test hole: never pause the stream while catching up
    name: 'revert-hole-backpressure-during-catch-up',
    file: 'src/delivery/intake.ts',
    find: '(this.live ? this.size : this.held.length) >= this.highWater',
    replace: '(this.live ? this.size : 0) >= this.highWater',
    tests: [INTAKE, HOSTILE],
  },
  {
    // test hole: pages after a resync numbered on from the old start
    name: 'revert-hole-page-counter-after-resync',
    file: 'src/history/catch-up.ts',
    find: '    after = position;\n    requested = 0;',
    replace: '    after = position;\n    requested = requested || 0;',
    tests: [HOSTILE],
  },
  {
    // test hole: the temp file's fsync dropped
    name: 'revert-hole-fsync-temp',
    file: 'src/state/durable-file.ts',
    find: "    await step('sync');\n    await handle.sync();",
    replace: "    await step('sync');\n    void handle.sync;",
    tests: [STATE],
  },
  {
    // test hole: the directory's fsync dropped
    name: 'revert-hole-fsync-dir',
    file: 'src/state/durable-file.ts',
    find: "  await step('sync-dir');\n  await syncDirectory(path.dirname(file), io);",
    replace: "  await step('sync-dir');\n  void syncDirectory;",
    tests: [STATE],
  },
  {
    // test hole: only the scheme word of an Authorization value masked
    name: 'revert-hole-redaction-scheme-word',
    file: 'src/logging/redact.ts',
    find: '(?:[A-Za-z][\\w.+-]*\\s+)?(?:[^\\s,;"\'\\\\]+|',
    replace: '(?:[^\\s,;"\'\\\\]+|',
    tests: [REDACTION],
  },
  {
    // chaos finding: a token fetched for a reconnect never reaches the open streams
    name: 'revert-finding-reconnect-token-to-streams',
    file: 'src/auth/token-refresher.ts',
    find: '      if (before !== undefined && token.value !== before) {',
    replace: '      if (before !== undefined && token.value === before) {',
    tests: [TOKEN],
  },
  {
    // property finding: a pass whose pages overlapped not read again
    name: 'revert-finding-reread-after-disorder',
    file: 'src/history/catch-up.ts',
    find: '      if (!reread) {\n        reread = true;',
    replace: '      if (reread) {\n        reread = true;',
    tests: [HOSTILE],
  },
  {
    // property finding (seed 61): a purge met while reading again below the position, after pages overlapped, resumed
    // above it without a notice, though the broken order had jumped over ids the purge then took
    name: 'revert-finding-resync-after-gaps',
    file: 'src/history/catch-up.ts',
    find: '      const gapsBelow = start < handed.position || handed.gaps;',
    replace: '      const gapsBelow = false;',
    tests: [HOSTILE],
  },
  {
    // close() cuts the running handlers at once: one that finishes within closeTimeoutMs is delivered again
    name: 'close-cuts-handlers-at-once',
    file: 'src/engine/topic-watch.ts',
    find: '    await this.delivery.stop(graceSleep, cut ? reason : undefined);',
    replace: '    await this.delivery.stop(graceSleep, reason);',
    tests: ['test/close.test.ts', 'test/cli-signals.test.ts'],
  },
];
