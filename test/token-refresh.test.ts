import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WatchManager, WatchError, type WatchEvent } from 'watch-manager';
import { FakeClock } from 'watch-manager/testing';
import { TokenRefresher } from '../src/auth/token-refresher';
import { createLog } from '../src/logging/logger';
import { DEFAULT_BACKOFF } from '../src/core/backoff';
import {
  TOPIC,
  captureLogger,
  captured,
  recordError,
  scanForSecrets,
  secret,
  startService,
  token,
} from './support/harness';

scanForSecrets();

function refresher(clock: FakeClock, getToken: () => string | Promise<string>, timeoutMs = 1_000): TokenRefresher {
  return new TokenRefresher({
    getToken,
    timeoutMs,
    fallbackRefreshMs: 30_000,
    backoff: DEFAULT_BACKOFF,
    clock,
    log: createLog(captureLogger()),
  });
}

describe('in-stream token refresh', () => {
  it('keeps a 60-second stream with 5-second tokens open: >= 10 in-stream refreshes, zero reconnects (fake clock)', async () => {
    const clock = new FakeClock();
    const service = await startService({ clock });
    let issued = 0;
    const getToken = async (): Promise<string> => {
      issued += 1;
      return secret(await service.issueToken({ ttlMs: 5_000 }));
    };
    const errors: WatchError[] = [];
    const got: WatchEvent[] = [];
    const manager = new WatchManager({
      target: service.target,
      tenantId: service.tenantId,
      historyUrl: service.historyUrl,
      getToken,
      tls: false,
      clock,
      logger: captureLogger(),
    });
    await manager.registerWatch(TOPIC, {
      onEvent: (e) => void got.push(e),
      onError: (e) => void errors.push(recordError(e)),
    });
    for (let t = 0; t < 60_000; t += 250) {
      await clock.advance(250);
      // Every token the getter handed out after the first must have reached the service before time moves on.
      await service.waitFor(
        () => service.counters.tokenRefreshes === issued - 1,
        5_000,
        `refresh ${issued - 1} seen by the service`,
      );
      if (t % 5_000 === 0) service.publish(TOPIC);
    }
    await service.waitFor(() => got.length === 12, 5_000, 'events during the minute');
    assert.ok(service.counters.tokenRefreshes >= 10, `refreshes: ${service.counters.tokenRefreshes}`);
    assert.equal(service.counters.subscribes, 1, 'one subscription: zero reconnects');
    assert.equal(service.counters.expiredStreams, 0);
    assert.equal(service.counters.refreshesRejected, 0);
    assert.deepEqual(errors, []);
    assert.equal(manager.status().state, 'subscribed');
    await manager.close();
    await service.stop();
  });

  it('schedules the refresh at 4/5 of the time left until exp', async () => {
    const clock = new FakeClock();
    const service = await startService({ clock });
    let calls = 0;
    const r = refresher(clock, async () => {
      calls += 1;
      return secret(await service.issueToken({ ttlMs: 10_000 }));
    });
    const first = await r.current();
    assert.equal(first.fresh, true);
    assert.deepEqual(await r.current(), { token: first.token, fresh: false });
    await clock.advance(7_999);
    assert.equal(calls, 1);
    await clock.advance(1);
    assert.equal(calls, 2);
    r.close();
    await service.stop();
  });

  it('a token fetched for a reconnect (the held one about to expire) goes to the open streams too (chaos finding)', async () => {
    const clock = new FakeClock();
    const service = await startService({ clock });
    const r = refresher(clock, async () => secret(await service.issueToken({ ttlMs: 3_000 })));
    const sent: string[] = [];
    r.follow((token) => void sent.push(token));
    const first = await r.current();
    // 2.1 s in, less than the 1 s margin is left: a reconnect asks, and gets a new token before the scheduled
    // refresh (at 4/5 = 2.4 s), which it re-arms for the new one. The streams still holding the first must get it.
    await clock.advance(2_100);
    const second = await r.current();
    assert.equal(second.fresh, true);
    assert.notEqual(second.token, first.token);
    assert.deepEqual(sent, [second.token], 'the open streams are sent the new token at once');
    await clock.advance(2_400);
    assert.equal(sent.length, 2, 'and the next refresh follows on its own schedule');
    r.close();
    await service.stop();
  });

  it('gives TOKEN_UNAVAILABLE after tokenTimeoutMs when the getter hangs, and never blocks close()', async () => {
    const clock = new FakeClock();
    const r = refresher(clock, () => new Promise<string>(() => undefined), 2_000);
    const pending = r.current().then(
      () => undefined,
      (e: unknown) => e,
    );
    await clock.advance(2_000);
    const err = await pending;
    assert.ok(err instanceof WatchError && err.code === 'TOKEN_UNAVAILABLE' && err.retryable);
    const again = r.current();
    r.close();
    await assert.rejects(again, { code: 'CLOSED' });
  });

  it('wraps a throwing getter into TOKEN_UNAVAILABLE without echoing secrets', async () => {
    const clock = new FakeClock();
    const leaked = secret('s3cr3t-client-password');
    const r = refresher(clock, () => {
      throw new Error(`login failed for https://agent:${leaked}@idp.example.com/token`);
    });
    const err = recordError(
      await r.current().then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    assert.ok(err instanceof WatchError);
    assert.equal(err.code, 'TOKEN_UNAVAILABLE');
    assert.ok(!err.message.includes(leaked));
    assert.ok(!String((err.cause as Error).message).includes(leaked));
    r.close();
  });

  it('refuses a getter result that is not a token, and an already expired token', async () => {
    const clock = new FakeClock();
    const service = await startService({ clock });
    await assert.rejects(refresher(clock, () => '').current(), { code: 'TOKEN_UNAVAILABLE' });
    await assert.rejects(refresher(clock, () => 42 as unknown as string).current(), { code: 'TOKEN_UNAVAILABLE' });
    const stale = await token(service, { ttlMs: 1_000 });
    await clock.advance(2_000);
    await assert.rejects(refresher(clock, () => stale).current(), { code: 'TOKEN_EXPIRED' });
    await service.stop();
  });

  it('refreshes a token whose expiry cannot be read on the fallback interval, warning once', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const r = refresher(clock, () => `opaque-token-${++calls}-abcdef`);
    const lines = captured.length;
    await r.current();
    await clock.advance(30_000);
    await clock.advance(30_000);
    assert.equal(calls, 3);
    const warnings = captured.slice(lines).filter((l) => l.includes('expiry cannot be read'));
    assert.equal(warnings.length, 1);
    r.close();
  });

  it('retries a failing scheduled refresh with backoff and keeps the current token meanwhile', async () => {
    const clock = new FakeClock();
    const service = await startService({ clock });
    let fail = false;
    let calls = 0;
    const r = refresher(clock, async () => {
      calls += 1;
      if (fail) throw new Error('idp down');
      return secret(await service.issueToken({ ttlMs: 10_000 }));
    });
    const refreshed: string[] = [];
    r.follow((t) => void refreshed.push(t));
    const first = await r.current();
    fail = true;
    await clock.advance(8_000); // scheduled refresh fails
    assert.equal(calls, 2);
    assert.equal((await r.current()).token, first.token, 'the current token stays in use');
    fail = false;
    await clock.advance(DEFAULT_BACKOFF.initialDelayMs); // the retry, within the first backoff cap
    assert.equal(calls, 3);
    assert.equal(refreshed.length, 1);
    r.close();
    await service.stop();
  });

  it('a successful refresh starts the retry backoff over: the next outage retries at the first delay again', async () => {
    const clock = Object.assign(new FakeClock(), { random: () => 0.999 }); // every delay is its cap minus one
    const service = await startService({ clock });
    let fail = false;
    let calls = 0;
    const r = refresher(clock, async () => {
      calls += 1;
      if (fail) throw new Error('idp down');
      return secret(await service.issueToken({ ttlMs: 10_000 }));
    });
    await r.current();
    fail = true;
    await clock.advance(8_000); // the scheduled refresh fails: retry in 499
    await clock.advance(499); // fails again: retry in 999
    assert.equal(calls, 3);
    fail = false;
    await clock.advance(999); // succeeds
    assert.equal(calls, 4);
    fail = true;
    await clock.advance(8_000); // the next scheduled refresh fails
    assert.equal(calls, 5);
    fail = false;
    await clock.advance(499);
    assert.equal(calls, 6, 'retried at the first delay (499), not the third (1999)');
    r.close();
    await service.stop();
  });

  it('reconnects with a fresh token when the service ends a stream for an expired token (TOKEN_EXPIRED)', async () => {
    const service = await startService();
    let current = await token(service);
    const errors: WatchError[] = [];
    const manager = new WatchManager({
      target: service.target,
      tenantId: service.tenantId,
      historyUrl: service.historyUrl,
      getToken: () => current,
      tls: false,
      logger: captureLogger(),
      reconnect: { initialDelayMs: 1, maxDelayMs: 1 },
    });
    await manager.registerWatch(TOPIC, { onEvent: () => undefined, onError: (e) => void errors.push(recordError(e)) });
    const old = current;
    current = await token(service);
    service.expireToken(old);
    await service.waitFor(
      () => service.counters.accepted === 2 && manager.status().state === 'subscribed',
      5_000,
      'resubscribed',
    );
    assert.equal(errors[0]?.code, 'TOKEN_EXPIRED');
    assert.equal(errors[0]?.retryable, true);
    await manager.close();
    await service.stop();
  });

  it('keeps retrying while getToken fails at start, then rejects registerWatch with its code at connectTimeoutMs', async () => {
    const clock = new FakeClock();
    const service = await startService();
    const manager = new WatchManager({
      target: service.target,
      tenantId: service.tenantId,
      historyUrl: service.historyUrl,
      tls: false,
      clock,
      logger: captureLogger(),
      connectTimeoutMs: 10_000,
      getToken: () => {
        calls += 1;
        return Promise.reject(new Error('no credentials yet'));
      },
    });
    let outcome: unknown;
    let calls = 0;
    const pending = manager.registerWatch(TOPIC, { onEvent: () => undefined }).catch((e: unknown) => (outcome = e));
    const started = clock.now();
    while (outcome === undefined && clock.now() - started < 20_000) await clock.advance(100);
    await pending;
    assert.ok(clock.now() - started <= 10_200, 'rejected at connectTimeoutMs');
    assert.ok(outcome instanceof WatchError);
    assert.equal(outcome.code, 'TOKEN_UNAVAILABLE');
    assert.ok(calls >= 3, `getToken retried with backoff: ${calls} calls`);
    assert.equal(service.counters.subscribes, 0);
    await manager.close();
    await service.stop();
  });

  it('close() does not wait for a getter that hangs: registerWatch rejects CLOSED at once', async () => {
    const service = await startService();
    const manager = new WatchManager({
      target: service.target,
      tenantId: service.tenantId,
      historyUrl: service.historyUrl,
      tls: false,
      logger: captureLogger(),
      getToken: () => new Promise<string>(() => undefined),
    });
    const pending = manager.registerWatch(TOPIC, { onEvent: () => undefined }).then(
      () => undefined,
      (e: unknown) => e,
    );
    const started = performance.now();
    await manager.close();
    const err = await pending;
    assert.ok(err instanceof WatchError && err.code === 'CLOSED', String(err));
    assert.ok(performance.now() - started < 1_000);
    await service.stop();
  });
});
