import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { WatchError } from '../core/errors';
import { unsafeHeaderChar } from '../core/option-checks';
import * as grpc from '@grpc/grpc-js';
import { createDefaultLogger, createLog } from '../logging/logger';
import type { WatchManagerOptions } from '../config/options';
import type { WatchOptions } from '../config/watch-options';
import type { Coordinator } from '../state/coordinator';
import type { ResyncNotice } from '../delivery/watch-handlers';
import type { SyncedNotice } from './records';
import { FileSequenceStore } from '../state/file-sequence-store';
import { FileResourceStore } from '../state/file-resource-store';
import type { ResourceCache } from '../cache/resource-cache';
import { cachedPosition, dumpOrder } from './cache-tail';
import type { WatchEvent } from '../core/types';
import { WatchManager } from '../engine/watch-manager';
import { serveProbes, type ProbeServer } from '../health/probe-server';
import { parseArgs, UsageError, type CliConfig } from './args';
import { startDemo, type Demo } from './demo';
import { CatchUpProgress } from './progress';
import { systemClock } from '../core/clock';
import { takeEndOfLifeWarning } from '../core/node-support';
import {
  eventLine,
  eventRecord,
  liveLine,
  liveRecord,
  resourceLine,
  resourceRecord,
  resyncLine,
  resyncRecord,
  syncedLine,
  syncedRecord,
} from './records';

/** Exit codes (docs/cli.md#exit-codes). */
const EXIT = { OK: 0, FATAL: 1, USAGE: 2, AUTH: 3 } as const;

/** The process surface the CLI uses, replaceable in tests. */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  /** Registers a handler for SIGINT/SIGTERM; returns its removal. */
  onSignal?: (handler: () => void) => () => void;
  /** True for the `watch-tail` binary: it may set process-global state (grpc-js's logger); an embedding may not. */
  ownsProcess?: boolean;
}

// The manager's option names, as the flags a user typed.
const FLAG_OF: Readonly<Record<string, string>> = {
  target: '--target',
  tenantId: '--tenant',
  'keepalive.intervalMs': '--keepalive-ms',
  'keepalive.timeoutMs': '--keepalive-timeout-ms',
  'tls.ca': '--ca-file',
  selfLink: '--topic',
  historyUrl: '--history-url',
  apiUrl: '--api-url',
  file: '--state-file',
  proxy: '--proxy',
  connectionString: '--postgres',
  schema: '--postgres',
  leaseMs: '--lease-ms',
  renewMs: '--renew-ms',
  renewDeadlineMs: '--lease-ms',
};

function exitCodeOf(err: WatchError): number {
  switch (err.code) {
    case 'INVALID_CONFIG':
      return EXIT.USAGE;
    case 'UNAUTHENTICATED':
    case 'PERMISSION_DENIED':
      return EXIT.AUTH;
    default:
      return EXIT.FATAL;
  }
}

function flagMessage(err: WatchError): string {
  return err.message.replace(/'([A-Za-z.]+)'/, (whole, field: string) =>
    FLAG_OF[field] === undefined ? whole : FLAG_OF[field],
  );
}

/**
 * The token held by a file or a variable: one line of visible ASCII (a trailing line break is fine). Throws an Error
 * naming `source` and what is wrong, never the content.
 */
function tokenText(raw: string, source: string): string {
  const text = raw.trim();
  if (text === '') throw new Error(`${source} is empty`);
  if (/[\r\n]/.test(text)) throw new Error(`${source} holds more than one line (a token is one line)`);
  const bad = unsafeHeaderChar(text.replace(/^Bearer\s+/i, ''), false);
  if (bad !== undefined)
    throw new Error(`${source} holds a character a token cannot have (${bad.code} at position ${bad.index})`);
  return text;
}

/** The coordinator of `--postgres`: watch-manager/postgres (and pg) are loaded only when the flag is given. */
async function postgresCoordinator(config: CliConfig): Promise<Coordinator> {
  const { PostgresCoordinator } = await import('../postgres/index.js');
  const timing: { leaseMs?: number; renewMs?: number } = {};
  if (config.leaseMs !== undefined) timing.leaseMs = config.leaseMs;
  if (config.renewMs !== undefined) timing.renewMs = config.renewMs;
  return new PostgresCoordinator({ connectionString: config.postgres, ...timing });
}

function tokenGetter(config: CliConfig, io: CliIo, demo: Demo | undefined): () => Promise<string> {
  if (demo !== undefined) return demo.getToken;
  if (config.tokenFile !== undefined) {
    const file = config.tokenFile;
    // Read on every call: rotating the file rotates the token (docs/cli.md#flags).
    return async () => tokenText(await readFile(file, 'utf8'), `token file ${file}`);
  }
  const name = config.tokenEnv as string;
  return async () => tokenText(io.env[name] ?? '', `environment variable ${name}`);
}

function writeLine(out: NodeJS.WritableStream, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    out.write(`${line}\n`, (err) => (err === null || err === undefined ? resolve() : reject(err)));
  });
}

/**
 * The stores of `--cache DIR`: the resources of every topic's cache (a {@link FileResourceStore} over DIR), and the
 * positions of the events the tail wrote (`DIR/positions.json`; not for `--dump`, which writes no event).
 */
async function cacheStores(directory: string, dump: boolean, options: WatchManagerOptions): Promise<FileResourceStore> {
  // Made here for --dump too: a path that is a file is a bad flag (exit 2), not a store failure.
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const store = new FileResourceStore({ directory });
  if (!dump) {
    options.sequenceProvider = new FileSequenceStore(path.join(directory, 'positions.json'));
  }
  return store;
}

/** Runs `watch-tail` with `argv` (without node and script); resolves with the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const fail = (code: number, message: string): number => {
    io.stderr.write(`watch-tail: ${message.split('\n')[0]}\n`);
    return code;
  };
  let config: CliConfig;
  try {
    const parsed = parseArgs(argv);
    if ('help' in parsed) {
      io.stdout.write(parsed.help);
      return EXIT.OK;
    }
    config = parsed;
  } catch (err) {
    if (err instanceof UsageError) return fail(EXIT.USAGE, err.message);
    throw err;
  }

  let ca: Buffer | undefined;
  if (config.caFile !== undefined) {
    try {
      ca = await readFile(config.caFile);
    } catch {
      return fail(EXIT.USAGE, `--ca-file: cannot read ${config.caFile}`);
    }
  }
  const logger = createDefaultLogger(config.logLevel, io.stderr);
  // grpc-js prints its own errors (a proxy's refusal among them) through a process-global logger straight to
  // stderr. The CLI owns its process: they go to --log-level debug, redacted, instead of breaking the one-line
  // message of an exit. (A library must not touch that global; the SDK itself leaves it alone.)
  if (io.ownsProcess === true) {
    const log = createLog(logger);
    grpc.setLogger({ error: (...args: unknown[]) => log.debug(`grpc-js: ${args.map(String).join(' ')}`) });
  }
  // The token source is read once now, so that a wrong flag is a usage error at once, not a retry loop.
  if (config.tokenFile !== undefined) {
    let raw: string;
    try {
      raw = await readFile(config.tokenFile, 'utf8');
    } catch {
      return fail(EXIT.USAGE, `--token-file: cannot read ${config.tokenFile}`);
    }
    try {
      tokenText(raw, config.tokenFile);
    } catch (err) {
      return fail(EXIT.USAGE, `--token-file: ${(err as Error).message}`);
    }
  } else if (config.tokenEnv !== undefined) {
    if ((io.env[config.tokenEnv] ?? '').trim() === '')
      return fail(EXIT.USAGE, `--token-env: environment variable ${config.tokenEnv} is not set`);
    try {
      tokenText(io.env[config.tokenEnv] ?? '', `environment variable ${config.tokenEnv}`);
    } catch (err) {
      return fail(EXIT.USAGE, `--token-env: ${(err as Error).message}`);
    }
  }
  const demo = config.demo ? await startDemo() : undefined;
  const topics = demo === undefined ? config.topics : [demo.topic];
  const options: WatchManagerOptions = {
    target: demo?.target ?? (config.target as string),
    tenantId: demo?.tenantId ?? (config.tenant as string),
    getToken: tokenGetter(config, io, demo),
    tls: config.insecure || demo !== undefined ? false : ca === undefined ? {} : { ca },
    logger,
    from: config.from,
  };
  if (config.proxy !== undefined) options.proxy = config.proxy;
  const historyUrl = demo?.historyUrl ?? config.historyUrl;
  if (historyUrl !== undefined) options.historyUrl = historyUrl;
  const apiUrl = demo?.apiUrl ?? config.apiUrl;
  if (apiUrl !== undefined) options.apiUrl = apiUrl;
  if (config.stateFile !== undefined) {
    try {
      options.sequenceProvider = new FileSequenceStore(config.stateFile);
    } catch (err) {
      await demo?.stop();
      if (err instanceof WatchError) return fail(exitCodeOf(err), flagMessage(err));
      throw err;
    }
  }
  let resourceStore: FileResourceStore | undefined;
  if (config.cache !== undefined) {
    try {
      resourceStore = await cacheStores(config.cache, config.dump, options);
    } catch (err) {
      await demo?.stop();
      if (err instanceof WatchError) return fail(exitCodeOf(err), flagMessage(err));
      return fail(EXIT.USAGE, `--cache: cannot make the directory ${config.cache}: ${(err as Error).message}`);
    }
  }
  if (config.postgres !== undefined) {
    try {
      options.coordinator = await postgresCoordinator(config);
    } catch (err) {
      await demo?.stop();
      if (err instanceof WatchError) return fail(exitCodeOf(err), flagMessage(err));
      // pg missing: the peer check's one line
      return fail(EXIT.USAGE, `--postgres: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (config.keepaliveMs !== undefined || config.keepaliveTimeoutMs !== undefined) {
    options.keepalive = { intervalMs: config.keepaliveMs ?? 50_000, timeoutMs: config.keepaliveTimeoutMs ?? 10_000 };
  }

  // The binary tells an ended Node.js line in one line of its own, not as Node.js's two-line process warning that the
  // manager would emit: taken before the manager is built, told only once the configuration is accepted (a bad flag
  // is one line, docs/cli.md#exit-codes). Silent for a machine reading JSON from a pipe that asked for errors only. An
  // embedding (ownsProcess false) keeps the library's warning: the process is not the CLI's.
  const json = config.json ?? io.stdout.isTTY !== true;
  const endOfLife = io.ownsProcess === true ? takeEndOfLifeWarning() : undefined;
  let manager: WatchManager;
  try {
    manager = new WatchManager(options);
  } catch (err) {
    await demo?.stop();
    if (err instanceof WatchError) return fail(exitCodeOf(err), flagMessage(err));
    throw err;
  }
  if (endOfLife !== undefined && !(json && io.stdout.isTTY !== true && config.logLevel === 'error'))
    io.stderr.write(`watch-tail: warning: ${endOfLife}\n`);

  let probes: ProbeServer | undefined;
  if (config.healthPort !== undefined) {
    try {
      probes = await serveProbes(manager, { port: config.healthPort });
    } catch (err) {
      await manager.close();
      await demo?.stop();
      if (err instanceof WatchError) return fail(exitCodeOf(err), `--health-port: ${err.message}`);
      throw err;
    }
    io.stderr.write(`watch-tail: probes on port ${probes.port} (/healthz, /readyz)\n`);
  }

  // Colour only for a person at a terminal, and never when NO_COLOR is set (no-color.org).
  const colour = !json && io.stdout.isTTY === true && (io.env.NO_COLOR ?? '') === '';
  const progress = new CatchUpProgress(manager, io.stderr, systemClock);
  progress.start(io.stdout.isTTY === true, io.env);
  let written = 0;
  let settle!: (code: number) => void;
  const finished = new Promise<number>((resolve) => {
    settle = resolve;
  });
  let done = false;
  const finish = (code: number, message?: string): void => {
    if (done) return;
    done = true;
    if (message !== undefined) fail(code, message);
    settle(code);
  };
  // Each handler resolves only once its line is handed to stdout, so a position is never ahead of the output.
  // After the end (--max-events, a signal, a closed stdout) handlers throw, so nothing more is acknowledged.
  const emit = async (record: Record<string, unknown>, line: string): Promise<void> => {
    if (done) throw new Error('watch-tail is finishing');
    try {
      await writeLine(io.stdout, json ? JSON.stringify(record) : line);
    } catch {
      finish(EXIT.OK); // stdout closed (for example `| head`): nothing more can be written.
      throw new Error('stdout closed');
    }
  };
  let reserved = 0;
  const onEvent = async (event: WatchEvent): Promise<void> => {
    // Several topics' handlers may be writing at once: each takes its place first, so --max-events is exact.
    if (config.maxEvents !== undefined && reserved >= config.maxEvents) throw new Error('watch-tail is finishing');
    reserved += 1;
    try {
      await emit(eventRecord(event), eventLine(event, colour));
    } catch (err) {
      reserved -= 1;
      throw err;
    }
    written += 1;
    if (config.maxEvents !== undefined && written >= config.maxEvents) finish(EXIT.OK);
  };
  const onLive = (topic: string): Promise<void> => emit(liveRecord(topic), liveLine(topic, colour));
  const onResync = (notice: ResyncNotice): Promise<void> => emit(resyncRecord(notice), resyncLine(notice, colour));
  let unsaved: WatchError | undefined;
  const onError = (err: WatchError): void => {
    // While finishing, only a failure to save the state matters: exit 0 promises a saved state
    // (docs/cli.md#exit-codes).
    if (done) {
      if (err.code === 'STATE_IO' || err.code === 'STATE_CORRUPT') unsaved ??= err;
      return;
    }
    // Retryable errors are the SDK's to handle (it reconnects or retries); only a final one ends the tail.
    if (!err.retryable) finish(exitCodeOf(err), `${err.code}: ${flagMessage(err)}`);
  };
  const removeSignal = io.onSignal?.(() => finish(EXIT.OK));
  const failed = (err: unknown): void => {
    const error = err instanceof WatchError ? err : new WatchError('INTERNAL', String(err));
    finish(exitCodeOf(error), `${error.code}: ${flagMessage(error)}`);
  };
  // --dump: once every topic's cache is live, what they hold, then the end.
  const dump = async (opening: Array<Promise<ResourceCache>>): Promise<void> => {
    const caches = await Promise.all(opening);
    await Promise.all(caches.map((cache) => cache.ready()));
    for (const { topic, resource } of dumpOrder(caches))
      await emit(resourceRecord(topic, resource), resourceLine(topic, resource, colour));
    finish(EXIT.OK);
  };
  const handlers = { onEvent, onError, onLive, onResync };
  // --fetch: fetch mode (the resource with each event, read ahead of the writes; a read that fails fails the watch,
  // which retries or ends: the event is never skipped).
  const watchOptions: WatchOptions = config.fetch ? { fetch: true } : {};
  if (resourceStore === undefined) {
    for (const topic of topics) manager.registerWatch(topic, handlers, watchOptions).catch(failed);
  } else {
    const store = resourceStore;
    // The tail's own positions (--cache DIR/positions.json): the manager's sequence provider.
    const positions = options.sequenceProvider;
    const onSynced = (notice: SyncedNotice): void =>
      void emit(syncedRecord(notice), syncedLine(notice, colour)).catch(() => undefined);
    // Each topic's cache, then (unless --dump) its events: from the position the cache reflects when the tail has none
    // of its own, so that a `synced` record at P is followed by the events after P.
    const caches = topics.map(async (topic) => {
      const cache = await manager.cache(topic, { store, onError });
      // What the cache loaded, read before any await: from here on its watch applies events in the background.
      const loaded = { sequenceId: cache.sequenceId, resources: cache.size };
      cache.on('synced', onSynced);
      if (config.dump) return cache;
      const own = await positions?.getSequence(topic);
      let from: number;
      if (own === undefined && loaded.sequenceId !== undefined) {
        // The cache's store held the topic but the tail has no position of it (a crash between the cache's first
        // writes and the tail's, or positions.json removed): the events up to the cache's position cannot be written
        // any more, so its state as loaded is told as a `synced` record, then the events after it.
        from = loaded.sequenceId;
        onSynced({ topic, resources: loaded.resources, sequenceId: from });
      } else from = await cachedPosition(cache);
      await manager.registerWatch(topic, handlers, { ...watchOptions, from });
      return cache;
    });
    for (const cache of caches) cache.catch(failed);
    if (config.dump) void dump(caches).catch(failed);
  }
  let code = await finished;
  progress.stop();
  await probes?.close();
  await manager.close();
  await demo?.stop();
  if (code === EXIT.OK && unsaved !== undefined)
    code = fail(EXIT.FATAL, `${unsaved.code}: the state was not saved: ${unsaved.message}`);
  // Only now: a second signal during the close above must still find the listener that exits at once.
  removeSignal?.();
  return code;
}
