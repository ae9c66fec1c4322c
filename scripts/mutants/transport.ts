/**
 * The mutants of the code in src/transport/: the ping answer, the stall watchdog, proxy refusals, the HTTP transport.
 */
import type { Mutant } from './mutant';
import { CREDENTIALS, HOSTILE, LIVE, LIVENESS, PROXY, STALL_WATCHDOG, TOKEN } from './tests';

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
];
