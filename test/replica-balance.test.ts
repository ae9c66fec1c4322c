import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { scanForSecrets, until } from './support/harness';
import { type ReplicaProcess } from './support/replica-process';
import { ReplicaCluster, assertNoOverlap, topicName } from './support/replica-cluster';

scanForSecrets();

// Replicas of an agent as child processes against the fake watch service and a real PostgreSQL
// (test/support/replica-cluster.ts): 30 topics over 3 members, one killed and one added. The other replica tests are
// in replica-watches.test.ts and replica-kills.test.ts.
describe('replicas of an agent: topics balanced over the members', () => {
  let c: ReplicaCluster;
  before(async () => {
    c = await ReplicaCluster.start();
  });
  after(async () => {
    await c?.stop();
  });

  it(
    '3 replicas x 30 topics, one killed and one added: never a topic active on two members, balance within 1, every event handled',
    { timeout: 90_000 },
    async (t) => {
      const schema = 'sharded';
      const leaseMs = 2_000;
      const renewMs = 300;
      const topics = Array.from({ length: 30 }, (_, i) => topicName(100 + i));
      await c.setUp(schema, topics);
      const options = { leaseMs, renewMs, workMs: 5 };
      const members = [1, 2, 3].map((n) => c.replica(`shard-${n}`, schema, topics, options));
      const balanced = async (live: ReplicaProcess[]): Promise<boolean> => {
        const held = await c.holders(schema);
        if (held.size !== topics.length) return false;
        const counts = live.map((m) => [...held.values()].filter((h) => h === m.member).length);
        return counts.every((c) => Math.abs(c - topics.length / live.length) <= 1);
      };
      const waitBalanced = async (live: ReplicaProcess[], ms: number): Promise<number> => {
        const from = Date.now();
        while (!(await balanced(live))) {
          assert.ok(
            Date.now() - from < ms,
            `not balanced within ${ms} ms: ${JSON.stringify([...(await c.holders(schema))])}`,
          );
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        return Date.now() - from;
      };
      const publisher = c.publisher(schema, topics, { everyMs: 100, perTick: 1, maxBacklog: 50 });
      try {
        await until('every member started', () => members.every((m) => m.said('started')), 30_000);
        await waitBalanced(members, 20_000);
        const [victim, ...rest] = members as [ReplicaProcess, ...ReplicaProcess[]];
        victim.signal('SIGKILL');
        const added = c.replica('shard-4', schema, topics, options);
        await until('the added member started', () => added.said('started'), 30_000);
        const beatsAtStart = await c.beats(schema, added);
        // The added member counts after two heartbeats; the victim's leases run out after leaseMs. From then on the
        // topics must settle within 3 rounds: (leaseMs + 5 x renewMs) / renewMs rounds of the added member in all.
        // Counted in its rounds (heartbeats), not in ms: the claim is about the coordinators' rounds, and on a loaded
        // machine a round takes longer than renewMs (on a quiet one the two agree).
        const rounds = Math.ceil((leaseMs + 5 * renewMs) / renewMs);
        const settledIn = await waitBalanced([...rest, added], 30_000);
        const took = (await c.beats(schema, added)) - beatsAtStart;
        assert.ok(took <= rounds, `balanced after ${took} rounds of the added member (limit ${rounds})`);
        t.diagnostic(
          `balanced ${settledIn} ms and ${took} rounds after the added member started (limit ${rounds} rounds, ${leaseMs + 5 * renewMs} ms on a quiet machine)`,
        );
        const counts = [...rest, added].map((m) => `${m.member}=${m.holding().size}`);
        t.diagnostic(`topics held: ${counts.join(' ')}`);
        await new Promise((resolve) => setTimeout(resolve, 500));
      } finally {
        await publisher.stop();
      }
      const rows = await c.allHandled(schema, topics, 60_000);
      assertNoOverlap(rows);
      t.diagnostic(`${rows.length} effects over ${topics.length} topics; no epoch overlapped another`);
    },
  );
});
