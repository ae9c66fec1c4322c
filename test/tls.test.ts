import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WatchManager, WatchError, type WatchEvent } from 'watch-manager';
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
import { makeClientCert, makeTestCerts, type TestCerts } from './support/certs';

scanForSecrets();

describe('TLS to the watch service and the history API', () => {
  let certs: TestCerts;
  let other: TestCerts;
  before(() => {
    certs = makeTestCerts(['watch.test', '127.0.0.1']);
    other = makeTestCerts(['watch.test']);
  });

  it('streams and catches up over TLS with a private CA, checking the certificate against servername', async () => {
    const service = await startService({ tls: { cert: certs.cert, key: certs.key } });
    assert.match(service.historyUrl, /^https:/);
    const jwt = await token(service);
    service.publishMany(TOPIC, 20);
    const got: WatchEvent[] = [];
    for (const tls of [{ ca: certs.ca }, { ca: certs.ca, servername: 'watch.test' }]) {
      got.length = 0;
      const from = (service.topic(TOPIC)?.newestSequenceId ?? 0) - 10; // ten to catch up over https
      const manager = new WatchManager({
        target: service.target,
        tenantId: service.tenantId,
        historyUrl: service.historyUrl,
        getToken: () => jwt,
        logger: captureLogger(),
        tls,
        from,
      });
      await manager.registerWatch(TOPIC, { onEvent: (e) => void got.push(e) });
      const live = service.publish(TOPIC);
      await service.waitFor(() => got.length === 11, 5_000, 'catch-up and a live event over TLS');
      assert.deepEqual(
        got.map((e) => e.sequenceId),
        Array.from({ length: 11 }, (_, i) => from + 1 + i),
      );
      assert.equal(got.at(-1)?.sequenceId, live.sequenceId);
      await manager.close();
    }
    await service.stop();
  });

  it('entryAddress: dials 127.0.0.1 while the certificate, SNI and :authority keep a name that does not resolve', async () => {
    const named = makeTestCerts(['watch.invalid']);
    const service = await startService({ tls: { cert: named.cert, key: named.key } });
    const jwt = await token(service);
    service.publishMany(TOPIC, 10);
    const grpcPort = service.target.split(':')[1] as string;
    const historyPort = new URL(service.historyUrl).port;
    const got: WatchEvent[] = [];
    const manager = new WatchManager({
      target: `watch.invalid:${grpcPort}`,
      entryAddress: `127.0.0.1:${grpcPort}`,
      historyUrl: `https://watch.invalid:${historyPort}`,
      tenantId: service.tenantId,
      getToken: () => jwt,
      logger: captureLogger(),
      tls: { ca: named.ca },
      from: 0,
      proxy: false,
    });
    await manager.registerWatch(TOPIC, { onEvent: (e) => void got.push(e) });
    service.publish(TOPIC);
    await service.waitFor(() => got.length === 11, 5_000, 'catch-up and a live event through the entry address');
    assert.deepEqual(
      got.map((e) => e.sequenceId),
      Array.from({ length: 11 }, (_, i) => i + 1),
    );
    await manager.close();
    // Without entryAddress the name does not resolve: the proof that the entry address was what got dialled.
    const lost = new WatchManager({
      target: `watch.invalid:${grpcPort}`,
      historyUrl: `https://watch.invalid:${historyPort}`,
      tenantId: service.tenantId,
      getToken: () => jwt,
      logger: captureLogger(),
      tls: { ca: named.ca },
      from: 0,
      proxy: false,
      connectTimeoutMs: 1_000,
      reconnect: { initialDelayMs: 50, maxDelayMs: 100 },
    });
    const err = await lost.registerWatch(TOPIC, { onEvent: () => undefined }).then(
      () => undefined,
      (e: unknown) => recordError(e),
    );
    assert.ok(err instanceof WatchError && err.retryable, String(err));
    assert.match(err.message, /resol|ENOTFOUND|getaddrinfo|EAI_AGAIN/i, 'the failure is the unresolvable name');
    await lost.close();
    await service.stop();
  });

  it('tls: false is plaintext only when asked for, and warns once that the token travels in clear text', async () => {
    const service = await startService({ topics: [TOPIC, `${TOPIC}-2`] });
    const jwt = await token(service);
    const before = captured.length;
    const plain = new WatchManager({
      target: service.target,
      tenantId: service.tenantId,
      historyUrl: service.historyUrl,
      getToken: () => jwt,
      logger: captureLogger(),
      tls: false,
    });
    await plain.registerWatch(TOPIC, { onEvent: () => undefined });
    await plain.registerWatch(`${TOPIC}-2`, { onEvent: () => undefined });
    await plain.close();
    const warnings = captured.slice(before).filter((line) => line.includes('clear text'));
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0] as string, /"level":"warn"/);
    // Without tls: false the SDK speaks TLS, which a plaintext service cannot answer: never a silent downgrade.
    const secure = new WatchManager({
      target: service.target,
      tenantId: service.tenantId,
      historyUrl: service.historyUrl.replace('http:', 'https:'),
      getToken: () => jwt,
      logger: captureLogger(),
      from: 'beginning',
      connectTimeoutMs: 1_000,
      reconnect: { initialDelayMs: 50, maxDelayMs: 100 },
    });
    const err = await secure.registerWatch(TOPIC, { onEvent: () => undefined }).then(
      () => undefined,
      (e: unknown) => recordError(e),
    );
    assert.ok(err instanceof WatchError, String(err));
    assert.equal(service.counters.subscribes, 2, 'no plaintext subscription from the TLS manager');
    await secure.close();
    await service.stop();
  });

  it('mutual TLS: the client certificate is presented to gRPC and the history API; without it the service refuses', async () => {
    const client = makeClientCert(certs, 'agent-client');
    secret(client.key.split('\n')[1] as string);
    const service = await startService({ tls: { cert: certs.cert, key: certs.key, clientCa: certs.ca } });
    const jwt = await token(service);
    service.publishMany(TOPIC, 5);
    const got: WatchEvent[] = [];
    const base = {
      target: service.target,
      tenantId: service.tenantId,
      historyUrl: service.historyUrl,
      getToken: () => jwt,
      logger: captureLogger(),
      from: 0 as const,
    };
    const manager = new WatchManager({ ...base, tls: { ca: certs.ca, cert: client.cert, key: client.key } });
    await manager.registerWatch(TOPIC, { onEvent: (e) => void got.push(e) });
    service.publish(TOPIC);
    await service.waitFor(() => got.length === 6, 5_000, 'catch-up over mTLS history and a live event over mTLS gRPC');
    await manager.close();
    const without = new WatchManager({
      ...base,
      tls: { ca: certs.ca },
      connectTimeoutMs: 1_500,
      reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
    });
    const err = await without.registerWatch(TOPIC, { onEvent: () => undefined }).then(
      () => undefined,
      (e: unknown) => recordError(e),
    );
    assert.ok(err instanceof WatchError, String(err));
    assert.equal(service.counters.subscribes, 1, 'no subscription without a client certificate');
    await without.close();
    await service.stop();
  });

  it('refuses a server whose certificate another CA signed', async () => {
    const service = await startService({ tls: { cert: certs.cert, key: certs.key } });
    const jwt = await token(service);
    const manager = new WatchManager({
      target: service.target,
      tenantId: service.tenantId,
      historyUrl: service.historyUrl,
      getToken: () => jwt,
      logger: captureLogger(),
      tls: { ca: other.ca },
      connectTimeoutMs: 1_500,
      reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
    });
    const err = await manager.registerWatch(TOPIC, { onEvent: () => undefined }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof WatchError, String(err));
    recordError(err);
    assert.ok(err.retryable, `${err.code}: a certificate that may be fixed (rotated) is retried until the deadline`);
    assert.equal(service.counters.subscribes, 0);
    await manager.close();
    await service.stop();
  });
});
