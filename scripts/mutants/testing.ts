/**
 * The mutants of the code in src/testing/: the fake service's topic log, the sequence-provider contract.
 */
import type { Mutant } from './mutant';
import { CATCH_UP, CLI, STORE_CONTRACT } from './tests';

export const testingMutants: Mutant[] = [
  // ── issue 20 #1: a 410 at or below the position ───────────────────────────────────────────────────────────
  {
    // The fake's 'position' reading of "purged" does nothing: the quiet-topic 410 is never served.
    name: 'fake-purged-reading-position',
    find: "return reading === 'position' && after === this.purged && this.purged > 0;",
    replace: "return reading !== 'position' && after === this.purged && this.purged > 0;",
    tests: [CATCH_UP, CLI],
  },
  {
    // The fake answers a position above a recreated topic's newest id with an empty page, not 410.
    name: 'fake-gone-above-newest',
    find: 'if (after > this.lastSeq) return true;',
    replace: 'if (after > this.lastSeq) return false;',
    tests: [CATCH_UP, CLI],
  },

  // ── issue 20 #1: a restarted sequence moves the stored position back ──────────────────────────────────────
  {
    // The contract skips its reset check for a store that has resetSequence (a forward-only reset passes).
    name: 'restart-contract-reset-checked',
    find: '        if (store.resetSequence === undefined) return;',
    replace: '        if (store.resetSequence !== undefined) return;',
    tests: [STORE_CONTRACT],
  },
];
