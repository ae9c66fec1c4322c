/**
 * The mutants of the code in src/core/: backoff, error codes, Node support.
 */
import type { Mutant } from './mutant';
import {
  AUTH,
  BACKOFF,
  CATCH_UP,
  CLI,
  CREDENTIALS,
  FAKE_HISTORY,
  HOSTILE,
  ITERATOR,
  NODE_SUPPORT,
  PROXY,
  RECONNECT,
} from './tests';

export const coreMutants: Mutant[] = [
  // ── History page decode and status mapping (history-client.ts) ───────────────────────────────────────────────
  {
    // HTTP 500 is no longer a retryable HISTORY_UNAVAILABLE (only 501 and up are).
    name: 'history-500-retryable',
    find: "if (status === 429 || status >= 500) return 'HISTORY_UNAVAILABLE';",
    replace: "if (status === 429 || status > 500) return 'HISTORY_UNAVAILABLE';",
    tests: [CATCH_UP, FAKE_HISTORY, HOSTILE],
  },
  {
    // A 403 from history reads as a refused token.
    name: 'history-403-code',
    find: "if (status === 403) return 'PERMISSION_DENIED'; if (status === 404) return 'TOPIC_NOT_FOUND';",
    replace: "if (status === 403) return 'UNAUTHENTICATED'; if (status === 404) return 'TOPIC_NOT_FOUND';",
    tests: [AUTH, ITERATOR],
  },

  // ── Backoff (backoff.ts) and its reset (topic-watch.ts) ──────────────────────────────────────────────────────
  {
    name: 'backoff-cap',
    find: 'Math.min(policy.maxDelayMs,',
    replace: 'Math.max(policy.maxDelayMs,',
    tests: [BACKOFF, RECONNECT],
  },
  {
    name: 'backoff-exponent',
    find: 'Math.pow(policy.multiplier, attempt)',
    replace: 'Math.pow(policy.multiplier, attempt + 1)',
    tests: [BACKOFF, RECONNECT],
  },
  {
    // The attempt counter never grows: no exponential growth at all.
    name: 'backoff-attempt-count',
    find: 'Math.min(this.attempt + 1, 64)',
    replace: 'Math.min(this.attempt + 0, 64)',
    tests: [BACKOFF, RECONNECT],
  },

  // ── Proxy refusal typing (proxy-probe.ts, http-transport.ts, topic-watch.ts) ─────────────────────────────────
  {
    // A 407 (the proxy wants credentials) is not PROXY_AUTH.
    name: 'proxy-407-auth',
    find: "if (status === 401 || status === 407) return 'PROXY_AUTH';",
    replace: "if (status === 401 || status === 408) return 'PROXY_AUTH';",
    tests: [PROXY, CREDENTIALS],
  },
  {
    // A 403 (host or port not allowed) is not PROXY_REFUSED.
    name: 'proxy-403-refused',
    find: 'if (status === 403 || status === 400',
    replace: 'if (status === 404 || status === 400',
    tests: [PROXY],
  },

  // ── issue 20: corrupt lease rows, sessions ended by the server, a database that never answers, coordinator holes ──
  {
    // issue 20.9: the warning taken by the CLI is not marked as told: the manager warns a second time
    name: 'node-eol-taken-not-marked',
    find: '  if (message !== undefined) flags[WARNED] = true;',
    replace: '',
    tests: [CLI, NODE_SUPPORT],
  },
];
