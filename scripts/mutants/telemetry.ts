/**
 * The mutants of the code in src/telemetry/: the guarded link to the telemetry peer.
 */
import type { Mutant } from './mutant';
import { OTEL } from './tests';

export const telemetryMutants: Mutant[] = [
  // ── Dead letters (dead-letter-spool.ts, delivery.ts) ─────────────────────────────────────────────────────────
  {
    // a backend that throws in handled() lets the error into delivery
    name: 'telemetry-handled-unguarded',
    find: '            const result: unknown = backend.handled(durationMs, failedRun);',
    replace: '            const result: unknown = undefined; backend.handled(durationMs, failedRun);',
    tests: [OTEL],
  },
];
