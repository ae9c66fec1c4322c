import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  WatchManager,
  type WatchError,
  type StateChange,
  type WatchEvent,
  type WatchManagerOptions,
} from 'watch-manager';
import { FakeClock, type FakeWatchService } from 'watch-manager/testing';
import {
  TOPIC,
  captureLogger,
  recordError,
  scanForSecrets,
  serviceOptions,
  startService,
  token,
  until,
} from './support/harness';

scanForSecrets();

describe('a live watch against the fake service', () => {
  let service: FakeWatchService;
  let jwt: string;
  const managers: WatchManager[] = [];

  const manager = (extra: Partial<WatchManagerOptions> = {}): WatchManager => {
    const m = new WatchManager({
      target: service.target,
      tenantId: service.tenantId,
      historyUrl: service.historyUrl,
      getToken: () => jwt,
      tls: false,
      logger: captureLogger(),
      ...extra,
    });
    managers.push(m);
    return m;
  };

  before(async () => {
    service = await startService({
      topics: [TOPIC, '/management/v1alpha1/watchtopics/second', '/management/v1alpha1/watchtopics/third'],
    });
    jwt = await token(service, { ttlMs: 3_600_000 });
  });
  after(async () => {
    await Promise.all(managers.map((m) => m.close()));
    await service.stop();
  });

  it('delivers every published event exactly as the service holds it, in order', async () => {
    const m = manager();
    const got: WatchEvent[] = [];
    await m.registerWatch(TOPIC, { onEvent: (e) => void got.push(e) });
    const published = service.publishMany(TOPIC, 200);
    await service.waitFor(() => got.length === 200, 10_000, '200 events');
    assert.deepEqual(got, published);
    assert.equal(m.status().watches[0]?.acknowledgedSequenceId, published.at(-1)?.sequenceId);
    await m.close();
  });

  it('runs onEvent one at a time: the next event waits for the previous promise', async () => {
    const m = manager();
    const topic = '/management/v1alpha1/watchtopics/second';
    let running = 0;
    let maxRunning = 0;
    const order: number[] = [];
    await m.registerWatch(topic, {
      onEvent: async (e) => {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        // Later events finish faster: were calls overlapping, the recorded order would break.
        await new Promise((resolve) => setImmediate(resolve));
        if (e.sequenceId % 2 === 0) await new Promise((resolve) => setImmediate(resolve));
        order.push(e.sequenceId);
        running -= 1;
      },
    });
    const published = service.publishMany(topic, 100).map((e) => e.sequenceId);
    await service.waitFor(() => order.length === 100, 10_000, '100 handled');
    assert.equal(maxRunning, 1);
    assert.deepEqual(order, published);
    await m.close();
  });

  it('status() is right before connect, while connecting, when subscribed and after close', async () => {
    const m = manager();
    assert.deepEqual(m.status(), { state: 'idle', watches: [] });
    const pending = m.registerWatch('/management/v1alpha1/watchtopics/third', { onEvent: () => undefined });
    assert.equal(m.status().state, 'connecting');
    assert.equal(m.status().watches[0]?.state, 'connecting');
    const sub = await pending;
    assert.deepEqual(m.status(), {
      state: 'subscribed',
      watches: [
        {
          id: sub.id,
          topic: '/management/v1alpha1/watchtopics/third',
          state: 'subscribed',
          live: m.status().watches[0]?.live ?? false,
          acknowledgedSequenceId: 0,
          lastSequenceId: 0,
        },
      ],
    });
    await m.close();
    assert.equal(m.status().state, 'closed');
    assert.deepEqual(
      m.status().watches.map((w) => w.state),
      ['closed'],
    );
    await m.close(); // idempotent
    await assert.rejects(m.registerWatch(TOPIC, { onEvent: () => undefined }), { code: 'CLOSED' });
  });

  it('status() shows reconnecting, with the next attempt time and the error code, after the stream drops', async () => {
    const clock = new FakeClock();
    const m = manager({ clock, reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000 } });
    const errors: WatchError[] = [];
    await m.registerWatch(TOPIC, { onEvent: () => undefined, onError: (e) => void errors.push(recordError(e)) });
    service.abortStreams({ topic: TOPIC });
    await service.waitFor(() => m.status().state === 'reconnecting', 5_000, 'reconnecting');
    const [watch] = m.status().watches;
    assert.equal(watch?.state, 'reconnecting');
    assert.equal(watch?.lastErrorCode, 'CONNECTION_LOST');
    assert.ok(
      watch?.nextAttemptAt !== undefined &&
        watch.nextAttemptAt >= clock.now() &&
        watch.nextAttemptAt <= clock.now() + 60_000,
    );
    assert.equal(errors[0]?.code, 'CONNECTION_LOST');
    assert.equal(errors[0]?.retryable, true);
    await clock.advance(60_000);
    await service.waitFor(() => m.status().state === 'subscribed', 5_000, 'subscribed again');
    await m.close();
  });

  it('shares one channel between watches of several topics', async () => {
    const m = manager();
    const seen = new Map<string, number>();
    const topics = [TOPIC, '/management/v1alpha1/watchtopics/second', '/management/v1alpha1/watchtopics/third'];
    const before = service.counters.accepted;
    for (const topic of topics)
      await m.registerWatch(topic, { onEvent: (e) => void seen.set(e.topic, (seen.get(e.topic) ?? 0) + 1) });
    assert.equal(service.counters.accepted - before, 3);
    for (const topic of topics) service.publishMany(topic, 10);
    await service.waitFor(() => topics.every((t) => seen.get(t) === 10), 5_000, '10 per topic');
    await assert.rejects(m.registerWatch(TOPIC, { onEvent: () => undefined }), { code: 'INVALID_CONFIG' });
    await m.close();
  });

  it('sends AGENT_STATUS on the stream, and again after a reconnect', async () => {
    const m = manager({ reconnect: { initialDelayMs: 1, maxDelayMs: 1 } });
    await m.registerWatch(TOPIC, { onEvent: () => undefined, onError: () => undefined });
    const start = service.counters.agentStatuses.length;
    assert.equal(
      await m.sendAgentStatus({
        state: 'running',
        message: 'all good',
        context: { agentName: 'da', environmentName: 'env' },
      }),
      1,
    );
    await service.waitFor(() => service.counters.agentStatuses.length === start + 1, 5_000, 'agent status');
    assert.deepEqual(service.counters.agentStatuses.at(-1), {
      state: 'running',
      message: 'all good',
      context: { environmentName: 'env', agentName: 'da' },
    });
    service.abortStreams({ topic: TOPIC });
    await service.waitFor(() => service.counters.agentStatuses.length === start + 2, 5_000, 'agent status re-sent');
    await assert.rejects(m.sendAgentStatus({ state: 'x', message: 'y' }, '/management/v1alpha1/watchtopics/none'), {
      code: 'INVALID_CONFIG',
    });
    await m.close();
  });

  it('rejects a bad self link and bad handlers with INVALID_CONFIG', async () => {
    const m = manager();
    await assert.rejects(m.registerWatch('watchtopics/no-leading-slash', { onEvent: () => undefined }), {
      code: 'INVALID_CONFIG',
    });
    await assert.rejects(m.registerWatch('', { onEvent: () => undefined }), { code: 'INVALID_CONFIG' });
    await assert.rejects(m.registerWatch(TOPIC, {}), { code: 'INVALID_CONFIG' });
    assert.deepEqual(m.status(), { state: 'idle', watches: [] });
  });

  it('stops the watch with PROTOCOL when the service sends an event it cannot place in sequence', async () => {
    const m = manager();
    const errors: WatchError[] = [];
    const got: number[] = [];
    const topic = '/management/v1alpha1/watchtopics/second';
    await m.registerWatch(topic, {
      onEvent: (e) => void got.push(e.sequenceId),
      onError: (e) => void errors.push(recordError(e)),
    });
    service.sendRaw(topic, { id: 'broken', type: 'UPDATED', metadata: { watchTopicSelfLink: topic, sequenceID: '0' } });
    await service.waitFor(() => errors.length === 1, 5_000, 'protocol error');
    assert.equal(errors[0]?.code, 'PROTOCOL');
    assert.match(errors[0]?.message ?? '', /sequence id/);
    assert.equal(m.status().watches[0]?.state, 'closed');
    assert.equal(m.status().watches[0]?.lastErrorCode, 'PROTOCOL');
    await m.close();
  });

  it('stops with HANDLER_FAILED when onEvent throws, keeping the position before that event', async () => {
    const m = manager();
    const errors: WatchError[] = [];
    const topic = '/management/v1alpha1/watchtopics/third';
    await m.registerWatch(topic, {
      onEvent: (e) => {
        if (e.payload.name === 'poison') throw new Error('cannot apply');
      },
      onError: (e) => void errors.push(recordError(e)),
    });
    const ok = service.publish(topic);
    service.publish(topic, { name: 'poison' });
    service.publish(topic);
    await service.waitFor(() => errors.length === 1, 5_000, 'handler failure');
    assert.equal(errors[0]?.code, 'HANDLER_FAILED');
    assert.equal(m.status().watches[0]?.acknowledgedSequenceId, ok.sequenceId);
    assert.equal(m.status().watches[0]?.state, 'closed');
    await m.close();
  });

  it("status().state is 'degraded' while a watch that stopped for good is listed (it said 'idle'); 'idle' without watches", async () => {
    const m = manager();
    assert.equal(m.status().state, 'idle', 'no watch yet');
    const topic = '/management/v1alpha1/watchtopics/third';
    const errors: WatchError[] = [];
    const changes: StateChange[] = [];
    m.on('state', (c) => void changes.push(c));
    const sub = await m.registerWatch(topic, {
      onEvent: () => {
        throw new Error('cannot apply');
      },
      onError: (e) => void errors.push(recordError(e)),
    });
    assert.equal(m.status().state, 'subscribed');
    service.publish(topic);
    await service.waitFor(() => errors.length === 1, 5_000, 'handler failure');
    assert.equal(errors[0]?.code, 'HANDLER_FAILED');
    assert.deepEqual(
      m.status().watches.map((w) => [w.id, w.state, w.lastErrorCode]),
      [[sub.id, 'closed', 'HANDLER_FAILED']],
      'the only watch stopped for good, still listed',
    );
    assert.equal(m.status().state, 'degraded');
    assert.equal(m.toJSON().state, 'degraded');
    const stopped = changes.at(-1);
    assert.deepEqual(
      [stopped?.from, stopped?.to, stopped?.errorCode, stopped?.managerState],
      ['subscribed', 'closed', 'HANDLER_FAILED', 'degraded'],
      "the 'state' event says so too",
    );
    // Another topic subscribed meanwhile: degraded goes before subscribed.
    const other = await m.registerWatch(TOPIC, { onEvent: () => undefined });
    assert.deepEqual(
      m.status().watches.map((w) => w.state),
      ['closed', 'subscribed'],
    );
    assert.equal(m.status().state, 'degraded');
    // The stopped watch closed by the application: it leaves the list.
    await m.closeWatch(sub.id);
    assert.equal(m.status().state, 'subscribed');
    await m.closeWatch(other.id);
    assert.deepEqual(m.status(), { state: 'idle', watches: [] });
    await m.close();
    assert.equal(m.status().state, 'closed', 'closed goes before everything');
  });

  it("emits a 'state' event on every state change, with the error behind it", async () => {
    const m = manager({ reconnect: { initialDelayMs: 1, maxDelayMs: 1 } });
    const changes: StateChange[] = [];
    m.on('state', (c) => void changes.push(c));
    const sub = await m.registerWatch(TOPIC, { onEvent: () => undefined, onError: () => undefined });
    service.abortStreams({ topic: TOPIC });
    await service.waitFor(() => changes.length >= 3, 5_000, 'reconnected');
    await m.close();
    assert.deepEqual(
      changes.map(({ from, to, errorCode, managerState: state }) => ({ from, to, errorCode, state })),
      [
        { from: 'connecting', to: 'subscribed', errorCode: undefined, state: 'subscribed' },
        { from: 'subscribed', to: 'reconnecting', errorCode: 'CONNECTION_LOST', state: 'reconnecting' },
        { from: 'reconnecting', to: 'subscribed', errorCode: undefined, state: 'subscribed' },
        { from: 'subscribed', to: 'closed', errorCode: undefined, state: 'closed' },
      ],
    );
    assert.ok(changes.every((c) => c.watchId === sub.id && c.topic === TOPIC));
  });
});

describe('one way to learn that a handler failed (#12)', () => {
  for (const maxAttempts of [1, 2]) {
    it(`#12 maxAttempts ${maxAttempts}: a handler failing in the first catch-up, before the service accepted the stream, goes to onError and the 'state' event; registerWatch resolves`, async () => {
      // The service accepts the stream only after 10 s; the catch-up hands the events over long before that.
      const service = await startService({ activationDelayMs: 10_000 });
      const jwt = await token(service);
      service.publishMany(TOPIC, 3);
      const m = new WatchManager({ ...serviceOptions(service, jwt), from: 'beginning', logger: captureLogger() });
      const errors: WatchError[] = [];
      let acceptedAtFailure = -1;
      const changes: string[] = [];
      m.on(
        'state',
        (c) => void changes.push(`${c.from} > ${c.to}${c.errorCode === undefined ? '' : ` ${c.errorCode}`}`),
      );
      const seen: number[] = [];
      const sub = await m.registerWatch(
        TOPIC,
        {
          onEvent: (e) => {
            seen.push(e.sequenceId);
            if (e.sequenceId === 2) throw new Error('cannot apply');
          },
          onError: (e) => {
            acceptedAtFailure = service.counters.accepted;
            errors.push(recordError(e));
          },
        },
        { maxAttempts },
      );
      await until('the failure told', () => errors.length > 0 && changes.length > 0, 10_000);
      assert.equal(sub.topic, TOPIC);
      assert.equal(acceptedAtFailure, 0, 'the failure came before the service accepted the stream');
      assert.deepEqual(seen, [1, ...Array<number>(maxAttempts).fill(2)]);
      assert.deepEqual(
        errors.map((e) => e.code),
        ['HANDLER_FAILED'],
        'told once, to onError',
      );
      assert.match(errors[0]?.message ?? '', new RegExp(`sequence id 2 after ${maxAttempts} attempt`));
      assert.deepEqual(changes, ['connecting > closed HANDLER_FAILED']);
      const status = m.status().watches.find((w) => w.id === sub.id);
      assert.deepEqual(
        [status?.state, status?.lastErrorCode, status?.acknowledgedSequenceId],
        ['closed', 'HANDLER_FAILED', 1],
        'stopped before event 2',
      );
      await m.close();
      await service.stop();
    });
  }
});
