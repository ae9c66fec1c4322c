import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WatchManager, WatchError, type WatchManagerOptions } from 'watch-manager';
import type { FakeWatchService } from 'watch-manager/testing';
import { TOPIC, captureLogger, captured, recordError, scanForSecrets, startService, token } from './support/harness';

scanForSecrets();

const CLI = path.join(__dirname, '..', 'src', 'cli', 'watch-tail.ts');

/** Runs the real `watch-tail` binary in a child process. */
function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', CLI, ...args],
      { env: { ...process.env, ...env }, timeout: 20_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        captured.push(stdout, stderr);
        resolve({ code, stdout, stderr, ms: performance.now() - started });
      },
    );
  });
}

describe('refusals: each a distinct typed error, no hang, no retry loop', () => {
  let service: FakeWatchService;
  let other: FakeWatchService;
  let dir: string;

  before(async () => {
    service = await startService();
    other = await startService();
    dir = mkdtempSync(path.join(tmpdir(), 'wm-auth-'));
  });
  after(async () => {
    await service.stop();
    await other.stop();
  });

  /**
   * Registers a watch twice: from 'latest' (the history API is asked for the newest event first and refuses) and
   * from 'beginning' (the stream opens at once; stream and history both refuse). Both must give the same code.
   */
  const attempt = async (extra: Partial<WatchManagerOptions>, topic = TOPIC): Promise<WatchError> => {
    const codes: string[] = [];
    let last: WatchError | undefined;
    for (const from of ['latest', 'beginning'] as const) {
      const jwt = await token(service);
      const manager = new WatchManager({
        target: service.target,
        tenantId: service.tenantId,
        historyUrl: service.historyUrl,
        getToken: () => jwt,
        tls: false,
        logger: captureLogger(),
        from,
        ...extra,
      });
      const before = service.counters.subscribes + service.historyCounters.requests;
      const err = await manager.registerWatch(topic, { onEvent: () => undefined }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof WatchError, `expected a WatchError, got ${String(err)}`);
      // No retry loop: one subscribe at most, and the first history requests (up to four pages in flight, plus one
      // retry with a fresh token after a 401).
      assert.ok(service.counters.subscribes + service.historyCounters.requests - before <= 6, 'refused, not retried');
      assert.deepEqual(manager.status(), { state: 'idle', watches: [] });
      await manager.close();
      codes.push(recordError(err).code);
      last = err;
    }
    assert.equal(codes[0], codes[1], `the same refusal gives the same code: ${codes.join(' vs ')}`);
    return last as WatchError;
  };

  it('a token the service refuses: UNAUTHENTICATED', async () => {
    const foreign = await token(other); // signed by another service's key
    const err = await attempt({ getToken: () => foreign });
    assert.equal(err.code, 'UNAUTHENTICATED');
    assert.equal(err.retryable, false);
  });

  it('a tenant the token does not belong to: PERMISSION_DENIED', async () => {
    const err = await attempt({ tenantId: 'someone-else' });
    assert.equal(err.code, 'PERMISSION_DENIED');
    assert.equal(err.retryable, false);
  });

  it('a topic the service does not know: TOPIC_NOT_FOUND', async () => {
    const err = await attempt({}, '/management/v1alpha1/watchtopics/does-not-exist');
    assert.equal(err.code, 'TOPIC_NOT_FOUND');
    assert.equal(err.retryable, false);
    assert.match(err.message, /does-not-exist/);
  });

  it('watch-tail exits 3 within seconds with one line when the token is refused', async () => {
    const foreign = await token(other);
    const file = path.join(dir, 'token');
    writeFileSync(file, `${foreign}\n`);
    const run = await runCli([
      '--target',
      service.target,
      '--history-url',
      service.historyUrl,
      '--tenant',
      service.tenantId,
      '--topic',
      TOPIC,
      '--token-file',
      file,
      '--insecure',
      '--log-level',
      'error',
    ]);
    assert.equal(run.code, 3, run.stderr);
    assert.ok(run.ms < 10_000, `took ${run.ms} ms`);
    assert.equal(run.stdout, '');
    // Exactly the one line of the exit (JSON to a pipe at --log-level error: not even an ended Node.js line's).
    assert.match(run.stderr, /^watch-tail: UNAUTHENTICATED: [^\n]*\n$/);
  });

  it('watch-tail exits 3 for a wrong tenant and 1 for an unknown topic', async () => {
    const jwt = await token(service);
    const env = { WM_TEST_TOKEN: jwt };
    const base = [
      '--target',
      service.target,
      '--history-url',
      service.historyUrl,
      '--token-env',
      'WM_TEST_TOKEN',
      '--insecure',
      '--log-level',
      'error',
    ];
    const tenant = await runCli([...base, '--tenant', 'someone-else', '--topic', TOPIC], env);
    assert.equal(tenant.code, 3, tenant.stderr);
    assert.match(tenant.stderr, /^watch-tail: PERMISSION_DENIED: [^\n]*\n$/);
    const topic = await runCli(
      [...base, '--tenant', service.tenantId, '--topic', '/management/v1alpha1/watchtopics/nope'],
      env,
    );
    assert.equal(topic.code, 1, topic.stderr);
    assert.match(topic.stderr, /^watch-tail: TOPIC_NOT_FOUND: [^\n]*\n$/);
  });
});
