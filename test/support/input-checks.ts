import assert from 'node:assert/strict';
import { WatchError, type WatchManagerOptions } from 'watch-manager';
import type { FakeWatchService } from 'watch-manager/testing';
import { runCli } from '../../src/cli/main';
import { Capture, captureLogger, recordError } from './harness';

// What the input suites (options.test.ts, bad-inputs.test.ts) share: every case has a deadline, ends in a typed
// error it records for the secret scan, or runs watch-tail in-process.

/** `work` settles within `ms`, or the case is a hang. */
export async function bounded<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`HANG: ${what} did not settle within ${ms} ms`)), ms)),
  );
  try {
    return await Promise.race([work, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** The WatchError `work` fails with (thrown synchronously or rejected), within 10 s. */
export async function typedError(work: () => unknown, what: string): Promise<WatchError> {
  const err = await bounded(
    Promise.resolve()
      .then(work)
      .then(
        () => undefined,
        (e: unknown) => e,
      ),
    10_000,
    what,
  );
  assert.ok(err instanceof WatchError, `${what}: expected a WatchError, got ${String(err)}`);
  return recordError(err);
}

export async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<WatchError> {
  const err = await (typeof p === 'function' ? Promise.resolve().then(p) : p).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof WatchError, `expected a WatchError, got ${String(err)}`);
  return recordError(err);
}

export function options(service: FakeWatchService, extra: Partial<WatchManagerOptions>): WatchManagerOptions {
  return {
    target: service.target,
    tenantId: service.tenantId,
    historyUrl: service.historyUrl,
    getToken: () => 'unused',
    tls: false,
    logger: captureLogger(),
    reconnect: { initialDelayMs: 5, maxDelayMs: 20 },
    ...extra,
  };
}

export async function cli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; out: string; err: string; ms: number }> {
  const stdout = new Capture();
  const stderr = new Capture();
  const started = performance.now();
  const code = await runCli(args, { stdout, stderr, env });
  return { code, out: stdout.text, err: stderr.text, ms: performance.now() - started };
}
