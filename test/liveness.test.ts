import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WatchManager, type WatchError, type WatchEvent } from 'watch-manager';
import { FaultProxy } from 'watch-manager/testing';
import { TOPIC, captureLogger, recordError, scanForSecrets, startService, token } from './support/harness';

scanForSecrets();

describe('liveness: pings and keepalive', () => {
  it('answers every service PING within 1 s, and no ping reaches a handler', async () => {
    // Real clock: the latency measured is the real round trip of each ping.
    const service = await startService({ pingIntervalMs: 50 });
    const jwt = await token(service);
    const got: WatchEvent[] = [];
    const manager = new WatchManager({
      target: service.target,
      tenantId: service.tenantId,
      historyUrl: service.historyUrl,
      getToken: () => jwt,
      tls: false,
      logger: captureLogger(),
    });
    await manager.registerWatch(TOPIC, { onEvent: (e) => void got.push(e) });
    const published = service.publishMany(TOPIC, 5);
    await service.waitFor(() => service.counters.pingsSent >= 20, 10_000, '20 pings');
    service.pause(); // no more pings go out; every one sent must come back
    await service.waitFor(
      () => service.counters.pingResponses === service.counters.pingsSent,
      5_000,
      'every ping answered',
    );
    assert.ok(service.counters.maxPingLatencyMs < 1_000, `slowest answer ${service.counters.maxPingLatencyMs} ms`);
    assert.equal(service.counters.unknownPingResponses, 0);
    assert.deepEqual(got, published, 'only resource events reach the handler');
    assert.ok(got.every((e) => (e.type as string) !== 'PING'));
    await manager.close();
    await service.stop();
  });

  it('detects a peer that silently stops answering within keepalive interval + timeout, as CONNECTION_LOST', async () => {
    const service = await startService();
    const proxy = await FaultProxy.start(service.target);
    const jwt = await token(service);
    const errors: Array<{ error: WatchError; at: number }> = [];
    const keepalive = { intervalMs: 300, timeoutMs: 300 };
    const manager = new WatchManager({
      target: proxy.target,
      tenantId: service.tenantId,
      historyUrl: service.historyUrl,
      getToken: () => jwt,
      tls: false,
      logger: captureLogger(),
      keepalive,
      reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000 },
    });
    const got: WatchEvent[] = [];
    await manager.registerWatch(TOPIC, {
      onEvent: (e) => void got.push(e),
      onError: (error) => void errors.push({ error: recordError(error), at: performance.now() }),
    });
    service.publish(TOPIC);
    await service.waitFor(() => got.length === 1, 5_000, 'first event');
    const frozenAt = performance.now();
    proxy.freeze(); // no FIN, no RST, no GOAWAY: bytes simply stop
    await service.waitFor(() => errors.length > 0, 5_000, 'dead peer detected');
    const detectedAfter = (errors[0]?.at ?? 0) - frozenAt;
    assert.equal(errors[0]?.error.code, 'CONNECTION_LOST');
    assert.equal(errors[0]?.error.retryable, true);
    // grpc-js pings once per interval and gives the ack `timeout`; the event loop and timer granularity add a little.
    assert.ok(
      detectedAfter <= keepalive.intervalMs + keepalive.timeoutMs + 250,
      `detected after ${detectedAfter.toFixed(0)} ms`,
    );
    assert.equal(manager.status().state, 'reconnecting');
    await manager.close();
    await proxy.close();
    await service.stop();
  });
});
