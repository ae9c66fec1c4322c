import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Intake, type DeliveryItem, type Flow } from '../../src/delivery/intake';
import type { WatchEvent } from '../../src/core/types';
import { scanForSecrets } from '../support/harness';

scanForSecrets();

const event = (sequenceId: number): WatchEvent =>
  ({ sequenceId, type: 'CREATED', payload: {}, time: 0, topic: '/t' }) as unknown as WatchEvent;

/** A flow that records what the intake told it, and an intake fed by it. */
function setup(maxBufferedEvents: number): { intake: Intake; flow: Flow; moves: string[]; items: () => number } {
  const moves: string[] = [];
  let items = 0;
  const flow: Flow = { pause: () => moves.push('pause'), resume: () => moves.push('resume') };
  const intake = new Intake({ maxBufferedEvents, onItem: () => void (items += 1) });
  intake.connect(flow);
  return { intake, flow, moves, items: () => items };
}

function drain(intake: Intake, count: number): DeliveryItem[] {
  const out: DeliveryItem[] = [];
  for (let i = 0; i < count; i++) {
    const item = intake.peek();
    if (item === undefined) break;
    out.push(item);
    intake.take();
  }
  return out;
}

const ids = (items: DeliveryItem[]): Array<number | string> =>
  items.map((i) => (i.kind === 'event' ? i.event.sequenceId : i.kind));

describe('the intake: one bounded buffer, its marks, pausing the stream and holding the catch-up', () => {
  it('pauses the stream at the high mark and resumes it at the low mark (half), once each', () => {
    const { intake, moves } = setup(10);
    intake.goLive();
    drain(intake, 1); // the live marker
    for (let i = 1; i <= 9; i++) intake.receive(event(i));
    assert.deepEqual(moves, [], 'below the high mark the stream is read');
    intake.receive(event(10));
    assert.deepEqual(moves, ['pause']);
    intake.receive(event(11)); // what grpc-js had read already still arrives: no second pause
    assert.deepEqual(moves, ['pause']);
    drain(intake, 5);
    assert.equal(intake.size, 6);
    assert.deepEqual(moves, ['pause'], 'above the low mark it stays paused');
    drain(intake, 1);
    assert.equal(intake.size, 5);
    assert.deepEqual(moves, ['pause', 'resume'], 'resumed at half of the high mark');
    drain(intake, 5);
    assert.deepEqual(moves, ['pause', 'resume']);
  });

  it('holds live events back during a catch-up, bounded on their own, and queues them after the live marker', () => {
    const { intake, moves } = setup(4);
    intake.push({ kind: 'event', event: event(1) }); // from history
    for (let i = 3; i <= 6; i++) intake.receive(event(i));
    assert.deepEqual(intake.heldBack, { count: 4, first: 3 });
    assert.deepEqual(moves, ['pause'], 'the held-back events filled their own bound');
    assert.equal(intake.size, 1, 'held events are not in the queue the catch-up waits on');
    intake.push({ kind: 'event', event: event(2) });
    assert.deepEqual(ids(drain(intake, 1)), [1]);
    assert.deepEqual(moves, ['pause'], 'not resumed before the hand-off: the held events do not shrink');
    intake.goLive();
    assert.deepEqual(intake.heldBack, { count: 0, first: undefined });
    assert.deepEqual(ids(drain(intake, 10)), [2, 'live', 3, 4, 5, 6]);
    assert.deepEqual(moves, ['pause', 'resume'], 'resumed once delivery took the held events');
  });

  it('lets the catch-up wait for room below the high mark, and lets it go on close', async () => {
    const { intake } = setup(3);
    for (let i = 1; i <= 3; i++) intake.push({ kind: 'event', event: event(i) });
    let roomy = false;
    const waiting = intake.room().then(() => (roomy = true));
    await Promise.resolve();
    assert.equal(roomy, false, 'full: the catch-up waits');
    drain(intake, 1);
    await waiting;
    assert.equal(roomy, true);
    intake.push({ kind: 'event', event: event(4) });
    let released = false;
    const closed = intake.room().then(() => (released = true));
    intake.close();
    await closed;
    assert.equal(released, true, 'a closed intake holds nothing back');
    intake.push({ kind: 'event', event: event(5) });
    intake.receive(event(6));
    assert.equal(intake.size, 0, 'nothing is queued once closed');
  });

  it('a connection ending drops what it held and what is queued; one that is no longer current drops nothing', () => {
    const { intake, flow, moves } = setup(100);
    intake.push({ kind: 'event', event: event(1) });
    intake.receive(event(2));
    const next: Flow = { pause: () => moves.push('next-pause'), resume: () => undefined };
    intake.disconnect(flow);
    assert.equal(intake.size, 0);
    assert.deepEqual(intake.heldBack, { count: 0, first: undefined });
    intake.connect(next);
    intake.push({ kind: 'event', event: event(1) });
    intake.disconnect(flow); // the old connection's close, late
    assert.equal(intake.size, 1, 'the current connection keeps its items');
    assert.equal(intake.isLive, false);
  });

  it('tells delivery of every item queued', () => {
    const { intake, items } = setup(10);
    intake.push({ kind: 'event', event: event(1) });
    intake.receive(event(2)); // held back: not yet for delivery
    assert.equal(items(), 1);
    intake.goLive();
    assert.equal(items(), 3, 'the live marker and the held event');
  });
});
