import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { WatchManager, WatchError, clientCredentialsToken, type WatchEvent } from 'watch-manager';
import { FakeClock, type FakeWatchService } from 'watch-manager/testing';
import { TOPIC, captureLogger, captured, recordError, scanForSecrets, secret, startService } from './support/harness';
import { startTinyproxy, type Tinyproxy } from './support/tinyproxy';

scanForSecrets();

const SECRET = secret('client-secret-4f8a9c1e');

async function failure(promise: Promise<unknown>): Promise<WatchError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => recordError(e),
  );
  assert.ok(err instanceof WatchError, String(err));
  assert.ok(!err.message.includes(SECRET));
  return err;
}

describe('clientCredentialsToken against the fake token endpoint', { timeout: 60_000 }, () => {
  let service: FakeWatchService;
  before(async () => {
    service = await startService();
    service.registerClient({ clientId: 'agent', clientSecret: SECRET, tokenTtlMs: 10_000 });
  });
  after(async () => {
    await service.stop();
  });

  it('caches the token and fetches a new one at 4/5 of expires_in (fake clock)', async () => {
    const clock = new FakeClock();
    const shared = await startService({ clock });
    shared.registerClient({ clientId: 'agent', clientSecret: SECRET, tokenTtlMs: 10_000 });
    const getToken = clientCredentialsToken(
      { tokenUrl: shared.tokenUrl, clientId: 'agent', clientSecret: SECRET },
      { clock },
    );
    const first = secret(await getToken());
    assert.equal(await getToken(), first, 'cached');
    await clock.advance(7_999);
    assert.equal(await getToken(), first, 'still cached just before 4/5 of 10 s');
    assert.equal(shared.tokenCounters.issued, 1);
    await clock.advance(1);
    const second = secret(await getToken());
    assert.notEqual(second, first, 'a new token at 8 s, before the first expires at 10 s');
    assert.equal(shared.tokenCounters.issued, 2);
    await shared.stop();
  });

  it('fetches a new token when the holder says the cached one will not do: a revoked token is replaced, not fatal', async () => {
    const cc = clientCredentialsToken({ tokenUrl: service.tokenUrl, clientId: 'agent', clientSecret: SECRET });
    const a = secret(await cc());
    assert.equal(await cc({ forceRefresh: false }), a);
    const b = secret(await cc({ forceRefresh: true }));
    assert.notEqual(b, a);
    const handed: string[] = [];
    const getToken = async (request: { forceRefresh: boolean }): Promise<string> => {
      const token = await cc(request);
      handed.push(secret(token));
      return token;
    };
    const got: WatchEvent[] = [];
    const errors: WatchError[] = [];
    const manager = new WatchManager({
      target: service.target,
      tenantId: service.tenantId,
      historyUrl: service.historyUrl,
      tls: false,
      getToken,
      logger: captureLogger(),
      reconnect: { initialDelayMs: 10, maxDelayMs: 50 },
    });
    await manager.registerWatch(TOPIC, {
      onEvent: (e) => void got.push(e),
      onError: (e) => void errors.push(recordError(e)),
    });
    const revoked = handed.at(-1) as string;
    service.revokeToken(revoked);
    await service.waitFor(
      () => handed.length >= 2 && handed.at(-1) !== revoked && service.activeStreams === 1,
      5_000,
      'a new token and a new stream',
    );
    service.publish(TOPIC);
    await service.waitFor(() => got.length === 1, 5_000, 'an event on the new token');
    assert.deepEqual(
      errors.map((e) => e.code),
      ['TOKEN_EXPIRED'],
      'one retryable error, no UNAUTHENTICATED',
    );
    await manager.close();
  });

  it('shares one request among 100 concurrent calls', async () => {
    service.setTokenFaults({ delayMs: 50 });
    const before = service.tokenCounters.requests;
    const getToken = clientCredentialsToken({ tokenUrl: service.tokenUrl, clientId: 'agent', clientSecret: SECRET });
    const tokens = await Promise.all(Array.from({ length: 100 }, () => getToken()));
    service.setTokenFaults({});
    secret(tokens[0] as string);
    assert.equal(new Set(tokens).size, 1);
    assert.equal(service.tokenCounters.requests - before, 1);
  });

  it('signs a JWT client assertion (RSA and EC keys) and the watch service accepts the token', async () => {
    for (const [type, keyId] of [
      ['rsa', 'rsa-key-1'],
      ['ec', 'ec-key-1'],
    ] as const) {
      const pair =
        type === 'rsa'
          ? generateKeyPairSync('rsa', { modulusLength: 2048 })
          : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const clientId = `sa-${type}`;
      service.registerClient({ clientId, publicKey: pair.publicKey, keyId });
      const privateKey = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      secret(privateKey.split('\n')[1] as string);
      const getToken = clientCredentialsToken({ tokenUrl: service.tokenUrl, clientId, privateKey, keyId });
      const got: WatchEvent[] = [];
      const manager = new WatchManager({
        target: service.target,
        tenantId: service.tenantId,
        historyUrl: service.historyUrl,
        tls: false,
        getToken,
        logger: captureLogger(),
      });
      await manager.registerWatch(TOPIC, { onEvent: (e) => void got.push(e) });
      service.publish(TOPIC);
      await service.waitFor(() => got.length === 1, 5_000, `an event with a ${type} assertion token`);
      await manager.close();
      const wrongKid = clientCredentialsToken({ tokenUrl: service.tokenUrl, clientId, privateKey, keyId: 'other-key' });
      const err = await failure(wrongKid());
      assert.equal(err.code, 'UNAUTHENTICATED');
      assert.match(err.message, /invalid_client/);
    }
  });

  it("types the endpoint's errors: 400 and 401 UNAUTHENTICATED, 500 TOKEN_UNAVAILABLE (retryable), 404 INVALID_CONFIG", async () => {
    const getToken = (): ReturnType<typeof clientCredentialsToken> =>
      clientCredentialsToken({ tokenUrl: service.tokenUrl, clientId: 'agent', clientSecret: SECRET });
    service.setTokenFaults({ failNext: 1, status: 400 });
    const bad = await failure(getToken()());
    assert.equal(bad.code, 'UNAUTHENTICATED');
    assert.equal(bad.retryable, false);
    const wrong = await failure(
      clientCredentialsToken({
        tokenUrl: service.tokenUrl,
        clientId: 'agent',
        clientSecret: secret('not-the-secret-77'),
      })(),
    );
    assert.equal(wrong.code, 'UNAUTHENTICATED');
    assert.equal(wrong.retryable, false);
    assert.match(wrong.message, /refused client agent \(401: invalid_client: bad credentials\)/);
    service.setTokenFaults({ failNext: 1, status: 500 });
    const down = await failure(getToken()());
    assert.equal(down.code, 'TOKEN_UNAVAILABLE');
    assert.equal(down.retryable, true);
    const missing = await failure(
      clientCredentialsToken({
        tokenUrl: `${service.historyUrl}/no/such/endpoint`,
        clientId: 'agent',
        clientSecret: SECRET,
      })(),
    );
    assert.equal(missing.code, 'INVALID_CONFIG');
    assert.throws(() => clientCredentialsToken({ tokenUrl: 'ftp://x', clientId: 'agent', clientSecret: SECRET }), {
      code: 'INVALID_CONFIG',
    });
    assert.throws(
      () =>
        clientCredentialsToken({ tokenUrl: service.tokenUrl, clientId: 'agent', privateKey: 'not a key', keyId: 'k' }),
      { code: 'INVALID_CONFIG' },
    );
  });

  it('a refused client stops registerWatch with UNAUTHENTICATED, not a retry loop', async () => {
    const getToken = clientCredentialsToken({ tokenUrl: service.tokenUrl, clientId: 'nobody', clientSecret: SECRET });
    const manager = new WatchManager({
      target: service.target,
      tenantId: service.tenantId,
      historyUrl: service.historyUrl,
      tls: false,
      getToken,
      logger: captureLogger(),
    });
    const err = await failure(manager.registerWatch(TOPIC, { onEvent: () => undefined }));
    assert.equal(err.code, 'UNAUTHENTICATED');
    await manager.close();
  });
});

describe('clientCredentialsToken through tinyproxy', { timeout: 60_000 }, () => {
  let service: FakeWatchService;
  let proxy: Tinyproxy;
  before(async () => {
    service = await startService();
    service.registerClient({ clientId: 'agent', clientSecret: SECRET });
    const port = (a: string): number => Number(a.slice(a.lastIndexOf(':') + 1));
    proxy = await startTinyproxy({
      user: 'agent',
      password: 'token-proxy-pw-5521',
      allowPorts: [port(service.target), port(service.historyUrl)],
    });
  });
  after(async () => {
    await proxy.stop();
    await service.stop();
  });

  it('goes through its own proxy option', async () => {
    const getToken = clientCredentialsToken(
      { tokenUrl: service.tokenUrl, clientId: 'agent', clientSecret: SECRET },
      { proxy: proxy.url() },
    );
    secret(await getToken());
    assert.deepEqual(proxy.connects(), [new URL(service.tokenUrl).host]);
  });

  it('clientCredentials on a manager go through its proxy (a refusing proxy fails the token request itself)', async () => {
    const before = service.tokenCounters.requests;
    const manager = new WatchManager({
      target: service.target,
      tenantId: service.tenantId,
      historyUrl: service.historyUrl,
      tls: false,
      clientCredentials: { tokenUrl: service.tokenUrl, clientId: 'agent', clientSecret: SECRET },
      logger: captureLogger(),
      proxy: proxy.url({ user: 'agent', password: secret('wrong-token-proxy-pw') }),
    });
    const err = await failure(manager.registerWatch(TOPIC, { onEvent: () => undefined }));
    await manager.close();
    assert.equal(err.code, 'PROXY_AUTH');
    assert.equal(service.tokenCounters.requests, before, 'the token request never reached the endpoint directly');

    // With the right credentials: the token request opens a tunnel of its own (the history client opens another).
    const issued = service.tokenCounters.issued;
    const tunnels = (): number => proxy.connects().filter((c) => c === new URL(service.tokenUrl).host).length;
    const tunnelsBefore = tunnels();
    const ok = new WatchManager({
      target: service.target,
      tenantId: service.tenantId,
      historyUrl: service.historyUrl,
      tls: false,
      clientCredentials: { tokenUrl: service.tokenUrl, clientId: 'agent', clientSecret: SECRET },
      logger: captureLogger(),
      proxy: proxy.url(),
    });
    await ok.registerWatch(TOPIC, { onEvent: () => undefined });
    await ok.close();
    assert.equal(service.tokenCounters.issued, issued + 1);
    assert.ok(tunnels() - tunnelsBefore >= 2, `token and history tunnels: ${tunnels() - tunnelsBefore}`);
  });

  it('a clientCredentialsToken getter keeps its own settings: a manager neither changes it nor hides that', async () => {
    const getToken = clientCredentialsToken({ tokenUrl: service.tokenUrl, clientId: 'agent', clientSecret: SECRET });
    const issued = service.tokenCounters.issued;
    const warnings: string[] = [];
    const logger = {
      error: () => undefined,
      warn: (message: string) => void warnings.push(message),
      info: () => undefined,
      debug: () => undefined,
    };
    const manager = new WatchManager({
      target: service.target,
      tenantId: service.tenantId,
      historyUrl: service.historyUrl,
      tls: false,
      getToken,
      logger,
      proxy: proxy.url({ user: 'agent', password: secret('wrong-token-proxy-pw') }),
    });
    captured.push(...warnings);
    assert.equal(
      warnings.filter((w) => /clientCredentialsToken.*clientCredentials option/.test(w)).length,
      1,
      'told once that the getter does not share the manager settings',
    );
    await manager.close();
    // The getter was not handed the manager's (refusing) proxy: it fetches directly, as its own options say.
    const tunnels = proxy.connects().length;
    secret(await getToken({ forceRefresh: true }));
    assert.equal(service.tokenCounters.issued, issued + 1);
    assert.equal(proxy.connects().length, tunnels, 'no tunnel: the token request went direct');
  });
});
