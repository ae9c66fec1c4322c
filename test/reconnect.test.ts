import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WatchManager, type WatchError } from 'watch-manager';
import { FakeClock } from 'watch-manager/testing';
import { TOPIC, captureLogger, recordError, scanForSecrets, startService, token } from './support/harness';

scanForSecrets();

describe('reconnect policy', () => {
  it('#15 backs off exponentially (full jitter, capped) only while attempts make no progress; progress or a healthy period starts over', async () => {
    const service = await startService();
    const jwt = await token(service);
    // random() just below 1: every delay is its cap minus one, so the schedule is exact.
    const clock = Object.assign(new FakeClock(), { random: () => 0.999 });
    const manager = new WatchManager({
      target: service.target,
      tenantId: service.tenantId,
      historyUrl: service.historyUrl,
      getToken: () => jwt,
      tls: false,
      logger: captureLogger(),
      clock,
      reconnect: { initialDelayMs: 1_000, maxDelayMs: 20_000, multiplier: 10, resetAfterMs: 5_000 },
    });
    await manager.registerWatch(TOPIC, { onEvent: () => undefined, onError: (e) => void recordError(e) });
    let failures = 0;
    /** The delay before the next attempt, once the current one failed (each failure counts one reconnect). */
    const nextDelay = async (): Promise<number> => {
      await service.waitFor(
        () => (manager.metrics().watches[0]?.reconnects ?? 0) > failures,
        5_000,
        'the attempt failed',
      );
      failures += 1;
      return (manager.status().watches[0]?.nextAttemptAt ?? 0) - clock.now();
    };
    const wait = async (delay: number): Promise<void> => {
      const before = service.counters.subscribes;
      await clock.advance(delay);
      await service.waitFor(() => service.counters.subscribes > before, 5_000, 'the next attempt');
    };
    const live = (): boolean => manager.status().watches[0]?.live === true;

    // The service restarts: three attempts refused before any sign of life.
    service.setHostile({ refuseSubscriptions: 3 });
    service.abortStreams({ topic: TOPIC });
    const schedule: number[] = [];
    for (let i = 0; i < 4; i++) {
      const delay = await nextDelay();
      schedule.push(delay);
      await wait(delay);
    }
    assert.deepEqual(
      schedule,
      [999, 9_990, 19_980, 19_980],
      'the stream that went live starts at cap 1000; refusals escalate to the 20000 cap',
    );
    await service.waitFor(live, 5_000, 'live again');

    // A service that ends every healthy stream (a maximum connection age): each one made progress, no escalation.
    for (let i = 0; i < 3; i++) {
      service.abortStreams({ topic: TOPIC });
      const delay = await nextDelay();
      assert.equal(delay, 999, `abort ${i + 1} after progress: first delay again`);
      await wait(delay);
      await service.waitFor(live, 5_000, 'live again');
    }

    // No progress (the catch-up cannot finish) but a healthy period of 5 s on an accepted stream also starts over.
    service.setHistoryFaults({ failRate: 1 });
    service.abortStreams({ topic: TOPIC });
    await wait(await nextDelay());
    service.setHostile({ refuseSubscriptions: 0 });
    service.abortStreams({ topic: TOPIC });
    assert.equal(await nextDelay(), 9_990, 'an accepted stream without progress escalates');
    await wait(9_990);
    await service.waitFor(() => manager.status().state === 'subscribed', 5_000, 'accepted');
    await clock.advance(5_000);
    service.abortStreams({ topic: TOPIC });
    assert.equal(await nextDelay(), 999, 'after 5 s of health the backoff starts over');
    service.setHistoryFaults({});
    await manager.close();
    await service.stop();
  });

  it('a token refused again after a fresh fetch stops the watch with UNAUTHENTICATED instead of looping', async () => {
    const service = await startService();
    const jwt = await token(service);
    const errors: WatchError[] = [];
    const manager = new WatchManager({
      target: service.target,
      tenantId: service.tenantId,
      historyUrl: service.historyUrl,
      getToken: () => jwt,
      tls: false,
      logger: captureLogger(),
      reconnect: { initialDelayMs: 1, maxDelayMs: 5 },
    });
    await manager.registerWatch(TOPIC, { onEvent: () => undefined, onError: (e) => void errors.push(recordError(e)) });
    service.revokeToken(jwt); // the getter keeps returning the revoked token
    await service.waitFor(() => manager.status().watches[0]?.state === 'closed', 5_000, 'the watch stopped');
    assert.deepEqual(
      errors.map((e) => e.code),
      ['TOKEN_EXPIRED', 'UNAUTHENTICATED'],
    );
    assert.equal(errors.at(-1)?.retryable, false);
    assert.ok(service.counters.subscribes <= 3, `no loop: ${service.counters.subscribes} subscribes`);
    await manager.close();
    await service.stop();
  });
});
