import { after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { Writable } from 'node:stream';
import winston from 'winston';
import { FakeWatchService, type FakeWatchServiceOptions } from '../../src/testing';
import type { IssueTokenOptions } from '../../src/testing';
import type { Logger, WatchManagerOptions } from '../../src';

/**
 * Where each test file of one `npm test` run leaves what it captured, for the suite-wide scan
 * (zz-suite-secret-scan.test.ts, run last): one directory per test-runner process, the parent of every file's.
 */
export function suiteScanDir(runnerPid = process.ppid): string {
  return path.join(tmpdir(), 'watch-manager-secret-scan', String(runnerPid));
}

/**
 * One line of a test file's report (`<file>.jsonl` in {@link suiteScanDir}): first `{ file, at }`, then each captured
 * line (`l`) and secret (`s`) as it comes, and `{ end }` when the process exits normally.
 */
type ReportLine = { file: string; at: number } | { l: string } | { s: string } | { end: number };

/**
 * The report is written as the file runs, each line at once (a synchronous write), not at exit: a file the runner
 * kills for running past its time (a signal, with no `exit` handler run) still leaves everything it captured up to
 * the kill, so the suite-wide scan covers it too, and tells a killed file from one that never ran. Only a test
 * file's own process reports: a fixture that imports the harness is not one.
 */
const report: ((line: ReportLine) => void) | undefined = (() => {
  const file = path.basename(process.argv[1] ?? '');
  // The scan itself reports nothing: it reads and removes this run's reports.
  if (!file.endsWith('.test.ts') || file.startsWith('zz-suite-secret-scan')) return undefined;
  const dir = suiteScanDir();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const fd = openSync(path.join(dir, `${file}.jsonl`), 'w', 0o600);
  const write = (line: ReportLine): void => void writeSync(fd, `${JSON.stringify(line)}\n`);
  write({ file, at: Date.now() });
  process.on('exit', () => write({ end: Date.now() }));
  return write;
})();

/** A test file's report (support/harness.ts): what it captured and used, and whether it ran to its end. */
export interface Report {
  file: string;
  captured: string[];
  secrets: string[];
  /** False for a file that did not exit normally: the runner killed it (past its time), or it crashed. */
  ended: boolean;
  /** When it last wrote. */
  writtenAt: number;
}

export function readReport(file: string): Report {
  const report: Report = { file: '', captured: [], secrets: [], ended: false, writtenAt: statSync(file).mtimeMs };
  for (const text of readFileSync(file, 'utf8').split('\n')) {
    if (text === '') continue;
    let line: ReportLine;
    try {
      line = JSON.parse(text) as ReportLine;
    } catch {
      continue; // a line torn by a kill: its text never reached the file whole
    }
    if ('file' in line) report.file = line.file;
    else if ('l' in line) report.captured.push(line.l);
    else if ('s' in line) report.secrets.push(line.s);
    else report.ended = true;
  }
  return report;
}

/** The captured lines: an array whose `push` also writes each line to the report. */
class CapturedLines extends Array<string> {
  // slice(), filter()… give plain arrays (a copy is not the record).
  static override get [Symbol.species](): ArrayConstructor {
    return Array;
  }
  override push(...lines: string[]): number {
    for (const line of lines) report?.({ l: line });
    return super.push(...lines);
  }
}

/** A set of secrets whose `add` also writes each new one to the report. */
class SecretSet extends Set<string> {
  override add(value: string): this {
    if (!this.has(value)) report?.({ s: value });
    return super.add(value);
  }
}

/**
 * Shared test harness. Every log line any test's SDK writes and every error a test sees is captured here, and each
 * test file that calls {@link scanForSecrets} fails if a token or password it used appears in any of them.
 */
export const captured: string[] = new CapturedLines();
const secrets: Set<string> = new SecretSet();

// Everything written to stderr is captured too: default loggers, warnings, anything a library prints.
const writeStderr = process.stderr.write.bind(process.stderr);
process.stderr.write = (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
  captured.push(String(chunk));
  return (writeStderr as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
};

/** A winston logger that keeps every line (debug and up) in {@link captured}. */
export function captureLogger(): winston.Logger {
  const sink = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      captured.push(String(chunk));
      done();
    },
  });
  return winston.createLogger({
    level: 'debug',
    format: winston.format.json(),
    transports: [new winston.transports.Stream({ stream: sink })],
  });
}

/** A writable stream that keeps what is written (`text`) and hands it to the secret scan: a CLI's stdout or stderr. */
export class Capture extends Writable {
  text = '';
  constructor(readonly isTTY = false) {
    super();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += String(chunk);
    captured.push(String(chunk));
    done();
  }
}

/** Keeps an error (message, cause chain, inspect output) for the secret scan, and returns it. */
export function recordError<T>(err: T): T {
  captured.push(inspect(err, { depth: 6 }));
  let cause: unknown = err;
  for (let i = 0; i < 6 && cause instanceof Error; i++) {
    captured.push(`${cause.message}\n${cause.stack ?? ''}`);
    cause = (cause as { cause?: unknown }).cause;
  }
  return err;
}

/** Registers a secret the scan looks for. */
export function secret(value: string): string {
  secrets.add(value);
  return value;
}

/** The first captured line that contains one of `values`, if any. */
export function findLeak(lines: readonly string[], values: Iterable<string>): string | undefined {
  for (const value of values) {
    const hit = lines.find((line) => line.includes(value));
    if (hit !== undefined) return hit;
  }
  return undefined;
}

/** Adds an `after` hook: no secret used by this file may appear in anything captured. */
export function scanForSecrets(): void {
  after(() => {
    const hit = findLeak(captured, secrets);
    // Only the start of the line is shown: the line itself holds the secret.
    assert.equal(hit, undefined, `a secret appeared in captured output: ${hit?.slice(0, 30)}…`);
  });
}

/** Starts a fake service on loopback; stopped by the caller. */
export function startService(options: FakeWatchServiceOptions = {}): Promise<FakeWatchService> {
  return FakeWatchService.start({ pingIntervalMs: false, ...options });
}

/** Issues a token and registers it with the scan. */
export async function token(service: FakeWatchService, options: IssueTokenOptions = {}): Promise<string> {
  return secret(await service.issueToken(options));
}

export const TOPIC = '/management/v1alpha1/watchtopics/demo';

/** watch-tail's flags that point it at `service` with the token in `tokenFile` (the fake serves plaintext). */
export function cliArgs(service: FakeWatchService, tokenFile: string): string[] {
  return [
    '--target',
    service.target,
    '--history-url',
    service.historyUrl,
    '--tenant',
    service.tenantId,
    '--token-file',
    tokenFile,
    '--insecure',
  ];
}

/** Polls `check` every `everyMs` until it holds; fails naming `what` after `ms` (for state a test cannot await: child
 * processes' lines, a database's view). */
export async function until(what: string, check: () => boolean, ms = 20_000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** A logger that drops every line, for tests whose assertions are elsewhere (secrets are still scanned in errors). */
export const quietLogger: Logger = {
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
};

/** What points a manager at `service` with `jwt` (plaintext: the fake service serves no TLS). */
export function serviceOptions(
  service: FakeWatchService,
  jwt: string,
): Pick<WatchManagerOptions, 'target' | 'historyUrl' | 'tenantId' | 'getToken' | 'tls'> {
  return {
    target: service.target,
    historyUrl: service.historyUrl,
    tenantId: service.tenantId,
    getToken: () => jwt,
    tls: false,
  };
}
