import { promises as fsp } from 'node:fs';
import { constants as osConstants, hostname } from 'node:os';
import { systemClock } from '../core/clock';
import { WatchError } from '../core/errors';
import type * as Lockfile from 'proper-lockfile';

/** Who holds a lock, as written beside it (`<file>.lock-holder`): for the message that refuses a second process. */
interface Holder {
  pid: number;
  host: string;
  since: string;
}

/** Options of {@link FileLock.acquire}. */
export interface FileLockOptions {
  /**
   * A lock whose holder stopped refreshing it for this long is stale and taken over (a crashed holder). The holder
   * refreshes it every half of this.
   */
  staleMs: number;
  /** Called when the lock was lost while held (another process took it over, or it was removed). */
  onCompromised: (error: WatchError) => void;
  /** What the locked file is, for messages. @default 'position file' */
  what?: string;
  /** The class holding such locks, for the refusal of a second one in this process. @default 'FileSequenceStore' */
  owner?: string;
}

let lockfileModule: Promise<typeof Lockfile> | undefined;

/**
 * `proper-lockfile`, loaded only when a file store is used: it hooks process exit through signal-exit (v3) to release
 * its locks. At a signal, signal-exit re-raises it (killing the process) when it sees no other listener for it at
 * that moment; but a `process.once('SIGTERM', …)` listener is removed just before it runs, so an application's
 * graceful shutdown registered before the first lock was killed at once. Its listeners are moved first: they then
 * still see the application's listener and leave the signal to it, and a process without one still dies as before.
 */
function loadLockfile(): Promise<typeof Lockfile> {
  lockfileModule ??= (async () => {
    const signals = Object.keys(osConstants.signals) as NodeJS.Signals[];
    const before = new Map(signals.map((signal) => [signal, new Set(process.listeners(signal))]));
    const module = await import('proper-lockfile');
    for (const signal of signals) {
      const had = before.get(signal);
      for (const listener of process.listeners(signal)) {
        if (had?.has(listener) === true) continue;
        process.removeListener(signal, listener);
        process.prependListener(signal, listener);
      }
    }
    return module;
  })();
  return lockfileModule;
}

// Files this process holds, so that a second store on one file in the same process is told so (not "dead").
const heldHere = new Set<string>();

/**
 * An exclusive, cross-process lock on a file, held for the life of its owner: `proper-lockfile` (an atomic `mkdir`
 * of `<file>.lock`, refreshed on a timer, taken over once stale, released at exit), plus a holder note naming the
 * pid, so that a second process is refused at once with `STATE_LOCKED` and a useful message. A holder that crashed
 * (SIGKILL: no exit hook runs) is recognised on this host by its pid being gone, and its lock is taken over as soon
 * as it is stale; a live holder is never waited for.
 */
export class FileLock {
  private constructor(
    private readonly file: string,
    private readonly release: () => Promise<void>,
  ) {}

  /** Takes the lock of `file`, or throws `STATE_LOCKED` (held by a live process) or `STATE_IO`. */
  static async acquire(file: string, options: FileLockOptions): Promise<FileLock> {
    const lockfile = await loadLockfile();
    const what = options.what ?? 'position file';
    const lockOptions = {
      stale: options.staleMs,
      realpath: false,
      onCompromised: (err: Error) => {
        heldHere.delete(file);
        options.onCompromised(
          new WatchError(
            'STATE_LOCKED',
            `the lock of ${what} ${file} was lost (${(err as { code?: string }).code ?? err.message}): another process may be writing it`,
            { cause: err },
          ),
        );
      },
    };
    if (heldHere.has(file))
      throw locked(
        file,
        { pid: process.pid, host: hostname(), since: '' },
        ` (another ${options.owner ?? 'FileSequenceStore'} of this process)`,
        what,
      );
    let release: () => Promise<void>;
    try {
      release = await lockfile.lock(file, lockOptions);
    } catch (err) {
      if ((err as { code?: string }).code !== 'ELOCKED') throw ioError(file, err, what);
      const holder = await readHolder(file);
      if (holder !== undefined && !holderIsGone(holder)) throw locked(file, holder, '', what);
      if (holder === undefined && !(await lockIsIdle(file, options.staleMs))) throw locked(file, undefined, '', what);
      // The holder crashed: its lock goes stale within staleMs (no one refreshes it); wait for that, not longer.
      try {
        release = await lockfile.lock(file, {
          ...lockOptions,
          retries: { retries: Math.ceil(options.staleMs / 250) + 4, factor: 1, minTimeout: 250, maxTimeout: 250 },
        });
      } catch (again) {
        if ((again as { code?: string }).code === 'ELOCKED') throw locked(file, await readHolder(file), '', what);
        throw ioError(file, again, what);
      }
    }
    heldHere.add(file);
    const holder: Holder = { pid: process.pid, host: hostname(), since: new Date(systemClock.now()).toISOString() };
    // Informational only (names the holder in another process's refusal): a failure to write it is not fatal.
    await fsp.writeFile(holderFile(file), `${JSON.stringify(holder)}\n`, { mode: 0o600 }).catch(() => undefined);
    return new FileLock(file, release);
  }

  /** Releases the lock (idempotent). */
  async close(): Promise<void> {
    if (!heldHere.delete(this.file)) return;
    await fsp.rm(holderFile(this.file), { force: true }).catch(() => undefined);
    await this.release().catch(() => undefined);
  }
}

function holderFile(file: string): string {
  return `${file}.lock-holder`;
}

async function readHolder(file: string): Promise<Holder | undefined> {
  try {
    const data = JSON.parse(await fsp.readFile(holderFile(file), 'utf8')) as Partial<Holder>;
    if (typeof data.pid === 'number' && typeof data.host === 'string')
      return { pid: data.pid, host: data.host, since: String(data.since ?? '') };
  } catch {
    // No note (a holder that crashed before writing it, or an older version): judged by the lock's age instead.
  }
  return undefined;
}

/**
 * Whether the holder is known to be gone: it ran on this host and its pid no longer exists, or is this process's own
 * pid (a container restarted under the same pid) while this process does not hold the lock. On another host it
 * cannot be told: the lock's age decides then (see {@link lockIsIdle}).
 */
function holderIsGone(holder: Holder): boolean {
  if (holder.host !== hostname()) return false;
  if (holder.pid === process.pid) return true;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (err) {
    return (err as { code?: string }).code === 'ESRCH';
  }
}

/** Whether the lock was not refreshed for longer than its holder's refresh period: a holder that stopped. */
async function lockIsIdle(file: string, staleMs: number): Promise<boolean> {
  try {
    const stat = await fsp.stat(`${file}.lock`);
    return systemClock.now() - stat.mtimeMs > staleMs / 2 + 1_000;
  } catch {
    return true;
  }
}

function locked(file: string, holder: Holder | undefined, detail: string, what: string): WatchError {
  const who =
    holder === undefined
      ? 'another process'
      : `process ${holder.pid} on ${holder.host}${holder.since === '' ? '' : ` (since ${holder.since})`}`;
  return new WatchError(
    'STATE_LOCKED',
    `${what} ${file} is locked by ${who}${detail}; two processes must not share one ${what} (stop the other one, or give each its own ${what.slice(what.lastIndexOf(' ') + 1)})`,
  );
}

function ioError(file: string, err: unknown, what: string): WatchError {
  return new WatchError('STATE_IO', `cannot lock ${what} ${file} (${(err as { code?: string }).code ?? 'error'})`, {
    cause: err,
  });
}
