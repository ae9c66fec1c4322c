// The layers of ARCHITECTURE.md, enforced: `npm run lint` fails on an import against them and on any cycle.
// A layer may import the layers below it and the contracts; never one above it, never a sibling of its own floor.
// A layer is a folder (a file's layer shows in its path); keep this file and ARCHITECTURE.md's table in one change.

/* eslint-disable @typescript-eslint/no-require-imports -- dependency-cruiser loads its config as CommonJS */
const fs = require('node:fs');
const path = require('node:path');
/* eslint-enable @typescript-eslint/no-require-imports */

/** Primitives every layer uses: errors, time, backoff, public types, value checks (core/); logging and redaction. */
const FOUNDATION = '^src/(core|logging)/';
/** Contracts: interfaces an application or a second implementation fills in. Importable from every layer. */
const CONTRACTS =
  '^src/(state/sequence-provider|state/coordinator|config/token-getter|delivery/watch-handlers|telemetry/watch-telemetry)[.]ts$';
const GENERATED = '^src/generated/';

/** From the bottom up: each layer's paths, and what (besides the foundation and the contracts) it may import. */
const LAYERS = [
  { name: 'state', path: '^src/state/', may: [] },
  { name: 'config', path: '^src/config/', may: ['^src/state/'] },
  { name: 'transport', path: '^src/transport/', may: ['^src/state/', '^src/config/', GENERATED] },
  { name: 'auth', path: '^src/auth/', may: ['^src/state/', '^src/config/', '^src/transport/'] },
  { name: 'delivery', path: '^src/delivery/', may: ['^src/state/', '^src/config/'] },
  {
    name: 'history',
    path: '^src/history/',
    may: ['^src/state/', '^src/config/', '^src/transport/', '^src/auth/', '^src/delivery/'],
  },
  // The resource API's client (manager.resources): beside history, on the same HTTP stack.
  { name: 'resources', path: '^src/resources/', may: ['^src/state/', '^src/config/', '^src/transport/', '^src/auth/'] },
  // The resource cache (manager.cache): on the resource client, the history's newest id and the resource stores.
  {
    name: 'cache',
    path: '^src/cache/',
    may: ['^src/(state|config|transport|auth|delivery|history|resources)/'],
  },
  // Health reports and the probe server: over the public types only.
  { name: 'health', path: '^src/health/', may: [] },
  // The telemetry link the engine reports through (a metrics backend's calls fenced): over the contract only.
  { name: 'telemetry', path: '^src/telemetry/', may: [] },
  // watch-manager/postgres: an entry of its own (it loads the optional pg); nothing else imports it.
  { name: 'postgres', path: '^src/postgres/', may: ['^src/state/', '^src/config/'] },
  // watch-manager/opentelemetry: an entry of its own (it loads the optional @opentelemetry/api); nothing imports it.
  { name: 'opentelemetry', path: '^src/opentelemetry/', may: [] },
  {
    name: 'engine',
    path: '^src/engine/',
    may: ['^src/(state|config|transport|auth|delivery|history|resources|cache|health|telemetry)/'],
  },
];

/** The surface: the public entry, the CLI and the testing kit, which may import everything below them. */
const SURFACE = '^src/(index[.]ts$|cli/|testing/)';

/**
 * Every file under src/ belongs to exactly one of these: a new file outside them (a `src/stray.ts`) belongs to no
 * layer, so no rule would hold its imports. Checked below when this config loads, so `npm run lint` fails on it.
 */
const ALL_PLACES = [FOUNDATION, GENERATED, SURFACE, ...LAYERS.map((layer) => layer.path)];

/** The files under src/ that match no place, or more than one (what the config's own check reports). */
function misplacedFiles(dir = path.join(__dirname, 'src')) {
  const found = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      found.push(...misplacedFiles(full));
      continue;
    }
    const file = path.relative(__dirname, full).split(path.sep).join('/');
    const places = ALL_PLACES.filter((place) => new RegExp(place).test(file));
    if (places.length !== 1)
      found.push(`${file} (${places.length === 0 ? 'in no layer' : `in ${places.join(' and ')}`})`);
  }
  return found;
}

const misplaced = misplacedFiles();
if (misplaced.length > 0) {
  throw new Error(
    `Every file under src/ belongs to exactly one layer (ARCHITECTURE.md); move these into a layer's folder: ${misplaced.join(', ')}`,
  );
}

const layerRules = LAYERS.map((layer) => ({
  name: `layer-${layer.name}`,
  comment: `${layer.name} imports only the foundation, the contracts and: ${layer.may.join(' ') || 'nothing else'} (ARCHITECTURE.md)`,
  severity: 'error',
  from: { path: layer.path, pathNot: CONTRACTS },
  to: {
    path: '^src/',
    pathNot: [FOUNDATION, CONTRACTS, layer.path, ...layer.may],
  },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Imports point down only: no cycle, however long (grpc-js runs madge -c for the same reason).',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'foundation-stays-down',
      comment: 'The foundation imports nothing of the SDK above it.',
      severity: 'error',
      from: { path: FOUNDATION },
      to: { path: '^src/', pathNot: FOUNDATION },
    },
    {
      name: 'contracts-stay-pure',
      comment: 'A contract imports only the foundation and other contracts, so that any layer may import it.',
      severity: 'error',
      from: { path: CONTRACTS },
      to: { path: '^src/', pathNot: [FOUNDATION, CONTRACTS] },
    },
    {
      name: 'generated-behind-transport',
      comment: 'Generated proto types never leak past the transport (ARCHITECTURE.md): the public types are ours.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/transport/', GENERATED] },
      to: { path: GENERATED },
    },
    {
      name: 'surface-on-top',
      comment: 'Nothing in the SDK imports its entry points, the CLI or the testing kit.',
      severity: 'error',
      from: { path: '^src/', pathNot: [SURFACE, '^src/(postgres|opentelemetry)/'] },
      to: { path: [SURFACE, '^src/(postgres|opentelemetry)/'] },
    },
    ...layerRules,
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: ['node_modules', '^src/generated/'] },
    includeOnly: '^src/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
