import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileSequenceStore } from 'watch-manager';
import { seededRandom, type FakeWatchService } from 'watch-manager/testing';
import { TOPIC, captured, scanForSecrets, startService, token } from './support/harness';

scanForSecrets();

interface Run {
  printed: number[];
  code: number | null;
}

/** Starts the crash consumer; `kill(ms)` SIGKILLs it that long after its first printed event. */
function startConsumer(
  service: FakeWatchService,
  jwt: string,
  state: string,
  until?: number,
): { done: Promise<Run>; firstEvent: Promise<void>; kill: () => void } {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    WM_TARGET: service.target,
    WM_HISTORY: service.historyUrl,
    WM_TENANT: service.tenantId,
    WM_TOKEN: jwt,
    WM_TOPIC: TOPIC,
    WM_STATE: state,
  };
  if (until !== undefined) env.WM_UNTIL = String(until);
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'fixtures', 'crash-consumer.ts')], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let first!: () => void;
  const firstEvent = new Promise<void>((resolve) => (first = resolve));
  child.stdout.on('data', (d: Buffer) => {
    out += String(d);
    if (out.includes('\n')) first();
  });
  child.stderr.on('data', (d: Buffer) => (err += String(d)));
  const done = new Promise<Run>((resolve) =>
    child.on('close', (code) => {
      captured.push(err);
      first();
      // Only whole lines count: a line torn by the kill was not fully written, so it was never acknowledged.
      const lines = out.split('\n');
      lines.pop();
      resolve({ printed: lines.map(Number), code });
    }),
  );
  return { done, firstEvent, kill: () => child.kill('SIGKILL') };
}

describe('crash safety', { timeout: 120_000 }, () => {
  it('SIGKILL at 10 random moments: nothing missing across restarts, repeats only of events in flight', async (t) => {
    const service = await startService();
    const jwt = await token(service);
    const state = path.join(mkdtempSync(path.join(tmpdir(), 'wm-crash-')), 'positions.json');
    const random = seededRandom(7);
    const publisher = setInterval(() => service.publishMany(TOPIC, 5), 5);
    const runs: Array<Run & { positionAtKill: number }> = [];
    for (let k = 0; k < 10; k++) {
      const consumer = startConsumer(service, jwt, state);
      await consumer.firstEvent;
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.floor(random() * 300)));
      consumer.kill();
      const run = await consumer.done;
      runs.push({ ...run, positionAtKill: (await FileSequenceStore.read(state))[TOPIC] ?? 0 });
    }
    clearInterval(publisher);
    const last = service.topic(TOPIC)?.newestSequenceId ?? 0;
    const final = await startConsumer(service, jwt, state, last).done;
    assert.equal(final.code, 0);
    runs.push({ ...final, positionAtKill: last });
    await service.stop();

    let expectedNext = 1;
    let repeats = 0;
    for (const [i, run] of runs.entries()) {
      const previous = runs[i - 1];
      const resumeAfter = previous?.positionAtKill ?? 0;
      assert.equal(run.printed[0], resumeAfter + 1, `run ${i} resumes right after the stored position ${resumeAfter}`);
      run.printed.forEach((seq, j) =>
        assert.ok(j === 0 || seq === (run.printed[j - 1] as number) + 1, `run ${i} is gap-free and in order`),
      );
      // A repeat is an event printed before the kill but not yet durably acknowledged: in flight at the kill.
      const lastBefore = previous?.printed.at(-1) ?? 0;
      assert.ok(resumeAfter <= lastBefore, 'the stored position never runs ahead of the output');
      repeats += Math.max(0, lastBefore - resumeAfter);
      // Bounded by maxUnsavedAcks (default 100) plus the event whose handler had just finished.
      assert.ok(lastBefore - resumeAfter <= 101, `at most 101 repeats after kill ${i}: ${lastBefore - resumeAfter}`);
      assert.ok(run.printed[0] <= expectedNext, `nothing skipped before run ${i}`);
      expectedNext = Math.max(expectedNext, (run.printed.at(-1) ?? 0) + 1);
    }
    assert.equal(expectedNext, last + 1, 'every published event was printed');
    t.diagnostic(
      `crash: ${last} events, 10 kills, ${repeats} repeated (in flight at a kill), per kill: ${runs
        .slice(0, -1)
        .map((r, i) => (r.printed.at(-1) ?? 0) - (runs[i]?.positionAtKill ?? 0))
        .join(',')}`,
    );
  });
});
