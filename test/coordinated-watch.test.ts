import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WatchManager, type EventContext, type LeaseChange, type WatchManagerOptions } from 'watch-manager';
import type { FakeWatchService } from 'watch-manager/testing';
import { ScriptedCoordinator, type ScriptedLease } from './support/scripted-coordinator';
import { quietLogger, scanForSecrets, serviceOptions, startService, token, until } from './support/harness';

scanForSecrets();

// A coordinated watch's own decisions, in an exact order of lease events that a database cannot be made to give on
// cue: leases granted, handed off and lost by the test (a scripted Coordinator, the public contract filled in memory),
// against the fake watch service. Coordination over a real PostgreSQL is in coordinated-manager.test.ts.
const topicName = (name: string): string => `/management/v1alpha1/watchtopics/scripted-${name}`;

interface Handled {
  seq: number;
  fence: number | undefined;
  signal: AbortSignal;
}

describe('a coordinated watch, its leases granted and ended by the test', { timeout: 60_000 }, () => {
  let service: FakeWatchService;
  let jwt: string;
  const managers: WatchManager[] = [];
  before(async () => {
    service = await startService();
    jwt = await token(service, { ttlMs: 3_600_000 });
  });
  after(async () => {
    await Promise.all(managers.map((m) => m.close()));
    await service?.stop();
  });

  function member(
    coordinator: ScriptedCoordinator,
    extra: Partial<WatchManagerOptions> = {},
  ): { manager: WatchManager; leases: string[] } {
    const manager = new WatchManager({
      ...serviceOptions(service, jwt),
      from: 'beginning',
      logger: quietLogger,
      coordinator,
      ...extra,
    });
    managers.push(manager);
    const leases: string[] = [];
    manager.on('lease', (c: LeaseChange) =>
      leases.push(`${c.kind} ${c.epoch}${c.errorCode === undefined ? '' : ` ${c.errorCode}`}`),
    );
    return { manager, leases };
  }

  /** Resolves when `signal` aborts; the bound only ends a failing test sooner (a handler never cut). */
  const aborted = (signal: AbortSignal): Promise<void> =>
    new Promise<void>((resolve) => {
      const bound = setTimeout(resolve, 5_000);
      signal.addEventListener('abort', () => (clearTimeout(bound), resolve()), { once: true });
    });

  const gate = (): { wait: Promise<void>; open: () => void } => {
    let open!: () => void;
    const wait = new Promise<void>((resolve) => (open = resolve));
    return { wait, open };
  };

  it('a lease lost while the last engine still stops starts no engine; the next lease won runs the topic', async () => {
    const topic = topicName('guard');
    service.createTopic(topic);
    service.publishMany(topic, 1);
    const coordinator = new ScriptedCoordinator('member-guard');
    const { manager, leases } = member(coordinator);
    const handled: Handled[] = [];
    const slow = gate();
    await manager.registerWatch(topic, {
      onEvent: async (e, ctx) => {
        handled.push({ seq: e.sequenceId, fence: ctx.fencingToken, signal: ctx.signal });
        // The first run ignores its signal: the engine stops only once it returns.
        if (handled.length === 1) await slow.wait;
      },
      onError: () => undefined,
    });
    const first = coordinator.grant(topic);
    await until('event 1 runs', () => handled.length === 1);
    first.lose('renew deadline passed');
    // Won while the first engine still waits for its handler; lost before that engine stopped.
    const second = coordinator.grant(topic);
    second.lose('renew deadline passed again');
    const third = coordinator.grant(topic);
    const cut = handled[0]?.signal;
    slow.open();
    assert.equal((cut?.reason as { code?: string } | undefined)?.code, 'LEASE_LOST', 'a lost lease aborts ctx.signal');
    await until('a lease runs the topic again', () =>
      leases.some((l) => l.startsWith('won') && l !== `won ${first.epoch}`),
    );
    service.publishMany(topic, 1);
    await until('event 2', () => handled.some((h) => h.seq === 2));
    assert.deepEqual(leases, [`won ${first.epoch}`, `lost ${first.epoch} LEASE_LOST`, `won ${third.epoch}`]);
    assert.deepEqual(
      handled.slice(1).map((h) => h.fence),
      handled.slice(1).map(() => third.epoch),
      `no handler ran under the lost lease ${second.epoch}`,
    );
    assert.deepEqual(
      handled.map((h) => h.seq),
      [1, 1, 2],
      'event 1, cut short by the lost lease, handled again',
    );
    assert.equal(second.writes.length, 0, 'nothing written under the lost lease');
    assert.equal(manager.status().watches[0]?.epoch, third.epoch);
    await manager.close();
  });

  it('counters add up over several leases: three leases of 5 events say 15 delivered, while active and after', async () => {
    const topic = topicName('totals');
    service.createTopic(topic);
    const coordinator = new ScriptedCoordinator('member-totals');
    const { manager } = member(coordinator);
    const handled: number[] = [];
    await manager.registerWatch(topic, { onEvent: (e) => void handled.push(e.sequenceId) });
    const delivered = (): number | undefined => manager.metrics().watches[0]?.delivered;
    let lease: ScriptedLease | undefined;
    for (let turn = 1; turn <= 3; turn++) {
      lease = coordinator.grant(topic);
      service.publishMany(topic, 5);
      await until(`lease ${turn} handles its events`, () => handled.length === 5 * turn);
      assert.equal(delivered(), 5 * turn, `delivered while lease ${turn} is held`);
      if (turn < 3) {
        const held = lease;
        held.handOff();
        await until(`lease ${turn} released`, () => held.released);
        await until('standing by', () => manager.status().watches[0]?.role === 'standby');
        assert.equal(delivered(), 5 * turn, `delivered after lease ${turn} was handed off`);
      }
    }
    assert.deepEqual(
      handled,
      Array.from({ length: 15 }, (_, i) => i + 1),
    );
    assert.equal(manager.metrics().watches[0]?.acknowledgedSequenceId, 15);
    await manager.close();
    assert.equal(delivered(), 15, 'and after the watch closed');
  });

  it('a lost lease with acknowledgements not yet stored is told once: one LEASE_LOST, no write under it', async () => {
    const topic = topicName('told-once');
    service.createTopic(topic);
    service.publishMany(topic, 3);
    const coordinator = new ScriptedCoordinator('member-told');
    // Positions wait for a batch that never fills: every acknowledgement is unsaved when the lease is lost.
    const { manager, leases } = member(coordinator, { positionFlush: { everyAcks: 1_000, intervalMs: 600_000 } });
    const errors: string[] = [];
    const handled: number[] = [];
    await manager.registerWatch(topic, {
      onEvent: (e) => void handled.push(e.sequenceId),
      onError: (e) => void errors.push(e.code),
    });
    const first = coordinator.grant(topic);
    await until('three events', () => handled.length === 3);
    first.lose('renew deadline passed');
    // The next lease runs only once the first engine stopped (its unsaved positions flushed, or not).
    const second = coordinator.grant(topic);
    await until('the next lease runs', () => leases.includes(`won ${second.epoch}`));
    assert.deepEqual(errors, ['LEASE_LOST'], 'told once');
    assert.deepEqual(leases.slice(0, 2), [`won ${first.epoch}`, `lost ${first.epoch} LEASE_LOST`]);
    assert.deepEqual(first.writes, [], 'no write tried under the lost lease');
    await manager.close();
  });

  it('#11 close(): a handler that returns when ctx.signal aborts is no acknowledgement; the member that takes the topic next handles its event again', async () => {
    const topic = topicName('returns');
    service.createTopic(topic);
    service.publishMany(topic, 3);
    const positions = new Map<string, number>();
    const coordinatorA = new ScriptedCoordinator('member-a', positions);
    // close() aborts ctx.signal once closeTimeoutMs ran out (a handler finishing before it counts).
    const a = member(coordinatorA, { closeTimeoutMs: 300 });
    const seenA: number[] = [];
    let signal: AbortSignal | undefined;
    await a.manager.registerWatch(topic, {
      onEvent: async (e, ctx: EventContext) => {
        seenA.push(e.sequenceId);
        if (e.sequenceId !== 3) return;
        signal = ctx.signal;
        await aborted(ctx.signal);
      },
    });
    coordinatorA.grant(topic);
    await until('event 3 runs on a', () => seenA.includes(3));
    await a.manager.close();
    assert.equal(signal?.aborted, true);
    assert.equal(positions.get(topic), 2, 'stored before event 3, under the lease still held');

    const coordinatorB = new ScriptedCoordinator('member-b', positions);
    const b = member(coordinatorB);
    const seenB: number[] = [];
    await b.manager.registerWatch(topic, { onEvent: (e) => void seenB.push(e.sequenceId) });
    coordinatorB.grant(topic);
    await until('b handles event 3', () => seenB.includes(3));
    assert.deepEqual(seenB, [3]);
    await b.manager.close();
    assert.equal(positions.get(topic), 3);
  });

  it('#11 a rebalancing hand-off lets the running handler finish without aborting its signal: its acknowledgement is stored before the lease goes', async () => {
    const topic = topicName('drain');
    service.createTopic(topic);
    service.publishMany(topic, 2);
    const coordinator = new ScriptedCoordinator('member-drain');
    const { manager } = member(coordinator);
    const slow = gate();
    const aborted: boolean[] = [];
    await manager.registerWatch(topic, {
      onEvent: async (e, ctx) => {
        if (e.sequenceId === 2) await slow.wait;
        aborted.push(ctx.signal.aborted);
      },
    });
    const lease = coordinator.grant(topic);
    await until('event 1 handled', () => aborted.length === 1);
    await new Promise((resolve) => setImmediate(resolve));
    lease.handOff();
    slow.open();
    await until('released', () => lease.released);
    assert.deepEqual(aborted, [false, false], 'a hand-off does not abort the signal');
    assert.equal(coordinator.positions.get(topic), 2, 'event 2 acknowledged under the lease before it went');
    await manager.close();
  });

  it("while a hand-off drains, status() shows the position the draining engine acknowledged, as metrics() does (never the lease's older one)", async () => {
    const topic = topicName('drain-status');
    service.createTopic(topic);
    service.publishMany(topic, 2);
    const coordinator = new ScriptedCoordinator('member-drain-status');
    const { manager } = member(coordinator);
    const slow = gate();
    const handled: number[] = [];
    await manager.registerWatch(topic, {
      onEvent: async (e) => {
        if (e.sequenceId === 2) await slow.wait;
        handled.push(e.sequenceId);
      },
    });
    const lease = coordinator.grant(topic);
    await until('event 1 handled', () => handled.length === 1);
    await until('event 1 acknowledged', () => manager.metrics().watches[0]?.acknowledgedSequenceId === 1);
    lease.handOff();
    await until('draining', () => manager.status().watches[0]?.role === 'standby');
    const [status] = manager.status().watches;
    const [metrics] = manager.metrics().watches;
    slow.open(); // before the checks: a failing one must not leave the handler (and the close) waiting
    assert.equal(metrics?.acknowledgedSequenceId, 1);
    assert.equal(status?.acknowledgedSequenceId, 1, 'status() during the drain');
    assert.equal(status?.lastSequenceId, 1, 'the deprecated alias too');
    await until('released', () => lease.released);
    assert.equal(manager.status().watches[0]?.acknowledgedSequenceId, 2);
    await manager.close();
  });

  it('#11 a lease lost while a hand-off drains cuts the running handler short: its signal aborts, its event is not acknowledged', async () => {
    const topic = topicName('drain-lost');
    service.createTopic(topic);
    service.publishMany(topic, 2);
    const coordinator = new ScriptedCoordinator('member-drain-lost');
    const { manager, leases } = member(coordinator);
    const reasons: unknown[] = [];
    const done: number[] = [];
    await manager.registerWatch(topic, {
      onEvent: async (e, ctx) => {
        if (e.sequenceId === 2) {
          await aborted(ctx.signal);
          reasons.push((ctx.signal.reason as { code?: string }).code);
        }
        done.push(e.sequenceId);
      },
      onError: () => undefined,
    });
    const lease = coordinator.grant(topic);
    await until('event 1 handled, 2 runs', () => done.length === 1);
    lease.handOff();
    await new Promise((resolve) => setTimeout(resolve, 50)); // draining: the handler of 2 still runs
    assert.deepEqual(reasons, [], 'a hand-off alone does not cut');
    lease.lose('renew deadline passed while draining');
    await until('the lease told lost', () => leases.includes(`lost ${lease.epoch} LEASE_LOST`));
    assert.deepEqual(reasons, ['LEASE_LOST']);
    assert.deepEqual(done, [1, 2]);
    assert.equal(coordinator.positions.get(topic), 1, 'event 2 not acknowledged');
    assert.equal(lease.released, false, 'lost, not released');
    await manager.close();
  });

  it('#12 under a coordinator: a handler failing before the service accepted the stream is told once, to onError; registerWatch resolved', async () => {
    const slowService = await startService({ activationDelayMs: 10_000 });
    const slowJwt = await token(slowService);
    const topic = topicName('failing');
    slowService.createTopic(topic);
    slowService.publishMany(topic, 2);
    const coordinator = new ScriptedCoordinator('member-failing');
    const manager = new WatchManager({
      ...serviceOptions(slowService, slowJwt),
      from: 'beginning',
      logger: quietLogger,
      coordinator,
    });
    const errors: string[] = [];
    const leases: string[] = [];
    manager.on('lease', (c) => leases.push(`${c.kind}${c.errorCode === undefined ? '' : ` ${c.errorCode}`}`));
    await manager.registerWatch(
      topic,
      {
        onEvent: (e) => {
          if (e.sequenceId === 2) throw new Error('cannot apply');
        },
        onError: (e) => void errors.push(e.code),
      },
      { maxAttempts: 1 },
    );
    const lease = coordinator.grant(topic);
    await until('the watch stopped', () => manager.status().watches[0]?.state === 'closed');
    assert.equal(slowService.counters.accepted, 0, 'before the service accepted the stream');
    assert.deepEqual(errors, ['HANDLER_FAILED'], 'told once');
    assert.equal(manager.status().watches[0]?.lastErrorCode, 'HANDLER_FAILED');
    assert.equal(lease.released, true, 'the lease given back');
    assert.deepEqual(leases, ['won', 'released HANDLER_FAILED']);
    await manager.close();
    await slowService.stop();
  });
});
