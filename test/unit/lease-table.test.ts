import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Pool } from 'pg';
import type { WatchError } from '../../src/core/errors';
import { LeaseTable } from '../../src/postgres/lease-table';
import { ensureSchema } from '../../src/postgres/schema';
import { startPostgres, type TestPostgres } from '../support/postgres';
import { scanForSecrets } from '../support/harness';

scanForSecrets();

// The lease rows against a real PostgreSQL: fencing is judged by the database (its clock, its row locks), so only
// a real one can show it.
let pg: TestPostgres;
let pool: Pool;
let leases: LeaseTable;
let topics = 0;
const topic = (): string => `/management/v1alpha1/watchtopics/lease-${++topics}`;

/** Waits until the database judges the lease of `t` run out (no fixed sleep: the database decides). */
async function untilExpired(t: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await leases.holderOf(t)).expired) {
    assert.ok(Date.now() < deadline, 'the lease never ran out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe(
  'lease rows: one holder per topic, fenced by epoch, judged by the database clock',
  { timeout: 120_000 },
  () => {
    before(async () => {
      pg = await startPostgres();
      pool = new Pool({ connectionString: pg.connectionString, max: 10 });
      await ensureSchema(pool, '"leases"');
      leases = new LeaseTable(pool, '"leases"');
    });
    after(async () => {
      await pool?.end();
      await pg?.stop();
    });

    it('the first member wins epoch 1; another cannot take a lease that has not run out', async () => {
      const t = topic();
      assert.deepEqual(await leases.acquire(t, 'a', 60_000), { epoch: 1, position: undefined });
      assert.equal(await leases.acquire(t, 'b', 60_000), undefined);
      assert.deepEqual(await leases.holderOf(t), { holder: 'a', epoch: 1, expired: false, position: undefined });
      assert.equal(await leases.renew(t, 'a', 1, 60_000), true);
      assert.equal(await leases.renew(t, 'b', 1, 60_000), false, 'not the holder');
      assert.equal(await leases.renew(t, 'a', 2, 60_000), false, 'not its epoch');
    });

    it('a lease that ran out is taken over at the next epoch; the deposed holder renews and writes nothing', async () => {
      const t = topic();
      const first = await leases.acquire(t, 'a', 60_000);
      assert.ok(first !== undefined);
      assert.equal(await leases.writePosition(t, 'a', first.epoch, 10), true);
      // Shortened to 1 ms once written (a short lease from the start would race the write on a loaded machine).
      assert.equal(await leases.renew(t, 'a', first.epoch, 1), true);
      await untilExpired(t);
      assert.equal(await leases.writePosition(t, 'a', first.epoch, 11), false, 'a run-out lease writes nothing');
      const second = await leases.acquire(t, 'b', 60_000);
      assert.deepEqual(second, { epoch: first.epoch + 1, position: 10 }, 'the new holder resumes from the position');
      assert.equal(await leases.renew(t, 'a', first.epoch, 60_000), false);
      assert.equal(await leases.writePosition(t, 'a', first.epoch, 50), false, 'fenced: 0 rows');
      assert.equal((await leases.holderOf(t)).position, 10);
      assert.equal(await leases.writePosition(t, 'b', second.epoch, 12), true);
      assert.equal((await leases.holderOf(t)).position, 12);
    });

    it('positions only move forward', async () => {
      const t = topic();
      const won = await leases.acquire(t, 'a', 60_000);
      assert.ok(won !== undefined);
      assert.equal(await leases.writePosition(t, 'a', won.epoch, 10), true);
      assert.equal(await leases.writePosition(t, 'a', won.epoch, 5), true, 'held: the write is allowed...');
      assert.equal((await leases.holderOf(t)).position, 10, '...but a smaller position changes nothing');
    });

    it('a release hands the topic over at once, at the next epoch', async () => {
      const t = topic();
      const won = await leases.acquire(t, 'a', 60_000);
      assert.ok(won !== undefined);
      assert.equal(await leases.release(t, 'a', won.epoch), true);
      assert.equal(await leases.release(t, 'a', won.epoch), false, 'released already');
      assert.equal(await leases.writePosition(t, 'a', won.epoch, 3), false);
      assert.deepEqual(await leases.acquire(t, 'b', 60_000), { epoch: won.epoch + 1, position: undefined });
    });

    it('members racing for one topic: exactly one wins', async () => {
      const t = topic();
      const members = Array.from({ length: 8 }, (_, i) => `m${i}`);
      const won = await Promise.all(members.map((m) => leases.acquire(t, m, 60_000)));
      assert.equal(won.filter((w) => w !== undefined).length, 1);
      const holder = (await leases.holderOf(t)).holder;
      assert.ok(holder !== undefined && members.includes(holder));
    });

    it("a stale holder's transaction racing a takeover: the takeover waits on the row lock, the stale write lands first or not at all", async () => {
      const t = topic();
      const first = await leases.acquire(t, 'a', 60_000);
      assert.ok(first !== undefined);
      // a's transaction writes while its lease holds and keeps the row locked past the lease's end.
      const client = await pool.connect();
      let takeover: Promise<unknown> | undefined;
      try {
        await client.query('BEGIN');
        assert.equal(await leases.writePosition(t, 'a', first.epoch, 20, client), true);
        // The lease runs out while the transaction holds the row (shortened inside it: others see it at COMMIT).
        assert.equal(await leases.renew(t, 'a', first.epoch, 1, client), true);
        await untilExpiredBy(t, client);
        takeover = leases.acquire(t, 'b', 60_000); // blocks on a's row lock
        let settled = false;
        void takeover.then(() => (settled = true));
        await new Promise((resolve) => setTimeout(resolve, 200));
        assert.equal(settled, false, 'the takeover waits for the row lock');
        await client.query('COMMIT');
      } finally {
        await client.query('ROLLBACK').catch(() => undefined); // a failed check must not leave the row locked
        client.release();
      }
      const second = await takeover;
      assert.deepEqual(second, { epoch: first.epoch + 1, position: 20 }, 'it sees what a committed before its end');
      // And the other order: a's next transaction after the takeover changes nothing.
      const late = await pool.connect();
      try {
        await late.query('BEGIN');
        assert.equal(await leases.writePosition(t, 'a', first.epoch, 99, late), false, 'deposed: 0 rows');
        await late.query('COMMIT');
      } finally {
        await late.query('ROLLBACK').catch(() => undefined); // a failed check must not leave the row locked
        late.release();
      }
      assert.equal((await leases.holderOf(t)).position, 20);
    });

    it("a row whose epoch or position is beyond 2^53 - 1 is STATE_CORRUPT: a lease taken on it is given back at once; an epoch at bigint's largest is not taken", async () => {
      const [beyond, position, largest] = [topic(), topic(), topic()];
      await pool.query(
        `INSERT INTO "leases".topics (topic, epoch, position) VALUES ($1, 9007199254740992, NULL), ($2, 4, 9007199254740993), ($3, 9223372036854775807, NULL)`,
        [beyond, position, largest],
      );
      const row = async (t: string): Promise<[string | null, string]> => {
        const { rows } = await pool.query<{ holder: string | null; epoch: string }>(
          `SELECT holder, epoch::text FROM "leases".topics WHERE topic = $1`,
          [t],
        );
        return [rows[0]?.holder ?? null, rows[0]?.epoch ?? ''];
      };
      for (const [t, raw] of [
        [beyond, '9007199254740993'],
        [position, '9007199254740993'],
      ] as const) {
        await assert.rejects(leases.acquire(t, 'a', 60_000), (err: WatchError) => {
          assert.equal(err.code, 'STATE_CORRUPT');
          assert.ok(err.message.includes(raw), err.message);
          return true;
        });
      }
      assert.deepEqual(await row(beyond), [null, '9007199254740993'], 'taken once (the epoch went up), given back');
      assert.deepEqual(await row(position), [null, '5']);
      await assert.rejects(leases.acquire(largest, 'a', 60_000), { code: 'STATE_CORRUPT' });
      assert.deepEqual(await row(largest), [null, '9223372036854775807'], 'not taken: the bump overflowed');
      const seen = await leases.holders([beyond, position]);
      assert.equal((seen.get(beyond) as WatchError).code, 'STATE_CORRUPT', 'read as corrupt, for its topic alone');
      assert.deepEqual(seen.get(position), { holder: undefined, epoch: 5 });
    });
  },
);

/** Waits until the database clock is past the lease of `t`, read through a client that holds the row lock. */
async function untilExpiredBy(t: string, client: { query: Pool['query'] }): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    // now() is the transaction's start inside BEGIN: clock_timestamp() is the database's clock now.
    const { rows } = await client.query<{ expired: boolean }>(
      'SELECT lease_until <= clock_timestamp() AS expired FROM leases.topics WHERE topic = $1',
      [t],
    );
    if (rows[0]?.expired === true) return;
    assert.ok(Date.now() < deadline, 'the lease never ran out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
