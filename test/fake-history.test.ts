import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FakeWatchService } from 'watch-manager/testing';
import { TOPIC, scanForSecrets, startService, token } from './support/harness';

scanForSecrets();

describe('the fake event-history API (docs/wire.md#history-api)', () => {
  let service: FakeWatchService;
  let jwt: string;
  const get = async (query: string, headers: Record<string, string> = {}, topic = TOPIC): Promise<Response> =>
    fetch(`${service.historyUrl}/events${topic}${query}`, {
      headers: {
        Authorization: `Bearer ${jwt}`,
        'X-Axway-Tenant-Id': service.tenantId,
        'Content-Type': 'application/json',
        ...headers,
      },
    });

  before(async () => {
    service = await startService();
    jwt = await token(service);
    service.publishMany(TOPIC, 250);
    service.publish(TOPIC, { skip: 10 }); // sequence ids need not be consecutive: this one is 261
  });
  after(async () => {
    await service.stop();
  });

  it('pages events after N in ascending order; a short page is the last', async () => {
    const page = async (
      p: number,
    ): Promise<Array<{ metadata: { sequenceID: number }; type: string; payload: { spec?: unknown } }>> => {
      const res = await get(
        `?query=${encodeURIComponent('sequenceID>100')}&sort=${encodeURIComponent('sequenceID,ASC')}&page=${p}&pageSize=100`,
      );
      assert.equal(res.status, 200);
      return (await res.json()) as never;
    };
    const [p1, p2] = [await page(1), await page(2)];
    assert.equal(p1.length, 100);
    assert.equal(p1[0]?.metadata.sequenceID, 101);
    assert.equal(p2.length, 51, 'the last page is short');
    assert.equal(p2.at(-1)?.metadata.sequenceID, 261);
    assert.match(p1[0]?.type ?? '', /^(Resource(Created|Updated|Deleted)|SubResourceUpdated)$/);
    assert.ok(p1[0]?.payload.spec !== undefined, 'real payloads carry more fields than the contract names');
  });

  it('answers the newest event for sort=sequenceID,DESC&pageSize=1', async () => {
    const res = await get('?sort=sequenceID,DESC&page=1&pageSize=1');
    const body = (await res.json()) as Array<{ metadata: { sequenceID: number } }>;
    assert.deepEqual(
      body.map((e) => e.metadata.sequenceID),
      [261],
    );
  });

  it('answers 410 Gone with X-Axway-Max-Sequence-Id for a purged position', async () => {
    service.purgeHistory(TOPIC, 50);
    const res = await get(`?query=${encodeURIComponent('sequenceID>10')}&page=1&pageSize=100`);
    assert.equal(res.status, 410);
    assert.equal(res.headers.get('x-axway-max-sequence-id'), '261');
    assert.equal((await get(`?query=${encodeURIComponent('sequenceID>50')}&page=1&pageSize=10`)).status, 200);
  });

  it('refuses a bad token (401), another tenant (403), an unknown topic (404), a bad query (400)', async () => {
    assert.equal((await get('', { Authorization: 'Bearer nope.nope.nope' })).status, 401);
    assert.equal((await get('', { 'X-Axway-Tenant-Id': 'other' })).status, 403);
    assert.equal((await get('', {}, '/management/v1alpha1/watchtopics/missing')).status, 404);
    assert.equal((await get('?query=id>1')).status, 400);
    assert.equal((await get('?pageSize=0')).status, 400);
  });

  it('injects failures, malformed pages and delays on demand', async () => {
    service.setHistoryFaults({ failNext: 2, status: 502 });
    assert.equal((await get('')).status, 502);
    assert.equal((await get('')).status, 502);
    assert.equal((await get('')).status, 200);
    service.setHistoryFaults({ malformedNext: 1 });
    const res = await get('');
    assert.equal(res.status, 200);
    await assert.rejects(res.json());
    service.setHistoryFaults({});
    assert.ok(service.historyCounters.failuresInjected >= 2);
  });
});
