import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { writeFileDurably, tempPrefix, type WriteStep } from './durable-file';
import { WatchError } from './errors';

/**
 * Where the acknowledged position of each topic is kept (the reference SDK's `GetSequence`/`SetSequence`, per
 * topic). A position is the sequence id of the last event whose handler finished; delivery resumes after it.
 * Either method may be synchronous or return a promise. `setSequence` is only ever called with a larger value.
 */
export interface SequenceProvider {
  /** The stored position of `topic`, or undefined when none is stored. */
  getSequence(topic: string): number | undefined | Promise<number | undefined>;
  /** Stores `sequenceId` as the position of `topic`; a returned promise resolves when it is durable. */
  setSequence(topic: string, sequenceId: number): void | Promise<void>;
}

/** Keeps positions in memory: a restart starts over from `from`. The default provider. */
export class MemorySequenceStore implements SequenceProvider {
  private readonly positions = new Map<string, number>();

  getSequence(topic: string): number | undefined {
    return this.positions.get(topic);
  }

  setSequence(topic: string, sequenceId: number): void {
    if (sequenceId > (this.positions.get(topic) ?? 0)) this.positions.set(topic, sequenceId);
  }
}

export type { WriteStep };

/** Options of {@link FileSequenceStore}. */
export interface FileSequenceStoreOptions {
  /** Called before each step of every write; a throw there interrupts the write as a crash would. Tests only. */
  beforeStep?: (step: WriteStep) => void | Promise<void>;
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
  const canonical = JSON.stringify(Object.keys(positions).sort().map((k) => [k, positions[k]]));
  return `sha256:${createHash('sha256').update(canonical).digest('hex')}`;
}

function corrupt(file: string, problem: string): WatchError {
  return new WatchError('STATE_CORRUPT', `position file ${file} ${problem}; refusing to guess a position (move it aside to start over)`);
}

function ioError(file: string, action: string, err: unknown): WatchError {
  const code = (err as { code?: string }).code ?? 'error';
  return new WatchError('STATE_IO', `cannot ${action} position file ${file} (${code})`, { cause: err });
}

/**
 * Positions of many topics in one JSON file, written crash-safe: every write is a whole new version or nothing
 * (temp file with mode 0600, fsync, rename over the old one, fsync of the directory — `write-file-atomic` skips the
 * last step, FACTS.md). The file carries a format version and a checksum, and one that is truncated, garbled, of
 * another version or fails its checksum is `STATE_CORRUPT`, never taken as "no position": that would silently
 * replay or skip everything. A missing file is a first run; a missing directory is `STATE_IO`.
 *
 * One process per file: concurrent writers from several processes are not coordinated.
 */
export class FileSequenceStore implements SequenceProvider {
  /** The position file's path. */
  readonly file: string;
  private positions: Map<string, number> | undefined;
  private loading: Promise<Map<string, number>> | undefined;
  private pendingWrite: Promise<void> | undefined;
  private lastWrite: Promise<void> = Promise.resolve();

  constructor(file: string, private readonly options: FileSequenceStoreOptions = {}) {
    if (typeof file !== 'string' || file === '') throw new WatchError('INVALID_CONFIG', "invalid argument 'file': must be a path");
    this.file = path.resolve(file);
  }

  async getSequence(topic: string): Promise<number | undefined> {
    return (await this.load()).get(topic);
  }

  /** Records `sequenceId` for `topic` (ignored unless larger) and resolves once a write holding it is durable. */
  async setSequence(topic: string, sequenceId: number): Promise<void> {
    if (!Number.isSafeInteger(sequenceId) || sequenceId < 0) {
      throw new WatchError('INVALID_CONFIG', `invalid sequence id ${String(sequenceId)} for ${topic}`);
    }
    const positions = await this.load();
    if (sequenceId <= (positions.get(topic) ?? 0)) return this.lastWrite;
    positions.set(topic, sequenceId);
    return this.scheduleWrite();
  }

  /** Every position now known, for tools and tests. */
  async all(): Promise<Record<string, number>> {
    return Object.fromEntries(await this.load());
  }

  private load(): Promise<Map<string, number>> {
    if (this.positions !== undefined) return Promise.resolve(this.positions);
    this.loading ??= this.read().then(
      (map) => (this.positions = map),
      (err: unknown) => {
        this.loading = undefined; // a later call may try again (the directory may appear)
        throw err;
      },
    );
    return this.loading;
  }

  private async read(): Promise<Map<string, number>> {
    const dir = path.dirname(this.file);
    try {
      const stat = await fsp.stat(dir);
      if (!stat.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    } catch (err) {
      throw ioError(this.file, 'use the directory of', err);
    }
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
    this.pendingWrite ??= this.lastWrite.then(() => {
      this.pendingWrite = undefined;
      return this.write(Object.fromEntries(this.positions ?? []));
    });
    const write = this.pendingWrite;
    this.lastWrite = write.catch(() => undefined);
    return write;
  }

  private async write(positions: Record<string, number>): Promise<void> {
    const body: PositionFile = { format: FORMAT, version: VERSION, positions, checksum: checksum(positions) };
    try {
      await writeFileDurably(this.file, `${JSON.stringify(body)}\n`, this.options.beforeStep);
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
    throw corrupt(file, text.length === 0 ? 'is empty (a truncated write?)' : 'is not valid JSON (truncated or garbled)');
  }
  const body = data as Partial<PositionFile> | null;
  if (typeof body !== 'object' || body === null || body.format !== FORMAT) throw corrupt(file, 'is not a watch-manager position file');
  if (body.version !== VERSION) throw corrupt(file, `has format version ${String(body.version)}; this SDK reads version ${VERSION}`);
  const positions = body.positions;
  if (typeof positions !== 'object' || positions === null || Array.isArray(positions)) throw corrupt(file, 'has no positions');
  for (const [topic, seq] of Object.entries(positions)) {
    if (!Number.isSafeInteger(seq) || (seq as number) < 0) throw corrupt(file, `has an invalid position for ${topic}`);
  }
  if (body.checksum !== checksum(positions)) throw corrupt(file, 'fails its checksum');
  return positions;
}
