import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { writeFileDurably, tempPrefix, writeHookOf } from './durable-file';
import { WatchError } from '../core/errors';
import { FileLock } from './file-lock';
import { checkKeys, duration } from '../core/option-checks';
import type { SequenceProvider } from './sequence-provider';

/** Options of {@link FileSequenceStore}. */
export interface FileSequenceStoreOptions {
  /**
   * The store holds an exclusive lock on the file for its life (from its first use to {@link FileSequenceStore.close},
   * or the process's exit). A holder that crashed stops refreshing it: its lock is taken over once it was not
   * refreshed for this long (at least 2000). A live holder is never waited for: a second process is refused at once
   * with `STATE_LOCKED`.
   * @default 10000
   */
  lockStaleMs?: number;
}

const FORMAT = 'watch-manager.positions';
const VERSION = 1;

interface PositionFile {
  format: string;
  version: number;
  positions: Record<string, number>;
  checksum: string;
}

function checksum(positions: Record<string, number>): string {
  const canonical = JSON.stringify(
    Object.keys(positions)
      .sort()
      .map((k) => [k, positions[k]]),
  );
  return `sha256:${createHash('sha256').update(canonical).digest('hex')}`;
}

function corrupt(file: string, problem: string): WatchError {
  return new WatchError(
    'STATE_CORRUPT',
    `position file ${file} ${problem}; refusing to guess a position (move it aside to start over)`,
  );
}

function ioError(file: string, action: string, err: unknown): WatchError {
  const code = (err as { code?: string }).code ?? 'error';
  return new WatchError('STATE_IO', `cannot ${action} position file ${file} (${code})`, { cause: err });
}

/**
 * Positions of many topics in one JSON file, written crash-safe: every write is a whole new version or nothing
 * (temp file with mode 0600, fsync, rename over the old one, fsync of the directory — `write-file-atomic` skips the
 * last step, docs/facts.md#durable-replace). The file carries a format version and a checksum, and one that is
 * truncated, garbled, of another version or fails its checksum is `STATE_CORRUPT`, never taken as "no position": that
 * would silently replay or skip everything. A missing file is a first run; a missing directory is `STATE_IO`.
 *
 * A position counts as stored only once a write holding it is durable: until then `getSequence` does not show it,
 * and a failed write leaves it pending, so that asking again writes again (never "saved" without a write).
 *
 * One process per file: the store holds an exclusive lock (`<file>.lock`, see {@link FileSequenceStoreOptions})
 * from its first use until {@link close}; a second process is refused with `STATE_LOCKED` naming the holder's pid.
 * After `close()` the next use takes the lock again.
 */
export class FileSequenceStore implements SequenceProvider {
  /** The position file's path. */
  readonly file: string;
  /** What the file holds: positions of a write that completed (or of the file as read). */
  private durable: Map<string, number> | undefined;
  /** Positions asked for and not yet durable: carried by the next write, kept when it fails. */
  private readonly wanted = new Map<string, number>();
  /** Positions moved back (a restarted sequence) and not yet durable: carried by the next write like `wanted`. */
  private readonly resets = new Map<string, number>();
  private loading: Promise<Map<string, number>> | undefined;
  private pendingWrite: Promise<void> | undefined;
  private lastWrite: Promise<void> = Promise.resolve();
  private lock: FileLock | undefined;
  /** Set when the lock was lost while held: every later write fails with it. */
  private lost: WatchError | undefined;
  private readonly lockStaleMs: number;

  constructor(file: string, options: FileSequenceStoreOptions = {}) {
    if (typeof file !== 'string' || file === '')
      throw new WatchError('INVALID_CONFIG', "invalid argument 'file': must be a path");
    if (typeof options !== 'object' || options === null)
      throw new WatchError('INVALID_CONFIG', "invalid argument 'options': must be an object");
    checkKeys(options as Record<string, unknown>, ['lockStaleMs'], 'options.', 'argument');
    this.lockStaleMs = duration(options.lockStaleMs, 'options.lockStaleMs', 10_000, 2_000, 3_600_000, 'argument');
    this.file = path.resolve(file);
  }

  async getSequence(topic: string): Promise<number | undefined> {
    return (await this.load()).get(topic);
  }

  /**
   * Records `sequenceId` for `topic` and resolves once a write holding it is durable; rejects (`STATE_IO`,
   * `STATE_LOCKED`) when that write failed, leaving the position pending: the next call writes it again. A value
   * not above the stored one resolves at once.
   */
  async setSequence(topic: string, sequenceId: number): Promise<void> {
    if (!Number.isSafeInteger(sequenceId) || sequenceId < 0) {
      throw new WatchError('INVALID_CONFIG', `invalid sequence id ${String(sequenceId)} for ${topic}`);
    }
    const durable = await this.load();
    if (sequenceId <= (this.resets.get(topic) ?? durable.get(topic) ?? 0)) return;
    if (sequenceId > (this.wanted.get(topic) ?? 0)) this.wanted.set(topic, sequenceId);
    return this.scheduleWrite();
  }

  /**
   * Stores `sequenceId` for `topic` even below the stored position (the topic's sequence restarted), and resolves
   * once a write holding it is durable; rejects like {@link setSequence}, leaving it pending (the next write carries
   * it). A larger position of the old sequence not yet durable is dropped: it must not follow the reset.
   */
  async resetSequence(topic: string, sequenceId: number): Promise<void> {
    if (!Number.isSafeInteger(sequenceId) || sequenceId < 0) {
      throw new WatchError('INVALID_CONFIG', `invalid sequence id ${String(sequenceId)} for ${topic}`);
    }
    await this.load();
    this.wanted.delete(topic);
    this.resets.set(topic, sequenceId);
    return this.scheduleWrite();
  }

  /**
   * The positions a file holds now, read without taking its lock: for tools and monitoring beside a running agent
   * (the file is replaced whole, so a reader never sees half of it). Rejects like {@link getSequence} would
   * (`STATE_CORRUPT`, `STATE_IO`); a missing file holds none.
   */
  static async read(file: string): Promise<Record<string, number>> {
    const resolved = path.resolve(file);
    let text: string;
    try {
      text = await fsp.readFile(resolved, 'utf8');
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return {};
      throw ioError(resolved, 'read', err);
    }
    return parse(text, resolved);
  }

  /** Every position stored (durable) now, for tools and tests. */
  async all(): Promise<Record<string, number>> {
    return Object.fromEntries(await this.load());
  }

  /**
   * Waits for the write under way, then releases the lock, so that another process (or store) may take the file.
   * Idempotent; a later use takes the lock again and reads the file anew.
   */
  async close(): Promise<void> {
    await this.loading?.catch(() => undefined);
    await this.lastWrite;
    const lock = this.lock;
    this.lock = undefined;
    this.durable = undefined;
    this.loading = undefined;
    this.lost = undefined;
    await lock?.close();
  }

  private load(): Promise<Map<string, number>> {
    if (this.durable !== undefined) return Promise.resolve(this.durable);
    this.loading ??= this.open().then(
      (map) => (this.durable = map),
      (err: unknown) => {
        this.loading = undefined; // a later call may try again (the directory may appear, the holder may stop)
        throw err;
      },
    );
    return this.loading;
  }

  private async open(): Promise<Map<string, number>> {
    const dir = path.dirname(this.file);
    try {
      const stat = await fsp.stat(dir);
      if (!stat.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    } catch (err) {
      throw ioError(this.file, 'use the directory of', err);
    }
    // The lock before anything else: a second process must neither read a file being replaced nor write it.
    this.lock ??= await FileLock.acquire(this.file, {
      staleMs: this.lockStaleMs,
      onCompromised: (error) => (this.lost = error),
    });
    try {
      return await this.read(dir);
    } catch (err) {
      const lock = this.lock;
      this.lock = undefined;
      await lock.close();
      throw err;
    }
  }

  private async read(dir: string): Promise<Map<string, number>> {
    await this.removeLeftovers(dir);
    let text: string;
    try {
      text = await fsp.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return new Map();
      throw ioError(this.file, 'read', err);
    }
    return new Map(Object.entries(parse(text, this.file)));
  }

  /** Temp files of an interrupted write are never read as a whole file: they are removed. */
  private async removeLeftovers(dir: string): Promise<void> {
    const prefix = tempPrefix(this.file);
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch {
      return;
    }
    await Promise.all(names.filter((n) => n.startsWith(prefix)).map((n) => fsp.rm(path.join(dir, n), { force: true })));
  }

  private scheduleWrite(): Promise<void> {
    // Writes are serial and coalesced: an update made while a write runs is carried by the next one.
    this.pendingWrite ??= this.lastWrite.then(async () => {
      this.pendingWrite = undefined;
      const durable = this.durable ?? new Map<string, number>();
      const next = new Map(durable);
      // Resets first (they replace the position), then what moved forward since (the new sequence's positions).
      const reset = new Map(this.resets);
      for (const [topic, position] of reset) next.set(topic, position);
      const carried = new Map(this.wanted);
      for (const [topic, position] of carried) if (position > (next.get(topic) ?? 0)) next.set(topic, position);
      await this.write(Object.fromEntries(next));
      // Only now, after the durable write, is the new state the store's (a failure above leaves `wanted` as is).
      this.durable = next;
      for (const [topic, position] of reset) if (this.resets.get(topic) === position) this.resets.delete(topic);
      for (const [topic, position] of carried) if (this.wanted.get(topic) === position) this.wanted.delete(topic);
    });
    const write = this.pendingWrite;
    this.lastWrite = write.catch(() => undefined);
    return write;
  }

  private async write(positions: Record<string, number>): Promise<void> {
    if (this.lost !== undefined) throw this.lost;
    if (this.lock === undefined) throw new WatchError('STATE_IO', `position file ${this.file}: the store was closed`);
    const body: PositionFile = { format: FORMAT, version: VERSION, positions, checksum: checksum(positions) };
    try {
      await writeFileDurably(this.file, `${JSON.stringify(body)}\n`, writeHookOf(this));
    } catch (err) {
      throw err instanceof WatchError ? err : ioError(this.file, 'write', err);
    }
  }
}

function parse(text: string, file: string): Record<string, number> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw corrupt(
      file,
      text.length === 0 ? 'is empty (a truncated write?)' : 'is not valid JSON (truncated or garbled)',
    );
  }
  const body = data as Partial<PositionFile> | null;
  if (typeof body !== 'object' || body === null || body.format !== FORMAT)
    throw corrupt(file, 'is not a watch-manager position file');
  if (body.version !== VERSION)
    throw corrupt(file, `has format version ${String(body.version)}; this SDK reads version ${VERSION}`);
  const positions = body.positions;
  if (typeof positions !== 'object' || positions === null || Array.isArray(positions))
    throw corrupt(file, 'has no positions');
  for (const [topic, position] of Object.entries(positions)) {
    if (!Number.isSafeInteger(position) || position < 0) throw corrupt(file, `has an invalid position for ${topic}`);
  }
  if (body.checksum !== checksum(positions)) throw corrupt(file, 'fails its checksum');
  return positions;
}
