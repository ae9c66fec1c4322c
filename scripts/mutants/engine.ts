/**
 * The mutants of the code in src/engine/: the start position, filters, the backoff reset, coordinated watches, the
 * manager.
 */
import type { Mutant } from './mutant';
import {
  CATCH_UP,
  CLI,
  COORDINATED_MANAGER,
  COORDINATED_WATCH,
  COORDINATOR_HEALTH,
  CREDENTIALS,
  CACHE_PREFETCH,
  FETCH_MODE,
  FILTER,
  HEALTH,
  ITERATOR,
  ITERATOR_ACK,
  LIVE,
  MANAGER_ARGUMENTS,
  OPTIONS,
  OTEL,
  PROXY,
  RECONNECT,
  RESOURCE_CACHE,
  RESOURCE_MISCONFIG,
  RESTART,
  STATE,
} from './tests';

export const engineMutants: Mutant[] = [
  // ── The start position (topic-watch.ts start() and connect()) ────────────────────────────────────────────────
  {
    // from: 'beginning' behaves as 'latest', and 'latest' as 'beginning'.
    name: 'start-from-beginning',
    find: "else if (from === 'latest') this.startPosition = 'newest-to-ask';",
    replace: "else if (from !== 'latest') this.startPosition = 'newest-to-ask';",
    tests: [CATCH_UP, ITERATOR],
  },
  {
    // The stored position is ignored and `from` used instead (and the reverse).
    name: 'start-stored-position',
    find: 'if (stored !== undefined) {',
    replace: 'if (stored === undefined) {',
    tests: [CATCH_UP, FILTER],
  },
  {
    // from: N is not written at once: a restart before the first event starts from `from` again, not from N.
    name: 'start-from-number-persisted',
    find: 'this.delivery.startAt(from, from > 0);',
    replace: 'this.delivery.startAt(from, from < 0);',
    tests: [CATCH_UP, CLI, STATE],
  },
  {
    // from: 'latest' is not written at once: a restart before the first event skips what came meanwhile.
    name: 'start-latest-persisted',
    find: 'this.ctx.history().newest(this.topic, this.stopped.signal), true);',
    replace: 'this.ctx.history().newest(this.topic, this.stopped.signal), false);',
    tests: [CATCH_UP, LIVE, STATE],
  },

  // ── Filters (compileFilter in topic-watch.ts) ────────────────────────────────────────────────────────────────
  {
    // Kinds OR types instead of AND.
    name: 'filter-and-or',
    find: '(kinds === undefined || kinds.has(event.payload.kind)) &&',
    replace: '(kinds === undefined || kinds.has(event.payload.kind)) ||',
    tests: [FILTER, CATCH_UP],
  },
  {
    // A names filter needs every name to match instead of one.
    name: 'filter-names-some',
    find: 'names.some(',
    replace: 'names.every(',
    tests: [FILTER],
  },
  {
    // A types filter that is given is ignored.
    name: 'filter-types-ignored',
    find: '(types === undefined || types.has(event.type))',
    replace: '(types !== undefined || types.has(event.type))',
    tests: [FILTER],
  },

  // ── Backoff (backoff.ts) and its reset (topic-watch.ts) ──────────────────────────────────────────────────────
  {
    // The backoff resets only after an unhealthy (short) period.
    name: 'backoff-reset-after-health',
    find: 'attempt.subscribedMs >= resetAfterMs',
    replace: 'attempt.subscribedMs < resetAfterMs',
    tests: [RECONNECT],
  },
  {
    // The backoff resets only for connections that were never ready.
    name: 'backoff-reset-was-ready',
    find: 'subscribedMs: conn.isReady && this.readyAt !== undefined',
    replace: 'subscribedMs: !conn.isReady && this.readyAt !== undefined',
    tests: [RECONNECT],
  },

  // ── The ping answer (watch-stream.ts) ────────────────────────────────────────────────────────────────────────
  {
    // A standalone clientCredentialsToken getter given to a proxied manager: nobody is told it bypasses the proxy.
    name: 'credentials-standalone-not-told',
    find: 'if (isStandaloneCredentialsToken(options.getToken) &&',
    replace: 'if (!isStandaloneCredentialsToken(options.getToken) &&',
    tests: [CREDENTIALS],
  },

  // ── Coordinated watches (coordinated-watch.ts, postgres transactions, watch-tail --postgres) ─────────────────
  {
    // A lost lease is not followed: the engine keeps running the topic on a member that no longer holds it.
    name: 'coordinated-lost-ignored',
    find: "lease.signal.addEventListener('abort', () => this.lost(lease, engine), { once: true });",
    replace: '',
    tests: [COORDINATED_MANAGER],
  },
  {
    // A hand-off releases the lease once the stop's grace ended, while a slow handler still runs.
    name: 'coordinated-release-before-drain',
    find: "await engine.stopFor(reason, true, how === 'lost');",
    replace: "await engine.stopFor(reason, false, how === 'lost');",
    tests: [COORDINATED_MANAGER],
  },
  {
    // The handlers' ctx carries no fencing token.
    name: 'coordinated-no-fencing-token',
    find: '...(ctx.fencingToken === undefined ? {} : { fencingToken: ctx.fencingToken }),',
    replace: '...(ctx.fencingToken === undefined ? {} : {}),',
    tests: [COORDINATED_MANAGER],
  },

  // ── Proxy refusal typing (proxy-probe.ts, http-transport.ts, topic-watch.ts) ─────────────────────────────────
  {
    // An unreachable proxy at start is retried until connectTimeoutMs instead of failing at once.
    name: 'proxy-unreachable-at-start',
    find: "if (!situation.started && error.code === 'PROXY_UNREACHABLE') return 'stop';",
    replace: "if (situation.started && error.code === 'PROXY_UNREACHABLE') return 'stop';",
    tests: [PROXY],
  },

  // ── Dead letters (dead-letter-spool.ts, delivery.ts) ─────────────────────────────────────────────────────────
  {
    // a closed watch's counters dropped: the topic's counters go back when it is watched again
    name: 'closed-watch-not-retired',
    find: '    this.watches.delete(id);\n    this.retire(watch);\n  }',
    replace: '    this.watches.delete(id);\n  }',
    tests: [OTEL],
  },
  {
    // reconnects counted without their code
    name: 'reconnect-code-not-counted',
    find: '      this.reconnectsByCode[error.code] = (this.reconnectsByCode[error.code] ?? 0) + 1;',
    replace: '',
    tests: [OTEL],
  },

  // ── issue 20 #13: health after a watch stopped for good; the default history URL ──────────────────────────
  {
    // A watch stopped for good stays in status() and health() after its topic was registered again (/healthz 503).
    name: 'manager-replace-stopped-watch',
    find: '    this.replaceStopped(selfLink);\n    this.watches.set(id, watch);',
    replace: '    this.watches.set(id, watch);',
    tests: [HEALTH],
  },

  // ── issue 20: corrupt lease rows, sessions ended by the server, a database that never answers, coordinator holes ──
  {
    // a corrupt row stops the watch without telling onError
    name: 'coordinated-corrupt-row-untold',
    find: '      errorCode: error.code,\n    });\n    this.giveUp(error, true);',
    replace: '      errorCode: error.code,\n    });\n    this.giveUp(error, false);',
    tests: [COORDINATED_MANAGER],
  },
  {
    // a registration waits for the coordinator's start whatever close() says: a database that never answers holds it
    name: 'coordinated-start-ignores-close',
    find: 'await Promise.race([this.ctx.coordinator.start(), closed]);',
    replace: 'await Promise.race([this.ctx.coordinator.start()]);',
    tests: [COORDINATED_MANAGER],
  },
  {
    // a coordinator given to a second manager is not marked taken: two managers share it (issue 20 item 2)
    name: 'coordinator-shared-not-marked',
    find: '    if (coordinator !== undefined) coordinatorsTaken.add(coordinator);',
    replace: '    if (coordinator !== undefined) coordinatorsTaken.delete(coordinator);',
    tests: [COORDINATOR_HEALTH],
  },
  {
    // a closed coordinator accepted by a new manager, whose watches then stand by for ever
    name: 'coordinator-closed-accepted',
    find: "  if (trouble?.final === true)\n    throw new WatchError(\n      'INVALID_CONFIG',",
    replace: "  if (trouble?.final === false)\n    throw new WatchError(\n      'INVALID_CONFIG',",
    tests: [COORDINATOR_HEALTH],
  },
  {
    // ready() blind to the coordinator's trouble: resolves while nothing can run
    name: 'ready-ignores-coordinator-trouble',
    find: '      const report = healthReport(statuses, undefined, trouble);',
    replace: '      const report = healthReport(statuses, undefined, undefined);',
    tests: [COORDINATOR_HEALTH],
  },
  {
    // a topic nobody runs not shown in status(), so health() says ready
    name: 'status-stalled-dropped',
    find: '    if (seen?.stalled !== undefined) status.stalled = seen.stalled;',
    replace: '    if (seen?.stalled === undefined) status.stalled = seen?.stalled;',
    tests: [COORDINATOR_HEALTH],
  },
  {
    // ready() waits out its whole timeout for a coordinator that can never run anything again
    name: 'ready-waits-for-final-trouble',
    find: "if (trouble?.final === true) throw new WatchError('CLOSED',",
    replace: "if (trouble?.final === false) throw new WatchError('CLOSED',",
    tests: [COORDINATOR_HEALTH],
  },

  // ── Issue 20: items 11, 12 and 14 ──────────────────────────────────────────────────────────────────────────
  {
    // a lost lease does not abort the handlers' ctx.signal: they run on, on a member that no longer holds the topic
    name: 'lost-lease-keeps-signal',
    find: "await engine.stopFor(reason, true, how === 'lost');",
    replace: "await engine.stopFor(reason, true, how !== 'lost');",
    tests: [COORDINATED_WATCH],
  },
  {
    // a lease lost while a hand-off drains leaves the running handlers uncut: they work on, no longer fenced
    name: 'drain-not-cut-on-loss',
    find: "    if (this.current?.engine === engine && this.phase.is('stepping-down')) engine.cutShort(error);",
    replace: '',
    tests: [COORDINATED_WATCH],
  },
  {
    // a transactional handler that returns after its signal aborted commits its position without its effect
    name: 'transaction-commits-after-abort',
    find: '          if (ctx.signal.aborted) throw ctx.signal.reason;',
    replace: '',
    tests: [COORDINATED_MANAGER],
  },
  {
    // a handler failing before the stream was accepted rejects registerWatch instead of reaching onError
    name: 'handler-failure-rejects-start',
    find: '    this.report(error, true);\n    this.settleStart();',
    replace: '    this.report(error, true);',
    tests: [LIVE],
  },
  {
    // a handler failing before the stream was accepted is told to nobody (registerWatch resolves all the same)
    name: 'handler-failure-not-told-before-ready',
    find: '    this.report(error, true);\n    this.settleStart();',
    replace: '    this.report(error, false);\n    this.settleStart();',
    tests: [LIVE],
  },
  {
    // a coordinated engine's handler failure told twice (by the engine, and again by the coordinated watch)
    name: 'handler-failure-told-twice',
    find: '    return this.lastReported === error;',
    replace: '    return this.lastReported !== error;',
    tests: [COORDINATED_WATCH],
  },
  {
    // item 14: a lease lost while the previous engine still stopped starts an engine under it
    name: 'coordinated-start-under-lost-lease',
    find: "if (!this.phase.is('standby') || lease.signal.aborted) {",
    replace: "if (!this.phase.is('standby')) {",
    tests: [COORDINATED_WATCH],
  },
  {
    // item 14: the counters of an engine that stopped replace those of the ones before (counters go back)
    name: 'coordinated-counters-replaced',
    find: 'for (const c of WATCH_COUNTERS) into[c] += from[c];',
    replace: 'for (const c of WATCH_COUNTERS) into[c] = from[c];',
    tests: [COORDINATED_WATCH],
  },
  {
    // the running engine's counters shown without those of the leases before
    name: 'coordinated-metrics-without-past',
    find: 'if (cur !== undefined) addCounts(m, this.past);',
    replace: 'if (cur === undefined) addCounts(m, this.past);',
    tests: [COORDINATED_WATCH],
  },

  // ── issue 20 #1: a restarted sequence moves the stored position back ──────────────────────────────────────
  {
    // A failed reset is forgotten: the next connection resumes from the old position and the notice comes again.
    name: 'restart-failed-reset-forgotten',
    find: '    this.resetTo = target;\n',
    replace: '    this.resetTo = undefined;\n',
    tests: [RESTART],
  },

  // ── issue 22: one name per idea (the manager's state) ────────────────────────────────────────────────────────
  {
    // A watch stopped for good hidden from the manager's state: its only watch failed and it says idle again.
    name: 'manager-degraded-hidden',
    find: "w.state === 'closed' && w.lastErrorCode !== undefined)) return 'degraded';",
    replace: "w.state === 'closed' && w.lastErrorCode === undefined)) return 'degraded';",
    tests: [LIVE],
  },

  // ── issue 22 #6: an option given to the wrong call says where it belongs ───────────────────────────────────
  {
    // An option of another call is taken for a real unknown: the message lists the known options, not its call.
    name: 'option-home-not-named',
    find: 'if (homes.length === 0) continue;',
    replace: 'if (homes.length >= 0) continue;',
    tests: [OPTIONS],
  },
  {
    // While a hand-off drains, status() shows the lease's older position again (metrics() the engine's).
    name: 'status-position-behind-drain',
    find: 'Math.max(this.position, this.current?.engine.metrics().acknowledgedSequenceId ?? 0)',
    replace: 'Math.max(this.position, 0)',
    tests: [COORDINATED_WATCH],
  },

  // ── issue 22: the for await loop's options and its position (manager-arguments.ts, topic-watch.ts) ─────────
  {
    // A failed record is retried twice more by default: the documented default is one attempt (no retry).
    name: 'iterate-max-attempts-default',
    find: 'concurrency: 100,\n  maxAttempts: 1,',
    replace: 'concurrency: 100,\n  maxAttempts: 3,',
    tests: [MANAGER_ARGUMENTS, ITERATOR_ACK],
  },
  {
    // concurrency and its deprecated alias highWaterMark given together: one wins silently unless both are refused.
    name: 'iterate-concurrency-and-alias',
    find: 'options.concurrency !== undefined && options.highWaterMark !== undefined',
    replace: 'options.concurrency !== undefined || options.highWaterMark !== undefined',
    tests: [MANAGER_ARGUMENTS],
  },
  {
    // The loop's acknowledgedSequenceId is a number before the stored position was read (0, not undefined), and
    // undefined once it is.
    name: 'loop-position-known',
    find: "this.positioned = this.startPosition === 'known';",
    replace: "this.positioned = this.startPosition !== 'known';",
    tests: [ITERATOR_ACK],
  },
  {
    // A for await loop not told that its watch closed from elsewhere (manager.close()): it waits for ever.
    name: 'loop-not-told-of-close',
    find: 'this.loops.get(watch)?.watchClosed(error); this.kindChecks.get(watch)?.abort();',
    replace: 'void watch; this.kindChecks.get(watch)?.abort();',
    tests: [ITERATOR],
  },
  {
    // The every-kind onEvent's fields are left out of the union for a kind's events.
    name: 'fetch-fields-union',
    find: 'fields = dispatch?.everyKind === true ? union(kind.fields, fetch.fields) : kind.fields;',
    replace: 'fields = dispatch?.everyKind === false ? union(kind.fields, fetch.fields) : kind.fields;',
    tests: [FETCH_MODE],
  },
  {
    // A failed fetch is never told to the watch while it is connected: no reconnect, the event waits for ever.
    name: 'fetch-failure-fails-watch',
    find: "if (this.conn === undefined || this.stopped.signal.aborted) return; this.ctx.log.warn('fetch mode:",
    replace: "if (this.conn !== undefined || this.stopped.signal.aborted) return; this.ctx.log.warn('fetch mode:",
    tests: [FETCH_MODE],
  },
  {
    // A failed fetch rejects the event's preparation: taken for a handler's failure (HANDLER_FAILED).
    name: 'fetch-failure-not-handler',
    find: 'if (stopped.aborted) throw err;',
    replace: 'if (!stopped.aborted) throw err;',
    tests: [FETCH_MODE],
  },
  {
    // The fetches that failed are not made again once subscribed again: their events never reach a handler.
    name: 'fetch-retried-when-subscribed',
    find: "this.move('subscribed'); this.fetching?.subscribed();",
    replace: "this.move('subscribed');",
    tests: [FETCH_MODE],
  },
  {
    // An event whose self link the client refuses stops the watch as a configuration error, not the service's.
    name: 'fetch-bad-link-protocol',
    find: "if (err instanceof WatchError && err.code === 'INVALID_CONFIG')",
    replace: "if (err instanceof WatchError && err.code !== 'INVALID_CONFIG')",
    tests: [FETCH_MODE],
  },
  {
    // metrics().fetchedGone counts the resources found instead of those gone.
    name: 'fetch-counts-gone',
    find: 'if (gone) this.fetchedGone += 1;',
    replace: 'if (!gone) this.fetchedGone += 1;',
    tests: [FETCH_MODE],
  },
  {
    // The cache's fetchConcurrency is not what its watch's fetch mode is given: the default's bound instead.
    name: 'cache-fetch-concurrency-wired',
    find: 'fetch: { concurrency: fetchConcurrency },',
    replace: 'fetch: { concurrency: 8 },',
    tests: [CACHE_PREFETCH],
  },
  {
    // A watch's fetch mode merges a subresource onto a cache's copy from before the event: an older rest of it.
    name: 'fetch-merge-onto-cache-behind',
    find: 'if ((cache.sequenceId ?? 0) >= sequenceId) return structuredClone(cache.get(selfLink));',
    replace: 'if ((cache.sequenceId ?? 0) >= 0) return structuredClone(cache.get(selfLink));',
    tests: [RESOURCE_CACHE],
  },
  {
    // The merged resource shares the cache's frozen spec and metadata: a handler writing to them fails.
    name: 'fetch-merge-shares-cache-copy',
    find: 'return structuredClone(cache.get(selfLink));',
    replace: 'return cache.get(selfLink);',
    tests: [RESOURCE_CACHE],
  },
  {
    // A kind's fields without fetch mode are taken, and ignored.
    name: 'fields-need-fetch',
    find: 'if (fetch === false) {',
    replace: 'if (fetch === undefined) {',
    tests: [RESOURCE_MISCONFIG],
  },
  {
    // fetch.fields without an every-kind onEvent are taken, and ignored.
    name: 'fetch-fields-need-on-event',
    find: 'if (fetch.fields !== undefined && handlers.onEvent === undefined)',
    replace: 'if (fetch.fields !== undefined && handlers.onEvent !== undefined)',
    tests: [RESOURCE_MISCONFIG, FETCH_MODE],
  },
  {
    // A kind the WatchTopic covers is warned of, and one it does not is not.
    name: 'kind-coverage-covered',
    find: 'if (covered.includes(kind)) continue;',
    replace: 'if (!covered.includes(kind)) continue;',
    tests: [RESOURCE_MISCONFIG],
  },
  {
    // The kinds check runs without fetch mode too: a new dependency on the resource API.
    name: 'kind-coverage-fetch-mode-only',
    find: 'if (handlers.kinds !== undefined && resolved.fetch !== false) this.checkKinds(',
    replace: 'if (handlers.kinds !== undefined) this.checkKinds(',
    tests: [RESOURCE_MISCONFIG],
  },
  {
    // The kinds check outlives its watch: its read goes on after the watch closed.
    name: 'kind-coverage-ends-with-watch',
    find: 'this.loops.get(watch)?.watchClosed(error); this.kindChecks.get(watch)?.abort();',
    replace: 'this.loops.get(watch)?.watchClosed(error); void this.kindChecks.get(watch)?.signal;',
    tests: [RESOURCE_MISCONFIG],
  },
];
