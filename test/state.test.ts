import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fsp, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileSequenceStore, WatchError, WatchManager, type SequenceProvider } from 'watch-manager';
import { runCli } from '../src/cli/main';
import { interceptWrites, writeFileDurably, type DurableHandle, type DurableIo } from '../src/state/durable-file';
import {
  Capture,
  TOPIC,
  captureLogger,
  recordError,
  scanForSecrets,
  startService,
  token,
  cliArgs,
} from './support/harness';
import { endsWithParent } from './support/watchdog';

scanForSecrets();

// Positions reported saved must be saved (issue 11, defects 4, 5, 14, and the fsync hole).

const dir = (): string => mkdtempSync(path.join(tmpdir(), 'wm-state-'));
const OTHER = '/management/v1alpha1/watchtopics/other';

async function errorOf(p: Promise<unknown>): Promise<WatchError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof WatchError, `expected a WatchError, got ${String(err)}`);
  return recordError(err);
}

/** Starts the lock holder fixture; resolves with it once it holds the lock (printed `locked <pid>`). */
async function holder(file: string, topic: string, staleMs = 2_000): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(__dirname, 'fixtures', 'hold-state.ts'), file, topic, String(staleMs)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  endsWithParent(child);
  let out = '';
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += String(d)));
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += String(d);
      if (out.includes('locked ')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`holder exited ${String(code)}: ${err}`)));
  });
  return child;
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describe('a position reported saved is saved (#4)', () => {
  it('#4 FileSequenceStore changes its state only after the durable write: a retry after a failed write writes', async () => {
    const file = path.join(dir(), 'positions.json');
    let failing = false;
    const store = new FileSequenceStore(file);
    interceptWrites(store, (step) => {
      if (failing && step === 'rename') throw Object.assign(new Error('disk full'), { code: 'ENOSPC' });
    });
    await store.setSequence(TOPIC, 3);
    failing = true;
    const first = await errorOf(store.setSequence(TOPIC, 9));
    assert.equal(first.code, 'STATE_IO');
    assert.equal(await store.getSequence(TOPIC), 3, 'the failed position is not shown as stored');
    failing = false;
    await store.setSequence(TOPIC, 9); // the same value again: it must be written now
    assert.equal(await store.getSequence(TOPIC), 9);
    await store.close();
    const body = JSON.parse(readFileSync(file, 'utf8')) as { positions: Record<string, number> };
    assert.deepEqual(body.positions, { [TOPIC]: 9 }, 'on disk, not only in memory');
  });

  it("#4 a save that fails before the stream's first sign of life reaches onError (from: latest persists at once)", async () => {
    const service = await startService();
    const jwt = await token(service);
    service.publishMany(TOPIC, 5);
    const failing: SequenceProvider = {
      getSequence: () => undefined,
      setSequence: () => Promise.reject(new Error('read-only file system')),
    };
    const errors: WatchError[] = [];
    const manager = new WatchManager({
      target: service.target,
      tenantId: service.tenantId,
      historyUrl: service.historyUrl,
      getToken: () => jwt,
      tls: false,
      logger: captureLogger(),
      sequenceProvider: failing,
    });
    await manager.registerWatch(TOPIC, { onEvent: () => undefined, onError: (e) => void errors.push(recordError(e)) });
    await service.waitFor(() => errors.length > 0, 5_000, 'the failed save reported');
    assert.equal(errors[0]?.code, 'STATE_IO');
    assert.match(errors[0]?.message ?? '', /read-only file system/);
    await manager.close();
    await service.stop();
  });

  it('#4 watch-tail exits 1 with one line when its saves fail, never 0 with the state unsaved', async () => {
    const service = await startService();
    const root = dir();
    const tokenFile = path.join(root, 'token');
    writeFileSync(tokenFile, await token(service));
    const state = path.join(root, 'state.json');
    const stdout = new Capture();
    const stderr = new Capture();
    let signal: (() => void) | undefined;
    const running = runCli([...cliArgs(service, tokenFile), '--topic', TOPIC, '--state-file', state, '--json'], {
      stdout,
      stderr,
      env: {},
      onSignal: (handler) => ((signal = handler), () => undefined),
    });
    await service.waitFor(() => stdout.text.includes('"record":"live"'), 5_000, 'live');
    service.publishMany(TOPIC, 3);
    await service.waitFor(() => (stdout.text.match(/"record":"event"/g) ?? []).length === 3, 5_000, 'three records');
    // The state file becomes unwritable: a directory (with something in it) in its place.
    const saved = (): string => {
      try {
        return readFileSync(state, 'utf8');
      } catch {
        return '';
      }
    };
    await service.waitFor(() => saved().includes(':3}'), 5_000, 'position 3 saved');
    rmSync(state);
    mkdirSync(state);
    writeFileSync(path.join(state, 'x'), 'x');
    service.publishMany(TOPIC, 2);
    await service.waitFor(
      () => (stdout.text.match(/"record":"event"/g) ?? []).length === 5 || stderr.text.includes('watch-tail:'),
      5_000,
      'more records',
    );
    signal?.();
    const code = await running;
    assert.equal(code, 1, `${stderr.text}\n${stdout.text}`);
    assert.match(
      stderr.text.replace(/^.*TLS is off.*\n/m, ''),
      /^watch-tail: STATE_IO: [^\n]*state\.json[^\n]*\n$/,
      'one line naming the state file',
    );
    await service.stop();
  });

  it('#4 watch-tail with a state directory it cannot write exits 1 at once with one line', async () => {
    // /proc refuses new files even to root, so this holds in CI as root.
    const run = await (async () => {
      const stdout = new Capture();
      const stderr = new Capture();
      const code = await runCli(
        [
          '--target',
          '127.0.0.1:1',
          '--tenant',
          't',
          '--token-env',
          'T',
          '--insecure',
          '--topic',
          TOPIC,
          '--state-file',
          '/proc/wm-state.json',
        ],
        { stdout, stderr, env: { T: 'x'.repeat(20) } },
      );
      return { code, out: stdout.text, err: stderr.text };
    })();
    assert.equal(run.code, 1, run.err);
    assert.equal(run.out, '');
    assert.match(run.err, /^watch-tail: STATE_IO: [^\n]*\/proc\/wm-state\.json[^\n]*\n$/);
  });
});

describe('one process per state file (#5)', () => {
  it("#5 a second process on a held state file is refused at once with STATE_LOCKED naming the holder's pid", async () => {
    const file = path.join(dir(), 'positions.json');
    const child = await holder(file, OTHER, 10_000);
    try {
      const started = performance.now();
      const err = await errorOf(new FileSequenceStore(file).setSequence(TOPIC, 1));
      assert.equal(err.code, 'STATE_LOCKED');
      assert.equal(err.retryable, false);
      assert.match(err.message, new RegExp(`locked by process ${String(child.pid)} on `));
      assert.ok(performance.now() - started < 1_000, 'at once, not after the lock went stale');
      const reader = new FileSequenceStore(file);
      assert.equal((await errorOf(reader.getSequence(OTHER))).code, 'STATE_LOCKED', 'reads are refused too');
    } finally {
      await killed(child);
    }
  });

  it("#5 a crashed holder's lock is taken over, and its positions are kept", async () => {
    const file = path.join(dir(), 'positions.json');
    const child = await holder(file, OTHER, 2_000);
    await killed(child); // SIGKILL: no exit hook releases the lock
    const store = new FileSequenceStore(file, { lockStaleMs: 2_000 });
    const started = performance.now();
    await store.setSequence(TOPIC, 4);
    const waited = performance.now() - started;
    assert.ok(waited < 6_000, `taken over after ${waited.toFixed(0)} ms`);
    assert.deepEqual(await store.all(), { [OTHER]: 7, [TOPIC]: 4 }, "the dead holder's topic survives");
    await store.close();
  });

  it("#5 a fresh lock whose holder note names this process's pid (a container restarted as pid 1) is taken over once stale, not refused", async () => {
    const file = path.join(dir(), 'positions.json');
    const child = await holder(file, OTHER, 2_000);
    await killed(child); // its lock is fresh: refreshed until a moment ago
    // The restarted container's process got the pid the crashed holder had: the note names this very process.
    const note = JSON.parse(readFileSync(`${file}.lock-holder`, 'utf8')) as Record<string, unknown>;
    writeFileSync(`${file}.lock-holder`, `${JSON.stringify({ ...note, pid: process.pid })}\n`);
    const store = new FileSequenceStore(file, { lockStaleMs: 2_000 });
    const started = performance.now();
    await store.setSequence(TOPIC, 4);
    const waited = performance.now() - started;
    assert.ok(waited < 6_000, `taken over after ${waited.toFixed(0)} ms`);
    assert.deepEqual(await store.all(), { [OTHER]: 7, [TOPIC]: 4 }, "the dead holder's topic survives");
    await store.close();
  });

  it('#5 two stores of one process on one file: the second is refused; close() lets the next one in', async () => {
    const file = path.join(dir(), 'positions.json');
    const first = new FileSequenceStore(file);
    await first.setSequence(TOPIC, 1);
    const second = new FileSequenceStore(file);
    const err = await errorOf(second.setSequence(OTHER, 2));
    assert.equal(err.code, 'STATE_LOCKED');
    assert.match(err.message, /another FileSequenceStore of this process/);
    await first.close();
    await second.setSequence(OTHER, 2);
    assert.deepEqual(await second.all(), { [TOPIC]: 1, [OTHER]: 2 });
    await second.close();
    await first.setSequence(TOPIC, 5); // a closed store takes the lock again when used
    await first.close();
  });

  it('#5 watch-tail on a state file another process holds exits 1 with one line naming the pid', async () => {
    const file = path.join(dir(), 'state.json');
    const child = await holder(file, OTHER, 10_000);
    try {
      const stdout = new Capture();
      const stderr = new Capture();
      const code = await runCli(
        [
          '--target',
          '127.0.0.1:1',
          '--tenant',
          't',
          '--token-env',
          'T',
          '--insecure',
          '--topic',
          TOPIC,
          '--state-file',
          file,
        ],
        { stdout, stderr, env: { T: 'x'.repeat(20) } },
      );
      assert.equal(code, 1);
      assert.match(
        stderr.text,
        new RegExp(`^watch-tail: STATE_LOCKED: [^\\n]*locked by process ${String(child.pid)} [^\\n]*\\n$`),
      );
    } finally {
      await killed(child);
    }
  });
});

describe('writes have a deadline (#14)', () => {
  it('#14 a setSequence that never settles is reported as STATE_IO and delivery goes on', async () => {
    const service = await startService();
    const jwt = await token(service);
    let calls = 0;
    const hanging: SequenceProvider = {
      getSequence: () => undefined,
      setSequence: () => ((calls += 1), new Promise<void>(() => undefined)),
    };
    const errors: WatchError[] = [];
    const seen: number[] = [];
    const manager = new WatchManager({
      target: service.target,
      tenantId: service.tenantId,
      historyUrl: service.historyUrl,
      getToken: () => jwt,
      tls: false,
      logger: captureLogger(),
      sequenceProvider: hanging,
      from: 'beginning',
      maxUnsavedAcks: 2,
      stateTimeoutMs: 200,
      closeTimeoutMs: 1_000,
    });
    await manager.registerWatch(TOPIC, {
      onEvent: (e) => void seen.push(e.sequenceId),
      onError: (e) => void errors.push(recordError(e)),
    });
    service.publishMany(TOPIC, 10);
    await service.waitFor(() => seen.length === 10, 5_000, 'every event despite a store that hangs');
    await service.waitFor(() => errors.some((e) => e.code === 'STATE_IO'), 5_000, 'the hang reported');
    assert.match(errors.find((e) => e.code === 'STATE_IO')?.message ?? '', /did not settle within 200 ms/);
    assert.ok(calls >= 2, 'written again after the timed-out write');
    const closing = performance.now();
    await manager.close();
    assert.ok(performance.now() - closing < 2_000, 'close() is bounded too');
    await service.stop();
  });
});

describe('the durable write order (fsync hole)', () => {
  it('a write that fails at the rename removes its temp file at once (nothing left for a reader to trip on)', async () => {
    const d = dir();
    const file = path.join(d, 'positions.json');
    const calls: string[] = [];
    const failingRename: DurableIo = {
      open: (p, flags, mode) => fsp.open(p, flags, mode),
      rename: async () => {
        calls.push('rename');
        throw Object.assign(new Error('cross-device'), { code: 'EXDEV' });
      },
      rm: async (p, options) => {
        calls.push(`rm ${path.basename(p).startsWith('positions.json.tmp-') ? 'TEMP' : path.basename(p)}`);
        await fsp.rm(p, options);
      },
    };
    await assert.rejects(writeFileDurably(file, 'x\n', undefined, failingRename), /cross-device/);
    assert.deepEqual(calls, ['rename', 'rm TEMP']);
    assert.deepEqual(readdirSync(d), [], 'no temp file, no file');
  });

  it('fsyncs the temp file, then renames it over the file, then fsyncs the directory, all on the real file system', async () => {
    const d = dir();
    const file = path.join(d, 'positions.json');
    const calls: string[] = [];
    const name = (p: string): string =>
      p === d ? 'DIR' : path.basename(p).startsWith('positions.json.tmp-') ? 'TEMP' : path.basename(p);
    const recording: DurableIo = {
      async open(p, flags, mode) {
        const handle = await fsp.open(p, flags, mode);
        const who = name(p);
        calls.push(`open ${who}`);
        const wrapped: DurableHandle = {
          writeFile: async (data) => {
            calls.push(`write ${who}`);
            await handle.writeFile(data);
          },
          sync: async () => {
            calls.push(`fsync ${who}`);
            await handle.sync();
          },
          close: async () => {
            calls.push(`close ${who}`);
            await handle.close();
          },
        };
        return wrapped;
      },
      rename: async (from, to) => {
        calls.push(`rename ${name(from)} ${name(to)}`);
        await fsp.rename(from, to);
      },
      rm: async (p, options) => {
        calls.push(`rm ${name(p)}`);
        await fsp.rm(p, options);
      },
    };
    await writeFileDurably(file, 'new contents\n', undefined, recording);
    assert.deepEqual(calls, [
      'open TEMP',
      'write TEMP',
      'fsync TEMP',
      'close TEMP',
      'rename TEMP positions.json',
      'open DIR',
      'fsync DIR',
      'close DIR',
    ]);
    assert.equal(readFileSync(file, 'utf8'), 'new contents\n');
  });
});
