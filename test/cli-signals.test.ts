import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileSequenceStore } from 'watch-manager';
import type { FakeWatchService } from 'watch-manager/testing';
import { captured, scanForSecrets, startService, token, cliArgs } from './support/harness';
import { endsWithParent } from './support/watchdog';

scanForSecrets();

const CLI = path.join(__dirname, '..', 'src', 'cli', 'watch-tail.ts');
const TOPIC = '/management/v1alpha1/watchtopics/signals';

interface Run {
  lines: () => Array<{ record: string; sequenceId?: number }>;
  signal: (name: NodeJS.Signals) => void;
  exited: Promise<number | null>;
}

/** Starts the real watch-tail binary; stdout is collected as JSON records. */
function start(args: string[]): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  endsWithParent(child);
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => captured.push(chunk));
  return {
    lines: () =>
      out
        .split('\n')
        .filter((l) => l.endsWith('}'))
        .map((l) => JSON.parse(l) as { record: string; sequenceId?: number }),
    signal: (name) => void child.kill(name),
    // 'close', not 'exit': only then has all of the child's output been read.
    exited: new Promise((resolve) => child.once('close', (code) => resolve(code))),
  };
}

describe('watch-tail and signals during a catch-up', { timeout: 90_000 }, () => {
  let service: FakeWatchService;
  let dir: string;
  let base: string[];
  before(async () => {
    service = await startService({ topics: [TOPIC] });
    service.publishMany(TOPIC, 20_000);
    // Slow pages: the catch-up is still running when the signal comes.
    service.setHistoryFaults({ delayMs: 40 });
    dir = mkdtempSync(path.join(tmpdir(), 'wm-signals-'));
    const file = path.join(dir, 'token');
    writeFileSync(file, await token(service, { ttlMs: 3_600_000 }));
    base = [...cliArgs(service, file), '--topic', TOPIC, '--json'];
  });
  after(async () => {
    await service.stop();
  });

  const written = (run: Run): number[] =>
    run
      .lines()
      .filter((r) => r.record === 'event')
      .map((r) => r.sequenceId as number);

  it('SIGINT: stops intake, saves the state file and exits 0; the file holds exactly the last record written', async () => {
    const state = path.join(dir, 'sigint.json');
    const run = start([...base, '--state-file', state, '--from', 'beginning']);
    await service.waitFor(() => written(run).length >= 1_000, 20_000, '1,000 records of the catch-up');
    run.signal('SIGINT');
    assert.equal(await run.exited, 0);
    const seen = written(run);
    assert.ok(seen.length < 20_000, `interrupted during the catch-up (${seen.length} written)`);
    assert.deepEqual(
      seen,
      Array.from({ length: seen.length }, (_, i) => i + 1),
      'in order, no gap, no repeat',
    );
    const position = (await FileSequenceStore.read(state))[TOPIC];
    assert.equal(position, seen.at(-1), 'the state file holds the last record written');
    // A restart goes on with the next event: nothing skipped, nothing repeated.
    const next = start([...base, '--state-file', state, '--max-events', '5']);
    assert.equal(await next.exited, 0);
    assert.deepEqual(
      written(next),
      [1, 2, 3, 4, 5].map((i) => (position as number) + i),
    );
  });

  it('a reader that goes away (| head) ends the tail with exit 0 and a saved state, not an EPIPE crash', async () => {
    const state = path.join(dir, 'epipe.json');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', CLI, ...base, '--state-file', state, '--from', 'beginning'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    endsWithParent(child);
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk;
      captured.push(chunk);
    });
    let lines = 0;
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    await new Promise<void>((resolve) => {
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        lines += chunk.split('\n').length - 1;
        if (lines >= 3) {
          child.stdout.destroy(); // as `head -3` does: the pipe closes, the next write fails with EPIPE
          resolve();
        }
      });
    });
    assert.equal(await exited, 0, err);
    assert.doesNotMatch(err, /EPIPE|Unhandled/);
    const position = (await FileSequenceStore.read(state))[TOPIC];
    assert.ok(position !== undefined && position >= 3, `state saved: ${position}`);
  });

  it('a second signal exits at once (130), and even then the state file is whole', async (t) => {
    const state = path.join(dir, 'twice.json');
    const run = start([...base, '--state-file', state, '--from', 'beginning']);
    await service.waitFor(() => written(run).length >= 500, 20_000, '500 records');
    // Two different signals: two of the same kind can merge into one before the process sees them.
    const t0 = Date.now();
    run.signal('SIGINT');
    run.signal('SIGTERM');
    const code = await run.exited;
    assert.ok(Date.now() - t0 < 3_000, `exited ${Date.now() - t0} ms after the signals`);
    t.diagnostic(`exit ${code} after ${written(run).length} records`);
    assert.equal(code, 130, 'the second signal does not wait for the clean close');
    // Written by temp file + rename: whatever moment the process died, the file is a complete earlier or later one.
    const position = (await FileSequenceStore.read(state))[TOPIC];
    assert.ok(
      position !== undefined && position >= 1 && position <= (written(run).at(-1) ?? 0),
      `position ${position}`,
    );
  });
});
