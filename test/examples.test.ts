import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { captured, scanForSecrets, secret } from './support/harness';
import { startTinyproxy, type Tinyproxy } from './support/tinyproxy';
import { exitCode } from './support/exit-code';

import { startPostgres } from './support/postgres';
scanForSecrets();

const ROOT = path.join(__dirname, '..');

/** Runs `examples/<file>` as a user would (`npm run example:…`): a child process, the built package by its name. */
function example(file: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'examples', file)],
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        captured.push(stdout, stderr);
        resolve({ code: exitCode(err), stdout, stderr });
      },
    );
  });
}

describe('examples/ and the repository quick start', { timeout: 180_000 }, () => {
  before(async () => {
    // The examples import 'watch-manager' (the package's own name, resolved through its exports to dist/): build
    // this checkout first so they run what the tests test.
    const built = await new Promise<number>((resolve) => {
      execFile(
        process.execPath,
        [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
        { cwd: ROOT },
        (err) => resolve(err === null ? 0 : 1),
      );
    });
    assert.equal(built, 0);
  });

  it('the README quick start: npm run demo prints 40 events and exits 0', async () => {
    const run = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(
        process.platform === 'win32' ? 'npm.cmd' : 'npm',
        ['run', '-s', 'demo'],
        { cwd: ROOT, timeout: 60_000 },
        (err, stdout, stderr) => {
          captured.push(stdout, stderr);
          resolve({ code: exitCode(err), stdout });
        },
      );
    });
    assert.equal(run.code, 0);
    assert.equal((run.stdout.match(/"record":"event"/g) ?? []).length, 40);
  });

  it('handler agent: catch-up then live, a file store, dead letters set aside and redriven', async () => {
    const run = await example('handler-agent.ts');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^live: \/management\/v1alpha1\/watchtopics\/agent-demo$/m);
    const dead = Number(/^dead letters: (\d+)$/m.exec(run.stdout)?.[1]);
    assert.ok(dead >= 1, run.stdout);
    assert.match(run.stdout, new RegExp(`^redriven: \\{"redriven":${dead},"failed":0\\}$`, 'm'));
    assert.match(run.stdout, /^position saved: \d+ in /m);
    assert.ok((run.stdout.match(/^applied #/gm) ?? []).length >= 20);
  });

  it('positions in PostgreSQL: a restarted manager resumes after the last event handled', async () => {
    const pg = await startPostgres();
    try {
      const run = await example('postgres-positions.ts', { DATABASE_URL: pg.connectionString });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^first run: 1 2 3 4 5$/m);
      assert.match(run.stdout, /^after a restart: 6 7 8$/m);
    } finally {
      await pg.stop();
    }
    const usage = await example('postgres-positions.ts', { DATABASE_URL: undefined });
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /^set DATABASE_URL=/);
  });

  it('replicas: four topics spread over two replicas, handed over when one closes, each event applied once', async () => {
    const pg = await startPostgres();
    try {
      const run = await example('replicas.ts', { DATABASE_URL: pg.connectionString });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^balanced: replica-a runs 2 topics, replica-b 2$/m);
      assert.match(run.stdout, /^replica-a: released \/management\/v1alpha1\/watchtopics\/\w+ \(epoch \d+\)$/m);
      assert.match(run.stdout, /^replica-b runs 4 topics$/m);
      assert.match(run.stdout, /^applied 40 events, each exactly once$/m);
    } finally {
      await pg.stop();
    }
  });

  it('prometheus: the OpenTelemetry metrics scraped over HTTP as Prometheus text, then SIGTERM stops it', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'examples', 'prometheus-metrics.ts'), '0'],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 30_000;
      let url: string | undefined;
      while (url === undefined) {
        assert.ok(Date.now() < deadline && child.exitCode === null, `no metrics URL: ${stdout}${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
        url = /metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)$/m.exec(stdout)?.[1];
      }
      // ready() resolved once the 30 events of history were handled.
      assert.match(stdout, /^handled 30 events; /m);
      const res = await fetch(url);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      const text = await res.text();
      const topic = 'watch_topic="/management/v1alpha1/watchtopics/metrics-demo"';
      const sample = (name: string): number => {
        const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(topic));
        assert.ok(line !== undefined, `${name} in:\n${text}`);
        return Number(line.slice(line.lastIndexOf(' ') + 1));
      };
      assert.match(text, /^# TYPE messaging_client_consumed_messages_total counter$/m);
      assert.ok(sample('messaging_client_consumed_messages_total') >= 30);
      assert.match(text, /^# TYPE messaging_process_duration histogram$/m);
      assert.ok(sample('messaging_process_duration_count') >= 30);
      assert.match(text, /^messaging_process_duration_bucket\{.*le="0\.005"\} \d+$/m);
      assert.equal(sample('watch_catch_up_duration_count'), 1);
      assert.ok(sample('watch_history_pages_total') >= 1);
      assert.ok(sample('watch_acknowledged_sequence_id') >= 30);
      assert.ok(sample('watch_events_in_flight') >= 0);
      assert.match(text, /^# TYPE watch_lag gauge$/m);
      assert.match(text, /^# UNIT watch_lag s$/m);
      assert.equal((await fetch(url.replace('/metrics', '/other'))).status, 404);
      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
      assert.match(stdout, /^stopped after \d+ events$/m);
    } finally {
      child.kill('SIGKILL');
      captured.push(stdout, stderr);
    }
  });

  it('for await: records in order, break after 15 events', async () => {
    const run = await example('for-await.ts');
    assert.equal(run.code, 0, run.stderr);
    const ids = [...run.stdout.matchAll(/^#(\d+) /gm)].map((m) => Number(m[1]));
    assert.deepEqual(
      ids,
      Array.from({ length: 15 }, (_, i) => i + 1),
      'from the beginning, in order, no gap',
    );
    assert.match(run.stdout, /^live: /m);
    assert.match(run.stdout, /^done after 15 events$/m);
  });

  it('cache: an initial sync, live changes told, then a restart from the file store without a list', async () => {
    const run = await example('cache.ts');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^synced: 4 resources at #4$/m);
    assert.match(run.stdout, /^APIServices in prod: orders, payments, search$/m);
    const changes = [...run.stdout.matchAll(/^change: (.+)$/gm)].map((m) => m[1]);
    assert.deepEqual(changes, [
      'UPDATED APIService/orders (#5, event)',
      'DELETED APIService/search (#6, event)',
      'CREATED APIService/inventory (#7, event)',
      'DELETED APIService/payments (#8, event)',
    ]);
    assert.match(run.stdout, /^told to the listener: 3; orders now at https:\/\/orders\.example\/v2$/m);
    assert.match(run.stdout, /^loaded: 4 resources at #7$/m, 'the store held the resources at their position');
    assert.match(run.stdout, /^restarted: 3 resources at #8, 0 lists$/m, 'resumed without listing again');
    assert.match(run.stdout, /^APIServices in prod: inventory, orders$/m);
  });

  it('testing kit: every event once despite aborted streams, an expired token and failing history', async () => {
    const run = await example('testing-kit.ts');
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stdout,
      /^agent saw 21 events in 21 handler calls, through [1-9]\d* reconnects$/m,
      'each once, after reconnects',
    );
  });

  describe('proxied agent', () => {
    let proxy: Tinyproxy;
    before(async () => {
      // The example's fake service takes random ports: this tinyproxy lets CONNECT reach any of them.
      proxy = await startTinyproxy({ user: 'agent', password: secret('example-tinyproxy-pw-3390'), allowPorts: [] });
    });
    after(async () => {
      await proxy.stop();
    });

    it('streams through its embedded ConnectProxy: gRPC, history and token endpoint tunnelled', async () => {
      const run = await example('proxied-agent.ts');
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^through http:\/\/127\.0\.0\.1:\d+: 6 events$/m);
      const tunnels = Number(/^tunnels: (\d+)/m.exec(run.stdout)?.[1]);
      assert.ok(tunnels >= 3, run.stdout);
    });

    it('streams through Debian tinyproxy given as PROXY_URL, and tinyproxy logged the tunnels', async () => {
      const run = await example('proxied-agent.ts', { PROXY_URL: proxy.url() });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /: 6 events$/m);
      assert.ok(proxy.connects().length >= 3, proxy.connects().join(', '));
    });

    it('exits 1 with the typed refusal when the proxy refuses its credentials', async () => {
      const t0 = Date.now();
      const run = await example('proxied-agent.ts', {
        PROXY_URL: proxy.url({ user: 'agent', password: secret('wrong-example-pw-11') }),
      });
      assert.equal(run.code, 1, 'exited by itself with 1');
      assert.ok(Date.now() - t0 < 15_000);
      assert.match(run.stderr, /cannot watch: WatchError: .*proxy 127\.0\.0\.1:\d+ refused the credentials/);
    });
  });
});
