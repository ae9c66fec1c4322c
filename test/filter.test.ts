import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemorySequenceStore, WatchManager, type WatchEvent, type WatchFilter } from 'watch-manager';
import { TOPIC, captureLogger, scanForSecrets, startService, token } from './support/harness';

scanForSecrets();

describe('client-side filters', () => {
  it('filtered-out events are never delivered, still advance the position, and are not fetched again after a restart', async () => {
    const service = await startService();
    const jwt = await token(service);
    const store = new MemorySequenceStore();
    const filter: WatchFilter = {
      kinds: ['APIService', 'Environment'],
      types: ['CREATED', 'UPDATED'],
      names: ['keep-me', /^svc-/],
    };
    const matches = (e: WatchEvent): boolean =>
      ['APIService', 'Environment'].includes(e.payload.kind) &&
      ['CREATED', 'UPDATED'].includes(e.type) &&
      (e.payload.name === 'keep-me' || e.payload.name.startsWith('svc-'));
    const run = async (): Promise<{ got: WatchEvent[]; manager: WatchManager; live: () => boolean }> => {
      const got: WatchEvent[] = [];
      let live = false;
      const manager = new WatchManager({
        target: service.target,
        tenantId: service.tenantId,
        historyUrl: service.historyUrl,
        getToken: () => jwt,
        tls: false,
        logger: captureLogger(),
        sequenceProvider: store,
        from: 'beginning',
      });
      await manager.registerWatch(
        TOPIC,
        { onEvent: (e) => void got.push(e), onLive: () => void (live = true) },
        { filter },
      );
      return { got, manager, live: () => live };
    };
    const kinds = ['APIService', 'Environment', 'Secret'];
    const types = ['CREATED', 'UPDATED', 'DELETED'] as const;
    const names = ['keep-me', 'svc-a', 'other'];
    for (let i = 0; i < 54; i++)
      service.publish(TOPIC, {
        kind: kinds[i % 3],
        type: types[Math.floor(i / 3) % 3],
        name: names[Math.floor(i / 9) % 3],
      });
    service.publish(TOPIC, { kind: 'Secret', name: 'last-is-filtered' });
    const published = service.topic(TOPIC)?.after(0, 1, 1000) ?? [];

    const first = await run();
    await service.waitFor(first.live, 5_000, 'caught up');
    assert.deepEqual(first.got, published.filter(matches));
    assert.ok(first.got.length > 0 && first.got.length < published.length);
    assert.equal(store.getSequence(TOPIC), 55, 'the position advanced past the filtered last event');
    await first.manager.close();

    const second = await run();
    await service.waitFor(second.live, 5_000, 'caught up again');
    assert.deepEqual(second.got, []);
    assert.ok(
      service.historyQueries.at(-1)?.includes(`query=${encodeURIComponent('sequenceID>55')}`),
      service.historyQueries.at(-1),
    );
    await second.manager.close();
    await service.stop();
  });

  it('rejects a malformed filter with INVALID_CONFIG', async () => {
    const manager = new WatchManager({
      target: '127.0.0.1:1',
      tenantId: 't',
      getToken: () => 'x',
      tls: false,
      logger: captureLogger(),
    });
    for (const filter of [{ kinds: 'APIService' }, { types: ['EXPLODED'] }, { names: [42] }, { colour: ['red'] }]) {
      await assert.rejects(manager.registerWatch(TOPIC, { onEvent: () => undefined }, { filter: filter as never }), {
        code: 'INVALID_CONFIG',
      });
    }
    await manager.close();
  });
});
