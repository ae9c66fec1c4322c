/**
 * Each fix of issue 11 (and of what its randomized and chaos tests found), reverted: the test named for the
 * defect must fail. Not always one token (a check is switched off); run them alone with `--only revert`.
 */
import type { Mutant } from './mutant';
import {
  BAD_INPUTS,
  CLI_SIGNALS,
  CLOCK,
  CLOSE,
  HOSTILE,
  INTAKE,
  OPTIONS,
  PROXY_CONFIG,
  RECONNECT,
  REDACTION,
  STATE,
  STORE_CONTRACT,
  TOKEN,
} from './tests';

export const reverts: Mutant[] = [
  {
    // #1: a getter's token that metadata cannot carry reached grpc-js (a crash, the token on stderr)
    name: 'revert-01-token-header-check',
    find: "    if (bad !== undefined) {\n      throw new WatchError(\n        'TOKEN_UNAVAILABLE',\n        `getToken returned a token with a character",
    replace:
      "    if (bad !== undefined && false) {\n      throw new WatchError(\n        'TOKEN_UNAVAILABLE',\n        `getToken returned a token with a character",
    tests: [BAD_INPUTS],
  },
  {
    // #1: a tenant id with a tab or non-ASCII accepted at construction
    name: 'revert-01-tenant-header-check',
    find: "    tenantId: headerValue(input.tenantId, 'tenantId'),",
    replace: "    tenantId: nonEmptyString(input.tenantId, 'tenantId'),",
    tests: [OPTIONS],
  },
  {
    // #1: --token-file holding two lines accepted
    name: 'revert-01-token-file-one-line',
    find: '  if (/[\\r\\n]/.test(text)) throw',
    replace: '  if (/[\\r]/.test(text)) throw',
    tests: [BAD_INPUTS],
  },
  {
    // #2: a delay above 2^31-1 ms handed to Node as it is (fires after 1 ms: a hot loop)
    name: 'revert-02-timer-cap',
    find: '        const step = Math.min(remaining, MAX_TIMER_MS);',
    replace: '        const step = Math.max(remaining, 0);',
    tests: [CLOCK],
  },
  {
    // #3: a 410 naming the asked position itself taken as a resync target (a loop); since issue 20 #1 the catch-up
    // tells "nothing missed" (equal) from a restarted sequence (below)
    name: 'revert-03-gone-not-above',
    find: '      if (gone.newestSequenceId === gone.after && !gapsBelow) {',
    replace: '      if (gone.newestSequenceId < gone.after && !gapsBelow) {',
    tests: [HOSTILE],
  },
  {
    // #4: a position asked for counts as stored before the durable write (a retry writes nothing)
    name: 'revert-04-durable-before-state',
    find: '    if (sequenceId <= (this.resets.get(topic) ?? durable.get(topic) ?? 0)) return;',
    replace:
      '    if (sequenceId <= (this.wanted.get(topic) ?? this.resets.get(topic) ?? durable.get(topic) ?? 0)) return;',
    tests: [STATE, STORE_CONTRACT],
  },
  {
    // #4: a save that fails before the start resolves never reaches onError
    name: 'revert-04-failed-save-reported-before-start',
    find: '(err) => this.report(err, true)',
    replace: '(err) => this.report(err, false)',
    tests: [STATE],
  },
  {
    // #5: a live holder waited for instead of refused at once (and a dead one refused)
    name: 'revert-05-live-holder-refused',
    find: "      if (holder !== undefined && !holderIsGone(holder)) throw locked(file, holder, '', what);",
    replace: "      if (holder !== undefined && holderIsGone(holder)) throw locked(file, holder, '', what);",
    tests: [STATE],
  },
  {
    // #6: a history page out of order handed over (the position moves past ids never delivered)
    name: 'revert-06-history-page-order',
    find: '      if (event.sequenceId <= previous) {',
    replace: '      if (event.sequenceId <= previous && previous < 0) {',
    tests: [HOSTILE],
  },
  {
    // #6: an id out of order on the stream dropped as a repeat
    name: 'revert-06-stream-late-dropped',
    find: '      if (late && !this.seen.missing(seq)) {',
    replace: '      if (late) {',
    tests: [HOSTILE],
  },
  {
    // #7: the page size not lowered to a server's cap
    name: 'revert-07-page-cap-adapts',
    find: '        pageSize.value = count;',
    replace: '        pageSize.value = size;',
    tests: [HOSTILE],
  },
  {
    // #7: a short page with an empty next page taken as the last without asking again
    name: 'revert-07-short-page-verified',
    find: '      if (nextCount === 0 && (served.full || (verifying !== undefined && count !== verifying))) {',
    replace: '      if (nextCount === 0 && (true || (verifying !== undefined && count !== verifying))) {',
    tests: [HOSTILE],
  },
  {
    // #8: an unknown event type stops the watch with PROTOCOL
    name: 'revert-08-unknown-type-stops',
    find: '  if (meta === null || !(sequenceId > 0)) {',
    replace: "  if (meta === null || !(sequenceId > 0) || type === 'UNKNOWN') {",
    tests: [HOSTILE],
  },
  {
    // #9: Retry-After ignored
    name: 'revert-09-retry-after-ignored',
    find: 'failed(error: WatchError): number {\n    const delay = Math.max(this.backoff.next(), error.retryAfterMs ?? 0);',
    replace: 'failed(error: WatchError): number {\n    const delay = Math.max(this.backoff.next(), 0);',
    tests: [HOSTILE],
  },
  {
    // #10: a per-watch option typo ignored
    name: 'revert-10-watch-option-keys',
    find: "  checkKeys(input, WATCH_OPTION_KEYS, 'options.');",
    replace: "  checkKeys(input, Object.keys(input), 'options.');",
    tests: [OPTIONS],
  },
  {
    // #11: the proxy password a plain channel option that grpc-js's tracing prints
    name: 'revert-11-plain-proxy-credentials',
    find: "channel['grpc.http_connect_creds'] = sealedCredentials(route.proxy.credentials);",
    replace: "channel['grpc.http_connect_creds'] = String(route.proxy.credentials);",
    tests: [PROXY_CONFIG],
  },
  {
    // #12: an empty --token-file waited on instead of refused
    name: 'revert-12-empty-token-file',
    find: "  if (text === '') throw new Error(`${source} is empty`);",
    replace: "  if (text === '\\0') throw new Error(`${source} is empty`);",
    tests: [BAD_INPUTS],
  },
  {
    // #12: a proxy value without a scheme taken as a host
    name: 'revert-12-proxy-scheme-required',
    find: '  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\\/\\//.test(value.trim()))',
    replace: '  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\\/?\\/?/.test(value.trim()))',
    tests: [OPTIONS],
  },
  {
    // #13: a self link with dot segments accepted (the history request leaves /events)
    name: 'revert-13-dot-segments',
    find: "    if (segment === '' || segment === '.' || segment === '..' || !/^[A-Za-z0-9._~-]+$/.test(segment)) {",
    replace: "    if (segment === '' || !/^[A-Za-z0-9._~-]+$/.test(segment)) {",
    tests: [OPTIONS],
  },
  {
    // #14: a setSequence that never settles waited for forever
    name: 'revert-14-write-deadline',
    find: '    if (clock === undefined || timeoutMs === undefined) return write;',
    replace: '    if (clock === undefined || timeoutMs !== undefined) return write;',
    tests: [STATE],
  },
  {
    // #15: the backoff escalates over healthy streams that a service ends
    name: 'revert-15-backoff-after-progress',
    find: 'progressed: conn.isLive || this.replayed > 0,',
    replace: 'progressed: conn.isLive && this.replayed > 0,',
    tests: [RECONNECT],
  },
  {
    // #16: a stream that stays open but stops delivering never replaced
    name: 'revert-16-stall-watchdog',
    find: '    if (silent < timeout) {',
    replace: '    if (silent < timeout * 1000) {',
    tests: [HOSTILE],
  },
  {
    // test hole: never pause the stream while catching up
    name: 'revert-hole-backpressure-during-catch-up',
    find: '(this.live ? this.size : this.held.length) >= this.maxBufferedEvents',
    replace: '(this.live ? this.size : 0) >= this.maxBufferedEvents',
    tests: [INTAKE, HOSTILE],
  },
  {
    // test hole: pages after a resync numbered on from the old start
    name: 'revert-hole-page-counter-after-resync',
    find: '    after = position;\n    requested = 0;',
    replace: '    after = position;\n    requested = requested || 0;',
    tests: [HOSTILE],
  },
  {
    // test hole: the temp file's fsync dropped
    name: 'revert-hole-fsync-temp',
    find: "    await step('sync');\n    await handle.sync();",
    replace: "    await step('sync');\n    void handle.sync;",
    tests: [STATE],
  },
  {
    // test hole: the directory's fsync dropped
    name: 'revert-hole-fsync-dir',
    find: "  await step('sync-dir');\n  await syncDirectory(path.dirname(file), io);",
    replace: "  await step('sync-dir');\n  void syncDirectory;",
    tests: [STATE],
  },
  {
    // test hole: only the scheme word of an Authorization value masked
    name: 'revert-hole-redaction-scheme-word',
    find: '(?:[A-Za-z][\\w.+-]*\\s+)?(?:[^\\s,;"\'\\\\]+|',
    replace: '(?:[^\\s,;"\'\\\\]+|',
    tests: [REDACTION],
  },
  {
    // chaos finding: a token fetched for a reconnect never reaches the open streams
    name: 'revert-finding-reconnect-token-to-streams',
    find: '      if (before !== undefined && token.value !== before) {',
    replace: '      if (before !== undefined && token.value === before) {',
    tests: [TOKEN],
  },
  {
    // property finding: a pass whose pages overlapped not read again
    name: 'revert-finding-reread-after-disorder',
    find: '      if (!reread) {\n        reread = true;',
    replace: '      if (reread) {\n        reread = true;',
    tests: [HOSTILE],
  },
  {
    // property finding (seed 61): a purge met while reading again below the position, after pages overlapped, resumed
    // above it without a notice, though the broken order had jumped over ids the purge then took
    name: 'revert-finding-resync-after-gaps',
    find: '      const gapsBelow = start < handed.position || handed.gaps;',
    replace: '      const gapsBelow = false;',
    tests: [HOSTILE],
  },
  {
    // close() cuts the running handlers at once: one that finishes within closeTimeoutMs is delivered again
    name: 'close-cuts-handlers-at-once',
    find: '    await this.delivery.stop(graceSleep, cut ? reason : undefined);',
    replace: '    await this.delivery.stop(graceSleep, reason);',
    tests: [CLOSE, CLI_SIGNALS],
  },
];
