import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { generateKeyPairSync } from 'node:crypto';
import { WatchError, WatchManager, clientCredentialsToken } from 'watch-manager';
import { createLog } from '../src/logging/logger';
import { redactSecrets, registerSecret } from '../src/logging/redact';
import {
  TOPIC,
  captureLogger,
  captured,
  findLeak,
  recordError,
  scanForSecrets,
  secret,
  startService,
  token,
} from './support/harness';

scanForSecrets();

describe('secrets never reach logs or errors', () => {
  it('the scan finds a token that was written somewhere (it can fail)', () => {
    const planted = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    assert.equal(findLeak(['all fine', `oops ${planted}`], [planted]), `oops ${planted}`);
    assert.equal(findLeak(['all fine'], [planted]), undefined);
  });

  it('scrubs JWTs, Bearer and Basic values, Authorization headers and URL passwords by pattern', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    const text = `token ${jwt}; Authorization: Bearer abc.def; proxy http://user:hunter22@proxy:3128 basic Basic dXNlcjpw`;
    const out = redactSecrets(text);
    for (const s of [jwt, 'abc.def', 'hunter22', 'dXNlcjpw']) assert.ok(!out.includes(s), `${s} in ${out}`);
    assert.match(out, /http:\/\/user:\[REDACTED\]@proxy:3128/);
  });

  it('scrubs an Authorization value of any scheme whole, never only the scheme word (redaction hole)', () => {
    const cases: Array<[string, string]> = [
      ['Authorization: Token s3cr3tvalue', 's3cr3tvalue'],
      [
        'Proxy-Authorization: Digest username="bob", realm="r", nonce="n0nce", response="6629fae49393a05397450978507c4ef1"',
        '6629fae49393a05397450978507c4ef1',
      ],
      [
        JSON.stringify({ headers: { 'Proxy-Authorization': 'Digest username="bob", response="77aa0c1d2e3f"' } }),
        '77aa0c1d2e3f',
      ],
      ['authorization=Negotiate YIIGsecretblob', 'YIIGsecretblob'],
      ["{'authorization': 'Token abc123secret'}", 'abc123secret'],
      [
        'Authorization: AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/x, SignedHeaders=host, Signature=fe5f80f77d5fa3be',
        'fe5f80f77d5fa3be',
      ],
      ['Authorization: opaqueonly', 'opaqueonly'],
    ];
    for (const [text, value] of cases) {
      const out = redactSecrets(text);
      assert.ok(!out.includes(value), `${value} left in ${out}`);
      assert.ok(
        !/\[REDACTED\]\s+\S*\w{6}/.test(out.replace(/Bearer \[REDACTED\]/g, '')),
        `something after the mask: ${out}`,
      );
    }
    assert.equal(redactSecrets('Authorization: Token s3cr3tvalue'), 'Authorization: [REDACTED]');
    // Every JWT of a line, not only the first; a bearer value in lower case too, without a header name.
    const jwtA = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnQQ';
    const jwtB = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJiIn0.c2lnQg';
    assert.equal(redactSecrets(`old ${jwtA} new ${jwtB}`), 'old [REDACTED] new [REDACTED]');
    assert.equal(redactSecrets('sent bearer opaque-value-77 to the proxy'), 'sent bearer [REDACTED] to the proxy');
    assert.equal(
      redactSecrets('the proxy refused authorization (407)'),
      'the proxy refused authorization (407)',
      'prose is left alone',
    );
  });

  it('scrubs an opaque token by value once the SDK has seen it', () => {
    const opaque = secret('opaque-7f3a9c2e1b');
    registerSecret(opaque);
    assert.equal(redactSecrets(`got ${opaque} back`), 'got [REDACTED] back');
  });

  it('scrubs a token from every log line and error the SDK builds, including causes and inspect output', async () => {
    const service = await startService();
    const jwt = await token(service);
    const log = createLog(captureLogger());
    const before = captured.length;
    log.warn(`careless message with ${jwt}`, { header: `Bearer ${jwt}` });
    const err = recordError(
      new WatchError('TOKEN_UNAVAILABLE', `failed with ${jwt}`, { cause: new Error(`inner ${jwt}`) }),
    );
    assert.equal(findLeak(captured.slice(before), [jwt]), undefined);
    assert.ok(!inspect(err, { depth: 5 }).includes(jwt));
    await service.stop();
  });

  it('keeps tokens, proxy passwords and key material out of inspect, JSON, status() and metrics() of a running manager', async () => {
    const service = await startService();
    const jwt = await token(service);
    const password = secret('inspect-proxy-pw-6613');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const keyLine = secret(keyPem.split('\n')[1] as string);
    const manager = new WatchManager({
      target: service.target,
      tenantId: service.tenantId,
      historyUrl: service.historyUrl,
      getToken: () => jwt,
      tls: false,
      logger: captureLogger(),
      // Only held and inspected (no watch is registered): a manager configured with a proxy password and an entry
      // address.
      proxy: `http://agent:${password}@127.0.0.1:1`,
      entryAddress: service.target,
    });
    // And a running one, for status(), metrics() and the state of live connections.
    const direct = new WatchManager({
      target: service.target,
      tenantId: service.tenantId,
      historyUrl: service.historyUrl,
      getToken: () => jwt,
      tls: false,
      logger: captureLogger(),
    });
    await direct.registerWatch(TOPIC, { onEvent: () => undefined });
    // And one given its service account as clientCredentials: the secret is not kept in its options.
    const clientSecret = secret('inspect-client-secret-7741');
    const credentialed = new WatchManager({
      target: service.target,
      tenantId: service.tenantId,
      historyUrl: service.historyUrl,
      clientCredentials: { tokenUrl: service.tokenUrl, clientId: 'a', clientSecret },
      tls: false,
      logger: captureLogger(),
    });
    const views = [
      inspect(credentialed, { depth: Infinity, showHidden: true }),
      JSON.stringify(credentialed),
      inspect(manager, { depth: Infinity, showHidden: true }),
      JSON.stringify(manager),
      inspect(direct, { depth: Infinity, showHidden: true }),
      JSON.stringify(direct),
      JSON.stringify(direct.status()),
      JSON.stringify(direct.metrics()),
      inspect(direct.status(), { depth: Infinity }),
      inspect(service, { depth: Infinity }),
      inspect(
        {
          keyHolder: clientCredentialsToken({
            tokenUrl: service.tokenUrl,
            clientId: 'a',
            privateKey: keyPem,
            keyId: 'k',
          }),
        },
        { depth: Infinity, showHidden: true },
      ),
    ];
    captured.push(...views);
    assert.equal(findLeak(views, [jwt, password, keyLine, clientSecret]), undefined);
    assert.match(views[2] as string, /proxy":"http:\/\/127\.0\.0\.1:1"/);
    await direct.close();
    await manager.close();
    await credentialed.close();
    await service.stop();
  });
});
