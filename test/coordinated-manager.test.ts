import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { Pool } from 'pg';
import {
  MemorySequenceStore,
  type WatchError,
  WatchManager,
  type EventContext,
  type LeaseChange,
  type WatchEvent,
  type WatchManagerOptions,
} from 'watch-manager';
import { PostgresCoordinator, schemaSql } from 'watch-manager/postgres';
import { startMuteDatabase } from './support/mute-database';
import { coordinatedSuite } from './support/coordinated-suite';
import { assignTopics } from '../src/state/rendezvous';
import { captured, scanForSecrets, until } from './support/harness';

scanForSecrets();

// Managers with a PostgresCoordinator in one process (members with ids of their own), against the fake watch
// service and a real PostgreSQL: the public surface of coordinated watches. Replicas as processes, with real
// signals, are in replica-watches.test.ts.
const topicName = (name: string): string => `/management/v1alpha1/watchtopics/coordinated-${name}`;

describe(
  'WatchManager with a coordinator: roles, lease events, the handler context, transactions',
  { timeout: 120_000 },
  () => {
    const suite = coordinatedSuite();
    const { options } = suite;

    /** A manager whose coordinator is a member `memberId` of `schema`. */
    const member = (
      schema: string,
      memberId: string,
      timing = { leaseMs: 1_500, renewMs: 150 },
      extra: Partial<WatchManagerOptions> = {},
    ): WatchManager => suite.manager({ coordinator: suite.coordinator(schema, memberId, timing), ...extra });

    it('without a coordinator: ctx has the idempotency key, no fencing token, and a signal aborted by close()', async () => {
      const topic = topicName('plain');
      suite.service.createTopic(topic);
      suite.service.publishMany(topic, 3);
      const manager = suite.manager();
      const seen: EventContext[] = [];
      await manager.registerWatch(topic, { onEvent: (_e, ctx) => void seen.push(ctx) });
      await until('three events', () => seen.length === 3);
      assert.deepEqual(
        seen.map((c) => [c.idempotencyKey, c.fencingToken, c.client, c.signal.aborted]),
        [1, 2, 3].map((s) => [`${topic}:${s}`, undefined, undefined, false]),
      );
      await manager.close();
      assert.equal(seen[0]?.signal.aborted, true);
      assert.equal((seen[0]?.signal.reason as WatchError).code, 'CLOSED');
    });

    it('one member runs the topic (active, its epoch as fencing token), the other stands by; close() hands it over', async () => {
      const schema = 'roles';
      const topic = topicName('roles');
      suite.service.createTopic(topic);
      suite.service.publishMany(topic, 5);
      const handled: Array<{ member: string; seq: number; fence: number | undefined; key: string }> = [];
      const leases: LeaseChange[] = [];
      const a = member(schema, 'member-a');
      a.on('lease', (c) => leases.push({ ...c }));
      await a.registerWatch(topic, {
        onEvent: (e, ctx) =>
          void handled.push({ member: 'a', seq: e.sequenceId, fence: ctx.fencingToken, key: ctx.idempotencyKey }),
      });
      await until('a handles the first events', () => handled.length === 5);
      const b = member(schema, 'member-b');
      b.on('lease', (c) => leases.push({ ...c }));
      await b.registerWatch(topic, {
        onEvent: (e, ctx) =>
          void handled.push({ member: 'b', seq: e.sequenceId, fence: ctx.fencingToken, key: ctx.idempotencyKey }),
      });
      await until('b sees who holds the topic', () => b.status().watches[0]?.owner === 'member-a');
      const activeStatus = a.status().watches[0];
      assert.equal(activeStatus?.role, 'active');
      assert.equal(activeStatus?.owner, 'member-a');
      assert.equal(activeStatus?.state, 'subscribed');
      const epoch = activeStatus?.epoch as number;
      assert.ok(handled.every((h) => h.fence === epoch && h.key === `${topic}:${h.seq}`));
      const standby = b.status().watches[0];
      assert.deepEqual(
        [standby?.role, standby?.state, standby?.owner, standby?.epoch, b.metrics().watches[0]?.role],
        ['standby', 'standby', 'member-a', epoch, 'standby'],
      );
      assert.deepEqual(leases, [{ watchId: 'watch-1', topic, kind: 'won', epoch, owner: 'member-a' }]);
      // Standing by is healthy and ready (probes must not restart or drain a standby replica).
      assert.deepEqual([b.health().healthy, b.health().ready], [true, true]);

      // A graceful hand-off: a stores its position and releases; b wins at once (within a renew round or two).
      const closedAt = Date.now();
      await a.close();
      suite.service.publishMany(topic, 5);
      await until('b handles the new events', () => handled.filter((h) => h.member === 'b').length === 5);
      const handOff = Date.now() - closedAt;
      assert.ok(handOff < 2 * 150 + 1_000, `handed over after ${handOff} ms`);
      assert.deepEqual(
        handled.map((h) => h.seq),
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        'resumed after the stored position: no gap, no repeat',
      );
      assert.ok(handled.filter((h) => h.member === 'b').every((h) => h.fence === epoch + 1));
      assert.deepEqual(
        leases.map((l) => [l.owner, l.kind, l.epoch]),
        [
          ['member-a', 'won', epoch],
          ['member-a', 'released', epoch],
          ['member-b', 'won', epoch + 1],
        ],
      );
      const active = b.status().watches[0];
      assert.deepEqual([active?.role, active?.owner, active?.epoch], ['active', 'member-b', epoch + 1]);
      assert.equal(b.metrics().watches[0]?.delivered, 5);
    });

    it('a rebalancing hand-off drains first: the running handler finishes before the lease goes, even past closeTimeoutMs', async () => {
      const schema = 'drain';
      // A topic the hashing gives to member-d once both count: member-c runs it alone first, then hands it off.
      const topic = Array.from({ length: 50 }, (_, i) => topicName(`drain-${i}`)).find(
        (t) => assignTopics([t], ['member-c', 'member-d']).get(t) === 'member-d',
      ) as string;
      suite.service.createTopic(topic);
      suite.service.publishMany(topic, 6);
      const runs: Array<{ member: string; seq: number; from: number; to: number }> = [];
      const slow = (member: string) => async (e: WatchEvent) => {
        const from = Date.now();
        await new Promise((resolve) => setTimeout(resolve, 800));
        runs.push({ member, seq: e.sequenceId, from, to: Date.now() });
      };
      // Handlers back to back, each far longer than closeTimeoutMs and a renew round: the hand-off comes while one
      // runs, the stop's grace ends long before it does, and the lease must still wait for it.
      const c = member(schema, 'member-c', undefined, { closeTimeoutMs: 50 });
      const leases: string[] = [];
      c.on('lease', (l) => leases.push(`c ${l.kind}`));
      await c.registerWatch(topic, { onEvent: slow('c') });
      await until('c handles its first events', () => runs.length >= 2);
      const d = member(schema, 'member-d');
      d.on('lease', (l) => leases.push(`d ${l.kind}`));
      await d.registerWatch(topic, { onEvent: slow('d') });
      await until('d runs the topic', () => runs.some((r) => r.member === 'd'), 20_000);
      await until('every event handled', () => new Set(runs.map((r) => r.seq)).size === 6, 20_000);
      assert.deepEqual(leases.slice(0, 3), ['c won', 'c released', 'd won']);
      assert.deepEqual(
        runs.map((r) => r.seq),
        [1, 2, 3, 4, 5, 6],
        'each event once, in order: d resumed after the position c stored',
      );
      const lastOfC = Math.max(...runs.filter((r) => r.member === 'c').map((r) => r.to));
      const firstOfD = Math.min(...runs.filter((r) => r.member === 'd').map((r) => r.from));
      assert.ok(firstOfD >= lastOfC, `d started at ${firstOfD}, while c ran until ${lastOfC}`);
    });

    it('a topic registered again while its last watch still closes: the new watch gets the topic', async () => {
      const schema = 'again';
      const topic = topicName('again');
      suite.service.createTopic(topic);
      suite.service.publishMany(topic, 2);
      const manager = member(schema, 'member-again', undefined, { closeTimeoutMs: 2_000 });
      const seen: number[] = [];
      let slowOnce = true;
      const first = await manager.registerWatch(topic, {
        onEvent: async (e) => {
          seen.push(e.sequenceId);
          // The first watch's close waits for this handler: the second registers meanwhile.
          if (slowOnce) await new Promise((resolve) => setTimeout(resolve, 500));
          slowOnce = false;
        },
      });
      await until('the first watch runs a handler', () => seen.length === 1);
      const closing = first.close();
      await manager.registerWatch(topic, { onEvent: (e) => void seen.push(e.sequenceId) });
      await closing;
      suite.service.publishMany(topic, 2);
      await until('the second watch handles the new events', () => seen.includes(4), 10_000);
      assert.equal(manager.status().watches.at(-1)?.role, 'active');
    });

    it('transactional handlers: an effect commits with the position; a failed attempt rolls its effect back', async () => {
      const schema = 'transactions';
      const topic = topicName('transactions');
      suite.service.createTopic(topic);
      suite.service.publishMany(topic, 4);
      await suite.db.query(`CREATE SCHEMA ${schema}`);
      await suite.db.query(`CREATE TABLE ${schema}.effects (seq bigint, fence bigint)`);
      const manager = member(schema, 'member-tx');
      let failOnce = true;
      await manager.registerWatch(
        topic,
        {
          onEvent: async (e, ctx) => {
            assert.ok(ctx.client !== undefined);
            await ctx.client.query(`INSERT INTO ${schema}.effects VALUES ($1, $2)`, [e.sequenceId, ctx.fencingToken]);
            if (e.sequenceId === 3 && failOnce) {
              failOnce = false;
              throw new Error('the first attempt of 3 fails after its insert');
            }
          },
        },
        { transaction: true },
      );
      await until('all four stored', () => manager.status().watches[0]?.lastSequenceId === 4);
      const { rows } = await suite.db.query<{ seq: string }>(`SELECT seq FROM ${schema}.effects ORDER BY seq`);
      assert.deepEqual(
        rows.map((r) => Number(r.seq)),
        [1, 2, 3, 4],
        'the failed attempt of 3 left no row',
      );
      const stored = await suite.db.query<{ position: string }>(
        `SELECT position FROM ${schema}.topics WHERE topic = $1`,
        [topic],
      );
      assert.equal(Number(stored.rows[0]?.position), 4);
    });

    it('#11 transactional handlers: one that returns when ctx.signal aborts in close() commits nothing, not even its position; the next member handles the event', async () => {
      const schema = 'tx_abort';
      const topic = topicName('tx-abort');
      suite.service.createTopic(topic);
      suite.service.publishMany(topic, 3);
      await suite.db.query(`CREATE SCHEMA ${schema}`);
      await suite.db.query(`CREATE TABLE ${schema}.effects (seq bigint, member text)`);
      const insert = `INSERT INTO ${schema}.effects VALUES ($1, $2)`;
      // close() aborts ctx.signal once closeTimeoutMs ran out (a handler finishing before it counts).
      const a = member(schema, 'member-abort-a', undefined, { closeTimeoutMs: 300 });
      let third = false;
      await a.registerWatch(
        topic,
        {
          onEvent: async (e, ctx) => {
            if (e.sequenceId === 3) {
              // Cut short before its work, as ctx.signal invites: it returns without an effect.
              third = true;
              await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
              return;
            }
            await ctx.client?.query(insert, [e.sequenceId, 'a']);
          },
        },
        { transaction: true },
      );
      await until('a runs event 3', () => third);
      await a.close();
      const stored = async (): Promise<number> =>
        Number(
          (
            await suite.db.query<{ position: string }>(`SELECT position FROM ${schema}.topics WHERE topic = $1`, [
              topic,
            ])
          ).rows[0]?.position,
        );
      assert.equal(await stored(), 2, 'the position stays before event 3');
      const b = member(schema, 'member-abort-b');
      let handledByB = 0;
      await b.registerWatch(
        topic,
        {
          onEvent: async (e, ctx) => {
            await ctx.client?.query(insert, [e.sequenceId, 'b']);
            handledByB += 1;
          },
        },
        { transaction: true },
      );
      await until('b handles event 3 and commits', () => b.status().watches[0]?.lastSequenceId === 3, 10_000);
      assert.equal(handledByB, 1);
      const { rows } = await suite.db.query<{ seq: string; member: string }>(
        `SELECT seq, member FROM ${schema}.effects ORDER BY seq`,
      );
      assert.deepEqual(
        rows.map((r) => `${r.seq} ${r.member}`),
        ['1 a', '2 a', '3 b'],
        'each effect once; event 3 by the member that ran the topic next',
      );
      await b.close();
      assert.equal(await stored(), 3);
    });

    it('a permanent failure under a lease (a topic that does not exist) stops the watch and gives the lease back', async () => {
      const schema = 'permanent';
      const topic = topicName('never-created');
      const manager = member(schema, 'member-p');
      const errors: string[] = [];
      const leases: string[] = [];
      manager.on('lease', (l) => leases.push(`${l.kind}${l.errorCode === undefined ? '' : ` ${l.errorCode}`}`));
      await manager.registerWatch(topic, { onEvent: () => undefined, onError: (e) => void errors.push(e.code) });
      await until('the watch stopped', () => manager.status().watches[0]?.state === 'closed', 20_000);
      assert.deepEqual(errors, ['TOPIC_NOT_FOUND'], 'told once, typed');
      assert.equal(manager.status().watches[0]?.lastErrorCode, 'TOPIC_NOT_FOUND');
      await until('the lease let go', () => leases.includes('released TOPIC_NOT_FOUND'));
      const { rows } = await suite.db.query<{ holder: string | null }>(
        `SELECT holder FROM ${schema}.topics WHERE topic = $1`,
        [topic],
      );
      assert.equal(rows[0]?.holder, null, 'the row is free for another member');
    });

    it('bad combinations are INVALID_CONFIG naming the option', async () => {
      const coordinator = new PostgresCoordinator({ connectionString: suite.pg.connectionString, schema: 'unused' });
      const codeAndField = (fn: () => unknown): [string, string] => {
        try {
          fn();
        } catch (err) {
          const e = err as WatchError;
          return [e.code, e.message];
        }
        return ['none', ''];
      };
      const [code, message] = codeAndField(
        () => new WatchManager(options({ coordinator, sequenceProvider: new MemorySequenceStore() })),
      );
      assert.equal(code, 'INVALID_CONFIG');
      assert.match(message, /sequenceProvider/);
      assert.match(
        codeAndField(() => new WatchManager(options({ coordinator: {} as PostgresCoordinator })))[1],
        /coordinator/,
      );
      const plain = suite.manager();
      await assert.rejects(
        plain.registerWatch(topicName('x'), { onEvent: () => undefined }, { transaction: true }),
        (e: WatchError) => e.code === 'INVALID_CONFIG' && /options\.transaction/.test(e.message),
      );
      const coordinated = suite.manager({ coordinator });
      await assert.rejects(
        coordinated.registerWatch(topicName('x'), { onEvent: () => undefined }, { transaction: true, concurrency: 2 }),
        (e: WatchError) => e.code === 'INVALID_CONFIG' && /options\.concurrency/.test(e.message),
      );
      await assert.rejects(
        (async () => {
          for await (const record of coordinated.watch(topicName('x'))) void record;
        })(),
        (e: WatchError) => e.code === 'INVALID_CONFIG' && /registerWatch/.test(e.message),
      );
    });

    it('PostgreSQL down: the active member delivers until its renew deadline, stops (LEASE_LOST), and runs again once it is back', async () => {
      const schema = 'outage';
      const topic = topicName('outage');
      suite.service.createTopic(topic);
      suite.service.publishMany(topic, 3);
      const seqs: number[] = [];
      const errors: string[] = [];
      const leases: string[] = [];
      const manager = member(schema, 'member-outage', { leaseMs: 3_000, renewMs: 200 });
      manager.on('lease', (c) => leases.push(`${c.kind}${c.errorCode === undefined ? '' : ` ${c.errorCode}`}`));
      await manager.registerWatch(topic, {
        onEvent: (e) => void seqs.push(e.sequenceId),
        onError: (e) => void errors.push(e.code),
      });
      await until('the first events', () => seqs.length === 3);
      // Handled is not yet stored (positions are written behind delivery): the outage starts once position 3 is in
      // the database, so that only the events of the outage may come again.
      const stored = async (): Promise<number> =>
        Number(
          (
            await suite.db.query<{ position: string | null }>(
              `SELECT position FROM ${schema}.topics WHERE topic = $1`,
              [topic],
            )
          ).rows[0]?.position ?? 0,
        );
      const storedBy = Date.now() + 20_000;
      while ((await stored()) < 3) {
        assert.ok(Date.now() < storedBy, 'position 3 stored');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await suite.pg.stopServer();
      const downAt = Date.now();
      // Delivery goes on while the lease may still be held here (its positions cannot be stored meanwhile).
      suite.service.publishMany(topic, 2);
      await until('events during the outage', () => seqs.length === 5);
      await until('the lease is lost', () => leases.includes('lost LEASE_LOST'), 10_000);
      const stoppedAfter = Date.now() - downAt;
      assert.ok(stoppedAfter < 3_000, `stopped ${stoppedAfter} ms after the database went down: after its lease`);
      assert.equal(manager.status().watches[0]?.state, 'standby');
      assert.ok(errors.includes('LEASE_LOST'));
      await suite.pg.restart();
      await until('won again', () => leases.filter((l) => l === 'won').length === 2, 20_000);
      suite.service.publishMany(topic, 2);
      await until('events after the outage', () => seqs.includes(7));
      // Positions 4 and 5 may not have been stored during the outage: those (only) may come again.
      const repeats = seqs.filter((s, i) => seqs.indexOf(s) !== i);
      assert.ok(
        repeats.every((s) => s === 4 || s === 5),
        `repeated: ${repeats.join(',')}`,
      );
      assert.deepEqual(
        [...new Set(seqs)].sort((x, y) => x - y),
        [1, 2, 3, 4, 5, 6, 7],
      );
      captured.push(`outage: stopped after ${stoppedAfter} ms; leases ${leases.join(', ')}`);
    });

    it('transactional handlers and PostgreSQL down for a while: the topic steps down and comes back, nothing given up, each effect once', async () => {
      const schema = 'tx_outage';
      const topic = topicName('tx-outage');
      suite.service.createTopic(topic);
      suite.service.publishMany(topic, 3);
      await suite.db.query(`CREATE SCHEMA ${schema}`);
      await suite.db.query(`CREATE TABLE ${schema}.effects (seq bigint)`);
      const manager = member(schema, 'member-tx-outage', { leaseMs: 3_000, renewMs: 200 });
      const errors: string[] = [];
      await manager.registerWatch(
        topic,
        {
          onEvent: async (e, ctx) => {
            await ctx.client?.query(`INSERT INTO ${schema}.effects VALUES ($1)`, [e.sequenceId]);
          },
          onError: (e) => void errors.push(e.code),
        },
        { transaction: true }, // maxAttempts stays 3: an outage must not use them up
      );
      await until('the first events committed', () => manager.status().watches[0]?.lastSequenceId === 3);
      await suite.pg.stopServer();
      suite.service.publishMany(topic, 3);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await suite.pg.restart();
      suite.service.publishMany(topic, 2);
      const committed = async (): Promise<number[]> =>
        (await suite.db.query<{ seq: string }>(`SELECT seq FROM ${schema}.effects ORDER BY seq`)).rows.map((r) =>
          Number(r.seq),
        );
      const deadline = Date.now() + 20_000;
      while ((await committed().catch(() => [])).length < 8) {
        assert.ok(Date.now() < deadline, `committed: ${JSON.stringify(await committed().catch(() => []))}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.deepEqual(await committed(), [1, 2, 3, 4, 5, 6, 7, 8], 'each effect once');
      assert.ok(!errors.includes('HANDLER_FAILED'), errors.join(','));
      assert.notEqual(manager.status().watches[0]?.state, 'closed');
    });

    it('a lease row whose epoch is beyond 2^53 (set by hand): told (onError, a lease event, status, health), the lease given back, never taken round after round', async () => {
      const schema = 'corrupt';
      const beyond = topicName('epoch-beyond-2-53');
      const largest = topicName('epoch-bigint-largest');
      const last = topicName('epoch-2-53-less-1');
      const topics = [beyond, largest, last];
      for (const t of topics) {
        suite.service.createTopic(t);
        suite.service.publishMany(t, 2);
      }
      await suite.db.query(schemaSql(`"${schema}"`));
      // 2^53 + 1 (read as a JS number it would be 2^53) and bigint's largest (its bump overflows in SQL) are seen
      // before any is taken; 2^53 - 1 is read fine, and taking it makes it 2^53.
      await suite.db.query(
        `INSERT INTO ${schema}.topics (topic, epoch) VALUES ($1, 9007199254740993), ($2, $3), ($4, 9007199254740991)`,
        [beyond, largest, '9223372036854775807', last],
      );
      const manager = member(schema, 'member-corrupt');
      const errors: WatchError[] = [];
      const leases: string[] = [];
      const handled: number[] = [];
      manager.on('lease', (l) => leases.push(`${l.kind} ${l.errorCode ?? '-'} ${l.epoch}`));
      for (const t of topics)
        await manager.registerWatch(t, {
          onEvent: (e) => void handled.push(e.sequenceId),
          onError: (e) => void errors.push(e),
        });
      const stopped = (): boolean => manager.status().watches.every((w) => w.state === 'closed');
      await until('the three watches stopped', stopped, 10_000);
      assert.deepEqual(
        errors.map((e) => e.code),
        ['STATE_CORRUPT', 'STATE_CORRUPT', 'STATE_CORRUPT'],
        'told once each',
      );
      for (const epoch of ['9007199254740993', '9223372036854775807', '9007199254740992'])
        assert.ok(
          errors.some((e) => e.message.includes(epoch)),
          errors.map((e) => e.message).join(' | '),
        );
      assert.deepEqual(leases, Array(3).fill('released STATE_CORRUPT 0'));
      assert.deepEqual(
        manager.status().watches.map((w) => [w.state, w.lastErrorCode]),
        Array(3).fill(['closed', 'STATE_CORRUPT']),
      );
      const health = manager.health();
      assert.equal(health.ready, false);
      assert.ok(
        health.reasons.some((r) => r.includes('STATE_CORRUPT')),
        health.reasons.join('; '),
      );
      assert.deepEqual(handled, [], 'nothing handled under an epoch that cannot fence');
      // Several renew rounds later: the rows seen corrupt were never taken; the one taken was given back at once, and
      // not taken again (its epoch went up once).
      await new Promise((resolve) => setTimeout(resolve, 5 * 150));
      const { rows } = await suite.db.query<{ topic: string; holder: string | null; epoch: string }>(
        `SELECT topic, holder, epoch::text FROM ${schema}.topics`,
      );
      assert.deepEqual(
        new Map(rows.map((r) => [r.topic, [r.holder, r.epoch]])),
        new Map([
          [beyond, [null, '9007199254740993']],
          [largest, [null, '9223372036854775807']],
          [last, [null, '9007199254740992']],
        ]),
      );
    });

    it("close() while joining a database that never answers (TCP accepted, or a login and then no statement; SDK pools or the application's): close() within 1 s, the registration rejects CLOSED, the connects abandoned", async () => {
      for (const [mode, borrowed] of [
        ['silent', false],
        ['mute', false],
        ['silent', true],
      ] as const) {
        const database = await startMuteDatabase(mode);
        // The application's pool (the SDK does not end it): a timeout of its own, so that it ends after the test.
        const appPool = borrowed
          ? new Pool({ connectionString: database.connectionString, connectionTimeoutMillis: 3_000 })
          : undefined;
        appPool?.on('error', () => undefined);
        try {
          const coordinator = new PostgresCoordinator({
            ...(appPool === undefined ? { connectionString: database.connectionString } : { pool: appPool }),
            memberId: 'member-silent',
          });
          const manager = suite.manager({ coordinator });
          let settledAt = Infinity;
          const registration = manager.registerWatch(topicName('silent'), { onEvent: () => undefined }).then(
            () => 'resolved',
            (e: WatchError) => e.code,
          );
          void registration.then(() => (settledAt = performance.now()));
          await until(`${mode}: the connect is under way`, () => database.open() > 0);
          if (mode === 'mute') await new Promise((resolve) => setTimeout(resolve, 100)); // logged in, a statement sent
          const started = performance.now();
          await manager.close();
          const tookMs = performance.now() - started;
          assert.ok(tookMs < 1_000, `${mode}${borrowed ? ' (pool given)' : ''}: close() took ${tookMs.toFixed(0)} ms`);
          assert.equal(await registration, 'CLOSED', mode);
          const rejectedMs = settledAt - started;
          assert.ok(rejectedMs < 1_000, `${mode}: the registration rejected ${rejectedMs.toFixed(0)} ms after close()`);
          if (!borrowed) await until(`${mode}: the connection abandoned`, () => database.open() === 0, 2_000);
        } finally {
          await appPool?.end();
          await database.stop();
        }
      }
    });
  },
);
