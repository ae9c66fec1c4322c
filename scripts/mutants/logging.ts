/**
 * The mutants of the code in src/logging/: redaction patterns.
 */
import type { Mutant } from './mutant';
import { PROXY_CONFIG, REDACTION } from './tests';

export const loggingMutants: Mutant[] = [
  // ── Redaction patterns (redact.ts) ───────────────────────────────────────────────────────────────────────────
  {
    // Only the first JWT of a text is scrubbed.
    name: 'redact-jwt-global',
    find: '\\.[A-Za-z0-9_-]*/g, MASK],',
    replace: '\\.[A-Za-z0-9_-]*/, MASK],',
    tests: [REDACTION, PROXY_CONFIG],
  },
  {
    // A lower-case "bearer <token>" is left in clear.
    name: 'redact-bearer-case',
    find: '([Bb]earer|BEARER|Basic|BASIC)',
    replace: '([B]earer|BEARER|Basic|BASIC)',
    tests: [REDACTION, PROXY_CONFIG],
  },
  {
    // "Authorization: <opaque value>" is scrubbed only when written in lower case.
    name: 'redact-authorization-case',
    find: '/gi,\n    `$1${MASK}`,',
    replace: '/g,\n    `$1${MASK}`,',
    tests: [REDACTION, PROXY_CONFIG],
  },
  {
    // Opaque tokens shorter than 60 characters are never registered, so never scrubbed by value.
    name: 'redact-registry-min-length',
    find: 'value.length < 6 ||',
    replace: 'value.length < 60 ||',
    tests: [REDACTION],
  },
];
