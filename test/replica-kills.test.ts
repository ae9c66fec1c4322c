import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from 'watch-manager/testing';
import { scanForSecrets, until } from './support/harness';
import { type ReplicaProcess } from './support/replica-process';
import { ReplicaCluster, topicName } from './support/replica-cluster';

scanForSecrets();

// Replicas of an agent as child processes against the fake watch service and a real PostgreSQL
// (test/support/replica-cluster.ts), transactional handlers killed 20 times between an effect and its commit. The
// other replica tests are in replica-watches.test.ts and replica-balance.test.ts.
describe('replicas of an agent: kills between effect and commit', () => {
  let c: ReplicaCluster;
  before(async () => {
    c = await ReplicaCluster.start();
  });
  after(async () => {
    await c?.stop();
  });

  it(
    'transactional handlers, kill -9 at 20 random moments between effect and commit: every effect exactly once',
    { timeout: 100_000 },
    async (t) => {
      const schema = 'exactly_once';
      const topic = topicName(4);
      await c.setUp(schema, [topic]);
      // Short leases keep 20 takeovers quick; each handler spends most of its time between its insert and the commit.
      const options = { mode: 'transaction' as const, workMs: 40, leaseMs: 1_000, renewMs: 150 };
      let next = 0;
      const spawnMember = (): ReplicaProcess => c.replica(`tx-${++next}`, schema, [topic], options);
      // Two standbys: a started one is always there to take over while the replacement of the last victim starts.
      const live = [spawnMember(), spawnMember(), spawnMember()];
      const publisher = c.publisher(schema, [topic], { everyMs: 20, perTick: 2, maxBacklog: 30 });
      const random = seededRandom(13);
      try {
        await until('the members started', () => live.every((m) => m.said('started')), 30_000);
        for (let kill = 0; kill < 20; kill++) {
          let holder: string | undefined;
          await c.untilAsync('a live member holds the topic', async () => {
            holder = (await c.holders(schema)).get(topic);
            return live.some((m) => m.member === holder);
          });
          await c.rowsAtLeast(schema, (await c.effectCount(schema)) + 3);
          await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 60)));
          const victim = live.find((m) => m.member === holder) as ReplicaProcess;
          victim.signal('SIGKILL');
          live.splice(live.indexOf(victim), 1);
          live.push(spawnMember());
        }
      } finally {
        await publisher.stop();
      }
      const rows = await c.allHandled(schema, [topic], 60_000);
      const counts = new Map<number, number>();
      for (const r of rows) counts.set(r.seq, (counts.get(r.seq) ?? 0) + 1);
      const twice = [...counts].filter(([, n]) => n > 1).map(([s]) => s);
      assert.deepEqual(twice, [], `effects committed twice: ${twice.join(',')}`);
      const epochs = new Set(rows.map((r) => r.epoch));
      t.diagnostic(`${rows.length} effects of ${counts.size} events, each once, under ${epochs.size} epochs; 20 kills`);
    },
  );
});
