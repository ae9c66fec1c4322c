import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { watchProto } from '../src/transport/proto';
import type { Event__Output } from '../src/generated/central/events/v1/Event';
import type { FakeWatchService, FakeWatchServiceOptions } from 'watch-manager/testing';
import { TOPIC, scanForSecrets, secret, startService, token } from './support/harness';

scanForSecrets();

// Every test talks to the fake as a raw client would (global fetch, a bare grpc-js call), not through the SDK:
// these tests prove the fake misbehaves as specified, whatever the SDK makes of it.

interface Page {
  status: number;
  headers: Headers;
  ids: number[];
  types: string[];
}

/** One `GET /events{TOPIC}` with the contract's headers; the page's sequence ids and types when it is a 200. */
async function history(service: FakeWatchService, jwt: string, query: string): Promise<Page> {
  const res = await fetch(`${service.historyUrl}/events${TOPIC}?${query}`, {
    headers: {
      Authorization: `Bearer ${jwt}`,
      'X-Axway-Tenant-Id': service.tenantId,
      'Content-Type': 'application/json',
    },
  });
  const body = await res.json();
  const events = res.status === 200 ? (body as Array<{ type: string; metadata: { sequenceID: number } }>) : [];
  return {
    status: res.status,
    headers: res.headers,
    ids: events.map((e) => e.metadata.sequenceID),
    types: events.map((e) => e.type),
  };
}

/** The query string of a catch-up after `after` (docs/wire.md#history-queries). */
function catchUp(after: number, page: number, pageSize: number): string {
  return `query=${encodeURIComponent(`sequenceID>${after}`)}&sort=${encodeURIComponent('sequenceID,ASC')}&page=${page}&pageSize=${pageSize}`;
}

const NEWEST = `sort=${encodeURIComponent('sequenceID,DESC')}&page=1&pageSize=1`;

/** A bare `subscribe` call: what it received, and its final status once it has one. */
interface BareStream {
  messages: Event__Output[];
  /** Sequence ids of the resource events received (PINGs left out), in order. */
  ids(): number[];
  pings(): number;
  status: grpc.StatusObject | undefined;
  ended: Promise<grpc.StatusObject>;
  close(): void;
}

/** Opens a bare stream on TOPIC and resolves once the service accepted it. */
async function subscribe(
  service: FakeWatchService,
  jwt: string,
  channel: grpc.ChannelOptions = {},
): Promise<BareStream> {
  const before = service.counters.accepted;
  const Client = watchProto().central.events.v1.watch;
  const client = new Client(service.target, grpc.credentials.createInsecure(), channel);
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${jwt}`);
  md.set('x-axway-tenant-id', service.tenantId);
  const call = client.subscribe(md);
  const stream: BareStream = {
    messages: [],
    ids: () => stream.messages.filter((m) => m.type !== 'PING').map((m) => Number(m.metadata?.sequenceID)),
    pings: () => stream.messages.filter((m) => m.type === 'PING').length,
    status: undefined,
    ended: new Promise((resolve) => call.on('status', (s: grpc.StatusObject) => resolve((stream.status = s)))),
    close: () => {
      call.cancel();
      client.close();
    },
  };
  call.on('error', () => undefined); // the status is read from 'status'
  call.on('data', (m: Event__Output) => {
    stream.messages.push(m);
    // Answer pings as a client must, so the service sees a healthy peer.
    if (m.type === 'PING') call.write({ selfLink: TOPIC, requestType: 'PING_RESPONSE', pingResponse: { id: m.id } });
  });
  call.write({ selfLink: TOPIC, token: `Bearer ${jwt}`, capabilities: ['ping'] });
  await service.waitFor(() => service.counters.accepted === before + 1, 5_000, 'the subscription accepted');
  return stream;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('the fake service in hostile mode (setHostile)', () => {
  let service: FakeWatchService;
  let jwt: string;
  let streams: BareStream[] = [];
  let baseline: Map<string, number>;

  const start = async (options: FakeWatchServiceOptions = {}): Promise<void> => {
    service = await startService(options);
    jwt = await token(service, { ttlMs: 3_600_000 });
  };
  const open = async (channel?: grpc.ChannelOptions): Promise<BareStream> => {
    const stream = await subscribe(service, jwt, channel);
    streams.push(stream);
    return stream;
  };
  const closeAll = async (): Promise<void> => {
    for (const stream of streams) stream.close();
    streams = [];
    await service.stop();
  };

  before(() => {
    baseline = handles();
  });
  after(async () => {
    // Every test closed its servers and clients: no socket or server is left beyond what was open before.
    const deadline = performance.now() + 5_000;
    while (!sameHandles(handles(), baseline) && performance.now() < deadline) await sleep(20);
    assert.deepEqual(Object.fromEntries(handles()), Object.fromEntries(baseline), 'handles left open');
  });

  // History API

  it('pageCap: pages hold at most pageCap events, page p covering items (p-1)*cap..p*cap-1, ASC and DESC alike', async () => {
    await start();
    service.publishMany(TOPIC, 30);
    service.setHostile({ pageCap: 7 });
    const pages = await Promise.all([1, 2, 3, 4].map((p) => history(service, jwt, catchUp(10, p, 100))));
    assert.deepEqual(
      pages.map((p) => p.ids),
      [range(11, 17), range(18, 24), range(25, 30), []],
    );
    assert.deepEqual(
      (await history(service, jwt, catchUp(10, 1, 5))).ids,
      range(11, 15),
      'a smaller pageSize is left as asked',
    );
    const newest = await history(service, jwt, `sort=${encodeURIComponent('sequenceID,DESC')}&page=2&pageSize=100`);
    assert.deepEqual(newest.ids, range(23, 17), 'the DESC query is capped too (its page 2)');
    service.setHostile({});
    assert.deepEqual((await history(service, jwt, catchUp(10, 1, 100))).ids, range(11, 30), 'cleared');
    await closeAll();
  });

  it("pageOrder 'desc': the whole result above N newest first, then paged; the DESC newest query unchanged", async () => {
    await start();
    service.publishMany(TOPIC, 30);
    service.setHostile({ pageOrder: 'desc' });
    const pages = await Promise.all([1, 2, 3, 4].map((p) => history(service, jwt, catchUp(10, p, 8))));
    assert.deepEqual(
      pages.map((p) => p.ids),
      [range(30, 23), range(22, 15), range(14, 11), []],
    );
    assert.deepEqual((await history(service, jwt, NEWEST)).ids, [30]);
    service.setHostile({ pageOrder: 'desc', pageCap: 3 });
    assert.deepEqual(
      (await history(service, jwt, catchUp(10, 2, 100))).ids,
      range(27, 25),
      'capped, then paged newest first',
    );
    await closeAll();
  });

  it("pageOrder 'shuffle': each page holds the ascending page's events, never ascending, the same for the same seed", async () => {
    const orders: number[][][] = [];
    for (const run of [1, 2]) {
      await start({ seed: 7 });
      service.publishMany(TOPIC, 40);
      service.setHostile({ pageOrder: 'shuffle' });
      const got: number[][] = [];
      for (let p = 1; p <= 4; p++) got.push((await history(service, jwt, catchUp(0, p, 10))).ids);
      // Two-event pages: a shuffle leaves half of them as they were, and the fake must still hand them back out of
      // order.
      for (let p = 1; p <= 10; p++) got.push((await history(service, jwt, catchUp(20, p, 2))).ids);
      orders.push(got);
      for (const [i, ids] of got.entries()) {
        const asc = i < 4 ? range(i * 10 + 1, i * 10 + 10) : range(21 + (i - 4) * 2, 22 + (i - 4) * 2);
        assert.deepEqual(
          [...ids].sort((a, b) => a - b),
          asc,
          `run ${run}, page ${i}: the right events`,
        );
        assert.notDeepEqual(ids, asc, `run ${run}, page ${i}: not ascending`);
      }
      await closeAll();
    }
    assert.deepEqual(orders[0], orders[1], 'deterministic: the same seed shuffles the same way');
  });

  it('gone: every catch-up is 410 with X-Axway-Max-Sequence-Id verbatim, left out (null), or N itself (asked)', async () => {
    await start();
    service.publishMany(TOPIC, 20);
    const header = async (maxSequenceId: string | null): Promise<string | null> => {
      service.setHostile({ gone: { maxSequenceId } });
      const page = await history(service, jwt, catchUp(5, 1, 100));
      assert.equal(page.status, 410);
      return page.headers.get('x-axway-max-sequence-id');
    };
    assert.equal(await header('0'), '0');
    assert.equal(await header('abc'), 'abc');
    assert.equal(await header('-5'), '-5');
    assert.equal(await header(null), null);
    assert.equal(await header('asked'), '5');
    assert.equal(service.historyCounters.gone, 5);
    assert.deepEqual((await history(service, jwt, NEWEST)).ids, [20], 'a request without a position is answered');
    service.setHostile({});
    assert.equal((await history(service, jwt, catchUp(5, 1, 100))).status, 200);
    await closeAll();
  });

  it('retryAfter: the next count history requests get status and Retry-After verbatim; the token endpoint is spared', async () => {
    await start();
    service.publishMany(TOPIC, 3);
    const clientSecret = secret('hostile-test-client-secret');
    service.registerClient({ clientId: 'agent', clientSecret });
    service.setHostile({ retryAfter: { status: 429, header: '30', count: 2 } });
    const tokenRes = await fetch(service.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: 'agent',
        client_secret: clientSecret,
      }).toString(),
    });
    assert.equal(tokenRes.status, 200, 'the token endpoint is not throttled');
    secret(((await tokenRes.json()) as { access_token: string }).access_token);
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await history(service, jwt, catchUp(0, 1, 100)));
    assert.deepEqual(
      answers.map((a) => [a.status, a.headers.get('retry-after')]),
      [
        [429, '30'],
        [429, '30'],
        [200, null],
      ],
    );
    assert.deepEqual(answers[2]?.ids, [1, 2, 3]);
    const date = 'Wed, 21 Oct 2026 07:28:00 GMT';
    service.setHostile({ retryAfter: { status: 503, header: date } });
    for (let i = 0; i < 5; i++) {
      const page = await history(service, jwt, NEWEST);
      assert.deepEqual([page.status, page.headers.get('retry-after')], [503, date], 'unlimited by default');
    }
    assert.equal(service.historyCounters.throttled, 7);
    assert.equal(service.historyCounters.failuresInjected, 0, 'not counted as injected failures');
    service.setHostile({});
    assert.equal((await history(service, jwt, NEWEST)).status, 200);
    await closeAll();
  });

  // The stream

  it('repeatEvery: after every Nth live event, the one before it again (N=3 on 1..6: 1,2,3,2,4,5,6,5)', async () => {
    await start();
    service.setHostile({ repeatEvery: 3 });
    const stream = await open();
    service.publishMany(TOPIC, 6);
    await service.waitFor(() => stream.ids().length === 8, 5_000, '8 messages');
    await sleep(50);
    assert.deepEqual(stream.ids(), [1, 2, 3, 2, 4, 5, 6, 5]);
    assert.deepEqual(stream.messages[3], stream.messages[1], 'a repeat is the same event, to the byte');
    assert.equal(service.counters.repeated, 2);
    await closeAll();
  });

  it("reorder: the first hold of every run of every events go out after the run's next ({2,4} on 3..10: 5,3,4,6,9,7,8,10)", async () => {
    await start();
    const stream = await open();
    service.publishMany(TOPIC, 2);
    await service.waitFor(() => stream.ids().length === 2, 5_000, 'events 1 and 2');
    service.setHostile({ reorder: { hold: 2, every: 4 } });
    service.publishMany(TOPIC, 9);
    await service.waitFor(() => stream.ids().length === 10, 5_000, '10 events');
    await sleep(50);
    assert.deepEqual(stream.ids(), [1, 2, 5, 3, 4, 6, 9, 7, 8, 10], 'event 11 is held, waiting for its run');
    assert.equal(service.counters.reordered, 4);
    service.setHostile({});
    await service.waitFor(() => stream.ids().length === 11, 5_000, 'event 11, released in order');
    assert.equal(service.counters.reordered, 4);
    await closeAll();
  });

  it('unknownTypeEvery: ids that are multiples of N carry type 42 on the stream and ResourceArchived in history', async () => {
    await start();
    service.setHostile({ unknownTypeEvery: 4 });
    const stream = await open();
    const published = service.publishMany(TOPIC, 10);
    await service.waitFor(() => stream.ids().length === 10, 5_000, '10 events');
    // proto-loader decodes an enum number it has no name for as the number: 42 was on the wire.
    assert.deepEqual(
      stream.messages.filter((m) => (m.type as unknown) === 42).map((m) => Number(m.metadata?.sequenceID)),
      [4, 8],
    );
    assert.ok(stream.messages.every((m) => Number(m.metadata?.sequenceID) % 4 === 0 || typeof m.type === 'string'));
    const page = await history(service, jwt, catchUp(0, 1, 100));
    assert.deepEqual(
      page.ids.filter((_, i) => page.types[i] === 'ResourceArchived'),
      [4, 8],
    );
    assert.ok(page.types.every((t) => /^(Resource(Created|Updated|Deleted|Archived)|SubResourceUpdated)$/.test(t)));
    assert.ok(
      published.every((e) => ['CREATED', 'UPDATED', 'DELETED', 'SUBRESOURCEUPDATED'].includes(e.type)),
      'the log keeps the true type',
    );
    assert.equal(service.counters.unknownTypes, 2);
    service.setHostile({});
    assert.ok(
      (await history(service, jwt, catchUp(0, 1, 100))).types.every((t) => t !== 'ResourceArchived'),
      'cleared',
    );
    await closeAll();
  });

  it('silent: streams send nothing (events and pings dropped) yet stay open; turned off, new events flow again', async () => {
    await start({ pingIntervalMs: 20 });
    // Client keepalive pings every 100 ms: the connection must stay healthy through the silence.
    const stream = await open({ 'grpc.keepalive_time_ms': 100, 'grpc.keepalive_timeout_ms': 1_000 });
    service.publishMany(TOPIC, 2);
    await service.waitFor(
      () => stream.ids().length === 2 && stream.pings() >= 2,
      5_000,
      'events and pings before the silence',
    );
    service.setHostile({ silent: true });
    // Whatever was written before the switch is on its way: wait for exactly that, then nothing more may come.
    const seen = service.counters.eventsSent + service.counters.pingsSent;
    await service.waitFor(() => stream.messages.length === seen, 5_000, 'what was written before the silence');
    const pingsSent = service.counters.pingsSent;
    for (let i = 0; i < 5; i++) {
      service.publish(TOPIC);
      await sleep(80);
    }
    assert.equal(stream.messages.length, seen, 'nothing at all reached the client for 400 ms');
    assert.equal(service.counters.pingsSent, pingsSent, 'no pings were sent');
    assert.equal(stream.status, undefined, 'the call is still open');
    assert.equal(service.activeStreams, 1);
    assert.equal(service.counters.dropped, 5);
    assert.equal(service.topic(TOPIC)?.newestSequenceId, 7, 'the events reached history');
    service.setHostile({});
    service.publish(TOPIC);
    await service.waitFor(() => stream.ids().length === 3 && stream.pings() > 2, 5_000, 'the next event and pings');
    assert.deepEqual(stream.ids(), [1, 2, 8], 'dropped events are not re-sent');
    assert.equal(stream.status, undefined);
    await closeAll();
  });

  it('abortAfterEvents: a stream ends UNAVAILABLE right after its Nth event; a new stream counts from 0', async () => {
    await start();
    service.setHostile({ abortAfterEvents: 3 });
    const first = await open();
    service.publishMany(TOPIC, 5);
    const status = await first.ended;
    assert.deepEqual([status.code, status.details], [grpc.status.UNAVAILABLE, 'max connection age']);
    assert.deepEqual(first.ids(), [1, 2, 3], 'exactly N events, then the status');
    const second = await open();
    service.publishMany(TOPIC, 4);
    assert.equal((await second.ended).code, grpc.status.UNAVAILABLE);
    assert.deepEqual(second.ids(), [6, 7, 8]);
    assert.equal(service.counters.abortedAfterEvents, 2);
    assert.equal(service.counters.aborted, 0, 'not counted as aborted by the test');
    await closeAll();
  });

  it('refuses out-of-range switches, naming the field', async () => {
    await start();
    assert.throws(
      () => service.setHostile({ reorder: { hold: 2, every: 2 } }),
      /reorder\.every must be a whole number >= 3/,
    );
    assert.throws(() => service.setHostile({ repeatEvery: 1 }), /repeatEvery/);
    assert.throws(() => service.setHostile({ pageCap: 0 }), /pageCap/);
    await closeAll();
  });
});

/** Ascending or descending whole numbers from `from` to `to`, both included. */
function range(from: number, to: number): number[] {
  const step = from <= to ? 1 : -1;
  return Array.from({ length: Math.abs(to - from) + 1 }, (_, i) => from + i * step);
}

/** Open sockets and servers by kind (timers are not counted: grpc-js's backoff timers are unref'd and short-lived). */
function handles(): Map<string, number> {
  const out = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo())
    if (/TCP|Pipe|HTTP2|Server/i.test(kind)) out.set(kind, (out.get(kind) ?? 0) + 1);
  return out;
}

function sameHandles(a: Map<string, number>, b: Map<string, number>): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}
