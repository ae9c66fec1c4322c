import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { WatchError } from '../src';
import { createLog } from '../src/logger';
import { redactSecrets, registerSecret } from '../src/redact';
import { captureLogger, captured, findLeak, recordError, scanForSecrets, secret, startService, token } from './support/harness';

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
    const err = recordError(new WatchError('TOKEN_UNAVAILABLE', `failed with ${jwt}`, { cause: new Error(`inner ${jwt}`) }));
    assert.equal(findLeak(captured.slice(before), [jwt]), undefined);
    assert.ok(!inspect(err, { depth: 5 }).includes(jwt));
    await service.stop();
  });
});
