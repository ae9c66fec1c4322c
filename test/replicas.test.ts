import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Pool } from 'pg';
import { assertNeverBack, positionLedger, startPostgres, type TestPostgres } from './support/postgres';
import { scanForSecrets, until } from './support/harness';
import { ReplicaProcess, type ReplicaLine } from './support/replica-process';

scanForSecrets();

// Replicas as child processes (PostgresCoordinator members) on a real PostgreSQL, with real signals: kill -9 and
// SIGSTOP/SIGCONT. Every line a replica prints is kept with the time it was read.
const LEASE_MS = 1_500;
const RENEW_MS = 200;
const X = '/management/v1alpha1/watchtopics/replica-x';
const Y = '/management/v1alpha1/watchtopics/replica-y';

type Line = ReplicaLine;

class Replica extends ReplicaProcess {
  constructor(member: string, connectionString: string, schema: string) {
    super(member, 'coordinator-replica.ts', {
      args: [connectionString, schema, member, String(LEASE_MS), String(RENEW_MS), X, Y],
    });
  }
}

describe('replicas as child processes: fail-over on kill -9 and fencing after SIGSTOP', { timeout: 180_000 }, () => {
  let pg: TestPostgres;
  const replicas: Replica[] = [];
  before(async () => {
    pg = await startPostgres();
  });
  after(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await pg?.stop();
  });
  const replica = (member: string, schema: string): Replica => {
    const r = new Replica(member, pg.connectionString, schema);
    replicas.push(r);
    return r;
  };

  it('kill -9 of the member holding a topic: another takes it over within leaseMs + 2 x renewMs', async () => {
    const a = replica('replica-a', 'killed');
    const b = replica('replica-b', 'killed');
    await until('one topic each', () => a.holding().size === 1 && b.holding().size === 1);
    const victim = a.holding().has(X) ? a : b;
    const survivor = victim === a ? b : a;
    const killedAt = Date.now();
    victim.signal('SIGKILL');
    await until('the survivor wins the topic', () => survivor.holding().has(X) && survivor.holding().has(Y));
    const won = survivor.lines.find((l) => l.event === 'won' && l.at >= killedAt) as Line;
    const takeover = won.at - killedAt;
    assert.ok(takeover <= LEASE_MS + 2 * RENEW_MS, `taken over after ${takeover} ms`);
  });

  it('a member frozen past its lease writes nothing when it wakes (0 rows), stops the topic, and no position goes back', async () => {
    const schema = 'frozen';
    const a = replica('replica-c', schema);
    const b = replica('replica-d', schema);
    await until('one topic each', () => a.holding().size === 1 && b.holding().size === 1);
    const frozen = a.holding().has(Y) ? a : b;
    const other = frozen === a ? b : a;
    // A ledger of Y's stored position, read throughout: it must never go back.
    const pool = new Pool({ connectionString: pg.connectionString });
    const ledger = positionLedger(pool, schema, Y);
    const epoch = frozen.lines.filter((l) => l.event === 'won' && l.topic === Y).at(-1)?.epoch as number;
    frozen.signal('SIGSTOP');
    await until('the other member takes the topic over', () => other.holding().has(Y));
    const stoppedFor = Date.now();
    frozen.signal('SIGCONT');
    await until('the frozen member says it lost the topic', () => !frozen.holding().has(Y));
    await new Promise((resolve) => setTimeout(resolve, 4 * RENEW_MS)); // let late writes land, if any would
    const readings = await ledger.stop();
    await pool.end();
    const late = frozen.lines.filter(
      (l) => l.event === 'write' && l.topic === Y && l.epoch === epoch && l.at >= stoppedFor,
    );
    assert.ok(
      late.every((l) => l.ok === false),
      `a write after waking affected a row: ${JSON.stringify(late)}`,
    );
    assertNeverBack(readings);
  });
});
