import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { WatchManager, type WatchError } from 'watch-manager';
import { TOPIC, captured, quietLogger, scanForSecrets, serviceOptions, startService, token } from './support/harness';
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
});
