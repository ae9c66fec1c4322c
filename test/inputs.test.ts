import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WatchError, WatchManager, clientCredentialsToken, type WatchManagerOptions } from 'watch-manager';
import { runCli } from '../src/cli/main';
import { MAX_TIMER_MS, boundedClock, systemClock, type Clock, type Timer } from '../src/core/clock';
import { createLog } from '../src/logging/logger';
import { DEFAULT_BACKOFF } from '../src/core/backoff';
import { TokenRefresher } from '../src/auth/token-refresher';
import type { FakeWatchService } from 'watch-manager/testing';
import {
  Capture,
  TOPIC,
  captureLogger,
  recordError,
  scanForSecrets,
  secret,
  startService,
  token,
  cliArgs,
} from './support/harness';

scanForSecrets();

// Inputs from outside (issue 11): tokens, tenant ids, self links, flags, option keys. Each is checked where it enters;
// a bad one is a typed error, never a crash, a hang, an unhandled rejection or a secret in the output.

const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => void unhandled.push(reason));

const DAY_MS = 24 * 60 * 60 * 1000;

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<WatchError> {
  const err = await (typeof p === 'function' ? Promise.resolve().then(p) : p).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof WatchError, `expected a WatchError, got ${String(err)}`);
  return recordError(err);
}

function options(service: FakeWatchService, extra: Partial<WatchManagerOptions>): WatchManagerOptions {
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

async function cli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; out: string; err: string; ms: number }> {
  const stdout = new Capture();
  const stderr = new Capture();
  const started = performance.now();
  const code = await runCli(args, { stdout, stderr, env });
  return { code, out: stdout.text, err: stderr.text, ms: performance.now() - started };
}

describe('inputs gRPC metadata cannot carry (#1)', () => {
  for (const [name, tenantId] of [
    ['a tab', 'org\t1'],
    ['an inner newline', 'org\n1'],
    ['non-ASCII', 'orgé1'],
    ['a NUL', 'org\u00001'],
    ['a DEL', 'org\u007f'],
  ] as const) {
    it(`#1 a tenant id with ${name} is refused at construction: INVALID_CONFIG naming tenantId`, () => {
      const err = (() => {
        try {
          new WatchManager({ target: '127.0.0.1:1', tenantId, getToken: () => 'x', tls: false });
        } catch (e) {
          return recordError(e);
        }
        return undefined;
      })();
      assert.ok(err instanceof WatchError);
      assert.equal(err.code, 'INVALID_CONFIG');
      assert.match(err.message, /'tenantId'/);
    });
  }

  for (const [name, damage] of [
    ['an inner newline', (t: string) => `${t.slice(0, 20)}\n${t.slice(20)}`],
    ['a tab', (t: string) => `${t.slice(0, 20)}\t${t.slice(20)}`],
    ['non-ASCII', (t: string) => `${t.slice(0, 20)}é${t.slice(20)}`],
    ['an inner space', (t: string) => `${t.slice(0, 20)} ${t.slice(20)}`],
  ] as const) {
    it(`#1 a token with ${name} from the getter is a typed error naming getToken, never a crash or the token`, async () => {
      const service = await startService();
      const bad = secret(damage(await token(service)));
      let calls = 0;
      const manager = new WatchManager(
        options(service, { getToken: () => ((calls += 1), bad), connectTimeoutMs: 300 }),
      );
      const before = unhandled.length;
      const err = await codeOf(manager.registerWatch(TOPIC, { onEvent: () => undefined }));
      assert.equal(err.code, 'TOKEN_UNAVAILABLE');
      assert.match(
        err.message,
        /getToken returned a token with a character a request header cannot carry \(U\+[0-9A-F]{4} at position 20\)/,
      );
      assert.ok(!err.message.includes(bad.slice(0, 20)), 'the message never quotes the token');
      assert.ok(calls >= 1);
      assert.equal(service.counters.subscribes, 0, 'nothing reached grpc-js');
      assert.equal(service.historyCounters.requests, 0, 'nor an HTTP header');
      await manager.close();
      assert.equal(unhandled.length, before, 'no unhandled rejection');
      await service.stop();
    });
  }

  it('#1 watch-tail --token-file holding two lines exits 2 at once naming the flag; a trailing newline is fine', async () => {
    const service = await startService();
    const dir = mkdtempSync(path.join(tmpdir(), 'wm-inputs-'));
    const jwt = await token(service);
    const twoLines = path.join(dir, 'two-lines');
    writeFileSync(twoLines, `${jwt}\n${secret('second-line-of-the-file-0123')}\n`);
    const args = (file: string): string[] => [
      ...cliArgs(service, file),
      '--topic',
      TOPIC,
      '--json',
      '--max-events',
      '1',
    ];
    const run = await cli(args(twoLines));
    assert.equal(run.code, 2, run.err);
    assert.match(run.err, /^watch-tail: --token-file: .* holds more than one line \(a token is one line\)\n$/);
    assert.ok(run.ms < 2_000, `at once: ${run.ms.toFixed(0)} ms`);
    assert.equal(service.counters.subscribes, 0);

    const trailing = path.join(dir, 'trailing');
    writeFileSync(trailing, `${jwt}\n`);
    const before = service.counters.accepted;
    const ok = cli(args(trailing));
    await service.waitFor(() => service.counters.accepted > before, 5_000, 'subscribed with the trimmed token');
    service.publish(TOPIC);
    assert.equal((await ok).code, 0);
    await service.stop();
  });
});

describe('timers longer than Node keeps (#2)', () => {
  it('#2 boundedClock arms a delay above 2^31-1 ms in pieces and fires once, at the end; cancel works in between', () => {
    const armed: number[] = [];
    const pending: Array<() => void> = [];
    const inner: Clock = {
      now: () => 0,
      random: () => 0.5,
      setTimeout(fn, ms): Timer {
        armed.push(ms);
        pending.push(fn);
        return { cancel: () => void pending.splice(pending.indexOf(fn), 1) };
      },
    };
    const clock = boundedClock(inner);
    let fired = 0;
    clock.setTimeout(() => (fired += 1), 30 * DAY_MS);
    assert.deepEqual(armed, [MAX_TIMER_MS], 'never more than Node keeps');
    (pending.shift() as () => void)();
    assert.equal(fired, 0, 'the first piece re-arms, it does not fire');
    assert.deepEqual(armed, [MAX_TIMER_MS, 30 * DAY_MS - MAX_TIMER_MS]);
    (pending.shift() as () => void)();
    assert.equal(fired, 1);
    const cancelled = clock.setTimeout(() => (fired += 1), 3 * MAX_TIMER_MS);
    (pending.shift() as () => void)();
    cancelled.cancel();
    assert.equal(pending.length, 0, 'the re-armed piece is cancelled');
    for (const odd of [Number.NaN, -5, Number.NEGATIVE_INFINITY]) clock.setTimeout(() => undefined, odd);
    assert.deepEqual(armed.slice(-3), [0, 0, 0], 'NaN and negative delays fire at once, never a Node overflow');
    assert.equal(boundedClock(clock), clock, 'wrapping twice changes nothing');
  });

  it('#2 a JWT valid for 30 days is refreshed once, not in a hot loop (system clock)', async () => {
    const service = await startService();
    const jwt = await token(service, { ttlMs: 30 * DAY_MS });
    let calls = 0;
    const refresher = new TokenRefresher({
      getToken: () => ((calls += 1), jwt),
      timeoutMs: 1_000,
      fallbackRefreshMs: 300_000,
      backoff: DEFAULT_BACKOFF,
      clock: systemClock,
      log: createLog(captureLogger()),
    });
    await refresher.current();
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(calls, 1, `getter calls in 400 ms: ${calls}`);
    refresher.close();
    await service.stop();
  });

  it('#2 clientCredentialsToken with 30-day tokens: one token request, not hundreds a second', async () => {
    const service = await startService();
    service.registerClient({
      clientId: 'long-lived',
      clientSecret: secret('long-lived-secret-0042'),
      tokenTtlMs: 30 * DAY_MS,
    });
    const manager = new WatchManager(
      options(service, {
        getToken: clientCredentialsToken({
          tokenUrl: service.tokenUrl,
          clientId: 'long-lived',
          clientSecret: 'long-lived-secret-0042',
        }),
      }),
    );
    await manager.registerWatch(TOPIC, { onEvent: () => undefined });
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(service.tokenCounters.requests, 1, `token requests in 500 ms: ${service.tokenCounters.requests}`);
    assert.equal(service.counters.tokenRefreshes, 0);
    await manager.close();
    await service.stop();
  });
});

describe('per-watch option typos (#10)', () => {
  it('#10 registerWatch refuses an unknown per-watch option (a typo) with INVALID_CONFIG naming the key', async () => {
    const service = await startService();
    const manager = new WatchManager(options(service, {}));
    const handlers = { onEvent: () => undefined };
    for (const [opts, key] of [
      [{ concurency: 4 }, 'options.concurency'],
      [{ maxAttempt: 2 }, 'options.maxAttempt'],
      [{ resync: { list: () => [], lst: 1 } }, 'options.resync.lst'],
      [{ filter: { kind: ['A'] } }, 'options.filter.kind'],
    ] as const) {
      const err = await codeOf(manager.registerWatch(TOPIC, handlers, opts as never));
      assert.equal(err.code, 'INVALID_CONFIG');
      assert.match(err.message, new RegExp(`'${key.replace(/\./g, '\\.')}': unknown option`));
    }
    const iterateErr = await codeOf(() => manager.watch(TOPIC, { highWatermark: 5 } as never));
    assert.match(iterateErr.message, /'options\.highWatermark': unknown option/);
    assert.equal(service.counters.subscribes, 0);
    await manager.close();
    await service.stop();
  });
});

describe('proxy values and token files that are not what they claim (#12)', () => {
  it("#12 the proxy option refuses a value that is not an http(s)://host[:port] URL ('notaurl', 'host:port')", () => {
    for (const proxy of ['notaurl', 'proxy.corp:3128', '//proxy.corp:3128', 'user:pw@proxy.corp:3128']) {
      assert.throws(
        () => new WatchManager({ target: 'h:1', tenantId: 't', getToken: () => 'x', proxy }),
        (e: unknown) => {
          recordError(e);
          return (
            e instanceof WatchError &&
            e.code === 'INVALID_CONFIG' &&
            /'proxy'/.test(e.message) &&
            !e.message.includes('pw')
          );
        },
        proxy,
      );
    }
  });

  it('#12 watch-tail --proxy notaurl and an empty --token-file both exit 2 at once naming the flag', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'wm-inputs-'));
    const empty = path.join(dir, 'empty');
    writeFileSync(empty, '\n');
    const base = ['--target', '127.0.0.1:1', '--tenant', 't', '--topic', TOPIC, '--insecure'];
    const emptyRun = await cli([...base, '--token-file', empty]);
    assert.equal(emptyRun.code, 2);
    assert.match(emptyRun.err, /^watch-tail: --token-file: .* is empty\n$/);
    assert.ok(emptyRun.ms < 2_000, `at once: ${emptyRun.ms.toFixed(0)} ms`);
    const tokenFile = path.join(dir, 'token');
    writeFileSync(tokenFile, 'x'.repeat(20));
    const proxyRun = await cli([...base, '--token-file', tokenFile, '--proxy', 'notaurl']);
    assert.equal(proxyRun.code, 2);
    assert.match(proxyRun.err, /^watch-tail: .*--proxy.*\n$/);
    assert.ok(proxyRun.ms < 2_000);
    const envRun = await cli([...base, '--token-env', 'WM_TOKEN'], { WM_TOKEN: 'a\tb' + 'c'.repeat(20) });
    assert.equal(envRun.code, 2);
    assert.match(envRun.err, /^watch-tail: --token-env: .*U\+0009/);
  });
});

describe('self links (#13)', () => {
  it('#13 a self link with dot segments, empty segments, a query or a fragment is INVALID_CONFIG; no request is made', async () => {
    const service = await startService();
    let tokens = 0;
    const manager = new WatchManager(options(service, { getToken: () => ((tokens += 1), 'never-used') }));
    for (const link of [
      '/management/../../admin',
      '/management/v1alpha1/watchtopics/..',
      '/management/./watchtopics/x',
      '/management//watchtopics/x',
      '/management/watchtopics/x/',
      '/management/watchtopics/x?admin=1',
      '/management/watchtopics/x#frag',
      '/management/%2e%2e/admin',
      'management/watchtopics/x',
      '/',
    ]) {
      const err = await codeOf(manager.registerWatch(link, { onEvent: () => undefined }));
      assert.equal(err.code, 'INVALID_CONFIG', link);
      assert.match(err.message, /'selfLink'/);
    }
    assert.equal(service.historyCounters.requests, 0, 'no history request, so no bearer token sent anywhere');
    assert.equal(service.counters.subscribes, 0);
    assert.equal(tokens, 0);
    const run = await cli(
      [
        '--target',
        service.target,
        '--tenant',
        't',
        '--token-env',
        'T',
        '--insecure',
        '--topic',
        '/management/../../admin',
      ],
      { T: 'x'.repeat(20) },
    );
    assert.equal(run.code, 2);
    assert.match(run.err, /--topic/);
    await manager.close();
    await service.stop();
  });

  it('#13 the history request path is built from encoded segments and stays under /events', async () => {
    const service = await startService({ topics: ['/management/v1alpha1/watchtopics/a.b~c_d-e'] });
    const jwt = await token(service);
    const manager = new WatchManager(options(service, { getToken: () => jwt, from: 'beginning' }));
    service.publishMany('/management/v1alpha1/watchtopics/a.b~c_d-e', 2);
    const seen: number[] = [];
    await manager.registerWatch('/management/v1alpha1/watchtopics/a.b~c_d-e', {
      onEvent: (e) => void seen.push(e.sequenceId),
    });
    await service.waitFor(() => seen.length === 2, 5_000, 'both events');
    await manager.close();
    await service.stop();
  });
});
