import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Resource } from '../core/resource';
import { WatchError } from '../core/errors';
import { checkKeys, count, duration, isRecord } from '../core/option-checks';
import { syncDirectory, writeFileDurably, writeHookOf } from './durable-file';
import { FileLock } from './file-lock';
import type { ResourceStore, StoredCache, StoredChange } from './resource-store';

/** Options of {@link FileResourceStore}. */
export interface FileResourceStoreOptions {
  /** The directory holding every topic's files (created, mode 0700, when missing). One store process per directory. */
  directory: string;
  /**
   * A topic's log is folded into a new snapshot once its records outgrow this many bytes. The default keeps the
   * bytes written per change proportional to the change: a snapshot is rewritten only after at least as many bytes of
   * records were appended.
   * @default max(4 MiB, the size of the topic's snapshot)
   */
  compactAfterBytes?: number;
  /**
   * Each `apply` resolves once its record is on disk (fsync). `false` leaves that to the operating system: a power
   * loss may then lose the latest records (never tear the store: what loads is still a state the store was in).
   * Snapshots are always written durably.
   * @default true
   */
  fsync?: boolean;
  /**
   * The store holds an exclusive lock on the directory for its life (from its first use to
   * {@link FileResourceStore.close}); a holder that crashed stops refreshing it and is taken over once it was not
   * refreshed for this long (at least 2000). A live holder is never waited for: `STATE_LOCKED` at once.
   * @default 10000
   */
  lockStaleMs?: number;
}

/** The defaults of {@link FileResourceStoreOptions} that are one value; each field's `@default` says the same. */
export const FILE_RESOURCE_STORE_DEFAULTS = {
  fsync: true,
  lockStaleMs: 10_000,
} as const satisfies { readonly [K in keyof FileResourceStoreOptions]?: unknown };

const SNAPSHOT_FORMAT = 'watch-manager.resources';
const LOG_FORMAT = 'watch-manager.resource-log';
const VERSION = 1;
const MIN_COMPACT_BYTES = 4 * 1024 * 1024;
const CHUNK_CHARS = 4 * 1024 * 1024;
/** Snapshots up to this size are read with one JSON.parse; larger ones line by line (V8's strings end at ~512 MiB). */
const ONE_STRING_BYTES = 256 * 1024 * 1024;
const NEWLINE = 0x0a;
const SPACE = 0x20;

interface SnapshotHeader {
  format: string;
  version: number;
  topic: string;
  /** Random per snapshot: a log belongs to the snapshot whose generation its header names, and to no other. */
  generation: string;
  position: number;
  count: number;
  checksum: string;
}

interface LogHeader {
  format: string;
  version: number;
  topic: string;
  generation: string;
}

/** What the store knows of a topic it opened: where its log ends and which snapshot it follows. */
interface OpenTopic {
  generation: string;
  snapshotBytes: number;
  /** The log's append handle, or undefined when the log must be started anew (missing, or of an older snapshot). */
  log: fsp.FileHandle | undefined;
  /** Bytes of records in the log (its header left out). */
  recordBytes: number;
  /** The log's length up to its last whole record: where a failed append is cut back to. */
  logLength: number;
}

function checksum(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * The cache's store for restarts: each topic's resources and position in a directory, so that a restarted process
 * resumes from the stored position without listing again. Per topic (files named by a hash of the topic), a snapshot
 * (`<hash>.snapshot`: a header line with format version, topic, generation, position, count and checksum, then one
 * resource per line) and an append-only log (`<hash>.log`: a header naming the snapshot's generation, then one record
 * per `apply`: `<length> <checksum> {"position":…,"changes":[…]}`).
 *
 * - `apply` appends one record (and fsyncs it): its cost is the change, never a rewrite of the cache.
 * - `replace` writes a new snapshot (temp file, fsync, rename, fsync of the directory) and starts a new log.
 * - Once the log outgrows `compactAfterBytes`, the next `apply` folds it into a new snapshot, then starts a new log.
 * - Load: the snapshot, then the log's records if the log follows this very snapshot (its generation): a crash
 *   between writing a snapshot and starting its log leaves an older log that is ignored. A torn last record (a crash
 *   during an append) is dropped and cut off; a damaged record followed by others, a snapshot that fails its checksum
 *   or count, or a file of another format version is `STATE_CORRUPT`, never taken as "nothing stored".
 *
 * So a kill -9 at any point leaves a store that loads to the state before or after the write in progress. One process
 * per directory: the store holds a lock (`resources.lock`) from its first use until {@link close}; a second process
 * is refused with `STATE_LOCKED` naming the holder's pid.
 */
export class FileResourceStore implements ResourceStore {
  /** The store's directory (absolute). */
  readonly directory: string;
  private readonly compactAfterBytes: number | undefined;
  private readonly fsync: boolean;
  private readonly lockStaleMs: number;
  private readonly topics = new Map<string, OpenTopic>();
  /** Per topic, the operation in progress: operations of one topic run one after the other. */
  private readonly queues = new Map<string, Promise<unknown>>();
  private lock: FileLock | undefined;
  private locking: Promise<void> | undefined;
  /** Set when the lock was lost while held: every later operation fails with it. */
  private lost: WatchError | undefined;

  constructor(options: FileResourceStoreOptions) {
    if (!isRecord(options)) throw new WatchError('INVALID_CONFIG', "invalid argument 'options': must be an object");
    checkKeys(options, ['directory', 'compactAfterBytes', 'fsync', 'lockStaleMs'], 'options.', 'argument');
    if (typeof options.directory !== 'string' || options.directory === '')
      throw new WatchError('INVALID_CONFIG', "invalid argument 'options.directory': must be a path");
    if (options.fsync !== undefined && typeof options.fsync !== 'boolean')
      throw new WatchError('INVALID_CONFIG', "invalid argument 'options.fsync': must be a boolean");
    this.directory = path.resolve(options.directory);
    this.compactAfterBytes =
      options.compactAfterBytes === undefined
        ? undefined
        : count(options.compactAfterBytes, 'options.compactAfterBytes', 0, 1, Number.MAX_SAFE_INTEGER, 'argument');
    this.fsync = options.fsync ?? FILE_RESOURCE_STORE_DEFAULTS.fsync;
    this.lockStaleMs = duration(
      options.lockStaleMs,
      'options.lockStaleMs',
      FILE_RESOURCE_STORE_DEFAULTS.lockStaleMs,
      2_000,
      3_600_000,
      'argument',
    );
  }

  load(topic: string): Promise<StoredCache | undefined> {
    return this.serial(topic, async () => {
      const read = await this.read(topic);
      if (read === undefined) return undefined;
      return { position: read.position, resources: [...read.resources.values()] };
    });
  }

  replace(topic: string, resources: readonly Resource[], position: number): Promise<void> {
    checkPosition(topic, position);
    for (const resource of resources) checkResource(topic, resource);
    return this.serial(topic, async () => {
      await this.start();
      await this.writeSnapshot(topic, new Map(resources.map((r) => [r.metadata.selfLink, r])), position);
    });
  }

  apply(topic: string, changes: readonly StoredChange[], position: number): Promise<void> {
    checkPosition(topic, position);
    for (const change of changes) if (change.op === 'put') checkResource(topic, change.resource);
    return this.serial(topic, async () => {
      const open = this.topics.get(topic) ?? (await this.read(topic))?.open;
      if (open === undefined) {
        // Nothing stored yet: the changes on top of no resources are the topic's first snapshot.
        await this.writeSnapshot(topic, applyChanges(new Map(), changes), position);
        return;
      }
      await this.append(topic, open, `${JSON.stringify({ position, changes })}`);
      if (open.recordBytes > (this.compactAfterBytes ?? Math.max(MIN_COMPACT_BYTES, open.snapshotBytes))) {
        const read = await this.read(topic);
        if (read !== undefined) await this.writeSnapshot(topic, read.resources, read.position);
      }
    });
  }

  drop(topic: string): Promise<void> {
    return this.serial(topic, async () => {
      await this.start();
      await this.forget(topic);
      // The snapshot first: once it is gone nothing is stored, whatever happens to the log after.
      for (const file of [this.snapshotFile(topic), this.logFile(topic)]) {
        await fsp.rm(file, { force: true }).catch((err: unknown) => {
          throw ioError(file, 'remove', err);
        });
      }
      await syncDirectory(this.directory).catch((err: unknown) => {
        throw ioError(this.directory, 'sync', err);
      });
    });
  }

  /** Waits for the operations in progress, closes the logs and releases the lock; the next use takes it again. */
  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((queued) => queued.catch(() => undefined)));
    for (const topic of [...this.topics.keys()]) await this.forget(topic);
    await this.locking?.catch(() => undefined);
    const lock = this.lock;
    this.lock = undefined;
    this.locking = undefined;
    await lock?.close();
  }

  /** Runs `body` after the topic's operation in progress (whatever its outcome). */
  private serial<T>(topic: string, body: () => Promise<T>): Promise<T> {
    const run = (this.queues.get(topic) ?? Promise.resolve()).catch(() => undefined).then(body);
    const queued = run.catch(() => undefined);
    this.queues.set(topic, queued);
    void queued.then(() => {
      if (this.queues.get(topic) === queued) this.queues.delete(topic);
    });
    return run;
  }

  /** Takes the directory's lock (once) and removes what interrupted writes left behind. */
  private async start(): Promise<void> {
    if (this.lost !== undefined) throw this.lost;
    this.locking ??= (async () => {
      try {
        await fsp.mkdir(this.directory, { recursive: true, mode: 0o700 });
      } catch (err) {
        throw ioError(this.directory, 'create', err);
      }
      this.lock = await FileLock.acquire(path.join(this.directory, 'resources'), {
        staleMs: this.lockStaleMs,
        what: 'resource store',
        owner: 'FileResourceStore',
        onCompromised: (error) => {
          this.lost = error;
        },
      });
      const names = await fsp.readdir(this.directory).catch(() => []);
      await Promise.all(
        names
          .filter((n) => /\.(snapshot|log)\.tmp-/.test(n))
          .map((n) => fsp.rm(path.join(this.directory, n), { force: true })),
      );
    })();
    const locking = this.locking;
    try {
      await locking;
    } catch (err) {
      if (this.locking === locking) this.locking = undefined; // a refused lock is asked for again next time
      throw err;
    }
  }

  private fileBase(topic: string): string {
    return path.join(this.directory, checksum(topic).slice(0, 32));
  }

  private snapshotFile(topic: string): string {
    return `${this.fileBase(topic)}.snapshot`;
  }

  private logFile(topic: string): string {
    return `${this.fileBase(topic)}.log`;
  }

  private async forget(topic: string): Promise<void> {
    const open = this.topics.get(topic);
    this.topics.delete(topic);
    await open?.log?.close().catch(() => undefined);
  }

  /**
   * Writes `resources` at `position` as the topic's new snapshot, then starts its log: in this order, so that a crash
   * between the two leaves a log of the older generation, which load ignores.
   */
  private async writeSnapshot(topic: string, resources: Map<string, Resource>, position: number): Promise<void> {
    await this.forget(topic);
    // In parts of about CHUNK_CHARS: a cache of a few GB is more than one string can hold.
    const body: string[] = [];
    const hash = createHash('sha256');
    // A JSON array, one resource per line: one JSON.parse reads it back (the fast path), or line by line.
    let part = '[\n';
    let left = resources.size;
    for (const resource of resources.values()) {
      left -= 1;
      part += `${JSON.stringify(resource)}${left === 0 ? '' : ','}\n`;
      if (part.length < CHUNK_CHARS) continue;
      body.push(part);
      hash.update(part);
      part = '';
    }
    part += ']\n';
    body.push(part);
    hash.update(part);
    const generation = randomBytes(8).toString('hex');
    const header: SnapshotHeader = {
      format: SNAPSHOT_FORMAT,
      version: VERSION,
      topic,
      generation,
      position,
      count: resources.size,
      checksum: `sha256:${hash.digest('hex')}`,
    };
    const text = [`${JSON.stringify(header)}\n`, ...body];
    const file = this.snapshotFile(topic);
    await this.durably(file, text);
    const snapshotBytes = text.reduce((sum, t) => sum + Buffer.byteLength(t), 0);
    const logHeader = `${JSON.stringify({ format: LOG_FORMAT, version: VERSION, topic, generation } satisfies LogHeader)}\n`;
    const open: OpenTopic = { generation, snapshotBytes, log: undefined, recordBytes: 0, logLength: 0 };
    this.topics.set(topic, open);
    await this.startLog(topic, open, logHeader);
  }

  private async startLog(topic: string, open: OpenTopic, header: string): Promise<void> {
    const file = this.logFile(topic);
    await this.durably(file, header);
    try {
      open.log = await fsp.open(file, 'a', 0o600);
    } catch (err) {
      throw ioError(file, 'open', err);
    }
    open.logLength = Buffer.byteLength(header);
    open.recordBytes = 0;
  }

  private async durably(file: string, text: string | readonly string[]): Promise<void> {
    await this.start();
    try {
      await writeFileDurably(file, text, writeHookOf(this));
    } catch (err) {
      throw err instanceof WatchError ? err : ioError(file, 'write', err);
    }
  }

  /** Appends one record; a failed append is cut back off, so that the log never holds a torn record before others. */
  private async append(topic: string, open: OpenTopic, payload: string): Promise<void> {
    await this.start();
    const file = this.logFile(topic);
    if (open.log === undefined) {
      const header: LogHeader = { format: LOG_FORMAT, version: VERSION, topic, generation: open.generation };
      await this.startLog(topic, open, `${JSON.stringify(header)}\n`);
    }
    const log = open.log as fsp.FileHandle;
    const record = Buffer.from(`${Buffer.byteLength(payload)} ${checksum(payload).slice(0, 16)} ${payload}\n`);
    try {
      let written = 0;
      while (written < record.length) written += (await log.write(record, written)).bytesWritten;
      if (this.fsync) await log.datasync();
    } catch (err) {
      try {
        await log.truncate(open.logLength);
      } catch {
        await this.forget(topic); // unknown tail: the next write reads the log again (dropping a torn tail)
      }
      throw ioError(file, 'append to', err);
    }
    open.logLength += record.length;
    open.recordBytes += record.length;
  }

  /** Reads a topic's snapshot and log; remembers where the log ends (cutting off a torn last record). */
  private async read(
    topic: string,
  ): Promise<{ position: number; resources: Map<string, Resource>; open: OpenTopic } | undefined> {
    await this.start();
    await this.forget(topic);
    const snapshotFile = this.snapshotFile(topic);
    const snapshot = await readIfThere(snapshotFile);
    if (snapshot === undefined) return undefined;
    const { header, resources } = parseSnapshot(snapshot, snapshotFile, topic);
    const open: OpenTopic = {
      generation: header.generation,
      snapshotBytes: snapshot.length,
      log: undefined,
      recordBytes: 0,
      logLength: 0,
    };
    let position = header.position;
    const logFile = this.logFile(topic);
    const log = await readIfThere(logFile);
    const parsed = log === undefined ? undefined : parseLog(log, logFile, topic, header.generation);
    if (parsed !== undefined) {
      for (const record of parsed.records) {
        applyChanges(resources, record.changes);
        position = record.position;
      }
      if (parsed.validLength < (log as Buffer).length) await cutTornTail(logFile, parsed.validLength);
      try {
        open.log = await fsp.open(logFile, 'a', 0o600);
      } catch (err) {
        throw ioError(logFile, 'open', err);
      }
      open.logLength = parsed.validLength;
      open.recordBytes = parsed.validLength - parsed.headerLength;
    }
    this.topics.set(topic, open);
    return { position, resources, open };
  }
}

function applyChanges(resources: Map<string, Resource>, changes: readonly StoredChange[]): Map<string, Resource> {
  for (const change of changes) {
    if (change.op === 'put') resources.set(change.resource.metadata.selfLink, change.resource);
    else resources.delete(change.selfLink);
  }
  return resources;
}

function checkPosition(topic: string, position: number): void {
  if (!Number.isSafeInteger(position) || position < 0)
    throw new WatchError('INVALID_CONFIG', `invalid position ${String(position)} for ${topic}`);
}

function checkResource(topic: string, resource: Resource): void {
  if (!isRecord(resource) || !isRecord(resource.metadata) || typeof resource.metadata.selfLink !== 'string')
    throw new WatchError('INVALID_CONFIG', `a resource of ${topic} to store has no metadata.selfLink`);
}

async function readIfThere(file: string): Promise<Buffer | undefined> {
  try {
    return await fsp.readFile(file);
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return undefined;
    throw ioError(file, 'read', err);
  }
}

async function cutTornTail(file: string, length: number): Promise<void> {
  try {
    const handle = await fsp.open(file, 'r+');
    try {
      await handle.truncate(length);
      await handle.datasync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw ioError(file, 'cut the torn tail of', err);
  }
}

function parseHeaderLine(data: Buffer, file: string): { header: Record<string, unknown>; end: number } {
  const end = data.indexOf(NEWLINE);
  let header: unknown;
  try {
    header = JSON.parse(data.toString('utf8', 0, end === -1 ? data.length : end));
  } catch {
    header = undefined;
  }
  if (end === -1 || !isRecord(header)) throw corrupt(file, 'has no valid header (truncated or garbled)');
  return { header, end };
}

function parseSnapshot(
  data: Buffer,
  file: string,
  topic: string,
): { header: SnapshotHeader; resources: Map<string, Resource> } {
  const { header, end } = parseHeaderLine(data, file);
  if (header.format !== SNAPSHOT_FORMAT) throw corrupt(file, 'is not a watch-manager resource snapshot');
  if (header.version !== VERSION)
    throw corrupt(file, `has format version ${String(header.version)}; this SDK reads version ${VERSION}`);
  if (header.topic !== topic) throw corrupt(file, `holds topic ${String(header.topic)}, not ${topic}`);
  const position = header.position;
  if (!Number.isSafeInteger(position) || (position as number) < 0) throw corrupt(file, 'has an invalid position');
  if (typeof header.generation !== 'string' || !Number.isSafeInteger(header.count))
    throw corrupt(file, 'has an invalid header');
  const body = data.subarray(end + 1);
  if (header.checksum !== `sha256:${checksum(body)}`) throw corrupt(file, 'fails its checksum');
  const parsed = body.length <= ONE_STRING_BYTES ? parseJson(body.toString('utf8')) : parseLines(body);
  if (!Array.isArray(parsed)) throw corrupt(file, 'has no array of resources');
  const resources = new Map<string, Resource>();
  for (const [index, resource] of (parsed as unknown[]).entries()) {
    if (!isRecord(resource) || !isRecord(resource.metadata) || typeof resource.metadata.selfLink !== 'string')
      throw corrupt(file, `has an invalid resource on line ${index + 3}`);
    resources.set(resource.metadata.selfLink, resource as Resource);
  }
  if (parsed.length !== header.count || resources.size !== parsed.length)
    throw corrupt(file, `holds ${parsed.length} resources, its header says ${String(header.count)}`);
  return { header: header as unknown as SnapshotHeader, resources };
}

/** A snapshot's array read line by line (one resource per line), for a body more than one string can hold. */
export function parseLines(body: Buffer): unknown[] | undefined {
  const items: unknown[] = [];
  const last = body.length - 2; // where `]\n` starts
  if (body.toString('latin1', 0, 2) !== '[\n' || body.toString('latin1', last) !== ']\n') return undefined;
  for (let at = 2; at < last;) {
    const next = body.indexOf(NEWLINE, at);
    const stop = body[next - 1] === 0x2c ? next - 1 : next; // without the comma
    items.push(parseJson(body.toString('utf8', at, stop)));
    at = next + 1;
  }
  return items;
}

interface LogRecord {
  position: number;
  changes: StoredChange[];
}

/**
 * The records of a log that follows the snapshot of `generation`; undefined for a log of another (an older snapshot:
 * started anew at the next append). Reads up to the last whole record: a damaged record that is the last line is
 * a torn append, dropped (`validLength` ends before it); one followed by other lines is corruption.
 */
function parseLog(
  data: Buffer,
  file: string,
  topic: string,
  generation: string,
): { records: LogRecord[]; validLength: number; headerLength: number } | undefined {
  const { header, end } = parseHeaderLine(data, file);
  if (header.format !== LOG_FORMAT) throw corrupt(file, 'is not a watch-manager resource log');
  if (header.version !== VERSION)
    throw corrupt(file, `has format version ${String(header.version)}; this SDK reads version ${VERSION}`);
  if (header.topic !== topic) throw corrupt(file, `holds topic ${String(header.topic)}, not ${topic}`);
  if (header.generation !== generation) return undefined;
  const records: LogRecord[] = [];
  let at = end + 1;
  while (at < data.length) {
    const next = data.indexOf(NEWLINE, at);
    const record = next === -1 ? undefined : parseRecord(data.subarray(at, next));
    if (record === undefined) {
      if (next === -1 || next === data.length - 1) break; // the last line: a torn append
      throw corrupt(file, `has a damaged record at byte ${at}, followed by others`);
    }
    records.push(record);
    at = next + 1;
  }
  return { records, validLength: at, headerLength: end + 1 };
}

/** One record line (`<length> <checksum> <json>`), or undefined when it is damaged. */
function parseRecord(line: Buffer): LogRecord | undefined {
  const first = line.indexOf(SPACE);
  const second = line.indexOf(SPACE, first + 1);
  if (first <= 0 || second === -1) return undefined;
  const payload = line.subarray(second + 1);
  if (Number(line.toString('latin1', 0, first)) !== payload.length) return undefined;
  if (line.toString('latin1', first + 1, second) !== checksum(payload).slice(0, 16)) return undefined;
  const record = parseJson(payload.toString('utf8')) as Partial<LogRecord> | undefined;
  if (!isRecord(record) || !Number.isSafeInteger(record.position) || !Array.isArray(record.changes)) return undefined;
  return record as LogRecord;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function corrupt(file: string, problem: string): WatchError {
  return new WatchError(
    'STATE_CORRUPT',
    `resource store file ${file} ${problem}; refusing to guess the cache (move the directory aside to start over)`,
  );
}

function ioError(file: string, action: string, err: unknown): WatchError {
  const code = (err as { code?: string }).code ?? 'error';
  return new WatchError('STATE_IO', `cannot ${action} resource store file ${file} (${code})`, { cause: err });
}
