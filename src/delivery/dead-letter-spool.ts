import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { syncDirectory, writeFileDurably, writeHookOf } from '../state/durable-file';
import { WatchError } from '../core/errors';
import { redactSecrets } from '../logging/redact';
import type { WatchEvent } from '../core/types';

/** An event whose handler failed for good, set aside instead of stopping the watch. */
export interface DeadLetter {
  /** The entry's id (its file name, without directory). */
  id: string;
  /** The topic the event came from. */
  topic: string;
  /** The event, as the handler got it. */
  event: WatchEvent;
  /** The last error's message (scrubbed of secrets) and code, if it had one. */
  error: {
    /** The message, scrubbed of secrets. */
    message: string;
    /** The error's `code`, when it had one. */
    code?: string;
  };
  /** How many times the handler was tried. */
  attempts: number;
  /** When it was set aside, epoch ms. */
  failedAt: number;
}

const FORMAT = 'watch-manager.dead-letter';
const VERSION = 1;
const QUARANTINE = 'quarantine';
let setAside = 0;

function checksum(body: Omit<DeadLetter, 'id'>): string {
  return `sha256:${createHash('sha256')
    .update(JSON.stringify([body.topic, body.event, body.error, body.attempts, body.failedAt]))
    .digest('hex')}`;
}

function entryName(topic: string, sequenceId: number): string {
  const tag = createHash('sha256').update(topic).digest('hex').slice(0, 12);
  return `${tag}-${String(sequenceId).padStart(16, '0')}.json`;
}

/**
 * The dead-letter spool (`deadLetterDir`): one file per failed event, each written crash-safe (a partial file is
 * never taken for a whole one). On first use a recovery pass sets aside, in `quarantine/`, anything a crash left
 * behind that does not read back whole (temp files, torn or foreign files): never read, never deleted.
 */
export class DeadLetterSpool {
  private recovered: Promise<void> | undefined;

  /** @param dir The spool's directory (created on first use); one writer per directory. */
  constructor(readonly dir: string) {}

  /** Sets `event` aside with the error that failed it; resolves once the entry is durable. */
  async add(event: WatchEvent, error: unknown, attempts: number, failedAt: number): Promise<DeadLetter> {
    await this.recover();
    const cause = error instanceof Error ? error : new Error(String(error));
    const code = (cause as { code?: unknown }).code;
    const entry: Omit<DeadLetter, 'id'> = {
      topic: event.topic,
      event,
      error:
        typeof code === 'string'
          ? { message: redactSecrets(cause.message), code }
          : { message: redactSecrets(cause.message) },
      attempts,
      failedAt,
    };
    const id = entryName(event.topic, event.sequenceId);
    try {
      await writeFileDurably(
        path.join(this.dir, id),
        `${JSON.stringify({ format: FORMAT, version: VERSION, ...entry, checksum: checksum(entry) })}\n`,
        writeHookOf(this),
      );
    } catch (err) {
      throw new WatchError(
        'STATE_IO',
        `cannot write dead letter ${id} in ${this.dir} (${(err as { code?: string }).code ?? 'error'})`,
        { cause: err },
      );
    }
    return { id, ...entry };
  }

  /** Every whole entry, oldest sequence first per topic. */
  async list(): Promise<DeadLetter[]> {
    await this.recover();
    const out: DeadLetter[] = [];
    for (const name of (await this.names()).sort()) {
      const entry = await this.read(name);
      if (entry !== undefined) out.push(entry);
    }
    return out;
  }

  /** Removes an entry (after it was handled). */
  async remove(id: string): Promise<void> {
    if (!/^[0-9a-f]{12}-\d{16}\.json$/.test(id))
      throw new WatchError('INVALID_CONFIG', `invalid argument 'id': ${JSON.stringify(id)} is not a dead-letter id`);
    await fsp.rm(path.join(this.dir, id), { force: true });
    await syncDirectory(this.dir);
  }

  /**
   * Hands every entry to `handler` again, in order; each one it handles without throwing is removed. Resolves with
   * the counts; entries that fail again stay.
   */
  async redrive(handler: (event: WatchEvent, letter: DeadLetter) => void | Promise<void>): Promise<{
    /** Entries handled without a throw, and removed. */
    redriven: number;
    /** Entries whose handler threw; they stay in the spool. */
    failed: number;
  }> {
    let redriven = 0;
    let failed = 0;
    for (const letter of await this.list()) {
      try {
        await handler(letter.event, letter);
      } catch {
        failed += 1;
        continue;
      }
      await this.remove(letter.id);
      redriven += 1;
    }
    return { redriven, failed };
  }

  private async names(): Promise<string[]> {
    try {
      return (await fsp.readdir(this.dir)).filter((n) => n.endsWith('.json'));
    } catch (err) {
      throw new WatchError(
        'STATE_IO',
        `cannot read the dead-letter directory ${this.dir} (${(err as { code?: string }).code ?? 'error'})`,
        { cause: err },
      );
    }
  }

  private async read(name: string): Promise<DeadLetter | undefined> {
    try {
      const body = JSON.parse(await fsp.readFile(path.join(this.dir, name), 'utf8')) as Omit<DeadLetter, 'id'> & {
        format?: string;
        version?: number;
        checksum?: string;
      };
      const { format, version, checksum: sum, ...entry } = body;
      if (format !== FORMAT || version !== VERSION || sum !== checksum(entry)) return undefined;
      return { id: name, ...entry };
    } catch {
      return undefined;
    }
  }

  /** The crash-recovery pass, once: whatever does not read back whole is moved to `quarantine/`. */
  private recover(): Promise<void> {
    this.recovered ??= (async () => {
      try {
        await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
      } catch (err) {
        throw new WatchError('STATE_IO', `cannot create the dead-letter directory ${this.dir}`, { cause: err });
      }
      const all = await fsp.readdir(this.dir, { withFileTypes: true });
      const suspects: string[] = [];
      for (const e of all) {
        if (!e.isFile()) continue;
        if (!e.name.endsWith('.json') || (await this.read(e.name)) === undefined) suspects.push(e.name);
      }
      if (suspects.length === 0) return;
      const quarantine = path.join(this.dir, QUARANTINE);
      await fsp.mkdir(quarantine, { recursive: true, mode: 0o700 });
      for (const name of suspects)
        await fsp.rename(path.join(this.dir, name), path.join(quarantine, `${name}.${process.pid}-${++setAside}`));
      await syncDirectory(this.dir);
    })().catch((err: unknown) => {
      this.recovered = undefined;
      throw err;
    });
    return this.recovered;
  }
}
