import { promises as fsp } from 'node:fs';
import path from 'node:path';

/** The steps of one durable write, named so that a test can interrupt the write at each of them. */
export type WriteStep = 'open' | 'write' | 'sync' | 'rename' | 'sync-dir';

/** Called before each step of a durable write; a throw there interrupts the write as a crash would. */
export type WriteStepHook = (step: WriteStep) => void | Promise<void>;

let tempSeq = 0;

/** Crash tests' hooks, per writer (a store, a spool): internal, so that no test-only option is public API. */
const hooks = new WeakMap<object, WriteStepHook>();

/** Makes every durable write of `writer` call `hook` before each step. For crash tests; not exported publicly. */
export function interceptWrites(writer: object, hook: WriteStepHook): void {
  hooks.set(writer, hook);
}

/** The hook {@link interceptWrites} set for `writer`, if any. */
export function writeHookOf(writer: object): WriteStepHook | undefined {
  return hooks.get(writer);
}

/** The name prefix of the temp files of writes to `file`: what a crash can leave behind. */
export function tempPrefix(file: string): string {
  return `${path.basename(file)}.tmp-`;
}

/**
 * Replaces `file` with `text` (one string, or its parts in order: a text too long for one string) so that a crash at
 * any moment leaves either the old file or the new one, whole: write a temp file (mode 0600) beside it, fsync it,
 * rename it over `file`, fsync the directory (the step `write-file-atomic` leaves out, docs/facts.md#durable-replace).
 * `beforeStep` lets a test interrupt each step as a crash would. On a failure before the rename the temp file is
 * removed; the error is rethrown as it is.
 */
export async function writeFileDurably(
  file: string,
  text: string | readonly string[],
  beforeStep?: (step: WriteStep) => void | Promise<void>,
  io: DurableIo = fsp,
): Promise<void> {
  const temp = path.join(path.dirname(file), `${tempPrefix(file)}${process.pid}-${++tempSeq}`);
  const step = async (name: WriteStep): Promise<void> => beforeStep?.(name);
  let handle: DurableHandle | undefined;
  try {
    await step('open');
    handle = await io.open(temp, 'wx', 0o600);
    await step('write');
    for (const part of typeof text === 'string' ? [text] : text) await handle.writeFile(part);
    await step('sync');
    await handle.sync();
    await handle.close();
    handle = undefined;
    await step('rename');
    await io.rename(temp, file);
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await io.rm(temp, { force: true }).catch(() => undefined);
    throw err;
  }
  await step('sync-dir');
  await syncDirectory(path.dirname(file), io);
}

/** fsyncs a directory, so that a rename or an unlink in it survives a crash. */
export async function syncDirectory(dir: string, io: DurableIo = fsp): Promise<void> {
  const handle = await io.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The file handle operations a durable write uses. */
export interface DurableHandle {
  writeFile(data: string): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The file system operations a durable write uses: `fs.promises` by default. Injectable so that a test can record
 * the real calls in order (each still reaches the real file system) and prove the fsyncs and their order.
 */
export interface DurableIo {
  open(file: string, flags: string, mode?: number): Promise<DurableHandle>;
  rename(from: string, to: string): Promise<void>;
  rm(file: string, options: { force: boolean }): Promise<void>;
}
