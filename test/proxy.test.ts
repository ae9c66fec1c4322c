import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { WatchManager, WatchError, type WatchEvent, type WatchManagerOptions } from 'watch-manager';
import type { FakeWatchService } from 'watch-manager/testing';
import { makeTestCerts, type TestCerts } from './support/certs';
import {
  TOPIC,
  captureLogger,
  captured,
  recordError,
  scanForSecrets,
  secret,
  startService,
  token,
} from './support/harness';
import { exitCode } from './support/exit-code';
import { cliEndOfLifeLine } from './support/node-warnings';
import { freePort, startTinyproxy, type Tinyproxy } from './support/tinyproxy';

scanForSecrets();

const USER = 'agent';
const PASSWORD = secret('tiny-proxy-pw-7431');
const CLI = path.join(__dirname, '..', 'src', 'cli', 'watch-tail.ts');

function portOf(address: string): number {
  return Number(address.slice(address.lastIndexOf(':') + 1));
}

/** Options for a manager of `service` with a token getter, the capturing logger and quick retries. */
async function baseOptions(
  service: FakeWatchService,
  extra: Partial<WatchManagerOptions>,
): Promise<WatchManagerOptions> {
  const jwt = await token(service);
  return {
    target: service.target,
    tenantId: service.tenantId,
    historyUrl: service.historyUrl,
    getToken: () => jwt,
    logger: captureLogger(),
    tls: false,
    reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
    ...extra,
  };
}

/** Catch-up of 30 events from history then 5 live ones through the manager; returns the sequence ids seen. */
async function catchUpAndLive(service: FakeWatchService, options: WatchManagerOptions): Promise<number[]> {
  service.publishMany(TOPIC, 30);
  const got: WatchEvent[] = [];
  const manager = new WatchManager({ ...options, from: 0 });
  await manager.registerWatch(TOPIC, { onEvent: (e) => void got.push(e) });
  await service.waitFor(() => got.length === 30, 10_000, 'the catch-up through the proxy');
  service.publishMany(TOPIC, 5);
  await service.waitFor(() => got.length === 35, 10_000, 'live events through the proxy');
  await manager.close();
  return got.map((e) => e.sequenceId);
}

/** Runs the real watch-tail in a child process. */
function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', CLI, ...args],
      { env: { ...process.env, ...env }, timeout: 30_000 },
      (err, stdout, stderr) => {
        captured.push(stdout, stderr);
        resolve({ code: err === null ? 0 : exitCode(err), stdout, stderr, ms: Date.now() - t0 });
      },
    );
  });
}

describe('through a real HTTP CONNECT proxy (tinyproxy)', { timeout: 120_000 }, () => {
  let service: FakeWatchService;
  let proxy: Tinyproxy;

  before(async () => {
    service = await startService();
    proxy = await startTinyproxy({
      user: USER,
      password: PASSWORD,
      allowPorts: [portOf(service.target), portOf(service.historyUrl)],
    });
  });
  after(async () => {
    await proxy.stop();
    await service.stop();
  });

  it('carries the gRPC stream and the history requests, plaintext (tinyproxy logged both CONNECTs)', async () => {
    const before = proxy.connects().length;
    const ids = await catchUpAndLive(service, await baseOptions(service, { proxy: proxy.url() }));
    assert.deepEqual(
      ids,
      Array.from({ length: 35 }, (_, i) => (ids[0] as number) + i),
    );
    const connects = proxy.connects().slice(before);
    assert.ok(connects.includes(service.target), `gRPC through the proxy: ${connects.join(', ')}`);
    assert.ok(connects.includes(new URL(service.historyUrl).host), `history through the proxy: ${connects.join(', ')}`);
  });

  it("#11 grpc-js's own tracing (GRPC_TRACE=all GRPC_VERBOSITY=DEBUG) never shows the proxy password, and the proxy still gets it", async () => {
    const child = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const env = {
        ...process.env,
        GRPC_TRACE: 'all',
        GRPC_VERBOSITY: 'DEBUG',
        WM_TARGET: service.target,
        WM_HISTORY: service.historyUrl,
        WM_TENANT: service.tenantId,
        WM_TOPIC: TOPIC,
        WM_PROXY: proxy.url(),
      };
      void token(service).then((jwt) => {
        const run = execFile(
          process.execPath,
          ['--import', 'tsx', path.join(__dirname, 'fixtures', 'traced-proxy-consumer.ts')],
          { env: { ...env, WM_TOKEN: jwt }, timeout: 30_000, maxBuffer: 64 * 1024 * 1024 },
          (err, stdout, stderr) => {
            captured.push(stdout, stderr);
            resolve({ code: err === null ? 0 : exitCode(err), stdout, stderr });
          },
        );
        run.stdout?.on('data', (d: Buffer) => {
          if (String(d).includes('live')) service.publish(TOPIC);
        });
      });
    });
    assert.equal(child.code, 0, child.stdout);
    assert.match(child.stdout, /event\n/, 'an event came through the authenticating proxy: the credentials reached it');
    assert.match(child.stderr, /Channel constructed with options/, 'grpc-js printed its channel options');
    assert.match(child.stderr, /"grpc\.http_connect_creds": "\[REDACTED\]"/);
    for (const form of [PASSWORD, `${USER}:${PASSWORD}`, Buffer.from(`${USER}:${PASSWORD}`).toString('base64')]) {
      assert.ok(!child.stderr.includes(form) && !child.stdout.includes(form), 'the password in none of its forms');
    }
  });

  const refusals: Array<[string, () => Promise<Partial<WatchManagerOptions>>, WatchError['code'], RegExp]> = [
    [
      'a wrong password',
      async () => ({ proxy: proxy.url({ user: USER, password: secret('wrong-password-99') }) }),
      'PROXY_AUTH',
      /refused the credentials \((401|407)\)/,
    ],
    [
      'missing credentials',
      async () => ({ proxy: proxy.url(false) }),
      'PROXY_AUTH',
      /requires credentials and none were given \(407\)/,
    ],
    [
      'a port the proxy does not allow',
      async () => ({ proxy: proxy.url(), target: `127.0.0.1:${await freePort()}` }),
      'PROXY_REFUSED',
      /refused to connect to 127\.0\.0\.1:\d+ \(403/,
    ],
    [
      'a proxy that is down',
      async () => ({ proxy: `http://${USER}:${PASSWORD}@127.0.0.1:${await freePort()}` }),
      'PROXY_UNREACHABLE',
      /cannot be reached \(ECONNREFUSED\)/,
    ],
  ];
  for (const [name, change, code, message] of refusals) {
    for (const from of ['latest', 'beginning'] as const) {
      // from 'latest' asks the history API first (https-proxy-agent); 'beginning' opens the gRPC stream first.
      it(`${name} → ${code} within 10 s, naming the proxy, never its password (from ${from})`, async () => {
        const options = await baseOptions(service, { ...(await change()), from });
        const t0 = Date.now();
        const manager = new WatchManager(options);
        const err = await manager.registerWatch(TOPIC, { onEvent: () => undefined }).then(
          () => undefined,
          (e: unknown) => recordError(e),
        );
        const ms = Date.now() - t0;
        await manager.close();
        assert.ok(err instanceof WatchError, String(err));
        assert.equal(err.code, code, err.message);
        assert.match(err.message, message);
        assert.match(err.message, /proxy 127\.0\.0\.1:\d+/);
        assert.ok(!err.message.includes(PASSWORD));
        assert.ok(ms < 10_000, `${ms} ms`);
      });
    }
  }

  it('watch-tail --proxy and the environment: streams through the proxy; each refusal exits 1 with one line naming the proxy and the cause', async () => {
    const jwt = await token(service);
    const common = [
      '--target',
      service.target,
      '--tenant',
      service.tenantId,
      '--topic',
      TOPIC,
      '--token-env',
      'WM_TOKEN',
      '--history-url',
      service.historyUrl,
      '--insecure',
      '--json',
    ];
    service.publishMany(TOPIC, 3);
    const ok = await runCli([...common, '--from', 'beginning', '--max-events', '3', '--proxy', proxy.url()], {
      WM_TOKEN: jwt,
    });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(
      ok.stdout
        .trim()
        .split('\n')
        .filter((l) => l.includes('"record":"event"')).length,
      3,
    );
    const causes: Array<[string, string[], NodeJS.ProcessEnv, RegExp]> = [
      [
        'wrong password',
        ['--proxy', proxy.url({ user: USER, password: secret('nope-wrong-pw-31') })],
        {},
        /^watch-tail: PROXY_AUTH: [^\n]*proxy 127\.0\.0\.1:\d+ refused the credentials[^\n]*\n$/,
      ],
      [
        'missing credentials',
        ['--proxy', proxy.url(false)],
        {},
        /^watch-tail: PROXY_AUTH: [^\n]*proxy 127\.0\.0\.1:\d+ requires credentials[^\n]*\n$/,
      ],
      [
        'port refused',
        ['--proxy', proxy.url(), '--target', `127.0.0.1:${await freePort()}`, '--from', 'beginning'],
        {},
        /^watch-tail: PROXY_REFUSED: [^\n]*proxy 127\.0\.0\.1:\d+ refused to connect[^\n]*\n$/,
      ],
      [
        'proxy down',
        ['--proxy', `http://127.0.0.1:${await freePort()}`],
        {},
        /^watch-tail: PROXY_UNREACHABLE: [^\n]*proxy 127\.0\.0\.1:\d+ cannot be reached[^\n]*\n$/,
      ],
      // The environment, as the CLI contract says: http_proxy for plaintext gRPC and history alike.
      [
        'wrong password from http_proxy',
        [],
        { http_proxy: proxy.url({ user: USER, password: secret('env-wrong-pw-82') }) },
        /^watch-tail: PROXY_AUTH: [^\n]*proxy 127\.0\.0\.1:\d+ refused the credentials[^\n]*\n$/,
      ],
    ];
    for (const [name, args, env, line] of causes) {
      const run = await runCli([...common, ...args], { WM_TOKEN: jwt, ...env });
      assert.equal(run.code, 1, `${name}: ${run.stderr}`);
      // watch-tail's own line on an ended Node.js line, then --insecure's one warning (tokens in clear text) may come
      // first; then exactly the one line of the exit.
      const endOfLife = cliEndOfLifeLine();
      assert.ok(run.stderr.startsWith(endOfLife), `${name}: ${run.stderr}`);
      assert.match(
        run.stderr.slice(endOfLife.length).replace(/^.* warn watch-manager: TLS is off .*\n/, ''),
        line,
        name,
      );
      assert.ok(run.ms < 10_000, `${name}: ${run.ms} ms`);
    }
    const exempted = await runCli([...common, '--from', 'beginning', '--max-events', '3'], {
      WM_TOKEN: jwt,
      http_proxy: proxy.url(false),
      no_proxy: '127.0.0.1',
    });
    assert.equal(exempted.code, 0, `no_proxy exempts the service: ${exempted.stderr}`);
  });
});

describe('a proxy that accepts connections and never answers', () => {
  it('fails the watch with a typed error and leaves no connection holding the process after close()', async () => {
    const fixture = path.join(__dirname, 'fixtures', 'silent-proxy-consumer.ts');
    const t0 = Date.now();
    const run = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', fixture], { timeout: 20_000 }, (err, stdout, stderr) => {
        captured.push(stdout, stderr);
        resolve({ code: err === null ? 0 : ((err as { code?: number }).code ?? null), stdout });
      });
    });
    assert.equal(run.code, 0);
    assert.equal(run.stdout, 'HISTORY_UNAVAILABLE\n', 'exited by itself, before its 3 s "still alive" report');
    assert.ok(Date.now() - t0 < 10_000);
  });
});

describe('through tinyproxy with TLS to the service (a test CA made now)', { timeout: 60_000 }, () => {
  let certs: TestCerts;
  before(() => {
    certs = makeTestCerts(['localhost']);
  });

  it('tunnels TLS for gRPC and the history API, checking the certificate against the service name', async () => {
    const service = await startService({ tls: { cert: certs.cert, key: certs.key }, host: 'localhost' });
    const proxy = await startTinyproxy({
      user: USER,
      password: PASSWORD,
      allowPorts: [portOf(service.target), portOf(service.historyUrl)],
    });
    try {
      const ids = await catchUpAndLive(
        service,
        await baseOptions(service, { proxy: proxy.url(), tls: { ca: certs.ca } }),
      );
      assert.equal(ids.length, 35);
      const connects = proxy.connects();
      assert.ok(connects.includes(service.target), connects.join(', '));
      assert.ok(connects.includes(new URL(service.historyUrl).host), connects.join(', '));
    } finally {
      await proxy.stop();
      await service.stop();
    }
  });
});

describe('proxy environment variables', { timeout: 60_000 }, () => {
  const NAMES = ['grpc_proxy', 'https_proxy', 'http_proxy', 'no_proxy', 'no_grpc_proxy'].flatMap((n) => [
    n,
    n.toUpperCase(),
  ]);
  let saved: Map<string, string | undefined>;
  before(() => {
    saved = new Map(NAMES.map((n) => [n, process.env[n]]));
  });
  after(() => {
    for (const [n, v] of saved) {
      if (v === undefined) delete process.env[n];
      else process.env[n] = v;
    }
  });
  const setEnv = (vars: Record<string, string>): void => {
    for (const n of NAMES) delete process.env[n];
    Object.assign(process.env, vars);
  };

  it('applies to the managers created under them, with no leakage between two managers running at once', async () => {
    const proxied = await startService();
    const direct = await startService();
    const ports = (s: FakeWatchService): number[] => [portOf(s.target), portOf(s.historyUrl)];
    const hosts = (s: FakeWatchService): string[] => [s.target, new URL(s.historyUrl).host];
    const proxy = await startTinyproxy({
      user: USER,
      password: PASSWORD,
      allowPorts: [...ports(proxied), ...ports(direct)],
    });
    try {
      // Proxied by the environment (http_proxy: plaintext gRPC and http history), next to one with proxy: false.
      setEnv({ http_proxy: proxy.url() });
      const a = new WatchManager({ ...(await baseOptions(proxied, {})), from: 0 });
      const b = new WatchManager({ ...(await baseOptions(direct, { proxy: false })), from: 0 });
      setEnv({}); // read at construction: changing the environment now changes nothing for a and b
      proxied.publishMany(TOPIC, 10);
      direct.publishMany(TOPIC, 10);
      const got = { a: 0, b: 0 };
      await Promise.all([
        a.registerWatch(TOPIC, { onEvent: () => void got.a++ }),
        b.registerWatch(TOPIC, { onEvent: () => void got.b++ }),
      ]);
      proxied.publishMany(TOPIC, 5);
      direct.publishMany(TOPIC, 5);
      await proxied.waitFor(() => got.a === 15 && got.b === 15, 10_000, 'both managers at once');
      await Promise.all([a.close(), b.close()]);
      let connects = proxy.connects();
      for (const host of hosts(proxied))
        assert.ok(connects.includes(host), `a went through the proxy: ${connects.join(', ')}`);
      for (const host of hosts(direct)) assert.ok(!connects.includes(host), `b went direct: ${connects.join(', ')}`);

      // no_proxy exempts a host (IP with port here) for gRPC and HTTP alike; upper-case names work too.
      setEnv({
        HTTP_PROXY: proxy.url(),
        NO_PROXY: `example.com, 127.0.0.1:${portOf(direct.target)} 127.0.0.1:${portOf(direct.historyUrl)}`,
      });
      const c = new WatchManager({ ...(await baseOptions(direct, {})), from: 0 });
      setEnv({});
      let seen = 0;
      await c.registerWatch(TOPIC, { onEvent: () => void seen++ });
      await direct.waitFor(() => seen === 15, 10_000, 'c, exempted by NO_PROXY');
      await c.close();
      connects = proxy.connects();
      for (const host of hosts(direct))
        assert.ok(!connects.includes(host), `NO_PROXY exempted ${host}: ${connects.join(', ')}`);

      // The same service without the exemption: now it goes through the proxy.
      setEnv({ HTTP_PROXY: proxy.url(), no_proxy: 'example.com' });
      const d = new WatchManager({ ...(await baseOptions(direct, {})), from: 0 });
      setEnv({});
      seen = 0;
      await d.registerWatch(TOPIC, { onEvent: () => void seen++ });
      await direct.waitFor(() => seen === 15, 10_000, 'd, proxied');
      await d.close();
      connects = proxy.connects();
      for (const host of hosts(direct))
        assert.ok(connects.includes(host), `without the exemption ${host} is proxied: ${connects.join(', ')}`);
    } finally {
      await proxy.stop();
      await proxied.stop();
      await direct.stop();
    }
  });
});
