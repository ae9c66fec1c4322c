import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WatchManager, type WatchError } from '../src';
import { FakeClock } from '../src/testing';
import { TOPIC, captureLogger, recordError, scanForSecrets, startService, token } from './support/harness';

scanForSecrets();

describe('reconnect policy', () => {
  it('backs off exponentially (full jitter, capped) and resets after a healthy period', async () => {
    const service = await startService();
    const jwt = await token(service);
    // random() just below 1: every delay is its cap minus one, so the schedule is exact.
    const clock = Object.assign(new FakeClock(), { random: () => 0.999 });
    const manager = new WatchManager({
      target: service.target, tenantId: service.tenantId, historyUrl: service.historyUrl, getToken: () => jwt, tls: false,
      logger: captureLogger(), clock, reconnect: { initialDelayMs: 1_000, maxDelayMs: 20_000, multiplier: 10, resetAfterMs: 5_000 },
    });
    await manager.registerWatch(TOPIC, { onEvent: () => undefined, onError: (e) => void recordError(e) });
    const delayAfterAbort = async (): Promise<number> => {
      const before = service.counters.accepted;
      service.abortStreams({ topic: TOPIC });
      await service.waitFor(() => manager.status().state === 'reconnecting', 5_000, 'reconnecting');
      const delay = (manager.status().watches[0]?.nextAttemptAt ?? 0) - clock.now();
      await clock.advance(delay);
      await service.waitFor(() => service.counters.accepted > before && manager.status().state === 'ready', 5_000, 'back');
      return delay;
    };
    assert.equal(await delayAfterAbort(), 999, 'first: cap 1000');
    assert.equal(await delayAfterAbort(), 9_990, 'second, without a healthy period: cap 10000');
    assert.equal(await delayAfterAbort(), 19_980, 'third: capped at maxDelayMs 20000');
    await clock.advance(5_000); // a healthy period
    assert.equal(await delayAfterAbort(), 999, 'after 5 s of health the backoff starts over');
    await manager.close();
    await service.stop();
  });

  it('a token refused again after a fresh fetch stops the watch with UNAUTHENTICATED instead of looping', async () => {
    const service = await startService();
    const jwt = await token(service);
    const errors: WatchError[] = [];
    const manager = new WatchManager({
      target: service.target, tenantId: service.tenantId, historyUrl: service.historyUrl, getToken: () => jwt, tls: false,
      logger: captureLogger(), reconnect: { initialDelayMs: 1, maxDelayMs: 5 },
    });
    await manager.registerWatch(TOPIC, { onEvent: () => undefined, onError: (e) => void errors.push(recordError(e)) });
    service.revokeToken(jwt); // the getter keeps returning the revoked token
    await service.waitFor(() => manager.status().watches[0]?.state === 'closed', 5_000, 'the watch stopped');
    assert.deepEqual(errors.map((e) => e.code), ['TOKEN_EXPIRED', 'UNAUTHENTICATED']);
    assert.equal(errors.at(-1)?.retryable, false);
    assert.ok(service.counters.subscribes <= 3, `no loop: ${service.counters.subscribes} subscribes`);
    await manager.close();
    await service.stop();
  });
});
