import { describe, it } from 'node:test';
import './support/harness';
import assert from 'node:assert/strict';
import { WatchManager, WatchError, type WatchManagerOptions } from 'watch-manager';
import { resolveOptions } from '../src/config/options';

const valid: WatchManagerOptions = { target: 'watch.example.com:443', tenantId: 't-1', getToken: () => 'x' };
const PEM_GARBAGE = '-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n';

// Each case: a change to a valid configuration, and the field the error must name.
const cases: Array<[string, Record<string, unknown>, string]> = [
  ['target missing', { target: undefined }, 'target'],
  ['target without port', { target: 'watch.example.com' }, 'target'],
  ['target port out of range', { target: 'watch.example.com:70000' }, 'target'],
  ['target with scheme', { target: 'https://watch.example.com:443' }, 'target'],
  ['target not a string', { target: 443 }, 'target'],
  ['tenantId empty', { tenantId: '' }, 'tenantId'],
  ['tenantId with newline', { tenantId: 'a\nb' }, 'tenantId'],
  ['getToken not a function', { getToken: 'token' }, 'getToken'],
  ['neither getToken nor clientCredentials', { getToken: undefined }, 'getToken'],
  [
    'getToken and clientCredentials both',
    { clientCredentials: { tokenUrl: 'https://idp.example.com/token', clientId: 'a', clientSecret: 's' } },
    'clientCredentials',
  ],
  [
    'clientCredentials.tokenUrl not a URL',
    { getToken: undefined, clientCredentials: { tokenUrl: 'idp', clientId: 'a', clientSecret: 's' } },
    'clientCredentials.tokenUrl',
  ],
  [
    'clientCredentials without a secret or key',
    { getToken: undefined, clientCredentials: { tokenUrl: 'https://idp.example.com/token', clientId: 'a' } },
    'clientCredentials',
  ],
  [
    'clientCredentials.privateKey not a key',
    {
      getToken: undefined,
      clientCredentials: { tokenUrl: 'https://idp.example.com/t', clientId: 'a', privateKey: 'no', keyId: 'k' },
    },
    'clientCredentials.privateKey',
  ],
  ['tls not an object', { tls: 'yes' }, 'tls'],
  ['tls true', { tls: true }, 'tls'],
  ['tls.ca not PEM', { tls: { ca: PEM_GARBAGE } }, 'tls.ca'],
  ['tls.cert without key', { tls: { cert: PEM_GARBAGE } }, 'tls.cert'],
  ['tls.servername empty', { tls: { servername: '' } }, 'tls.servername'],
  ['tls unknown key', { tls: { insecure: true } }, 'tls.insecure'],
  ['tls.minVersion below 1.2', { tls: { minVersion: 'TLSv1.1' } }, 'tls.minVersion'],
  ['proxy with another scheme', { proxy: 'socks5://proxy.corp:1080' }, 'proxy'],
  ['proxy with a path', { proxy: 'http://proxy.corp:3128/path' }, 'proxy'],
  ['proxy true', { proxy: true }, 'proxy'],
  ['proxy not a URL', { proxy: 'http://proxy corp:3128' }, 'proxy'],
  ['entryAddress without port', { entryAddress: '127.0.0.1' }, 'entryAddress'],
  ['keepalive.intervalMs negative', { keepalive: { intervalMs: -1 } }, 'keepalive.intervalMs'],
  ['keepalive.timeoutMs not an integer', { keepalive: { timeoutMs: 1.5 } }, 'keepalive.timeoutMs'],
  ['keepalive.intervalMs NaN', { keepalive: { intervalMs: Number.NaN } }, 'keepalive.intervalMs'],
  ['keepalive true', { keepalive: true }, 'keepalive'],
  ['logger without methods', { logger: { log: () => undefined } }, 'logger'],
  ['userAgent empty', { userAgent: '' }, 'userAgent'],
  ['tokenTimeoutMs zero', { tokenTimeoutMs: 0 }, 'tokenTimeoutMs'],
  ['connectTimeoutMs as string', { connectTimeoutMs: '1000' }, 'connectTimeoutMs'],
  ['maxBufferedEvents zero', { maxBufferedEvents: 0 }, 'maxBufferedEvents'],
  [
    'reconnect.maxDelayMs below initial',
    { reconnect: { initialDelayMs: 1000, maxDelayMs: 10 } },
    'reconnect.maxDelayMs',
  ],
  ['reconnect.multiplier below 1', { reconnect: { multiplier: 0.5 } }, 'reconnect.multiplier'],
  ['clock without random', { clock: { now: () => 0, setTimeout: () => undefined } }, 'clock'],
  ['unknown option (typo)', { keepAlive: { intervalMs: 1000 } }, 'keepAlive'],
];

describe('options: one validation step', () => {
  for (const [name, change, field] of cases) {
    it(`rejects ${name} synchronously with INVALID_CONFIG naming '${field}'`, () => {
      const options = { ...valid, ...change };
      let thrown: unknown;
      try {
        new WatchManager(options);
      } catch (err) {
        thrown = err;
      }
      assert.ok(thrown instanceof WatchError, `expected a WatchError, got ${String(thrown)}`);
      assert.equal(thrown.code, 'INVALID_CONFIG');
      assert.equal(thrown.retryable, false);
      assert.match(thrown.message, new RegExp(`'${field.replace(/\./g, '\\.')}'`));
    });
  }

  it('counts at least 15 distinct invalid configurations', () => {
    assert.ok(cases.length >= 15);
  });

  it('rejects options that are not an object', () => {
    assert.throws(() => new WatchManager(undefined as unknown as WatchManagerOptions), { code: 'INVALID_CONFIG' });
  });

  it('applies documented defaults and judges 0 as given, not as missing', () => {
    const resolved = resolveOptions({ ...valid, closeTimeoutMs: 0, reconnect: { initialDelayMs: 0 } }, '1.0.0');
    assert.deepEqual(resolved.keepalive, { intervalMs: 50_000, timeoutMs: 10_000 });
    assert.deepEqual(resolved.tls, {
      ca: undefined,
      cert: undefined,
      key: undefined,
      servername: undefined,
      minVersion: 'TLSv1.2',
    });
    assert.equal(resolved.proxy, undefined);
    assert.equal(resolved.entryAddress, undefined);
    assert.equal(resolved.closeTimeoutMs, 0);
    assert.equal(resolved.reconnect.initialDelayMs, 0);
    assert.equal(resolved.reconnect.maxDelayMs, 30_000);
    assert.equal(resolved.userAgent, 'watch-manager/1.0.0');
    assert.equal(resolved.host, 'watch.example.com');
    assert.equal(resolved.port, 443);
  });

  it('issue 20 #13: the default historyUrl keeps the target host and port, the scheme from tls', () => {
    const url = (target: string, tls?: false): string =>
      resolveOptions({ ...valid, target, ...(tls === undefined ? {} : { tls }) }, '1.0.0').historyUrl.href;
    assert.equal(url('watch.example.com:443'), 'https://watch.example.com/');
    assert.equal(url('watch.example.com:8443'), 'https://watch.example.com:8443/');
    assert.equal(url('127.0.0.1:50051', false), 'http://127.0.0.1:50051/');
    assert.equal(url('[::1]:8080', false), 'http://[::1]:8080/');
  });

  it('accepts tls: false and keepalive: false only as explicit choices', () => {
    const resolved = resolveOptions({ ...valid, tls: false, keepalive: false }, '1.0.0');
    assert.equal(resolved.tls, false);
    assert.equal(resolved.keepalive, false);
  });

  it('never repeats key material in a tls.key error', () => {
    const key = '-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----\n';
    assert.throws(
      () => new WatchManager({ ...valid, tls: { key } }),
      (err: WatchError) =>
        err.code === 'INVALID_CONFIG' && err.message.includes("'tls.key'") && !err.message.includes('c2VjcmV0'),
    );
  });
});
