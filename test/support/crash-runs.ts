import { spawn } from 'node:child_process';
import path from 'node:path';
import { endsWithParent } from './watchdog';

/**
 * The crash consumer (test/fixtures/crash-consumer.ts) as a child process, and the audit of its runs across SIGKILLs:
 * shared by the crash test and `npm run soak` (scripts/soak.ts). No harness import: the soak is not a test file.
 *
 * The consumer writes each event's sequence id to stdout and acknowledges the event only once the write is done. A
 * finished write sits in the pipe, which outlives the consumer: what the parent reads after a SIGKILL is everything
 * the consumer handled, and its stored position ({@link FileSequenceStore}) is what it had acknowledged durably.
 */

/** Where the consumer connects (a FakeWatchService has these). */
export interface ConsumerTarget {
  target: string;
  historyUrl: string;
  tenantId: string;
}

/** One run of the consumer as its parent saw it. */
export interface ConsumerRun {
  /** The sequence ids it printed, whole lines only (a line torn by a kill was never acknowledged). */
  printed: number[];
  code: number | null;
  /** What it wrote to stderr. */
  stderr: string;
}

export interface CrashConsumer {
  /** Resolves when the process has ended and its output is all read. */
  done: Promise<ConsumerRun>;
  /** Resolves at its first printed event (or when it ends without one). */
  firstEvent: Promise<void>;
  kill(): void;
}

/**
 * Starts the consumer on `topic`, its position in the file `state`; with `until`, it closes cleanly (exit 0) once it
 * printed that sequence id. The process ends with its parent (see watchdog.ts).
 */
export function startCrashConsumer(
  service: ConsumerTarget,
  jwt: string,
  topic: string,
  state: string,
  until?: number,
): CrashConsumer {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    WM_TARGET: service.target,
    WM_HISTORY: service.historyUrl,
    WM_TENANT: service.tenantId,
    WM_TOKEN: jwt,
    WM_TOPIC: topic,
    WM_STATE: state,
  };
  if (until !== undefined) env.WM_UNTIL = String(until);
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(__dirname, '..', 'fixtures', 'crash-consumer.ts')],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const release = endsWithParent(child);
  let out = '';
  let err = '';
  let first!: () => void;
  const firstEvent = new Promise<void>((resolve) => (first = resolve));
  child.stdout.on('data', (d: Buffer) => {
    out += String(d);
    if (out.includes('\n')) first();
  });
  child.stderr.on('data', (d: Buffer) => (err += String(d)));
  const done = new Promise<ConsumerRun>((resolve) =>
    child.on('close', (code) => {
      release();
      first();
      const lines = out.split('\n');
      lines.pop();
      resolve({ printed: lines.map(Number), code, stderr: err });
    }),
  );
  return { done, firstEvent, kill: () => child.kill('SIGKILL') };
}

/** Rejects naming `what` when `promise` has not settled within `ms`: every wait on a consumer has a deadline. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** A run with the position its store held once it had ended. */
export interface AuditedRun {
  printed: readonly number[];
  /** The stored position after the run (the kill), read from the state file. */
  positionAfter: number;
}

/** What the runs of one topic whose ids are 1…newest add up to. */
export interface CrashAudit {
  /** Ids never printed by any run. */
  lost: number[];
  /** Prints of an id already printed before (each extra print counts once). */
  duplicates: number;
  /**
   * Per run, the events in flight when it ended: printed (handled) but not in the stored position, so handled again
   * by the next run. `highest printed so far - stored position`.
   */
  inFlight: number[];
  /**
   * Duplicates beyond what was in flight: an id printed again although the stored position already covered it when
   * the run started (the next run must resume right after the stored position), or twice in one run.
   */
  beyondInFlight: number;
  /** Each rule broken, in words (resume point, order, a position ahead of the output or going back). */
  problems: string[];
}

/**
 * Audits the runs of a crash-restart sequence, in order. The rules: each run starts right after the stored position
 * the previous one left (so a repeat can only be an event in flight at the kill), is gap-free and in order, and the
 * stored position never runs ahead of the output nor goes back.
 */
export function auditCrashRuns(runs: readonly AuditedRun[], newest: number): CrashAudit {
  const problems: string[] = [];
  const seen = new Set<number>();
  const inFlight: number[] = [];
  let duplicates = 0;
  let beyondInFlight = 0;
  let position = 0;
  let highest = 0;
  for (const [i, run] of runs.entries()) {
    const first = run.printed[0];
    if (first !== undefined && first !== position + 1)
      problems.push(`run ${i} resumed at ${first}, not right after the stored position ${position}`);
    const own = new Set<number>();
    run.printed.forEach((seq, j) => {
      if (j > 0 && seq !== (run.printed[j - 1] as number) + 1)
        problems.push(`run ${i} is not gap-free and in order: ${run.printed[j - 1]} then ${seq}`);
      if (seen.has(seq)) {
        duplicates += 1;
        if (seq <= position || own.has(seq)) beyondInFlight += 1;
      }
      seen.add(seq);
      own.add(seq);
      highest = Math.max(highest, seq);
    });
    if (run.positionAfter > highest)
      problems.push(`after run ${i} the stored position ${run.positionAfter} is ahead of the output (${highest})`);
    if (run.positionAfter < position)
      problems.push(`after run ${i} the stored position went back from ${position} to ${run.positionAfter}`);
    inFlight.push(Math.max(0, highest - run.positionAfter));
    position = run.positionAfter;
  }
  const lost: number[] = [];
  for (let seq = 1; seq <= newest; seq++) if (!seen.has(seq)) lost.push(seq);
  return { lost, duplicates, inFlight, beyondInFlight, problems };
}
