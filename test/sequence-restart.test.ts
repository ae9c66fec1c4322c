import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  FileSequenceStore,
  MemorySequenceStore,
  WatchError,
  WatchManager,
  type ResyncNotice,
  type SequenceProvider,
  type TopicLease,
  type WatchManagerOptions,
} from 'watch-manager';
import { PostgresSequenceStore } from 'watch-manager/postgres';
import { FakeClock, type FakeWatchService } from 'watch-manager/testing';
import { PositionKeeper } from '../src/state/position-keeper';
import { interceptWrites } from '../src/state/durable-file';
import { LeaseTable } from '../src/postgres/lease-table';
import { ensureSchema } from '../src/postgres/schema';
import { coordinatedSuite } from './support/coordinated-suite';
import {
  captureLogger,
  captured,
  recordError,
  scanForSecrets,
  serviceOptions,
  startService,
  token,
  until,
} from './support/harness';

scanForSecrets();

// A topic recreated (its sequence restarted, new ids below the old position): the resync moves the stored position
// back to the new newest id, durably, before delivery goes past it. Left at the old sequence's position, a restart
// after the new sequence passed it would resume there and never deliver the new events up to it, untold.

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const topicName = (name: string): string => `/management/v1alpha1/watchtopics/restart-${name}`;

type Seen = Array<number | 'live' | { resync: [number, number] }>;

/** A consumer of `topic`: what it saw, in order, and its errors. */
function consumer() {
  const seen: Seen = [];
  const errors: WatchError[] = [];
  const handlers = {
    onEvent: (e: { sequenceId: number }) => void seen.push(e.sequenceId),
    onLive: () => void seen.push('live'),
    onResync: (n: ResyncNotice) => void seen.push({ resync: [n.previousSequenceId, n.newestSequenceId] }),
    onError: (e: WatchError) => void errors.push(recordError(e)),
  };
  const events = (): number[] => seen.filter((x): x is number => typeof x === 'number');
  return { seen, errors, handlers, events };
}

/**
 * The scenario of the issue: 30 events of the old sequence handled; the topic recreated, 5 new events, a resync to 5,
 * then 6..15 handled live; the manager closes (`stored()` then says 15: the new sequence's position); 25 more events
 * (16..40) while nobody watches; a new manager on the same store resumes after 15: 16..40, nothing lost, no resync.
 * With the old sequence's position (30) kept, it would resume after 30 and 16..30 would never be delivered.
 */
async function restartedWhileWatched(
  service: FakeWatchService,
  topic: string,
  open: (n: number) => WatchManager,
  stored: () => Promise<number | undefined>,
): Promise<void> {
  service.publishMany(topic, 30);
  const a = consumer();
  const first = open(1);
  await first.registerWatch(topic, a.handlers);
  await until('the old sequence handled, live', () => a.events().length === 30 && a.seen.includes('live'));
  service.recreateTopic(topic); // ends the stream: the reconnect's catch-up asks after 30, answered 410 (newest 5)
  service.publishMany(topic, 5);
  await until('the resync', () => a.seen.some((x) => typeof x === 'object'));
  await until('live again', () => a.seen.filter((x) => x === 'live').length === 2);
  service.publishMany(topic, 10); // 6..15 of the new sequence
  await until('the new sequence handled', () => a.events().length === 40);
  assert.deepEqual(a.seen, [...range(1, 30), 'live', { resync: [30, 5] }, 'live', ...range(6, 15)]);
  await first.close();
  assert.equal(await stored(), 15, 'the stored position is the new sequence’s');
  service.publishMany(topic, 25); // 16..40, while nobody watches

  const b = consumer();
  const second = open(2);
  await second.registerWatch(topic, b.handlers);
  await until('the events published while down, live', () => b.events().includes(40) && b.seen.includes('live'));
  assert.deepEqual(b.seen, [...range(16, 40), 'live'], 'resumed after 15: nothing of the new sequence lost');
  // The recreated topic ends the stream (CONNECTION_LOST, retried): nothing else is wrong.
  assert.deepEqual(
    [...a.errors, ...b.errors].filter((e) => e.code !== 'CONNECTION_LOST').map((e) => e.message),
    [],
  );
  await second.close();
}

function options(service: FakeWatchService, jwt: string, extra: Partial<WatchManagerOptions>): WatchManagerOptions {
  return {
    ...serviceOptions(service, jwt),
    from: 'beginning',
    reconnect: { initialDelayMs: 5, maxDelayMs: 50 },
    logger: captureLogger(),
    ...extra,
  };
}

describe('issue 20 #1: a restarted sequence moves the stored position back', { timeout: 120_000 }, () => {
  let service: FakeWatchService;
  let jwt: string;
  before(async () => {
    service = await startService();
    jwt = await token(service, { ttlMs: 3_600_000 });
  });
  after(async () => {
    await service?.stop();
  });

  it('FileSequenceStore: closed and reopened on the same file after the topic was recreated, nothing of the new sequence is lost', async () => {
    const topic = topicName('file');
    service.createTopic(topic);
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'wm-restart-')), 'positions.json');
    await restartedWhileWatched(
      service,
      topic,
      () => new WatchManager(options(service, jwt, { sequenceProvider: new FileSequenceStore(file) })),
      async () => (await FileSequenceStore.read(file))[topic],
    );
  });

  it('a failed reset is told, delivery does not go past the resync until the position is stored, and the notice is not repeated', async () => {
    const topic = topicName('flaky');
    service.createTopic(topic);
    const inner = new MemorySequenceStore();
    let failures = 1;
    const store: SequenceProvider = {
      getSequence: (t) => inner.getSequence(t),
      setSequence: (t, s) => inner.setSequence(t, s),
      resetSequence: (t, s) => {
        if (failures-- > 0) throw new Error('the disk is full');
        inner.resetSequence(t, s);
      },
    };
    const c = consumer();
    // Each event of the new sequence must find the store below it (never the old sequence's 10).
    const above: number[] = [];
    const manager = new WatchManager(options(service, jwt, { sequenceProvider: store }));
    service.publishMany(topic, 10);
    await manager.registerWatch(topic, {
      ...c.handlers,
      onEvent: (e) => {
        if (c.seen.some((x) => typeof x === 'object') && (inner.getSequence(topic) ?? 0) >= e.sequenceId)
          above.push(e.sequenceId);
        c.handlers.onEvent(e);
      },
    });
    await until('the old sequence, live', () => c.events().length === 10 && c.seen.includes('live'));
    service.recreateTopic(topic);
    service.publishMany(topic, 3);
    await until('live after the reset stored', () => c.seen.filter((x) => x === 'live').length === 2);
    service.publishMany(topic, 2);
    await until('the new live events', () => c.events().length === 12);
    assert.deepEqual(c.seen, [...range(1, 10), 'live', { resync: [10, 3] }, 'live', 4, 5], 'one notice');
    assert.deepEqual(above, [], 'no event handled while the store held the old position');
    assert.equal(inner.getSequence(topic), 5);
    const failed = c.errors.filter((e) => /could not be moved back to 3/.test(e.message));
    assert.equal(failed.length, 1, c.errors.map((e) => e.message).join('; '));
    assert.deepEqual([failed[0]?.code, failed[0]?.retryable], ['STATE_IO', true]);
    assert.match(failed[0]?.message ?? '', /the disk is full/);
    await manager.close();
  });

  it('a provider without resetSequence: one warning naming the topic and the risk; delivery goes on as before', async () => {
    const topic = topicName('no-reset');
    service.createTopic(topic);
    const inner = new MemorySequenceStore();
    const store: SequenceProvider = {
      getSequence: (t) => inner.getSequence(t),
      setSequence: (t, s) => inner.setSequence(t, s),
    };
    const c = consumer();
    const manager = new WatchManager(options(service, jwt, { sequenceProvider: store }));
    service.publishMany(topic, 10);
    await manager.registerWatch(topic, c.handlers);
    await until('the old sequence, live', () => c.events().length === 10 && c.seen.includes('live'));
    const lines = captured.length;
    service.recreateTopic(topic);
    service.publishMany(topic, 3);
    await until('live again', () => c.seen.filter((x) => x === 'live').length === 2);
    service.publishMany(topic, 2);
    await until('the new live events', () => c.events().length === 12);
    assert.deepEqual(c.seen, [...range(1, 10), 'live', { resync: [10, 3] }, 'live', 4, 5]);
    assert.equal(inner.getSequence(topic), 10, 'the store keeps the old position (it cannot move it back)');
    const warnings = captured.slice(lines).filter((l) => l.includes('has no resetSequence'));
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.ok(warnings[0]?.includes(topic) && /stays 10/.test(warnings[0] ?? ''), warnings[0]);
    await manager.close();
  });
});

describe('the position keeper orders a reset after every write', () => {
  const TOPIC = topicName('keeper');

  it('a write in flight (and the position it carries on with) lands before the reset; later writes follow it', async () => {
    const calls: string[] = [];
    const pending: Array<() => void> = [];
    const keeper = new PositionKeeper({
      provider: {
        getSequence: () => undefined,
        setSequence: (_t, s) => {
          calls.push(`set ${s}`);
          return new Promise<void>((resolve) => pending.push(resolve));
        },
        resetSequence: (_t, s) => void calls.push(`reset ${s}`),
      },
      topic: TOPIC,
      maxUnsaved: 1_000,
      onError: () => undefined,
    });
    keeper.record(999);
    keeper.record(1_000); // carried by the next write
    const reset = keeper.reset(5);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(calls, ['set 999'], 'the reset waits for the write in flight');
    pending.shift()?.();
    await until('the carried write', () => calls.length === 2);
    assert.deepEqual(calls, ['set 999', 'set 1000']);
    pending.shift()?.();
    assert.equal(await reset, true);
    assert.deepEqual(calls, ['set 999', 'set 1000', 'reset 5']);
    keeper.record(6);
    assert.deepEqual(calls, ['set 999', 'set 1000', 'reset 5', 'set 6'], 'the new sequence moves forward from 5');
    pending.shift()?.();
    await keeper.close();
  });

  it('a write given up on at its deadline: the reset waits for it to settle, and fails typed if it never does', async () => {
    const clock = new FakeClock();
    const calls: string[] = [];
    const pending: Array<() => void> = [];
    const errors: WatchError[] = [];
    const keeper = new PositionKeeper({
      provider: {
        getSequence: () => undefined,
        setSequence: (_t, s) => {
          calls.push(`set ${s}`);
          return new Promise<void>((resolve) => pending.push(resolve));
        },
        resetSequence: (_t, s) => void calls.push(`reset ${s}`),
      },
      topic: TOPIC,
      maxUnsaved: 1_000,
      onError: (e) => void errors.push(e),
      flush: { everyAcks: 1, intervalMs: 0, clock, timeoutMs: 100 },
    });
    keeper.record(1_000);
    await clock.advance(100);
    assert.deepEqual(
      errors.map((e) => e.code),
      ['STATE_IO'],
      'the write is given up on (it may still land)',
    );
    const reset = keeper.reset(5);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(calls, ['set 1000'], 'not before the abandoned write settled');
    pending.shift()?.(); // it lands late: the reset comes after it
    assert.equal(await reset, true);
    assert.deepEqual(calls, ['set 1000', 'reset 5']);

    // A write in flight when the reset is asked, given up on while the reset waits for it: waited for as well.
    keeper.record(6);
    const waiting = keeper.reset(2);
    await clock.advance(100);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(calls, ['set 1000', 'reset 5', 'set 6'], 'not before the write given up on meanwhile settled');
    pending.shift()?.();
    assert.equal(await waiting, true);
    assert.deepEqual(calls, ['set 1000', 'reset 5', 'set 6', 'reset 2']);

    keeper.record(7);
    await clock.advance(100); // given up on again, and this one never settles
    const again = keeper.reset(3).then(
      () => undefined,
      (e: unknown) => e,
    );
    await clock.advance(100);
    const err = await again;
    assert.ok(err instanceof WatchError && err.code === 'STATE_IO', String(err));
    assert.match(err.message, /has not settled yet/);
    assert.deepEqual(
      calls,
      ['set 1000', 'reset 5', 'set 6', 'reset 2', 'set 7'],
      'no reset while a write may still land',
    );
  });
});

describe('FileSequenceStore.resetSequence', () => {
  it('an old position whose write failed (still pending) never follows a reset; a pending reset is carried by the next write, and positions move forward from it', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'wm-restart-')), 'positions.json');
    const topic = topicName('file-unit');
    const other = topicName('file-unit-other');
    const store = new FileSequenceStore(file);
    await store.setSequence(topic, 10);
    let failing = true;
    interceptWrites(store, (step) => {
      if (failing && step === 'rename') throw new Error('the disk is full');
    });
    await assert.rejects(store.setSequence(topic, 1_000)); // pending: the next write would carry it
    await assert.rejects(store.resetSequence(topic, 5)); // pending too
    failing = false;
    // Above the pending reset (5), though below the durable 10: written, with the reset and without the 1000.
    await store.setSequence(topic, 7);
    await store.setSequence(other, 1);
    assert.deepEqual(await FileSequenceStore.read(file), { [topic]: 7, [other]: 1 });
    await store.setSequence(topic, 6);
    await store.setSequence(topic, 8);
    assert.deepEqual(await FileSequenceStore.read(file), { [topic]: 8, [other]: 1 }, 'forward only, from the reset');
    await store.close();
  });
});

describe(
  'a restarted sequence in PostgreSQL: the store, and the lease row under a coordinator',
  { timeout: 120_000 },
  () => {
    const suite = coordinatedSuite();

    const position = async (schema: string, topic: string): Promise<number | undefined> => {
      const { rows } = await suite.db.query<{ position: string | null }>(
        `SELECT position FROM ${schema}.topics WHERE topic = $1`,
        [topic],
      );
      const raw = rows[0]?.position;
      return raw === undefined || raw === null ? undefined : Number(raw);
    };

    it('PostgresSequenceStore: a new manager after the topic was recreated resumes in the new sequence, nothing lost', async () => {
      const topic = topicName('pg-store');
      suite.service.createTopic(topic);
      await restartedWhileWatched(
        suite.service,
        topic,
        () =>
          new WatchManager(
            options(suite.service, suite.jwt, {
              sequenceProvider: new PostgresSequenceStore({
                connectionString: suite.pg.connectionString,
                schema: 'restart_store',
              }),
            }),
          ),
        () => position('restart_store', topic),
      );
    });

    it('PostgresCoordinator: the lease row moves back under the fence; the next member resumes in the new sequence', async () => {
      const topic = topicName('pg-lease');
      suite.service.createTopic(topic);
      await restartedWhileWatched(
        suite.service,
        topic,
        (n) =>
          new WatchManager(
            options(suite.service, suite.jwt, {
              coordinator: suite.coordinator('restart_lease', `member-${n}`),
            }),
          ),
        () => position('restart_lease', topic),
      );
    });

    it("a coordinator's lease: its reset moves the row back; once another member took the topic over, its reset moves nothing and the lease ends LEASE_LOST", async () => {
      const topic = topicName('deposed');
      const coordinator = suite.coordinator('restart_deposed', 'member-a', { leaseMs: 60_000, renewMs: 10_000 });
      let lease: TopicLease | undefined;
      const withdraw = coordinator.claim(topic, (l) => (lease = l));
      await coordinator.start();
      await until('the lease', () => lease !== undefined);
      const held = lease as TopicLease;
      assert.equal(await held.writePosition(1_000), true);
      assert.equal(await held.resetPosition?.(5), true);
      assert.equal(await position('restart_deposed', topic), 5, 'moved back under the lease');
      // Another member takes it over (the row's holder and epoch change under member-a, as after a takeover).
      await suite.db.query(
        `UPDATE restart_deposed.topics SET holder = 'member-b', epoch = epoch + 1 WHERE topic = $1`,
        [topic],
      );
      assert.equal(await held.resetPosition?.(1), false, 'the deposed holder moves nothing');
      assert.equal(await position('restart_deposed', topic), 5);
      assert.equal(held.signal.aborted, true);
      assert.equal((held.signal.reason as WatchError).code, 'LEASE_LOST');
      await withdraw();
      await coordinator.close();
    });

    it('a fenced reset: the holder moves the position back; a deposed holder moves nothing', async () => {
      const schema = '"restart_fence"';
      await ensureSchema(suite.db, schema);
      const leases = new LeaseTable(suite.db, schema);
      const topic = topicName('fence');
      const won = await leases.acquire(topic, 'a', 60_000);
      assert.ok(won !== undefined);
      assert.equal(await leases.writePosition(topic, 'a', won.epoch, 1_000), true);
      assert.equal(await leases.resetPosition(topic, 'a', won.epoch, 5), true);
      assert.equal((await leases.holderOf(topic)).position, 5, 'moved back');
      await leases.release(topic, 'a', won.epoch);
      const next = await leases.acquire(topic, 'b', 60_000);
      assert.deepEqual(next, { epoch: won.epoch + 1, position: 5 });
      assert.equal(await leases.resetPosition(topic, 'a', won.epoch, 1), false, 'the deposed holder: 0 rows');
      assert.equal(await leases.resetPosition(topic, 'b', won.epoch, 1), false, 'not its epoch');
      assert.equal((await leases.holderOf(topic)).position, 5);
    });
  },
);
