/**
 * The mutants of the code in src/cli/: watch-tail.
 */
import type { Mutant } from './mutant';
import { CLI, CLI_POSTGRES, CLI_RESOURCES } from './tests';

export const cliMutants: Mutant[] = [
  // ── Coordinated watches (coordinated-watch.ts, postgres transactions, watch-tail --postgres) ─────────────────
  {
    // watch-tail --postgres is parsed and ignored: two tails of one topic both write every event.
    name: 'cli-postgres-ignored',
    find: 'options.coordinator = await postgresCoordinator(config);',
    replace: 'void postgresCoordinator;',
    tests: [CLI_POSTGRES],
  },

  // ── issue 20: corrupt lease rows, sessions ended by the server, a database that never answers, coordinator holes ──
  {
    // issue 20.9: the binary leaves the ended Node.js line to the manager's two-line process warning
    name: 'cli-node-eol-not-taken',
    find: 'const endOfLife = io.ownsProcess === true ? takeEndOfLifeWarning() : undefined;',
    replace: 'const endOfLife = io.ownsProcess !== true ? takeEndOfLifeWarning() : undefined;',
    tests: [CLI],
  },
  {
    // issue 20.9: the CLI's own line told to a machine that asked for errors only, and kept from one that did not
    name: 'cli-node-eol-log-level',
    find: "io.stdout.isTTY !== true && config.logLevel === 'error'))",
    replace: "io.stdout.isTTY !== true && config.logLevel !== 'error'))",
    tests: [CLI],
  },
  {
    // issue 20.9: JSON to a pipe at --log-level error still told (the terminal's reading taken for the pipe's)
    name: 'cli-node-eol-pipe',
    find: '!(json && io.stdout.isTTY !== true && config.logLevel',
    replace: '!(json && io.stdout.isTTY === true && config.logLevel',
    tests: [CLI],
  },

  // ── issue 23: resources and the cache (--api-url, --fetch, --cache, --dump) ───────────────────────────────────
  {
    // --fetch: a resource deleted before its fetch (404) written as if never fetched, not as gone
    name: 'cli-fetch-gone-dropped',
    find: 'else if (event.gone === true) record.gone = true;',
    replace: '',
    tests: [CLI_RESOURCES],
  },
  {
    // --fetch parsed and ignored: event records without their resource
    name: 'cli-fetch-ignored',
    find: 'const watchOptions: WatchOptions = config.fetch ? { fetch: true } : {};',
    replace: 'const watchOptions: WatchOptions = {};',
    tests: [CLI_RESOURCES],
  },
  {
    // --cache with --from taken: the cache's start position silently overridden
    name: 'cli-cache-from-allowed',
    find: 'if (fromGiven)',
    replace: 'if (fromGiven && config.dump)',
    tests: [CLI_RESOURCES],
  },
  {
    // --cache: a topic's events from the newest one, not from its cache's sync: those between are in no record
    name: 'cli-cache-events-from-latest',
    find: '{ ...watchOptions, from }',
    replace: "{ ...watchOptions, from: 'latest' }",
    tests: [CLI_RESOURCES],
  },
  {
    // --cache: the event records' positions kept nowhere: a restart writes from the cache's position, not the tail's
    name: 'cli-cache-positions-not-kept',
    find: "options.sequenceProvider = new FileSequenceStore(path.join(directory, 'positions.json'));",
    replace: 'void path;',
    tests: [CLI_RESOURCES],
  },
  {
    // --dump: the topics in the command line's order, not ordered
    name: 'cli-dump-topics-unordered',
    find: '.sort((a, b) => byText(a.topic, b.topic))',
    replace: '',
    tests: [CLI_RESOURCES],
  },
  {
    // The progress bar draws on a TERM=dumb terminal: its cursor and erase sequences printed as text.
    name: 'cli-progress-dumb-terminal',
    find: "if (this.stream.isTTY !== true || stdoutIsTerminal || env.TERM === 'dumb') return;",
    replace: "if (this.stream.isTTY !== true || stdoutIsTerminal || env.TERM === 'xterm') return;",
    tests: [CLI],
  },
];
