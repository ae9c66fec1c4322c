/**
 * The mutants of the code in src/config/: option defaults.
 */
import type { Mutant } from './mutant';
import { CREDENTIALS, HEALTH, OPTIONS } from './tests';

export const configMutants: Mutant[] = [
  // ── The ping answer (watch-stream.ts) ────────────────────────────────────────────────────────────────────────
  {
    // A manager's clientCredentials do not take its proxy: token requests bypass the enterprise proxy.
    name: 'credentials-manager-proxy-dropped',
    find: 'credentialsToken(input.clientCredentials, { proxy, proxyEnv, tls: shared, clock })',
    replace: 'credentialsToken(input.clientCredentials, { proxy: undefined, proxyEnv, tls: shared, clock })',
    tests: [CREDENTIALS],
  },

  // ── issue 20 #13: health after a watch stopped for good; the default history URL ──────────────────────────
  {
    // The default history URL drops the target's port (tls: false asks port 80).
    name: 'options-history-url-port',
    find: "if (value === undefined) return new URL(`${tls ? 'https' : 'http'}://${host}:${port}`);",
    replace: "if (value === undefined) return new URL(`${tls ? 'https' : 'http'}://${host}`);",
    tests: [OPTIONS, HEALTH],
  },
];
