/**
 * The mutants of the code in src/health/: the health report.
 */
import type { Mutant } from './mutant';
import { COORDINATOR_HEALTH, HEALTH } from './tests';

export const healthMutants: Mutant[] = [
  // ── issue 20 #13: health after a watch stopped for good; the default history URL ──────────────────────────
  {
    // A watch catching up does not say its last error (a history API that cannot be reached is not shown).
    name: 'health-catching-up-last-error',
    find: "const last = status.lastErrorCode === undefined ? '' :",
    replace: "const last = status.lastErrorCode !== undefined ? '' :",
    tests: [HEALTH],
  },

  // ── issue 20: corrupt lease rows, sessions ended by the server, a database that never answers, coordinator holes ──
  {
    // a closed coordinator leaves the member healthy (no restart), or a passing one makes it not healthy
    name: 'health-healthy-ignores-closed-coordinator',
    find: '  const healthy = loopOk && trouble?.final !== true && watches.every((w) => w.healthy);',
    replace: '  const healthy = loopOk && trouble?.final !== false && watches.every((w) => w.healthy);',
    tests: [COORDINATOR_HEALTH],
  },
  {
    // a member that cannot renew or claim still says ready (issue 20 item 7)
    name: 'health-ready-ignores-coordinator-trouble',
    find: '  const ready = healthy && trouble === undefined && watches.length > 0',
    replace: '  const ready = healthy && watches.length > 0',
    tests: [COORDINATOR_HEALTH],
  },
];
