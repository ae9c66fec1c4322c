import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WatchManager, WatchError, type WatchManagerOptions } from 'watch-manager';
import { resolveOptions } from '../src/config/options';
import { TOPIC, captureLogger, recordError, scanForSecrets, startService } from './support/harness';
import { typedError, codeOf, options, cli } from './support/input-checks';

scanForSecrets();

// Options and the arguments of registerWatch, watch() and sendAgentStatus: one validation step each, where the value
// enters; a bad one is INVALID_CONFIG naming the field, never a crash, a hang or a request made (issue 11 #1, #10,
// #12 and #13 among them). The other inputs from outside (tokens, frames, history, state files, proxies, flags):
// bad-inputs.test.ts.

const valid: WatchManagerOptions = { target: 'watch.example.com:443', tenantId: 't-1', getToken: () => 'x' };
const VALID: WatchManagerOptions = { target: 'watch.example.com:443', tenantId: 'org-1', getToken: () => 'x' };
const PEM_GARBAGE = '-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n';

// Each case: a configuration that differs from a valid one in one field, and what the error must name. The second
// part comes from the bad-input suite of issue 11 (the cases of the first part not repeated).
const cases: Array<[string, Record<string, unknown>, RegExp]> = [
  ['target missing', { ...valid, target: undefined }, /'target'/],
  ['target without port', { ...valid, target: 'watch.example.com' }, /'target'/],
  ['target port out of range', { ...valid, target: 'watch.example.com:70000' }, /'target'/],
  ['target with scheme', { ...valid, target: 'https://watch.example.com:443' }, /'target'/],
  ['target not a string', { ...valid, target: 443 }, /'target'/],
  ['tenantId empty', { ...valid, tenantId: '' }, /'tenantId'/],
  ['tenantId with newline', { ...valid, tenantId: 'a\nb' }, /'tenantId'/],
  ['getToken not a function', { ...valid, getToken: 'token' }, /'getToken'/],
  ['neither getToken nor clientCredentials', { ...valid, getToken: undefined }, /'getToken'/],
  [
    'getToken and clientCredentials both',
    { ...valid, clientCredentials: { tokenUrl: 'https://idp.example.com/token', clientId: 'a', clientSecret: 's' } },
    /'clientCredentials'/,
  ],
  [
    'clientCredentials.tokenUrl not a URL',
    { ...valid, getToken: undefined, clientCredentials: { tokenUrl: 'idp', clientId: 'a', clientSecret: 's' } },
    /'clientCredentials\.tokenUrl'/,
  ],
  [
    'clientCredentials without a secret or key',
    { ...valid, getToken: undefined, clientCredentials: { tokenUrl: 'https://idp.example.com/token', clientId: 'a' } },
    /'clientCredentials'/,
  ],
  [
    'clientCredentials.privateKey not a key',
    {
      ...valid,
      getToken: undefined,
      clientCredentials: { tokenUrl: 'https://idp.example.com/t', clientId: 'a', privateKey: 'no', keyId: 'k' },
    },
    /'clientCredentials\.privateKey'/,
  ],
  ['tls not an object', { ...valid, tls: 'yes' }, /'tls'/],
  ['tls true', { ...valid, tls: true }, /'tls'/],
  ['tls.ca not PEM', { ...valid, tls: { ca: PEM_GARBAGE } }, /'tls\.ca'/],
  ['tls.cert without key', { ...valid, tls: { cert: PEM_GARBAGE } }, /'tls\.cert'/],
  ['tls.servername empty', { ...valid, tls: { servername: '' } }, /'tls\.servername'/],
  ['tls unknown key', { ...valid, tls: { insecure: true } }, /'tls\.insecure'/],
  ['tls.minVersion below 1.2', { ...valid, tls: { minVersion: 'TLSv1.1' } }, /'tls\.minVersion'/],
  ['proxy with another scheme', { ...valid, proxy: 'socks5://proxy.corp:1080' }, /'proxy'/],
  ['proxy with a path', { ...valid, proxy: 'http://proxy.corp:3128/path' }, /'proxy'/],
  ['proxy true', { ...valid, proxy: true }, /'proxy'/],
  ['proxy not a URL', { ...valid, proxy: 'http://proxy corp:3128' }, /'proxy'/],
  ['entryAddress without port', { ...valid, entryAddress: '127.0.0.1' }, /'entryAddress'/],
  ['keepalive.intervalMs negative', { ...valid, keepalive: { intervalMs: -1 } }, /'keepalive\.intervalMs'/],
  ['keepalive.timeoutMs not an integer', { ...valid, keepalive: { timeoutMs: 1.5 } }, /'keepalive\.timeoutMs'/],
  ['keepalive.intervalMs NaN', { ...valid, keepalive: { intervalMs: Number.NaN } }, /'keepalive\.intervalMs'/],
  ['keepalive true', { ...valid, keepalive: true }, /'keepalive'/],
  ['logger without methods', { ...valid, logger: { log: () => undefined } }, /'logger'/],
  ['userAgent empty', { ...valid, userAgent: '' }, /'userAgent'/],
  ['tokenTimeoutMs zero', { ...valid, tokenTimeoutMs: 0 }, /'tokenTimeoutMs'/],
  ['connectTimeoutMs as string', { ...valid, connectTimeoutMs: '1000' }, /'connectTimeoutMs'/],
  ['maxBufferedEvents zero', { ...valid, maxBufferedEvents: 0 }, /'maxBufferedEvents'/],
  [
    'reconnect.maxDelayMs below initial',
    { ...valid, reconnect: { initialDelayMs: 1000, maxDelayMs: 10 } },
    /'reconnect\.maxDelayMs'/,
  ],
  ['reconnect.multiplier below 1', { ...valid, reconnect: { multiplier: 0.5 } }, /'reconnect\.multiplier'/],
  ['clock without random', { ...valid, clock: { now: () => 0, setTimeout: () => undefined } }, /'clock'/],
  ['unknown option (typo)', { ...valid, keepAlive: { intervalMs: 1000 } }, /'keepAlive'/],
  ['target empty', { ...VALID, target: '' }, /'target'/],
  ['target port 0', { ...VALID, target: 'h:0' }, /'target'/],
  ['target port too large', { ...VALID, target: 'h:99999' }, /'target'/],
  ['target with a space', { ...VALID, target: 'wa tch:1' }, /'target'/],
  ['target an unclosed IPv6', { ...VALID, target: '[::1:443' }, /'target'/],
  ['tenantId blank', { ...VALID, tenantId: '   ' }, /'tenantId'/],
  ['tenantId with CR', { ...VALID, tenantId: 'a\rb' }, /'tenantId'/],
  ['tenantId a number', { ...VALID, tenantId: 7 }, /'tenantId'/],
  ['tls.ca not PEM', { ...VALID, tls: { ca: 'not a certificate' } }, /'tls\.ca'/],
  ['tls.cert without key', { ...VALID, tls: { cert: 'x' } }, /'tls\.cert'/],
  ['tls.minVersion TLSv1', { ...VALID, tls: { minVersion: 'TLSv1' } }, /'tls\.minVersion'/],
  ['tls unknown key', { ...VALID, tls: { verify: false } }, /'tls\.verify'/],
  ['proxy socks', { ...VALID, proxy: 'socks5://p:1080' }, /proxy/],
  ['proxy with a path', { ...VALID, proxy: 'http://p:3128/x' }, /proxy/],
  ['proxy broken percent-encoding', { ...VALID, proxy: 'http://u:%zz@p:3128' }, /proxy/],
  ['entryAddress without port', { ...VALID, entryAddress: '10.0.0.1' }, /'entryAddress'/],
  ['keepalive a string', { ...VALID, keepalive: 'fast' }, /'keepalive'/],
  [
    'reconnect max below initial',
    { ...VALID, reconnect: { initialDelayMs: 100, maxDelayMs: 10 } },
    /'reconnect\.maxDelayMs'/,
  ],
  ['tokenTimeoutMs NaN', { ...VALID, tokenTimeoutMs: Number.NaN }, /'tokenTimeoutMs'/],
  ['connectTimeoutMs Infinity', { ...VALID, connectTimeoutMs: Number.POSITIVE_INFINITY }, /'connectTimeoutMs'/],
  ['historyTimeoutMs a string', { ...VALID, historyTimeoutMs: '30000' }, /'historyTimeoutMs'/],
  ['closeTimeoutMs above 2^31-1', { ...VALID, closeTimeoutMs: 2 ** 31 }, /'closeTimeoutMs'/],
  ['historyPageSize 1001', { ...VALID, historyPageSize: 1001 }, /'historyPageSize'/],
  ['historyUrl ftp', { ...VALID, historyUrl: 'ftp://h' }, /'historyUrl'/],
  ['historyUrl with credentials', { ...VALID, historyUrl: 'https://u:p@h' }, /'historyUrl'/],
  ['historyUrl with a query', { ...VALID, historyUrl: 'https://h/?x=1' }, /'historyUrl'/],
  ['historyUrl plain http with TLS on', { ...VALID, historyUrl: 'http://h' }, /'historyUrl'/],
  ['apiUrl ftp', { ...VALID, apiUrl: 'ftp://h/apis' }, /'apiUrl'/],
  ['apiUrl with credentials', { ...VALID, apiUrl: 'https://u:p@h/apis' }, /'apiUrl'/],
  ['apiUrl with a query', { ...VALID, apiUrl: 'https://h/apis?x=1' }, /'apiUrl'/],
  ['apiUrl plain http with TLS on', { ...VALID, apiUrl: 'http://h/apis' }, /'apiUrl'/],
  ['apiUrl empty', { ...VALID, apiUrl: '' }, /'apiUrl'/],
  ['from yesterday', { ...VALID, from: 'yesterday' }, /'from'/],
  ['from negative', { ...VALID, from: -1 }, /'from'/],
  ['from fractional', { ...VALID, from: 1.5 }, /'from'/],
  ['stallTimeoutMs 0', { ...VALID, stallTimeoutMs: 0 }, /'stallTimeoutMs'/],
  ['stallTimeoutMs auto', { ...VALID, stallTimeoutMs: 'auto' }, /'stallTimeoutMs'/],
  ['stateTimeoutMs negative', { ...VALID, stateTimeoutMs: -5 }, /'stateTimeoutMs'/],
  ['unknownEventTypes keep', { ...VALID, unknownEventTypes: 'keep' }, /'unknownEventTypes'/],
  ['positionFlush everyAcks 0', { ...VALID, positionFlush: { everyAcks: 0 } }, /'positionFlush\.everyAcks'/],
  [
    'clock without random',
    { ...VALID, clock: { now: () => 0, setTimeout: () => ({ cancel: () => undefined }) } },
    /'clock'/,
  ],
  [
    'logger without debug',
    { ...VALID, logger: { error: () => undefined, warn: () => undefined, info: () => undefined } },
    /'logger'/,
  ],
  [
    'sequenceProvider without setSequence',
    { ...VALID, sequenceProvider: { getSequence: () => undefined } },
    /'sequenceProvider'/,
  ],
  ['an unknown key (a typo)', { ...VALID, tenantID: 'x' }, /'tenantID'/],
  ['userAgent with a newline', { ...VALID, userAgent: 'a\nb' }, /'userAgent'/],
];

describe('options: one validation step', () => {
  for (const [name, options, field] of cases) {
    it(`rejects ${name} synchronously with INVALID_CONFIG naming ${String(field)}`, () => {
      let thrown: unknown;
      try {
        new WatchManager(options as unknown as WatchManagerOptions);
      } catch (err) {
        thrown = recordError(err);
      }
      assert.ok(thrown instanceof WatchError, `expected a WatchError, got ${String(thrown)}`);
      assert.equal(thrown.code, 'INVALID_CONFIG');
      assert.equal(thrown.retryable, false);
      assert.match(thrown.message, field);
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

  it('issue 23: the default apiUrl is the target host and port with /apis, the scheme from tls; apiUrl overrides it', () => {
    const url = (target: string, tls?: false, apiUrl?: string): string =>
      resolveOptions(
        { ...valid, target, ...(tls === undefined ? {} : { tls }), ...(apiUrl === undefined ? {} : { apiUrl }) },
        '1.0.0',
      ).apiUrl.href;
    assert.equal(url('watch.example.com:443'), 'https://watch.example.com/apis');
    assert.equal(url('watch.example.com:8443'), 'https://watch.example.com:8443/apis');
    assert.equal(url('127.0.0.1:50051', false), 'http://127.0.0.1:50051/apis');
    assert.equal(url('[::1]:8080', false), 'http://[::1]:8080/apis');
    assert.equal(
      url('watch.example.com:443', undefined, 'https://gw.example.com/central/apis'),
      'https://gw.example.com/central/apis',
    );
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

  it('refuses bad arguments of registerWatch, watch() and sendAgentStatus, naming them', async () => {
    const manager = new WatchManager({ ...VALID, tls: false, target: '127.0.0.1:1', logger: captureLogger() });
    const onEvent = (): void => undefined;
    const calls: Array<[string, () => unknown, RegExp]> = [
      ['handlers null', () => manager.registerWatch(TOPIC, null as never), /'handlers'/],
      ['onEvent not a function', () => manager.registerWatch(TOPIC, { onEvent: 1 } as never), /'handlers'/],
      [
        'onError a string',
        () => manager.registerWatch(TOPIC, { onEvent, onError: 'x' } as never),
        /'handlers\.onError'/,
      ],
      [
        'options.filter.types FOO',
        () => manager.registerWatch(TOPIC, { onEvent }, { filter: { types: ['FOO' as never] } }),
        /'options\.filter\.types'/,
      ],
      [
        'options.maxAttempts 0',
        () => manager.registerWatch(TOPIC, { onEvent }, { maxAttempts: 0 }),
        /'options\.maxAttempts'/,
      ],
      [
        'options.handlerTimeoutMs negative',
        () => manager.registerWatch(TOPIC, { onEvent }, { handlerTimeoutMs: -1 }),
        /'options\.handlerTimeoutMs'/,
      ],
      [
        'options.keyOf a string',
        () => manager.registerWatch(TOPIC, { onEvent }, { keyOf: 'k' as never }),
        /'options\.keyOf'/,
      ],
      [
        'options.resync.list a number',
        () => manager.registerWatch(TOPIC, { onEvent }, { resync: { list: 1 as never } }),
        /'options\.resync\.list'/,
      ],
      ['selfLink a number', () => manager.registerWatch(42 as never, { onEvent }), /'selfLink'/],
      ['selfLink with a NUL', () => manager.registerWatch('/a/b\u0000c', { onEvent }), /'selfLink'/],
      ['watch() highWaterMark 0', () => manager.watch(TOPIC, { highWaterMark: 0 }), /'options\.highWaterMark'/],
      [
        'watch() highWaterMark fractional',
        () => manager.watch(TOPIC, { highWaterMark: 1.5 }),
        /'options\.highWaterMark'/,
      ],
      ['watch() concurrency 0', () => manager.watch(TOPIC, { concurrency: 0 }), /'options\.concurrency'/],
      [
        'watch() concurrency and its deprecated alias highWaterMark',
        () => manager.watch(TOPIC, { concurrency: 8, highWaterMark: 8 }),
        /'options\.highWaterMark'.*concurrency/,
      ],
      ['watch() maxAttempts 0', () => manager.watch(TOPIC, { maxAttempts: 0 }), /'options\.maxAttempts'/],
      ['sendAgentStatus without a message', () => manager.sendAgentStatus({ state: 'running' } as never), /'status'/],
    ];
    for (const [name, call, field] of calls) {
      const err = await typedError(call, name);
      assert.equal(err.code, 'INVALID_CONFIG', name);
      assert.match(err.message, field, name);
    }
    await manager.close();
  });
});

describe('an option given to the wrong call says where it belongs (issue 22 #6)', () => {
  /** The INVALID_CONFIG message of a constructor call with `extra` beside valid options. */
  function constructorMessage(extra: Record<string, unknown>): string {
    try {
      new WatchManager({ ...VALID, ...extra });
    } catch (err) {
      const error = recordError(err);
      assert.ok(error instanceof WatchError && error.code === 'INVALID_CONFIG', String(error));
      return error.message;
    }
    assert.fail('the constructor accepted it');
  }

  it('a per-watch or for-await option given to new WatchManager names the call it belongs to', () => {
    assert.equal(
      constructorMessage({ handlerTimeoutMs: 5_000 }),
      "invalid option 'handlerTimeoutMs': it is an option of registerWatch(...), not of new WatchManager(...)",
    );
    assert.equal(
      constructorMessage({ filter: { kinds: ['APIService'] } }),
      "invalid option 'filter': it is an option of registerWatch(...) and watch(...), not of new WatchManager(...)",
    );
    assert.equal(
      constructorMessage({ autoAck: false }),
      "invalid option 'autoAck': it is an option of watch(...), not of new WatchManager(...)",
    );
  });

  it('a real unknown (a typo) still lists the known options, and a shared option (from) is taken', async () => {
    const message = constructorMessage({ deadLetterDirectory: '/tmp/x' });
    assert.match(
      message,
      /^invalid option 'deadLetterDirectory': unknown option \(known: target, tenantId, .*deadLetterDir/,
    );
    assert.doesNotMatch(message, /it is an option of/);
    const shared = {
      ...VALID,
      tls: false as const,
      target: '127.0.0.1:1',
      logger: captureLogger(),
      from: 'beginning' as const,
    };
    await new WatchManager(shared).close();
  });

  it('a manager option given to registerWatch or watch() names new WatchManager; nothing is sent', async () => {
    const manager = new WatchManager({ ...VALID, tls: false, target: '127.0.0.1:1', logger: captureLogger() });
    const handlers = { onEvent: (): void => undefined };
    const calls: Array<[() => unknown, string]> = [
      [
        () => manager.registerWatch(TOPIC, handlers, { deadLetterDir: '/tmp/dead' } as never),
        "invalid option 'options.deadLetterDir': it is an option of new WatchManager(...), not of registerWatch(...)",
      ],
      [
        () => manager.registerWatch(TOPIC, handlers, { concurrency: 2, maxBufferedEvents: 10 } as never),
        "invalid option 'options.maxBufferedEvents': it is an option of new WatchManager(...), not of registerWatch(...)",
      ],
      [
        () => manager.registerWatch(TOPIC, handlers, { signal: AbortSignal.timeout(1_000) } as never),
        "invalid option 'options.signal': it is an option of watch(...), not of registerWatch(...)",
      ],
      [
        () => manager.watch(TOPIC, { closeTimeoutMs: 1_000 } as never),
        "invalid argument 'options.closeTimeoutMs': it is an option of new WatchManager(...), not of watch(...)",
      ],
      [
        () => manager.watch(TOPIC, { handlerTimeoutMs: 1_000 } as never),
        "invalid argument 'options.handlerTimeoutMs': it is an option of registerWatch(...), not of watch(...)",
      ],
    ];
    for (const [call, message] of calls) {
      const err = await typedError(call, message);
      assert.equal(err.code, 'INVALID_CONFIG');
      assert.equal(err.message, message);
    }
    assert.deepEqual(manager.status().watches, []);
    await manager.close();
  });
});

describe('tenant ids, per-watch option keys, proxy values and self links (issue 11 #1, #10, #12, #13)', () => {
  for (const [name, tenantId] of [
    ['a tab', 'org\t1'],
    ['an inner newline', 'org\n1'],
    ['non-ASCII', 'orgé1'],
    ['a NUL', 'org\u00001'],
    ['a DEL', 'org\u007f'],
  ] as const) {
    it(`#1 a tenant id with ${name} is refused at construction: INVALID_CONFIG naming tenantId`, () => {
      const err = (() => {
        try {
          new WatchManager({ target: '127.0.0.1:1', tenantId, getToken: () => 'x', tls: false });
        } catch (e) {
          return recordError(e);
        }
        return undefined;
      })();
      assert.ok(err instanceof WatchError);
      assert.equal(err.code, 'INVALID_CONFIG');
      assert.match(err.message, /'tenantId'/);
    });
  }

  it('#10 registerWatch refuses an unknown per-watch option (a typo) with INVALID_CONFIG naming the key', async () => {
    const service = await startService();
    const manager = new WatchManager(options(service, {}));
    const handlers = { onEvent: () => undefined };
    for (const [opts, key] of [
      [{ concurency: 4 }, 'options.concurency'],
      [{ maxAttempt: 2 }, 'options.maxAttempt'],
      [{ resync: { list: () => [], lst: 1 } }, 'options.resync.lst'],
      [{ filter: { kind: ['A'] } }, 'options.filter.kind'],
    ] as const) {
      const err = await codeOf(manager.registerWatch(TOPIC, handlers, opts as never));
      assert.equal(err.code, 'INVALID_CONFIG');
      assert.match(err.message, new RegExp(`'${key.replace(/\./g, '\\.')}': unknown option`));
    }
    const iterateErr = await codeOf(() => manager.watch(TOPIC, { highWatermark: 5 } as never));
    assert.match(iterateErr.message, /'options\.highWatermark': unknown option/);
    assert.equal(service.counters.subscribes, 0);
    await manager.close();
    await service.stop();
  });

  it("#12 the proxy option refuses a value that is not an http(s)://host[:port] URL ('notaurl', 'host:port')", () => {
    for (const proxy of ['notaurl', 'proxy.corp:3128', '//proxy.corp:3128', 'user:pw@proxy.corp:3128']) {
      assert.throws(
        () => new WatchManager({ target: 'h:1', tenantId: 't', getToken: () => 'x', proxy }),
        (e: unknown) => {
          recordError(e);
          return (
            e instanceof WatchError &&
            e.code === 'INVALID_CONFIG' &&
            /'proxy'/.test(e.message) &&
            !e.message.includes('pw')
          );
        },
        proxy,
      );
    }
  });

  it('#13 a self link with dot segments, empty segments, a query or a fragment is INVALID_CONFIG; no request is made', async () => {
    const service = await startService();
    let tokens = 0;
    const manager = new WatchManager(options(service, { getToken: () => ((tokens += 1), 'never-used') }));
    for (const link of [
      '/management/../../admin',
      '/management/v1alpha1/watchtopics/..',
      '/management/./watchtopics/x',
      '/management//watchtopics/x',
      '/management/watchtopics/x/',
      '/management/watchtopics/x?admin=1',
      '/management/watchtopics/x#frag',
      '/management/%2e%2e/admin',
      'management/watchtopics/x',
      '/',
    ]) {
      const err = await codeOf(manager.registerWatch(link, { onEvent: () => undefined }));
      assert.equal(err.code, 'INVALID_CONFIG', link);
      assert.match(err.message, /'selfLink'/);
    }
    assert.equal(service.historyCounters.requests, 0, 'no history request, so no bearer token sent anywhere');
    assert.equal(service.counters.subscribes, 0);
    assert.equal(tokens, 0);
    const run = await cli(
      [
        '--target',
        service.target,
        '--tenant',
        't',
        '--token-env',
        'T',
        '--insecure',
        '--topic',
        '/management/../../admin',
      ],
      { T: 'x'.repeat(20) },
    );
    assert.equal(run.code, 2);
    assert.match(run.err, /--topic/);
    await manager.close();
    await service.stop();
  });
});
