import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemorySequenceStore, WatchError, WatchManager, type WatchRecord } from 'watch-manager';
import type { FakeWatchService } from 'watch-manager/testing';
import { TOPIC, captureLogger, recordError, scanForSecrets, startService, token } from './support/harness';

scanForSecrets();

async function setup(): Promise<{
  service: FakeWatchService;
  store: MemorySequenceStore;
  manager: () => Promise<WatchManager>;
}> {
  const service = await startService();
  const jwt = await token(service);
  const store = new MemorySequenceStore();
  const manager = async (): Promise<WatchManager> =>
    new WatchManager({
      target: service.target,
      tenantId: service.tenantId,
      historyUrl: service.historyUrl,
      getToken: () => jwt,
      tls: false,
      logger: captureLogger(),
      sequenceProvider: store,
    });
  return { service, store, manager };
}

const label = (r: WatchRecord): string | number =>
  r.kind === 'event' ? r.event.sequenceId : r.kind === 'resync' ? `resync ${r.notice.newestSequenceId}` : 'live';

describe('for await consumers', () => {
  it('yields catch-up events, live, then live events; break closes the watch and writes the position', async () => {
    const { service, store, manager } = await setup();
    service.publishMany(TOPIC, 5);
    const m = await manager();
    const seen: Array<string | number> = [];
    for await (const record of m.watch(TOPIC, { from: 'beginning' })) {
      seen.push(label(record));
      if (record.kind === 'live') service.publishMany(TOPIC, 3);
      if (seen.length === 8) break;
    }
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 'live', 6, 7]);
    // The record the loop broke out of (7) was not acknowledged: a restart delivers it again.
    assert.equal(store.getSequence(TOPIC), 6);
    assert.deepEqual(m.status().watches, [], 'the watch was closed and removed');
    const again: Array<string | number> = [];
    for await (const record of (await manager()).watch(TOPIC)) {
      again.push(label(record));
      if (again.length === 3) break;
    }
    assert.deepEqual(again, [7, 8, 'live']);
    await m.close();
    await service.stop();
  });

  it('manager.close() and closeWatch() end a loop that waits for its next record (it returned nothing and waited for ever)', async () => {
    const { service, store, manager } = await setup();
    service.publishMany(TOPIC, 2);
    const m = await manager();
    const seen: Array<string | number> = [];
    const loop = (async () => {
      for await (const record of m.watch(TOPIC, { from: 'beginning' })) seen.push(label(record));
      return 'ended';
    })();
    await service.waitFor(() => seen.includes('live'), 10_000, 'the loop caught up');
    await m.close();
    assert.equal(await loop, 'ended', 'the loop ended when the manager closed');
    assert.deepEqual(seen, [1, 2, 'live']);
    assert.equal(store.getSequence(TOPIC), 2, 'the position was written');

    const other = await manager();
    const again = (async () => {
      for await (const record of other.watch(TOPIC)) seen.push(label(record));
      return 'ended';
    })();
    await service.waitFor(() => other.status().watches[0]?.live === true, 10_000, 'live again');
    const id = other.status().watches[0]?.id ?? '';
    await other.closeWatch(id);
    assert.equal(await again, 'ended', 'the loop ended when its watch was closed');
    await other.close();
    await service.stop();
  });

  it('an aborted signal ends the loop and closes the watch', async () => {
    const { service, manager } = await setup();
    const m = await manager();
    const abort = new AbortController();
    const seen: Array<string | number> = [];
    for await (const record of m.watch(TOPIC, { signal: abort.signal })) {
      seen.push(label(record));
      if (record.kind === 'live') service.publish(TOPIC);
      else abort.abort();
    }
    assert.equal(seen.length, 2);
    await service.waitFor(() => m.status().watches.length === 0, 5_000, 'closed and removed');
    await m.close();
    await service.stop();
  });

  it('autoAck: false — the position is the contiguous prefix of what was acked, in any order', async () => {
    const { service, store, manager } = await setup();
    service.publishMany(TOPIC, 6);
    const m = await manager();
    const held: WatchRecord[] = [];
    for await (const record of m.watch(TOPIC, { from: 'beginning', autoAck: false, concurrency: 10 })) {
      if (record.kind === 'event') held.push(record);
      if (held.length === 6) break;
    }
    assert.equal(store.getSequence(TOPIC) ?? 0, 0, 'nothing acknowledged: nothing stored');
    // Now acknowledge out of order while the watch runs:
    const seq: number[] = [];
    const it2 = (await manager()).watch(TOPIC, { from: 'beginning', autoAck: false, concurrency: 10 });
    const records: Array<Extract<WatchRecord, { kind: 'event' }>> = [];
    for (let r = await it2.next(); !r.done; r = await it2.next()) {
      if (r.value.kind === 'event') records.push(r.value);
      if (records.length === 6) break;
    }
    for (const i of [2, 0, 4]) {
      records[i]?.ack();
      seq.push(records[i]?.event.sequenceId ?? 0);
    }
    await new Promise((resolve) => setImmediate(resolve));
    await it2.return?.();
    assert.deepEqual(seq, [3, 1, 5]);
    assert.equal(store.getSequence(TOPIC), 1, 'only 1 is below every unacknowledged event');
    await m.close();
    await service.stop();
  });

  it('ack() is idempotent: a record acknowledged twice counts once and frees one slot', async () => {
    const { service, manager } = await setup();
    service.publishMany(TOPIC, 6);
    const m = await manager();
    const records = m.watch(TOPIC, { from: 'beginning', autoAck: false, concurrency: 2 });
    const take = async (): Promise<Extract<WatchRecord, { kind: 'event' }>> => {
      for (;;) {
        const r = await records.next();
        assert.equal(r.done, false);
        if (r.value.kind === 'event') return r.value;
      }
    };
    const first = await take();
    first.ack();
    first.ack();
    assert.equal(m.metrics().watches[0]?.delivered, 1, 'counted once');
    await take(); // 2 and 3 are out, unacknowledged: both slots taken
    await take();
    const next = await Promise.race([
      records.next().then(() => 'another record'),
      new Promise((resolve) => setImmediate(() => resolve('waits for an ack'))),
    ]);
    assert.equal(next, 'waits for an ack', 'no more than concurrency records out unacknowledged');
    await records.return?.();
    await m.close();
    await service.stop();
  });

  it('resync and live records come in order', async () => {
    const { service, store, manager } = await setup();
    service.publishMany(TOPIC, 20);
    store.setSequence(TOPIC, 5);
    service.purgeHistory(TOPIC, 15);
    const m = await manager();
    const seen: Array<string | number> = [];
    for await (const record of m.watch(TOPIC)) {
      seen.push(label(record));
      if (record.kind === 'live') service.publish(TOPIC);
      if (seen.length === 3) break;
    }
    assert.deepEqual(seen, ['resync 20', 'live', 21]);
    await m.close();
    await service.stop();
  });

  it('throws the error that stops the watch, also one of the start', async () => {
    const { service, manager } = await setup();
    const m = await manager();
    const err = await (async () => {
      for await (const record of m.watch('/management/v1alpha1/watchtopics/missing')) void record;
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof WatchError);
    recordError(err);
    assert.equal(err.code, 'TOPIC_NOT_FOUND');
    await m.close();
    await service.stop();
  });

  it('autoAck: false hands the live record over without waiting for acks (no deadlock)', async () => {
    const { service, manager } = await setup();
    service.publishMany(TOPIC, 5);
    const m = await manager();
    const seen: Array<string | number> = [];
    for await (const record of m.watch(TOPIC, { from: 'beginning', autoAck: false })) {
      seen.push(label(record)); // nothing acknowledged
      if (record.kind === 'live') break;
    }
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 'live']);
    await m.close();
    await service.stop();
  });

  it('a loop refused because the topic is watched does not close the watch that has it', async () => {
    const { service, manager } = await setup();
    const m = await manager();
    const sub = await m.registerWatch(TOPIC, { onEvent: () => undefined });
    const err = await (async () => {
      for await (const record of m.watch(TOPIC)) void record;
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof WatchError && err.code === 'INVALID_CONFIG');
    assert.deepEqual(
      m.status().watches.map((w) => [w.id, w.state]),
      [[sub.id, 'subscribed']],
    );
    await m.close();
    await service.stop();
  });
});
