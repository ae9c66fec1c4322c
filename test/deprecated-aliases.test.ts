import { describe, it } from 'node:test';
import './support/harness';
import assert from 'node:assert/strict';
import {
  WatchManager,
  serveProbes,
  type ConnectionState,
  type HealthReport,
  type ManagerState,
  type StateChange,
  type WatchError,
} from 'watch-manager';
import {
  TOPIC,
  recordError,
  quietLogger,
  scanForSecrets,
  serviceOptions,
  startService,
  token,
  until,
} from './support/harness';

scanForSecrets();

// Issue 22: the names renamed in 0.2 stay as deprecated aliases until 0.3, each holding the same value as its new
// name, in status(), health(), /healthz's body and the 'state' event, while things go well and once they do not.

/** Every deprecated alias of `m`'s status() and health() next to its new name, now. */
function aliasesOf(m: WatchManager): { status: [number, number, number | undefined][]; health: boolean[][] } {
  const acknowledged = new Map(m.metrics().watches.map((w) => [w.id, w.acknowledgedSequenceId]));
  const report: HealthReport = m.health();
  return {
    // lastSequenceId, acknowledgedSequenceId, and metrics()' acknowledgedSequenceId of each watch
    status: m.status().watches.map((w) => [w.lastSequenceId, w.acknowledgedSequenceId, acknowledged.get(w.id)]),
    // live and healthy of the report, then of each watch
    health: [[report.live, report.healthy], ...report.watches.map((w) => [w.live, w.healthy])],
  };
}

describe('the deprecated aliases of 0.2 hold the same values as their new names', () => {
  it("status().watches[i].lastSequenceId, health().live (also per watch and in /healthz), the 'state' event's manager", async () => {
    const service = await startService();
    const jwt = await token(service, { ttlMs: 600_000 });
    service.publishMany(TOPIC, 3);
    const m = new WatchManager({ ...serviceOptions(service, jwt), from: 'beginning', logger: quietLogger });
    const server = await serveProbes(m, { port: 0, host: '127.0.0.1' });
    const changes: StateChange[] = [];
    m.on('state', (c) => void changes.push(c));
    const healthz = async (): Promise<{ status: number; body: Record<string, unknown> }> => {
      const res = await fetch(`http://127.0.0.1:${server.port}/healthz`);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    try {
      // The type alias: what a manager's state was typed with before still takes it.
      const before: ConnectionState = m.status().state;
      const now: ManagerState = before;
      assert.equal(now, 'idle');

      const errors: WatchError[] = [];
      await m.registerWatch(TOPIC, {
        onEvent: (e) => {
          if (e.payload.name === 'poison') throw new Error('cannot apply');
        },
        onError: (e) => void errors.push(recordError(e)),
      });
      await m.ready({ timeoutMs: 20_000 });
      await until('the backlog acknowledged', () => m.status().watches[0]?.acknowledgedSequenceId === 3);
      assert.deepEqual(
        aliasesOf(m),
        {
          status: [[3, 3, 3]],
          health: [
            [true, true],
            [true, true],
          ],
        },
        'going well',
      );
      const up = await healthz();
      assert.deepEqual([up.status, up.body.healthy, up.body.live], [200, true, true]);

      // A handler fails for good: the watch stops, still listed (not healthy, the manager degraded).
      service.publish(TOPIC);
      service.publish(TOPIC, { name: 'poison' });
      await until('stopped for good', () => errors.length === 1 && m.status().watches[0]?.state === 'closed');
      assert.equal(errors[0]?.code, 'HANDLER_FAILED');
      assert.deepEqual(
        aliasesOf(m),
        {
          status: [[4, 4, 4]],
          health: [
            [false, false],
            [false, false],
          ],
        },
        'stopped',
      );
      const down = await healthz();
      assert.deepEqual([down.status, down.body.healthy, down.body.live], [503, false, false]);

      await m.close();
      assert.deepEqual(
        changes.map((c) => [c.to, c.managerState]),
        [
          ['subscribed', 'subscribed'],
          ['closed', 'degraded'],
        ],
      );
      assert.ok(
        changes.every((c) => c.manager === c.managerState),
        JSON.stringify(changes.map((c) => [c.manager, c.managerState])),
      );
    } finally {
      await server.close();
      await m.close();
      await service.stop();
    }
  });
});
