import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { LogLevel } from '../logging/logger';
import type { StartFrom } from '../config/options';

/** The parsed command line of `watch-tail` (docs/cli.md#flags). */
export interface CliConfig {
  target: string | undefined;
  tenant: string | undefined;
  topics: string[];
  tokenFile: string | undefined;
  tokenEnv: string | undefined;
  historyUrl: string | undefined;
  /** Base URL of the resource API (`{URL}{selfLink}`); undefined = the manager's default from the target. */
  apiUrl: string | undefined;
  /** Each event record also carries the resource the event names, read from the resource API. */
  fetch: boolean;
  /** A directory: a cache of every resource the topics cover, kept there with the positions. */
  cache: string | undefined;
  /** With `cache`: once every topic is live, write each cached resource and exit. */
  dump: boolean;
  stateFile: string | undefined;
  /** A PostgreSQL URL: positions and leases there, so that several watch-tails of one topic fail over. */
  postgres: string | undefined;
  leaseMs: number | undefined;
  renewMs: number | undefined;
  /** Serve /healthz and /readyz on this port (0: any free one, printed on stderr). */
  healthPort: number | undefined;
  from: StartFrom;
  insecure: boolean;
  caFile: string | undefined;
  proxy: string | undefined;
  keepaliveMs: number | undefined;
  keepaliveTimeoutMs: number | undefined;
  json: boolean | undefined;
  maxEvents: number | undefined;
  logLevel: LogLevel;
  demo: boolean;
}

/** A bad command line: exit code 2 with this one-line message. */
export class UsageError extends Error {}

function positiveInt(flag: string): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
      throw new InvalidArgumentError(`${flag} must be a whole number >= 1`);
    }
    return Number(value);
  };
}

function parseFrom(value: string): StartFrom {
  if (value === 'latest' || value === 'beginning') return value;
  if (/^\d+$/.test(value) && Number.isSafeInteger(Number(value))) return Number(value);
  throw new InvalidArgumentError('--from must be latest, beginning or a sequence id');
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

const EXAMPLES = `
Examples:
  # the embedded fake service, tailed until Ctrl-C (add --log-level debug to see pings and token refreshes)
  watch-tail --demo

  # two topics over one connection, resuming after restarts, JSON lines into a file
  watch-tail --target apicentral.axway.com:443 --tenant 123456 --token-file ~/.axway/token.jwt \\
    --topic /management/v1alpha1/watchtopics/agent-a --topic /management/v1alpha1/watchtopics/agent-b \\
    --state-file ~/.watch-tail/positions.json --json >> events.jsonl

  # two (or more) of these on one topic: one writes, another takes over within the lease if it dies
  PGPASSWORD=… watch-tail --target apicentral.axway.com:443 --tenant 123456 --token-file ~/.axway/token.jwt \\
    --topic /management/v1alpha1/watchtopics/agent-a --postgres postgres://agent@db.corp:5432/agents --json

  # a cache of everything the topic covers, kept in a directory across restarts; then its content, and exit
  watch-tail --target apicentral.axway.com:443 --tenant 123456 --token-file ~/.axway/token.jwt \\
    --topic /management/v1alpha1/watchtopics/agent-a --cache ~/.watch-tail/cache --dump > resources.jsonl

  # everything history still holds, through a corporate proxy, with a private CA
  watch-tail --target watch.corp.internal:443 --tenant 123456 --token-env WATCH_TOKEN \\
    --topic /management/v1alpha1/watchtopics/audit --from beginning \\
    --proxy http://user:pass@proxy.corp:3128 --ca-file corp-root.pem

Exit codes: 0 finished (--max-events, SIGINT/SIGTERM after saving the state), 2 bad flags or configuration,
3 authentication or authorization refused, 1 any other fatal error (130: a second signal).
Records: {"record":"event"|"live"|"resync"|"synced"|"resource",…} one JSON object per line; see docs/cli.md.
`;

function program(): Command {
  return new Command('watch-tail')
    .description('Tail the events of one or more watch topics (the contract: docs/cli.md)')
    .option('--target <host:port>', "the watch service's gRPC address (required unless --demo)")
    .option('--tenant <id>', 'tenant / organization id, sent as x-axway-tenant-id (required unless --demo)')
    .option('--topic <selfLink>', 'a WatchTopic self link; repeat to tail several topics', collect, [])
    .option('--token-file <path>', 'a file holding the current JWT, read again whenever a token is needed')
    .option('--token-env <name>', 'an environment variable holding the JWT')
    .option(
      '--history-url <url>',
      'base URL of the event-history API (default https://HOST:PORT of --target, http:// with --insecure)',
    )
    .option(
      '--api-url <url>',
      'base URL of the resource API ({URL}{selfLink}; default https://HOST:PORT/apis of --target, http:// with --insecure)',
    )
    .option(
      '--fetch',
      'each event record also carries the resource the event names (read from the resource API)',
      false,
    )
    .option(
      '--cache <dir>',
      'keep in DIR a cache of every resource the topics cover, with the positions (instead of --state-file)',
    )
    .option('--dump', 'with --cache: once every topic is live, write each cached resource and exit 0', false)
    .option('--state-file <path>', 'where the acknowledged position of each topic is kept; a restart resumes after it')
    .option(
      '--postgres <url>',
      'keep positions and leases in PostgreSQL (postgres://user@host/db; the password best in PGPASSWORD): ' +
        'several watch-tails of one topic, one writes, the others take over',
    )
    .option(
      '--lease-ms <n>',
      'with --postgres: how long a lease lasts without renewal (default 15000)',
      positiveInt('--lease-ms'),
    )
    .option('--renew-ms <n>', 'with --postgres: how often leases are renewed (default 2000)', positiveInt('--renew-ms'))
    .option(
      '--from <where>',
      'where to start without a saved position: latest, beginning or a sequence id',
      parseFrom,
      'latest',
    )
    .option('--insecure', 'plaintext gRPC and HTTP (local testing only)', false)
    .option('--ca-file <path>', 'extra CA certificate(s) to trust, PEM')
    .option(
      '--proxy <url>',
      'HTTP CONNECT proxy http://[user:pass@]host:port for gRPC and HTTP (default: https_proxy/http_proxy/no_proxy)',
    )
    .option('--keepalive-ms <n>', 'HTTP/2 keepalive ping interval in ms', positiveInt('--keepalive-ms'))
    .option('--keepalive-timeout-ms <n>', 'HTTP/2 keepalive timeout in ms', positiveInt('--keepalive-timeout-ms'))
    .option('--health-port <n>', 'serve /healthz and /readyz for probes on this port', (value: string) => {
      if (!/^\d+$/.test(value) || Number(value) > 65_535)
        throw new InvalidArgumentError('--health-port must be a port number (0-65535)');
      return Number(value);
    })
    .option('--json', 'one JSON object per line (default when stdout is not a terminal)')
    .option('--max-events <n>', 'exit 0 after N resource events were written', positiveInt('--max-events'))
    .addOption(
      new Option('--log-level <level>', 'diagnostics on stderr')
        .choices(['error', 'warn', 'info', 'debug'])
        .default('warn'),
    )
    .option('--demo', 'start the embedded fake watch service and tail it', false)
    .helpOption('-h, --help', 'show this help')
    .showSuggestionAfterError(true)
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
}

/**
 * The flags that cannot go with `--cache`: it keeps the positions itself (in its directory, with the resources they
 * are the positions of), and a topic it holds nothing of starts where its initial sync's list was taken, not `--from`.
 */
function checkCacheFlags(config: CliConfig, fromGiven: boolean): void {
  if (config.dump && config.cache === undefined)
    throw new UsageError('--dump needs --cache (it writes what the cache holds)');
  if (config.cache === undefined) return;
  if (config.cache.trim() === '') throw new UsageError('--cache: the directory must not be empty');
  if (config.stateFile !== undefined)
    throw new UsageError('--cache and --state-file: give one (with --cache the positions are kept in its directory)');
  if (config.postgres !== undefined)
    throw new UsageError('--cache and --postgres: give one (with --cache the positions are kept in its directory)');
  if (fromGiven)
    throw new UsageError(
      '--from cannot go with --cache (a topic the cache holds nothing of starts with an initial sync)',
    );
}

/**
 * Parses `argv` (without node and script) into a {@link CliConfig}. Throws {@link UsageError} for a bad command line;
 * returns the help text as `{ help }` when asked for it.
 */
export function parseArgs(argv: readonly string[]): CliConfig | { help: string } {
  const cmd = program();
  try {
    cmd.parse([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help')
        return { help: `${cmd.helpInformation()}${EXAMPLES}` };
      throw new UsageError(
        err.message
          .replace(/^error: /, '')
          .replace(/\s*\n\s*/g, ' ')
          .trim(),
      );
    }
    throw err;
  }
  const o = cmd.opts<Record<string, unknown>>();
  const config: CliConfig = {
    target: o.target as string | undefined,
    tenant: o.tenant as string | undefined,
    topics: o.topic as string[],
    tokenFile: o.tokenFile as string | undefined,
    tokenEnv: o.tokenEnv as string | undefined,
    historyUrl: o.historyUrl as string | undefined,
    apiUrl: o.apiUrl as string | undefined,
    fetch: o.fetch === true,
    cache: o.cache as string | undefined,
    dump: o.dump === true,
    stateFile: o.stateFile as string | undefined,
    postgres: o.postgres as string | undefined,
    leaseMs: o.leaseMs as number | undefined,
    renewMs: o.renewMs as number | undefined,
    healthPort: o.healthPort as number | undefined,
    from: o.from as StartFrom,
    insecure: o.insecure === true,
    caFile: o.caFile as string | undefined,
    proxy: o.proxy as string | undefined,
    keepaliveMs: o.keepaliveMs as number | undefined,
    keepaliveTimeoutMs: o.keepaliveTimeoutMs as number | undefined,
    json: o.json as boolean | undefined,
    maxEvents: o.maxEvents as number | undefined,
    logLevel: o.logLevel as LogLevel,
    demo: o.demo === true,
  };
  if (!config.demo) {
    if (config.target === undefined) throw new UsageError('--target is required (or use --demo)');
    if (config.tenant === undefined) throw new UsageError('--tenant is required (or use --demo)');
    if (config.topics.length === 0) throw new UsageError('at least one --topic is required (or use --demo)');
    if ((config.tokenFile === undefined) === (config.tokenEnv === undefined)) {
      throw new UsageError('exactly one of --token-file or --token-env is required');
    }
  }
  if (config.postgres !== undefined && config.stateFile !== undefined)
    throw new UsageError('--state-file and --postgres: give one (with --postgres the positions are kept there)');
  if (config.postgres === undefined && (config.leaseMs !== undefined || config.renewMs !== undefined))
    throw new UsageError(`${config.leaseMs !== undefined ? '--lease-ms' : '--renew-ms'} needs --postgres`);
  checkCacheFlags(config, cmd.getOptionValueSource('from') === 'cli');
  if (new Set(config.topics).size !== config.topics.length)
    throw new UsageError('--topic: the same topic is given twice');
  return config;
}
