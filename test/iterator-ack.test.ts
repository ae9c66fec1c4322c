import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  MemorySequenceStore,
  WatchError,
  WatchManager,
  type DeadLetterSpool,
  type WatchLoop,
  type WatchRecord,
} from 'watch-manager';
import { FakeClock, type FakeWatchService } from 'watch-manager/testing';
import { TOPIC, captureLogger, recordError, scanForSecrets, startService, token } from './support/harness';

scanForSecrets();

type EventRecord = Extract<WatchRecord, { kind: 'event' }>;

async function setup(options: { deadLetters?: boolean; closeTimeoutMs?: number; clock?: FakeClock } = {}): Promise<{
  service: FakeWatchService;
  store: MemorySequenceStore;
  manager: WatchManager;
  jwt: string;
  spoolDir: string;
}> {
  const service = await startService();
  const jwt = await token(service);
  const store = new MemorySequenceStore();
  const spoolDir = path.join(mkdtempSync(path.join(tmpdir(), 'wm-loop-')), 'spool');
  const manager = new WatchManager({
    target: service.target,
    tenantId: service.tenantId,
    historyUrl: service.historyUrl,
    getToken: () => jwt,
    tls: false,
    logger: captureLogger(),
    sequenceProvider: store,
    ...(options.deadLetters === true ? { deadLetterDir: spoolDir } : {}),
    ...(options.closeTimeoutMs === undefined ? {} : { closeTimeoutMs: options.closeTimeoutMs }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  return { service, store, manager, jwt, spoolDir };
}

/** The loop's next record, which must be an event (the test knows what comes). */
async function nextEvent(loop: WatchLoop): Promise<EventRecord> {
  const r = await loop.next();
  assert.equal(r.done, false, 'the loop goes on');
  const record = r.value;
  assert.equal(record.kind, 'event', `an event, not ${record.kind}`);
  return record;
}

const label = (r: WatchRecord): string | number => (r.kind === 'event' ? r.event.sequenceId : r.kind);

describe('for await: acknowledging and failing records, and the position the loop reached', () => {
  it('record.ack() with autoAck on acknowledges at once; asking for the next record adds nothing', async () => {
    const { service, store, manager } = await setup();
    service.publishMany(TOPIC, 3);
    const loop = manager.watch(TOPIC, { from: 'beginning', concurrency: 1 });
    const delivered = (): number | undefined => manager.metrics().watches[0]?.delivered;
    const first = await nextEvent(loop);
    first.ack();
    assert.equal(loop.acknowledgedSequenceId, 1, 'acknowledged now, before the loop asks for more');
    assert.equal(delivered(), 1);
    const second = await nextEvent(loop);
    assert.equal(second.event.sequenceId, 2);
    assert.equal(delivered(), 1, 'moving on acknowledged nothing more');
    second.ack();
    second.ack();
    assert.equal(delivered(), 2, 'counted once');
    const third = await nextEvent(loop);
    assert.equal(third.event.sequenceId, 3);
    assert.equal(delivered(), 2);
    assert.equal(loop.acknowledgedSequenceId, 2);
    await loop.return();
    // The record the loop held (3) was not acknowledged: the position written is 2.
    assert.equal(store.getSequence(TOPIC), 2);
    await manager.close();
    await service.stop();
  });

  it('acknowledgedSequenceId: undefined until the position is known, the stored one then, the final one after break', async () => {
    const { service, store, manager } = await setup();
    service.publishMany(TOPIC, 6);
    store.setSequence(TOPIC, 2);
    const loop = manager.watch(TOPIC);
    assert.equal(loop.acknowledgedSequenceId, undefined, 'the stored position is not read yet');
    const seen: Array<string | number> = [];
    for await (const record of loop) {
      if (seen.length === 0) assert.equal(loop.acknowledgedSequenceId, 2, 'the stored position, read at start');
      seen.push(label(record));
      if (seen.length === 3) break;
    }
    assert.deepEqual(seen, [3, 4, 5]);
    assert.equal(store.getSequence(TOPIC), 4, 'the record the loop broke out of (5) is not acknowledged');
    assert.equal(loop.acknowledgedSequenceId, store.getSequence(TOPIC), 'after break: the position stored');
    await manager.close();
    await service.stop();
  });

  it('record.fail(): retried as a new record up to maxAttempts, then set aside (reason scrubbed); the loop goes on', async () => {
    const { service, store, manager, jwt, spoolDir } = await setup({ deadLetters: true });
    service.publishMany(TOPIC, 3);
    const loop = manager.watch(TOPIC, { from: 'beginning', concurrency: 1, maxAttempts: 3 });
    const failed: EventRecord[] = [];
    const seen: Array<string | number> = [];
    for await (const record of loop) {
      seen.push(label(record));
      if (record.kind === 'event' && record.event.sequenceId === 1) {
        failed.push(record);
        record.fail(new Error(`cannot apply, the upstream said: Bearer ${jwt}`));
        // Settled by fail(): neither this ack nor the loop asking for the next record acknowledges it.
        record.ack();
      }
      if (record.kind === 'event' && record.event.sequenceId === 2) {
        assert.equal(manager.metrics().watches[0]?.deadLettered, 1);
        assert.equal(manager.metrics().watches[0]?.delivered, 0, 'the failed event was never acknowledged');
      }
      if (record.kind === 'live') break;
    }
    assert.deepEqual(seen, [1, 1, 1, 2, 3, 'live'], 'two retries, each a new record; its slot held meanwhile');
    assert.equal(new Set(failed).size, 3, 'a new record per attempt');
    assert.deepEqual(failed[2]?.event, failed[0]?.event);
    assert.equal(store.getSequence(TOPIC), 3, 'the position moved past the set-aside event');
    assert.equal(loop.acknowledgedSequenceId, 3);
    const [letter, ...rest] = await (manager.deadLetters as DeadLetterSpool).list();
    assert.deepEqual(rest, []);
    assert.equal(letter?.event.sequenceId, 1);
    assert.equal(letter?.attempts, 3);
    assert.equal(letter?.error.message, 'cannot apply, the upstream said: Bearer [REDACTED]');
    for (const file of readdirSync(spoolDir)) assert.ok(!readFileSync(path.join(spoolDir, file), 'utf8').includes(jwt));
    await manager.close();
    await service.stop();
  });

  it('fail() after ack() does nothing, nor a second fail(): one retry per failed attempt', async () => {
    // Retries wait for the backoff on this clock: every retry due is offered at once when it moves.
    const clock = new FakeClock();
    const { service, store, manager } = await setup({ clock });
    service.publishMany(TOPIC, 3);
    const loop = manager.watch(TOPIC, { from: 'beginning', concurrency: 1, maxAttempts: 2, autoAck: false });
    const first = await nextEvent(loop);
    first.ack();
    first.fail(new Error('too late'));
    const second = await nextEvent(loop);
    assert.equal(second.event.sequenceId, 2);
    second.fail(new Error('once'));
    second.fail(new Error('twice'));
    await clock.advance(10_000); // past the longest backoff
    const retry = await nextEvent(loop);
    assert.equal(retry.event.sequenceId, 2, 'the acknowledged event is not retried');
    retry.ack();
    assert.equal((await nextEvent(loop)).event.sequenceId, 3, 'no second retry');
    assert.equal(manager.metrics().watches[0]?.delivered, 2);
    assert.equal(loop.acknowledgedSequenceId, 2);
    await loop.return();
    assert.equal(store.getSequence(TOPIC), 2);
    await manager.close();
    await service.stop();
  });

  it('without a dead-letter spool the last failed attempt stops the watch: the loop throws HANDLER_FAILED', async () => {
    const { service, store, manager } = await setup();
    service.publishMany(TOPIC, 3);
    const loop = manager.watch(TOPIC, { from: 'beginning' });
    const seen: number[] = [];
    const err = await (async () => {
      for await (const record of loop) {
        if (record.kind !== 'event') continue;
        seen.push(record.event.sequenceId);
        // maxAttempts 1 (the default): no retry. Never auto-acked when the loop moves on.
        if (record.event.sequenceId === 2) record.fail(new Error('bad payload'));
      }
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof WatchError, `threw ${String(err)}`);
    recordError(err);
    assert.equal(err.code, 'HANDLER_FAILED');
    assert.match(err.message, /record\.fail\(\).*sequence id 2 after 1 attempt\(s\): bad payload/);
    assert.equal(seen.filter((s) => s === 2).length, 1, 'not retried');
    assert.equal(store.getSequence(TOPIC), 1, 'the position stays before the failed event');
    assert.equal(loop.acknowledgedSequenceId, 1, 'after the throw: the position stored');
    await manager.close();
    await service.stop();
  });

  it('break while a failed event waits for its retry, or while its retry is held: the watch closes at once', async () => {
    // A close that waited for the retried record's ack would take closeTimeoutMs: far longer than this test allows.
    const { service, store, manager } = await setup({ closeTimeoutMs: 30_000 });
    service.publishMany(TOPIC, 2);
    for (const holdRetry of [false, true]) {
      const loop = manager.watch(TOPIC, { from: 'beginning', concurrency: 1, maxAttempts: 5 });
      const first = await nextEvent(loop);
      first.fail(new Error('not now'));
      if (holdRetry) assert.equal((await nextEvent(loop)).event.sequenceId, 1, 'the retry, held');
      const started = Date.now();
      await loop.return();
      assert.ok(Date.now() - started < 15_000, `closed after ${Date.now() - started} ms`);
      assert.deepEqual(manager.status().watches, [], 'the watch closed');
      assert.equal(store.getSequence(TOPIC) ?? 0, 0, 'never acknowledged');
      assert.equal(loop.acknowledgedSequenceId, 0);
    }
    await manager.close();
    await service.stop();
  });
});
