/**
 * The mutants of the code in src/transport/: the ping answer, the stall watchdog, proxy refusals, the HTTP transport.
 */
import type { Mutant } from './mutant';
import {
  CREDENTIALS,
  HOSTILE,
  INTERNING_READER,
  LIVE,
  LIVENESS,
  PROXY,
  STALL_WATCHDOG,
  SUBSCRIBE_CALL,
  TOKEN,
  WATCH_STREAM,
} from './tests';

export const transportMutants: Mutant[] = [
  // ── The ping answer (watch-stream.ts) ────────────────────────────────────────────────────────────────────────
  {
    name: 'ping-answered',
    find: "if (this.finalError === undefined)\n        this.write({\n          selfLink: this.options.topic,\n          token: '',",
    replace:
      "if (this.finalError !== undefined)\n        this.write({\n          selfLink: this.options.topic,\n          token: '',",
    tests: [LIVENESS],
  },
  {
    name: 'ping-answer-id',
    find: 'pingResponse: { id: message.id }',
    replace: "pingResponse: { id: '' }",
    tests: [LIVENESS],
  },
  {
    // The stream does not follow the token feed: a refreshed token never reaches an open stream, which the service
    // then ends at the old token's expiry.
    name: 'stream-token-feed-unfollowed',
    find: '    this.unfollow.push(tokens.follow((next) => this.sendToken(next)));\n',
    replace: '',
    tests: [TOKEN],
  },
  {
    // An accepted stream does not send the agent status set before it: it is lost at every reconnect.
    name: 'stream-agent-status-not-resent',
    find: '      if (status !== undefined) this.sendAgentStatus(status);',
    replace: '',
    tests: [LIVE],
  },

  // ── Proxy refusal typing (proxy-probe.ts, http-transport.ts, topic-watch.ts) ─────────────────────────────────
  {
    // Every answer below 500 counts as a tunnel: refusals are never typed.
    name: 'proxy-2xx-range',
    find: 'statusCode >= 200 && statusCode < 300',
    replace: 'statusCode >= 200 && statusCode < 500',
    tests: [PROXY, CREDENTIALS],
  },
  {
    // The proxy's own answer to CONNECT is taken for the origin's (https-proxy-agent replays it).
    name: 'proxy-answer-is-proxy',
    find: 'if (proxyAnswer !== undefined && proxy !== undefined) {',
    replace: 'if (proxyAnswer === undefined && proxy !== undefined) {',
    tests: [PROXY, CREDENTIALS],
  },
  {
    // A proxy that cannot be reached reads as an unavailable history API.
    name: 'proxy-unreachable-typing',
    find: 'proxyAnswer === undefined &&\n          CONNECT_FAILURES.has(',
    replace: 'proxyAnswer !== undefined &&\n          CONNECT_FAILURES.has(',
    tests: [PROXY],
  },

  // ── Issue 20: items 11, 12 and 14 ──────────────────────────────────────────────────────────────────────────
  {
    // item 14: resume() restarts the ping count but not the silence: a false stall right after a long pause
    name: 'stall-resume-keeps-last-sign',
    find: '    this.lastSign = this.pingBase = this.options.clock.now();',
    replace: '    this.pingBase = this.options.clock.now();',
    tests: [STALL_WATCHDOG, HOSTILE],
  },

  // ── issue 21: the subscribe call below grpc-js's client stream (subscribe-call.ts), the interning reader ──────
  {
    // 'end' never told: a stream the service ended is never seen to end (WatchStream waits for it).
    name: 'subscribe-call-end-never-told',
    find: 'else if (!this.endTold) {',
    replace: 'else if (this.endTold) {',
    tests: [SUBSCRIBE_CALL, WATCH_STREAM],
  },
  {
    // A read-ahead of one while paused: what a paused call has read when a non-OK status comes differs from grpc-js's
    // client stream (messages it would have handed out are dropped).
    name: 'subscribe-call-read-ahead-one',
    find: 'this.buffered.length >= READ_AHEAD) return;',
    replace: 'this.buffered.length >= 1) return;',
    tests: [SUBSCRIBE_CALL, WATCH_STREAM],
  },
  {
    // A message that cannot be decoded reported as the status grpc-js gives the cancel, not as a parsing error.
    name: 'subscribe-call-parse-error-status',
    find: "this.emit('status', this.readError ?? status);",
    replace: "this.emit('status', status);",
    tests: [SUBSCRIBE_CALL],
    equivalent:
      "grpc-js 1.14.7 holds a call's status until its read queue is drained, so a cancelWithStatus made while the bad message is read is the status it reports, even with an OK status already received behind it (the test's second case); readError guards against a grpc-js that changes that order",
  },
  {
    // A slot's string handed out for any bytes of the same length: another string than the wire's.
    name: 'interning-without-byte-compare',
    find: 'if (i === n) return slotStrings[slot] as string;',
    replace: 'if (i <= n) return slotStrings[slot] as string;',
    tests: [INTERNING_READER],
  },
];
