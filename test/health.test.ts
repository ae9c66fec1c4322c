import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemorySequenceStore, WatchManager, serveProbes, type WatchError } from 'watch-manager';
import type { FakeWatchService } from 'watch-manager/testing';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  TOPIC,
  captured,
  cliArgs,
  quietLogger,
  recordError,
  scanForSecrets,
  serviceOptions,
  startService,
  token,
  until,
} from './support/harness';
import { endsWithParent } from './support/watchdog';
import { systemClock } from '../src/core/clock';

scanForSecrets();

// manager.health(), manager.ready() and the probe server, asked over real HTTP while a watch connects, falls behind
// in a catch-up, reconnects and stops for good.
async function probe(port: number, path: string): Promise<{ status: number; body: ProbeBody }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: (await res.json()) as ProbeBody };
}

/** What /healthz and /readyz answer; `live` is the deprecated name of `healthy` (same value, until 0.3). */
interface ProbeBody {
  healthy: boolean;
  live: boolean;
  ready: boolean;
  reasons: string[];
}

/** A service whose topic holds `events` missed events, and managers that start from the beginning of it. */
async function backlogOf(events: number): Promise<{ service: FakeWatchService; newManager: () => WatchManager }> {
  const service = await startService();
  const jwt = await token(service, { ttlMs: 600_000 });
  service.publishMany(TOPIC, events);
  return {
    service,
    newManager: () => new WatchManager({ ...serviceOptions(service, jwt), from: 'beginning', logger: quietLogger }),
  };
}

describe('health for probes', { timeout: 60_000 }, () => {
  it('/healthz and /readyz follow a watch through catch-up, a reconnect and a permanent stop', async () => {
    const service = await startService();
    const jwt = await token(service, { ttlMs: 600_000 });
    service.publishMany(TOPIC, 3_000);
    const manager = new WatchManager({
      ...serviceOptions(service, jwt),
      from: 'beginning',
      maxBufferedEvents: 100,
      reconnect: { initialDelayMs: 400, maxDelayMs: 400 },
      // Full jitter draws the backoff from [0, 400 ms): a draw near 0 left no reconnecting state to observe on a busy
      // machine. The real clock, with the top of the range drawn: the reconnect waits ~400 ms.
      clock: { ...systemClock, random: () => 0.999 },
      logger: quietLogger,
    });
    const server = await serveProbes(manager, { port: 0, host: '127.0.0.1' });
    try {
      // Nothing registered: healthy, not ready.
      assert.equal((await probe(server.port, '/healthz')).status, 200);
      const empty = await probe(server.port, '/readyz');
      assert.deepEqual([empty.status, empty.body.reasons], [503, ['no watch is registered']]);

      // A catch-up held up by a handler that waits: subscribed, not caught up.
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      let handled = 0;
      await manager.registerWatch(TOPIC, {
        onEvent: async () => {
          handled += 1;
          await gate;
        },
      });
      await until('the first event handled', () => handled === 1);
      const behind = await probe(server.port, '/readyz');
      assert.equal(behind.status, 503);
      assert.match(behind.body.reasons.join(), /catching up on missed events/);
      assert.equal((await probe(server.port, '/healthz')).status, 200, 'behind is not dead');
      await assert.rejects(manager.ready({ timeoutMs: 100 }), (e: WatchError) => e.code === 'NOT_READY' && e.retryable);

      // The gate opens: caught up and live.
      open();
      await manager.ready({ timeoutMs: 20_000 });
      assert.equal((await probe(server.port, '/readyz')).status, 200);
      assert.equal(manager.health().ready, true);

      // A dropped stream: not ready while it reconnects (a 400 ms backoff), ready again after.
      service.abortStreams();
      await until('reconnecting', () => manager.status().watches[0]?.state === 'reconnecting');
      const reconnecting = await probe(server.port, '/readyz');
      assert.equal(reconnecting.status, 503);
      assert.match(reconnecting.body.reasons.join(), /reconnecting \(CONNECTION_LOST\)/);
      await manager.ready({ timeoutMs: 20_000 });
      assert.equal((await probe(server.port, '/readyz')).status, 200);

      // The token revoked: refused for good, the watch stops: not healthy, and ready() says why at once.
      service.revokeToken(jwt);
      await until('stopped', () => manager.status().watches[0]?.state === 'closed', 20_000);
      const dead = await probe(server.port, '/healthz');
      assert.equal(dead.status, 503);
      assert.deepEqual([dead.body.healthy, dead.body.ready], [false, false]);
      assert.match(dead.body.reasons.join(), /stopped for good \(UNAUTHENTICATED\)/);
      await assert.rejects(manager.ready({ timeoutMs: 5_000 }), (e: WatchError) => e.code === 'UNAUTHENTICATED');
      assert.equal((await fetch(`http://127.0.0.1:${server.port}/other`)).status, 404);
      assert.equal((await fetch(`http://127.0.0.1:${server.port}/healthz`, { method: 'POST' })).status, 405);
    } finally {
      await server.close();
      await manager.close();
      await service.stop();
    }
  });

  it('ready() waits until the missed events were handled, not only read from history', async () => {
    // Fewer than the buffer holds: history is read and handed over at once, while the handlers still work on it.
    const { service, newManager } = await backlogOf(40);
    const manager = newManager();
    try {
      let handled = 0;
      await manager.registerWatch(TOPIC, {
        onEvent: async () => {
          await new Promise((resolve) => setTimeout(resolve, 5));
          handled += 1;
        },
      });
      await manager.ready({ timeoutMs: 20_000 });
      assert.equal(handled, 40);
      assert.deepEqual([manager.health().ready, manager.metrics().watches[0]?.catchUp.active], [true, false]);
    } finally {
      await manager.close();
      await service.stop();
    }
  });

  it('ready() inside onLive, and before a for await loop takes its first record, resolves', async () => {
    const { service, newManager } = await backlogOf(5);
    const manager = newManager();
    try {
      let readyInOnLive: unknown;
      await manager.registerWatch(TOPIC, {
        onEvent: () => undefined,
        onLive: async () => {
          readyInOnLive = await manager.ready({ timeoutMs: 5_000 }).then(
            () => 'ready',
            (err: WatchError) => err.code,
          );
        },
      });
      await until('onLive', () => readyInOnLive !== undefined);
      assert.equal(readyInOnLive, 'ready');
    } finally {
      await manager.close();
    }
    const other = newManager();
    try {
      const records = other.watch(TOPIC);
      await other.ready({ timeoutMs: 5_000 }); // the loop has not asked for anything yet
      const ids: number[] = [];
      for await (const record of records) {
        if (record.kind === 'event') ids.push(record.event.sequenceId);
        if (record.kind === 'live') break;
      }
      assert.deepEqual(ids, [1, 2, 3, 4, 5]);
    } finally {
      await other.close();
      await service.stop();
    }
  });

  it('a bad port is INVALID_CONFIG naming it', async () => {
    const manager = new WatchManager({ target: 'localhost:1', tenantId: 't', getToken: () => 'x', tls: false });
    await assert.rejects(
      serveProbes(manager, { port: 70_000 }),
      (e: WatchError) => e.code === 'INVALID_CONFIG' && /'port'/.test(e.message),
    );
    await manager.close();
  });

  it('watch-tail --health-port: real probes while it tails, exit 0 on SIGTERM; a bad port exits 2', async () => {
    const service = await startService();
    const tokenFile = path.join(mkdtempSync(path.join(tmpdir(), 'wm-health-')), 'token');
    writeFileSync(tokenFile, await token(service, { ttlMs: 600_000 }));
    service.publishMany(TOPIC, 5);
    const cli = path.join(__dirname, '..', 'src', 'cli', 'watch-tail.ts');
    const args = [...cliArgs(service, tokenFile), '--topic', TOPIC, '--from', 'beginning', '--json'];
    const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args, '--health-port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    endsWithParent(child);
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += String(d)));
    child.stdout.resume();
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await until('the probe port is printed', () => /probes on port \d+/.test(err), 20_000);
      const port = Number(/probes on port (\d+)/.exec(err)?.[1]);
      let ready = 0;
      const deadline = Date.now() + 20_000;
      while (ready !== 200 && Date.now() < deadline) {
        ready = (await fetch(`http://127.0.0.1:${port}/readyz`)).status;
        if (ready !== 200) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal(ready, 200, err);
      assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
      child.kill('SIGTERM');
      assert.equal(await exited, 0, err);
    } finally {
      child.kill('SIGKILL');
      captured.push(err);
    }
    const bad = spawn(process.execPath, ['--import', 'tsx', cli, ...args, '--health-port', '99999'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let badErr = '';
    bad.stderr.on('data', (d: Buffer) => (badErr += String(d)));
    assert.equal(await new Promise((resolve) => bad.once('exit', resolve)), 2);
    assert.match(badErr, /--health-port must be a port number/);
    await service.stop();
  });
});

describe(
  'issue 20 #13: health after a watch stopped for good, and with a wrong history URL',
  { timeout: 60_000 },
  () => {
    it('a watch stopped by HANDLER_FAILED and registered again leaves status() and health(): /healthz 200 again; a closed watch leaves both', async () => {
      const { service, newManager } = await backlogOf(0);
      const manager = newManager();
      const server = await serveProbes(manager, { port: 0, host: '127.0.0.1' });
      try {
        const failed: WatchError[] = [];
        const first = await manager.registerWatch(
          TOPIC,
          {
            onEvent: () => {
              throw new Error('the handler gives up');
            },
            onError: (e) => void failed.push(e),
          },
          { maxAttempts: 1 },
        );
        await manager.ready({ timeoutMs: 20_000 });
        service.publishMany(TOPIC, 1);
        await until('stopped for good', () => manager.status().watches[0]?.state === 'closed');
        assert.ok(failed.some((e) => e.code === 'HANDLER_FAILED'));
        assert.equal((await probe(server.port, '/healthz')).status, 503);
        assert.equal(manager.status().state, 'degraded', 'its only watch stopped for good');

        // The application registers the topic again: the stopped watch is replaced.
        const handled: number[] = [];
        const second = await manager.registerWatch(TOPIC, { onEvent: (e) => void handled.push(e.sequenceId) });
        await manager.ready({ timeoutMs: 20_000 });
        assert.deepEqual(
          manager.status().watches.map((w) => [w.id, w.state]),
          [[second.id, 'subscribed']],
        );
        assert.equal(manager.status().state, 'subscribed', 'the stopped watch replaced: not degraded any more');
        assert.deepEqual(
          manager.health().watches.map((w) => w.id),
          [second.id],
        );
        assert.equal((await probe(server.port, '/healthz')).status, 200);
        assert.equal((await probe(server.port, '/readyz')).status, 200);
        await first.close(); // the replaced watch's subscription: nothing left to do
        assert.equal(manager.status().watches.length, 1);

        // A closed watch leaves both.
        await second.close();
        assert.deepEqual(manager.status().watches, []);
        assert.deepEqual(manager.health().reasons, ['no watch is registered']);
        assert.equal((await probe(server.port, '/healthz')).status, 200);
      } finally {
        await server.close();
        await manager.close();
        await service.stop();
      }
    });

    it('without historyUrl and with tls: false the default keeps the target port; a watch whose catch-up cannot complete is not live, and its history errors name the URL tried', async () => {
      const service = await startService();
      const jwt = await token(service, { ttlMs: 600_000 });
      service.publishMany(TOPIC, 5);
      const store = new MemorySequenceStore();
      store.setSequence(TOPIC, 2);
      const errors: WatchError[] = [];
      const { historyUrl: _wanted, ...options } = serviceOptions(service, jwt);
      const manager = new WatchManager({ ...options, sequenceProvider: store, logger: quietLogger });
      try {
        await manager.registerWatch(TOPIC, {
          onEvent: () => undefined,
          onError: (e) => void errors.push(recordError(e)),
        });
        await until('a history error', () => errors.some((e) => e.code === 'HISTORY_UNAVAILABLE'));
        // The gRPC port does not serve the history API: what matters is that it is the port asked.
        const tried = errors.find((e) => e.code === 'HISTORY_UNAVAILABLE') as WatchError;
        assert.ok(
          tried.message.includes(`(GET http://${service.target}/events${TOPIC})`),
          `names the URL tried: ${tried.message}`,
        );
        const [status] = manager.status().watches;
        assert.deepEqual([status?.state, status?.live], ['subscribed', false], 'subscribed, not live');
        const health = manager.health();
        assert.equal(health.ready, false);
        assert.match(health.reasons.join(), /catching up on missed events \(last error: HISTORY_UNAVAILABLE\)/);
        await assert.rejects(manager.ready({ timeoutMs: 200 }), (e: WatchError) => e.code === 'NOT_READY');
      } finally {
        await manager.close();
        await service.stop();
      }
    });
  },
);
