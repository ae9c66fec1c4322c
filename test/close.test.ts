import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileSequenceStore, WatchManager, type EventContext, type WatchError } from 'watch-manager';
import {
  TOPIC,
  captured,
  quietLogger,
  scanForSecrets,
  serviceOptions,
  startService,
  token,
  until,
} from './support/harness';
import { endsWithParent } from './support/watchdog';

scanForSecrets();

describe('close()', () => {
  it('a state listener that closes a watch as soon as it is told the watch closed: no second stop, no INTERNAL', async () => {
    const service = await startService();
    const jwt = await token(service);
    const logged: string[] = [];
    const manager = new WatchManager({
      ...serviceOptions(service, jwt),
      logger: { ...quietLogger, error: (m) => void logged.push(m) },
    });
    const changes: string[] = [];
    // Plausible application code: a watch that stopped for good is closed (and the manager with it).
    manager.on('state', (change) => {
      changes.push(`${change.to}${change.errorCode === undefined ? '' : ` ${change.errorCode}`}`);
      if (change.to === 'closed') void manager.closeWatch(change.watchId);
    });
    await assert.rejects(
      manager.registerWatch('/management/v1alpha1/watchtopics/never-created', { onEvent: () => undefined }),
      (err: WatchError) => err.code === 'TOPIC_NOT_FOUND',
    );
    assert.deepEqual(changes, ['closed TOPIC_NOT_FOUND'], 'closed once, for its own reason');
    assert.deepEqual(logged, [], 'no illegal state change (INTERNAL) was logged');
    await manager.close();
    await service.stop();
  });

  it('leaves no open handles: a process exits by itself after close()', async () => {
    const service = await startService({ pingIntervalMs: 100 });
    const jwt = await token(service);
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'fixtures', 'close-exits.ts')], {
      env: {
        ...process.env,
        WM_TARGET: service.target,
        WM_HISTORY: service.historyUrl,
        WM_TENANT: service.tenantId,
        WM_TOKEN: jwt,
        WM_TOPIC: TOPIC,
        WM_EVENTS: '20',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    endsWithParent(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += String(d)));
    child.stderr.on('data', (d: Buffer) => (err += String(d)));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await service.waitFor(() => out.includes('ready'), 15_000, 'child subscribed');
    service.publishMany(TOPIC, 20);
    // Nothing kills the child: it must end on its own once close() resolved. The deadline only bounds a failure.
    const deadline = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const code = await exited;
    clearTimeout(deadline);
    captured.push(out, err);
    assert.equal(code, 0, `the child did not exit by itself (stdout: ${out}, stderr: ${err})`);
    assert.match(out, /closed after 20 events\n/);
    assert.doesNotMatch(out, /still alive/);
    await service.stop();
  });

  it("closes gracefully on a process.once('SIGTERM') registered before a FileSequenceStore takes its lock (the lock library's exit hook killed the process at the signal)", async () => {
    const service = await startService();
    const jwt = await token(service);
    service.publishMany(TOPIC, 5);
    const dir = mkdtempSync(path.join(tmpdir(), 'wm-sigterm-'));
    const file = path.join(dir, 'positions.json');
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'fixtures', 'sigterm-once.ts')], {
      env: {
        ...process.env,
        WM_TARGET: service.target,
        WM_HISTORY: service.historyUrl,
        WM_TENANT: service.tenantId,
        WM_TOKEN: jwt,
        WM_TOPIC: TOPIC,
        WM_FILE: file,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    endsWithParent(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += String(d)));
    child.stderr.on('data', (d: Buffer) => (err += String(d)));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    );
    await service.waitFor(() => out.includes('handled 5'), 15_000, 'the child handled the 5 events');
    child.kill('SIGTERM');
    const deadline = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const end = await exited;
    clearTimeout(deadline);
    captured.push(out, err);
    assert.deepEqual(
      end,
      { code: 0, signal: null },
      `killed by the signal instead of closing (stdout: ${out}, stderr: ${err})`,
    );
    assert.match(out, /closed\n/);
    assert.equal((await FileSequenceStore.read(file))[TOPIC], 5, 'the position was stored by close()');
    rmSync(dir, { recursive: true, force: true });
    await service.stop();
  });

  // A service with 3 events on TOPIC, and managers in turn on one position file with `closeTimeoutMs`.
  const threeEvents = async (
    closeTimeoutMs: number,
  ): Promise<{
    service: Awaited<ReturnType<typeof startService>>;
    file: string;
    run: (handle: (seq: number, ctx: EventContext) => Promise<void>) => Promise<WatchManager>;
  }> => {
    const service = await startService();
    const jwt = await token(service);
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'wm-close-')), 'positions.json');
    service.publishMany(TOPIC, 3);
    const run = async (handle: (seq: number, ctx: EventContext) => Promise<void>): Promise<WatchManager> => {
      const manager = new WatchManager({
        ...serviceOptions(service, jwt),
        logger: quietLogger,
        from: 'beginning',
        sequenceProvider: new FileSequenceStore(file),
        closeTimeoutMs,
      });
      await manager.registerWatch(TOPIC, { onEvent: (e, ctx) => handle(e.sequenceId, ctx), onError: () => undefined });
      return manager;
    };
    return { service, file, run };
  };

  // How a handler may end once ctx.signal aborted during close() (when closeTimeoutMs ran out): each is no
  // acknowledgement (issue 20, item 11).
  const onAbort = {
    returns: async (signal: AbortSignal) => {
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    },
    throws: async (signal: AbortSignal) => {
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      throw new Error('cut short');
    },
    // Ignores the signal and finishes its work later, within closeTimeoutMs: it settled after the abort all the same.
    'finishes later': async (signal: AbortSignal) => {
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      await new Promise((resolve) => setTimeout(resolve, 50));
    },
  };
  for (const [how, settle] of Object.entries(onAbort)) {
    it(`#11 a handler that ${how} after ctx.signal aborted in close() acknowledges nothing: the stored position stays before its event, the next run delivers it again`, async () => {
      const { service, run, file } = await threeEvents(300);
      const first: number[] = [];
      let cut: Promise<void> | undefined;
      const a = await run(async (seq, ctx) => {
        first.push(seq);
        if (seq === 3) await (cut = settle(ctx.signal));
      });
      await until('event 3 runs', () => first.includes(3));
      await a.close();
      await cut?.catch(() => undefined);
      assert.deepEqual(first, [1, 2, 3]);
      assert.deepEqual(await FileSequenceStore.read(file), { [TOPIC]: 2 }, 'the position stays before event 3');
      assert.equal(a.metrics().watches[0]?.delivered, 2, 'event 3 not counted as delivered');

      const second: number[] = [];
      const b = await run(async (seq) => void second.push(seq));
      await until('event 3 again', () => second.includes(3));
      await b.close();
      assert.deepEqual(second, [3], 'whoever runs the topic next delivers event 3 again, and only it');
      assert.deepEqual(await FileSequenceStore.read(file), { [TOPIC]: 3 });
      await service.stop();
    });
  }

  it('#11 a handler running when close() is called that finishes within closeTimeoutMs counts: a graceful shutdown delivers nothing again', async () => {
    const { service, run, file } = await threeEvents(60_000);
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const first: number[] = [];
    let abortedWhileRunning: boolean | undefined;
    const a = await run(async (seq, ctx) => {
      first.push(seq);
      if (seq !== 3) return;
      await held; // still working when close() is called
      abortedWhileRunning = ctx.signal.aborted;
    });
    await until('event 3 runs', () => first.includes(3));
    const closing = a.close();
    await new Promise((resolve) => setTimeout(resolve, 50)); // close() is under way, waiting for the handler
    release();
    await closing;
    assert.equal(abortedWhileRunning, false, 'the signal is kept while closeTimeoutMs has not run out');
    assert.deepEqual(await FileSequenceStore.read(file), { [TOPIC]: 3 }, 'event 3 finished in time: acknowledged');
    assert.equal(a.metrics().watches[0]?.delivered, 3);

    service.publishMany(TOPIC, 1);
    const second: number[] = [];
    const b = await run(async (seq) => void second.push(seq));
    await until('event 4', () => second.includes(4));
    await b.close();
    assert.deepEqual(second, [4], 'nothing delivered again');
    await service.stop();
  });
});
