import { describe, it } from 'node:test';
import '../support/harness';
import assert from 'node:assert/strict';
import { FakeClock } from 'watch-manager/testing';
import { StallWatchdog } from '../../src/transport/stall-watchdog';

/** A watchdog on a fake clock, and the silences it reported. */
function watchdog(timeoutMs: number | undefined): { dog: StallWatchdog; clock: FakeClock; stalls: number[] } {
  const clock = new FakeClock();
  const stalls: number[] = [];
  const dog = new StallWatchdog({ clock, timeoutMs, onStall: (silent) => void stalls.push(silent) });
  return { dog, clock, stalls };
}

describe('stall watchdog', () => {
  it('a fixed timeout: silence for the timeout is a stall, told once; an event or a ping starts the count over', async () => {
    const { dog, clock, stalls } = watchdog(1_000);
    await clock.advance(600);
    dog.event();
    await clock.advance(999);
    assert.deepEqual(stalls, [], 'counted from the event');
    await clock.advance(1);
    assert.deepEqual(stalls, [1_000]);
    await clock.advance(5_000);
    assert.deepEqual(stalls, [1_000], 'told once, then stopped');
  });

  it('after a suspend longer than the timeout, no stall until a full timeout of real silence after the resume', async () => {
    const { dog, clock, stalls } = watchdog(1_000);
    await clock.advance(500);
    dog.event();
    dog.suspend(); // the SDK stopped reading: nothing can arrive
    await clock.advance(5_000);
    assert.deepEqual(stalls, [], 'time the SDK did not read never counts');
    dog.resume();
    await clock.advance(10);
    assert.deepEqual(stalls, [], 'not a stall just after the resume');
    await clock.advance(989);
    assert.deepEqual(stalls, [], 'nor before a full timeout of silence');
    await clock.advance(1);
    assert.deepEqual(stalls, [1_000], 'a stall after a full timeout of silence since the resume');
    dog.stop();
  });

  it('a timeout derived from pings: the suspended time is not a gap between pings', async () => {
    const { dog, clock, stalls } = watchdog(undefined);
    for (let i = 0; i < 3; i++) {
      await clock.advance(100);
      dog.ping();
    }
    assert.equal(dog.timeoutMs, 1_000, '3 x the 100 ms gap, at least 1 s');
    dog.suspend();
    await clock.advance(5_000);
    dog.resume();
    await clock.advance(100);
    dog.ping();
    assert.equal(dog.timeoutMs, 1_000, 'the gap across the suspend is not taken for the ping interval');
    await clock.advance(999);
    assert.deepEqual(stalls, []);
    await clock.advance(1);
    assert.deepEqual(stalls, [1_000]);
  });

  it('a timeout derived from pings: an event after the pings starts the count over; events before the first ping do not count', async () => {
    const { dog, clock, stalls } = watchdog(undefined);
    await clock.advance(50);
    dog.event(); // no timeout known yet: nothing to count from
    await clock.advance(50);
    dog.ping();
    for (let i = 0; i < 2; i++) {
      await clock.advance(100);
      dog.ping();
    }
    assert.equal(dog.timeoutMs, 1_000, '3 x the 100 ms gap, at least 1 s');
    await clock.advance(500);
    dog.event();
    await clock.advance(999);
    assert.deepEqual(stalls, [], 'counted from the event, not from the last ping');
    await clock.advance(1);
    assert.deepEqual(stalls, [1_000]);
  });

  it('no fixed timeout and no ping: never a stall (left to keepalive), and no timer held', async () => {
    const { dog, clock, stalls } = watchdog(undefined);
    assert.equal(dog.timeoutMs, undefined);
    assert.equal(clock.pending, 0, 'nothing armed while the timeout cannot be known');
    await clock.advance(3_600_000);
    dog.event();
    await clock.advance(3_600_000);
    assert.deepEqual(stalls, []);
  });

  it('derived from pings: three times the longest gap (the first counted from the start), never below 1 s', async () => {
    const { dog, clock, stalls } = watchdog(undefined);
    await clock.advance(2_000);
    dog.ping(); // the first gap: from the start
    assert.equal(dog.timeoutMs, 6_000);
    await clock.advance(500);
    dog.ping();
    assert.equal(dog.timeoutMs, 6_000, 'the longest gap, not the last one');
    await clock.advance(5_999);
    assert.deepEqual(stalls, [], 'an event-free stretch shorter than the timeout');
    await clock.advance(1);
    assert.deepEqual(stalls, [6_000]);

    const fast = watchdog(undefined);
    for (let i = 0; i < 5; i++) {
      await fast.clock.advance(10);
      fast.dog.ping();
    }
    assert.equal(fast.dog.timeoutMs, 1_000, 'a service pinging every 10 ms: the floor, not 30 ms');
    fast.dog.stop();
  });

  it('stop(): no stall after it, whatever comes; resume() without a suspend changes nothing', async () => {
    const { dog, clock, stalls } = watchdog(1_000);
    await clock.advance(900);
    dog.resume(); // not suspended: the count goes on from the start
    await clock.advance(100);
    assert.deepEqual(stalls, [1_000], 'resume() did not restart the count');

    const stopped = watchdog(1_000);
    await stopped.clock.advance(500);
    stopped.dog.stop();
    assert.equal(stopped.clock.pending, 0, 'its timer cancelled at once');
    stopped.dog.ping();
    stopped.dog.resume();
    await stopped.clock.advance(10_000);
    assert.deepEqual(stopped.stalls, []);
    assert.equal(stopped.clock.pending, 0, 'nothing armed again');
  });
});
