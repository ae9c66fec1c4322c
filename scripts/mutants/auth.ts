/**
 * The mutants of the code in src/auth/: token refresh timing.
 */
import type { Mutant } from './mutant';
import { BAD_INPUTS, TOKEN } from './tests';

export const authMutants: Mutant[] = [
  // ── Token refresh timing (token-refresher.ts) ────────────────────────────────────────────────────────────────
  {
    name: 'token-refresh-four-fifths',
    find: 'clock.now()) * 4) / 5)',
    replace: 'clock.now()) * 3) / 5)',
    tests: [TOKEN, BAD_INPUTS],
  },
  {
    // A token 1 ms from expiry is still used to open a stream.
    name: 'token-expiry-margin',
    find: 'const EXPIRY_MARGIN_MS = 1_000;',
    replace: 'const EXPIRY_MARGIN_MS = 0;',
    tests: [TOKEN, BAD_INPUTS],
  },
  {
    // The held token is used only when it is about to expire, and refetched while it is good.
    name: 'token-held-while-valid',
    find: 'held.expiresAt - this.options.clock.now() > EXPIRY_MARGIN_MS',
    replace: 'held.expiresAt - this.options.clock.now() < EXPIRY_MARGIN_MS',
    tests: [TOKEN],
  },
  {
    // The floor of the refresh delay becomes its ceiling: refreshes every 100 ms.
    name: 'token-refresh-floor',
    find: 'Math.max(MIN_REFRESH_DELAY_MS,',
    replace: 'Math.min(MIN_REFRESH_DELAY_MS,',
    tests: [TOKEN, BAD_INPUTS],
  },
  {
    // A refresh that succeeds after failures does not reset the refresh backoff: the next failure waits longer.
    name: 'token-refresh-backoff-reset',
    find: 'this.retry.reset();',
    replace: '',
    tests: [TOKEN, BAD_INPUTS],
  },
];
