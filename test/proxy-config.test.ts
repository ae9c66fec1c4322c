import { describe, it } from 'node:test';
import './support/harness';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { WatchManager, type WatchError } from 'watch-manager';
import { channelOptions, channelRoute } from '../src/transport/grpc-channel';
import { resolveOptions } from '../src/config/options';
import { bypassesProxy } from '../src/config/no-proxy';
import { parseProxyUrl, proxyFor, proxyForUrl, type Environment } from '../src/config/proxy';
import { redactSecrets } from '../src/logging/redact';

const valid = { target: 'watch.example.com:443', tenantId: 't-1', getToken: () => 'x' };

/** Runs `body` with `vars` set in process.env (and every proxy variable cleared), then restores it. */
function withEnv<T>(vars: Record<string, string>, body: () => T): T {
  const names = ['grpc_proxy', 'https_proxy', 'http_proxy', 'no_proxy', 'no_grpc_proxy'].flatMap((n) => [
    n,
    n.toUpperCase(),
  ]);
  const saved = new Map(names.map((n) => [n, process.env[n]]));
  for (const n of names) delete process.env[n];
  Object.assign(process.env, vars);
  try {
    return body();
  } finally {
    for (const [n, v] of saved) {
      if (v === undefined) delete process.env[n];
      else process.env[n] = v;
    }
  }
}

describe('no_proxy: one matcher for gRPC and HTTP', () => {
  const cases: Array<[string, string, number, boolean]> = [
    ['*', 'anything.example', 443, true],
    ['example.com', 'example.com', 443, true],
    ['example.com', 'watch.example.com', 443, true],
    ['example.com', 'badexample.com', 443, false],
    ['.example.com', 'watch.example.com', 443, true],
    ['.example.com', 'example.com', 443, false],
    ['*.example.com', 'example.com', 443, false],
    ['example.com.', 'watch.example.com.', 443, true],
    ['*.example.com', 'a.b.example.com', 443, true],
    ['EXAMPLE.com', 'Watch.Example.COM', 443, true],
    ['example.com:8443', 'watch.example.com', 8443, true],
    ['example.com:8443', 'watch.example.com', 443, false],
    ['10.0.0.0/8', '10.20.30.40', 443, true],
    ['10.0.0.0/8', '11.0.0.1', 443, false],
    ['192.168.1.7', '192.168.1.7', 443, true],
    ['192.168.1.7', '192.168.1.70', 443, false],
    ['127.0.0.1:9000', '127.0.0.1', 9000, true],
    ['127.0.0.1:9000', '127.0.0.1', 9001, false],
    ['[::1]', '::1', 443, true],
    ['[::1]:443', '[::1]', 443, true],
    ['::1', '::2', 443, false],
    ['other.org, example.com', 'watch.example.com', 443, true],
    ['other.org example.com', 'watch.example.com', 443, true],
    ['other.org,,', 'watch.example.com', 443, false],
  ];
  for (const [list, host, port, bypass] of cases) {
    it(`${JSON.stringify(list)} ${bypass ? 'bypasses' : 'does not bypass'} ${host}:${port}`, () => {
      assert.equal(bypassesProxy({ no_proxy: list }, host, port), bypass);
    });
  }
  it('reads NO_PROXY when no_proxy is unset, and no_proxy first when both are', () => {
    assert.equal(bypassesProxy({ NO_PROXY: 'example.com' }, 'example.com', 1), true);
    assert.equal(bypassesProxy({ no_proxy: 'other.org', NO_PROXY: 'example.com' }, 'example.com', 1), false);
  });
});

describe('proxy choice', () => {
  const env: Environment = { grpc_proxy: 'http://g:1', HTTPS_PROXY: 'http://s:2', http_proxy: 'h:3' };
  it("picks grpc_proxy, then https_proxy, then http_proxy for gRPC; the scheme's variable for HTTP", () => {
    assert.equal(String(proxyFor(undefined, env, 'grpc', 'x', 443)), 'http://g:1');
    assert.equal(String(proxyFor(undefined, { ...env, grpc_proxy: undefined }, 'grpc', 'x', 443)), 'http://s:2');
    assert.equal(String(proxyFor(undefined, env, 'https', 'x', 443)), 'http://s:2');
    assert.equal(String(proxyFor(undefined, env, 'http', 'x', 80)), 'http://h:3', 'a bare host:port is http');
    assert.equal(proxyFor(undefined, { http_proxy: '' }, 'http', 'x', 80), undefined, 'empty is unset');
  });
  it('takes no_grpc_proxy instead of no_proxy for gRPC when set, as grpc-js does', () => {
    const both = { ...env, no_proxy: 'x', no_grpc_proxy: 'y' };
    assert.equal(
      String(proxyFor(undefined, both, 'grpc', 'x', 443)),
      'http://g:1',
      'no_proxy does not apply to gRPC then',
    );
    assert.equal(proxyFor(undefined, both, 'grpc', 'y', 443), undefined);
    assert.equal(proxyFor(undefined, both, 'https', 'x', 443), undefined, 'HTTP still follows no_proxy');
  });
  it('exempts a connection when its entry address is listed, not only its service name', () => {
    assert.equal(
      proxyFor(undefined, { ...env, no_proxy: '10.0.0.0/8' }, 'grpc', 'watch.example.com', 443, '10.1.2.3'),
      undefined,
    );
  });
  it('refuses an IPv6 literal to be reached through a proxy (grpc-js drops its brackets in CONNECT)', () => {
    assert.throws(
      () => new WatchManager({ ...valid, target: '[::1]:8443', proxy: 'http://p:3128' }),
      (err: WatchError) => err.code === 'INVALID_CONFIG' && /'target'/.test(err.message),
    );
    assert.throws(
      () => new WatchManager({ ...valid, entryAddress: '[::1]:8443', proxy: 'http://p:3128' }),
      (err: WatchError) => err.code === 'INVALID_CONFIG' && /'entryAddress'/.test(err.message),
    );
  });
  it('lets no_proxy exempt a host, false turn proxies off, and an explicit proxy win over both', () => {
    assert.equal(proxyFor(undefined, { ...env, no_proxy: 'x' }, 'grpc', 'x', 443), undefined);
    assert.equal(proxyFor(false, env, 'grpc', 'y', 443), undefined);
    assert.equal(
      String(proxyFor(parseProxyUrl('http://p:9', 'test'), { ...env, no_proxy: '*' }, 'grpc', 'x', 443)),
      'http://p:9',
    );
  });
  it('names a bad variable in INVALID_CONFIG, never its password', () => {
    withEnv({ HTTPS_PROXY: 'socks5://u:hunter22secret@p:1080' }, () => {
      assert.throws(
        () => new WatchManager(valid),
        (err: WatchError) =>
          err.code === 'INVALID_CONFIG' && /HTTPS_PROXY/.test(err.message) && !err.message.includes('hunter22secret'),
      );
    });
  });
  it('reads the environment once, when the manager is created', () => {
    const resolved = withEnv({ https_proxy: 'http://envproxy:3128', no_proxy: 'internal.corp' }, () =>
      resolveOptions(valid, '1'),
    );
    withEnv({}, () => {
      assert.equal(channelRoute(resolved).address, 'envproxy:3128');
      assert.equal(String(proxyForUrl(resolved.proxy, resolved.proxyEnv, resolved.historyUrl)), 'http://envproxy:3128');
    });
  });
});

describe('proxy endpoint', () => {
  it('decodes credentials and keeps them out of strings, JSON and inspect', () => {
    const proxy = parseProxyUrl('http://al%40ice:p%3Ass-w0rd@proxy.corp:3128', 'test');
    assert.equal(proxy.credentials, 'al@ice:p:ss-w0rd');
    assert.equal(proxy.address, 'proxy.corp:3128');
    assert.equal(proxy.authorization(), `Basic ${Buffer.from('al@ice:p:ss-w0rd').toString('base64')}`);
    for (const text of [
      String(proxy),
      JSON.stringify({ proxy }),
      inspect(proxy, { depth: 5, showHidden: false }),
      inspect({ proxy }, { depth: 5 }),
    ]) {
      assert.ok(!text.includes('p:ss-w0rd') && !text.includes('p%3Ass-w0rd'), text);
    }
    assert.equal(redactSecrets('x p:ss-w0rd y'), 'x [REDACTED] y', 'the password is registered for scrubbing');
  });
  it('routes the channel through the proxy with the service as :authority', () => {
    const options = resolveOptions({ ...valid, proxy: 'http://user:pw-123456@proxy.corp:3128' }, '1');
    const route = channelRoute(options);
    assert.equal(route.address, 'proxy.corp:3128');
    const channel = channelOptions(options, route);
    assert.equal(channel['grpc.http_connect_target'], 'dns:watch.example.com:443');
    // Readable only the way grpc-js reads it (Buffer.from); every printed form hides it (its channel tracing
    // prints options with JSON.stringify).
    const creds: unknown = channel['grpc.http_connect_creds'];
    assert.equal(Buffer.from(creds as string).toString(), 'user:pw-123456');
    for (const shown of [
      JSON.stringify(channel),
      String(creds),
      `${String(creds)}`,
      inspect(channel, { depth: 5 }),
      `x${creds as string}`,
    ]) {
      assert.ok(!shown.includes('pw-123456'), shown);
    }
    assert.equal(channel['grpc.default_authority'], 'watch.example.com:443');
    assert.equal(channel['grpc.enable_http_proxy'], 0);
  });
  it('dials the entry address (through the proxy too) while the service keeps its name', () => {
    const direct = resolveOptions({ ...valid, entryAddress: '127.0.0.1:8443', proxy: false }, '1');
    assert.equal(channelRoute(direct).address, '127.0.0.1:8443');
    assert.equal(channelOptions(direct)['grpc.default_authority'], 'watch.example.com:443');
    const proxied = resolveOptions({ ...valid, entryAddress: '127.0.0.1:8443', proxy: 'http://proxy.corp:3128' }, '1');
    assert.equal(channelOptions(proxied)['grpc.http_connect_target'], 'dns:127.0.0.1:8443');
  });
});
