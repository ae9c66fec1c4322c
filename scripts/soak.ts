// `npm run soak`: the reliability goals measured in one long run (not part of `npm test`, ~10 minutes).
//
// The fake watch service runs here, hostile: history pages capped at 37 events, one request in five failing, streams
// ended by a "maximum connection age" every 700 events and aborted every few hundred published, repeated stream ids,
// and now and then subscriptions refused and history throttled with Retry-After. A consumer in a child process
// (test/fixtures/crash-consumer.ts: a WatchManager with a FileSequenceStore) handles the events; it is killed with
// SIGKILL at 50 random moments (during its start or catch-up, or while live) and started again on the same state
// file. Then one last run goes to the newest event and closes cleanly.
//
// Durable record: the consumer writes each event's id to its stdout (a pipe to this process) and acknowledges the
// event only once the write is done. A finished write is in the pipe, which outlives the consumer: the ids read here
// are every event it handled, kills included.
//
// Duplicates beyond what was in flight: when a consumer is killed, the events it handled but whose acknowledgement
// was not yet in the state file are "in flight": the next run resumes right after the stored position and handles
// them again (at most maxUnsavedAcks + 1 per kill). Any other repeat (an id handled again although the stored
// position covered it when the run started, or twice in one run) is a duplicate beyond what was in flight; so is a
// lost id. Either exits 1.
//
// Prints a line per kill, a breakdown, then the closing line:
//   SOAK events=… faults=… kills=… lost=0 duplicates=<repeats, all in flight> beyond_in_flight=0 seconds=…
// Environment: SOAK_EVENTS (default 100000), SOAK_KILLS (50), SOAK_SECONDS (the time the publishing is spread over,
// default 480), SOAK_SEED (1).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileSequenceStore } from '../src';
import { FakeWatchService, seededRandom, type HostileBehaviour } from '../src/testing';
import { auditCrashRuns, startCrashConsumer, within, type AuditedRun } from '../test/support/crash-runs';

const TOPIC = '/management/v1alpha1/watchtopics/soak';
const EVENTS = Number(process.env.SOAK_EVENTS ?? 100_000);
const KILLS = Number(process.env.SOAK_KILLS ?? 50);
const SECONDS = Number(process.env.SOAK_SECONDS ?? 480);
const SEED = Number(process.env.SOAK_SEED ?? 1);
/** No run may go this long without printing its first event: a stall is a failure, never a hang. */
const FIRST_EVENT_MS = 120_000;
/** The last run reads everything left; it must be done within this. */
const LAST_RUN_MS = 300_000;

const HOSTILE: HostileBehaviour = { pageCap: 37, repeatEvery: 50, abortAfterEvents: 700 };

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<number> {
  const started = performance.now();
  const random = seededRandom(SEED);
  const service = await FakeWatchService.start({ topics: [TOPIC], seed: SEED, pingIntervalMs: false });
  service.setHostile(HOSTILE);
  service.setHistoryFaults({ failRate: 0.2, delayMs: 1 });
  const jwt = await service.issueToken({ ttlMs: 24 * 3_600_000 });
  const dir = mkdtempSync(path.join(tmpdir(), 'wm-soak-'));
  const state = path.join(dir, 'positions.json');

  // Publishing spread over SECONDS, in batches; a stream abort every 200–600 events.
  let published = 0;
  let nextAbort = 200 + Math.floor(random() * 400);
  let aborts = 0;
  const perTick = Math.max(1, Math.ceil(EVENTS / (SECONDS * 20)));
  const publisher = setInterval(() => {
    const n = Math.min(perTick, EVENTS - published);
    if (n > 0) service.publishMany(TOPIC, n);
    published += n;
    nextAbort -= n;
    if (nextAbort <= 0) {
      aborts += service.abortStreams();
      nextAbort = 200 + Math.floor(random() * 400);
    }
  }, 50);
  // Every 20 s a short spell of refused subscriptions or throttled history (setHostile starts its counts afresh).
  const spells = setInterval(() => {
    service.setHostile(
      random() < 0.5
        ? { ...HOSTILE, refuseSubscriptions: 3 }
        : { ...HOSTILE, retryAfter: { status: 503, header: '0', count: 3 } },
    );
  }, 20_000);

  const runs: AuditedRun[] = [];
  const meanRunMs = Math.max(1_000, (SECONDS * 1_000) / KILLS - 3_500);
  try {
    for (let kill = 1; kill <= KILLS; kill++) {
      const consumer = startCrashConsumer(service, jwt, TOPIC, state);
      // One kill in four during the start (the lock, the catch-up); the others while it handles events.
      const early = random() < 0.25;
      if (early) await sleep(200 + Math.floor(random() * 2_500));
      else {
        await within(consumer.firstEvent, FIRST_EVENT_MS, `run ${kill}: the first event`);
        await sleep(Math.floor(random() * 2 * meanRunMs));
      }
      consumer.kill();
      const run = await within(consumer.done, 30_000, `run ${kill}: the end after SIGKILL`);
      const positionAfter = (await FileSequenceStore.read(state))[TOPIC] ?? 0;
      runs.push({ printed: run.printed, positionAfter });
      process.stdout.write(
        `kill ${kill}${early ? ' (early)' : ''}: printed ${run.printed.length}, position ${positionAfter}, published ${published}\n`,
      );
    }
  } finally {
    clearInterval(publisher);
    clearInterval(spells);
  }
  if (published < EVENTS) service.publishMany(TOPIC, EVENTS - published);
  service.setHostile(HOSTILE);
  const newest = service.topic(TOPIC)?.newestSequenceId ?? 0;
  const last = await within(
    startCrashConsumer(service, jwt, TOPIC, state, newest).done,
    LAST_RUN_MS,
    'the last run to the newest event',
  );
  runs.push({ printed: last.printed, positionAfter: (await FileSequenceStore.read(state))[TOPIC] ?? 0 });
  const counters = service.counters;
  const history = service.historyCounters;
  await service.stop();
  rmSync(dir, { recursive: true, force: true });

  const audit = auditCrashRuns(runs, newest);
  const faults =
    aborts + counters.abortedAfterEvents + counters.refusedSubscriptions + history.failuresInjected + history.throttled;
  process.stdout.write(
    `faults: stream aborts ${aborts}, max connection age ${counters.abortedAfterEvents}, subscriptions refused ` +
      `${counters.refusedSubscriptions}, history failures ${history.failuresInjected}, history throttled ` +
      `${history.throttled}; stream repeats ${counters.repeated}; history requests ${history.requests}; ` +
      `in flight per kill: ${audit.inFlight.slice(0, -1).join(',')}; last run exit ${last.code}\n`,
  );
  for (const problem of audit.problems.slice(0, 20)) process.stdout.write(`problem: ${problem}\n`);
  if (audit.lost.length > 0) process.stdout.write(`lost: ${audit.lost.slice(0, 20).join(',')}…\n`);
  process.stdout.write(
    `SOAK events=${newest} faults=${faults} kills=${runs.length - 1} lost=${audit.lost.length} ` +
      `duplicates=${audit.duplicates} beyond_in_flight=${audit.beyondInFlight} ` +
      `seconds=${((performance.now() - started) / 1_000).toFixed(0)}\n`,
  );
  const clean = audit.lost.length === 0 && audit.beyondInFlight === 0 && audit.problems.length === 0 && last.code === 0;
  return clean ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`soak: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
