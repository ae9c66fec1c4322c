import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  FileSequenceStore,
  type WatchError,
  WatchManager,
  clientCredentialsToken,
  type WatchErrorCode,
} from 'watch-manager';
import { runCli } from '../src/cli/main';
import { systemClock } from '../src/core/clock';
import { DEFAULT_BACKOFF } from '../src/core/backoff';
import { TokenRefresher } from '../src/auth/token-refresher';
import { createLog } from '../src/logging/logger';
import { HttpTransport } from '../src/transport/http-transport';
import { parseProxyUrl } from '../src/config/proxy';
import { probeProxy } from '../src/transport/proxy-probe';
import type { FakeWatchService, RawWireEvent } from 'watch-manager/testing';
import {
  Capture,
  TOPIC,
  captureLogger,
  cliArgs,
  recordError,
  scanForSecrets,
  secret,
  startService,
  token,
} from './support/harness';
import { bounded, typedError, codeOf, options, cli } from './support/input-checks';

scanForSecrets();

// The bad-input suite of issue 11: distinct inputs by family (options, tokens, stream frames, history bodies and
// headers, state files, proxy replies, CLI flags). Each must end in a typed WatchError (or a usage exit) or a
// correct result: no crash, no hang (every case has a deadline), no unhandled rejection, no secret in any output
// (the file's scan and the suite-wide one).

const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => void unhandled.push(reason));
process.on('uncaughtException', (err) => void unhandled.push(err));

const counts = new Map<string, { cases: number; typed: number; correct: number }>();
function tally(family: string, outcome: 'typed' | 'correct'): void {
  const c = counts.get(family) ?? { cases: 0, typed: 0, correct: 0 };
  c.cases += 1;
  c[outcome] += 1;
  counts.set(family, c);
}

const DAY_MS = 24 * 60 * 60 * 1000;

after(() => {
  const total = [...counts.values()].reduce((n, c) => n + c.cases, 0);
  const lines = [...counts].map(([family, c]) => `${family}: ${c.cases} (${c.typed} typed, ${c.correct} correct)`);
  process.stdout.write(
    `# bad inputs: ${total} cases — ${lines.join('; ')}; unhandled rejections: ${unhandled.length}\n`,
  );
  assert.ok(total >= 100, `at least 100 bad inputs: ${total}`);
  assert.equal(unhandled.length, 0, `no unhandled rejection or exception: ${String(unhandled[0])}`);
});

describe('tokens from the getter', () => {
  let service: FakeWatchService;
  before(async () => {
    service = await startService();
  });
  after(async () => {
    await service.stop();
  });

  const expired = (): Promise<string> => token(service, { ttlMs: -60_000 });
  const cases: Array<[string, () => unknown, WatchErrorCode, RegExp]> = [
    ['undefined', () => undefined, 'TOKEN_UNAVAILABLE', /getToken returned undefined/],
    ['null', () => null, 'TOKEN_UNAVAILABLE', /getToken returned object/],
    ['a number', () => 42, 'TOKEN_UNAVAILABLE', /getToken returned number/],
    ['an object', () => ({ token: 'x' }), 'TOKEN_UNAVAILABLE', /getToken returned object/],
    ['an empty string', () => '', 'TOKEN_UNAVAILABLE', /empty string/],
    ['blanks', () => '   ', 'TOKEN_UNAVAILABLE', /empty string/],
    ['a carriage return inside', () => secret('abcdefghij\rklmnopqrstu'), 'TOKEN_UNAVAILABLE', /U\+000D/],
    ['a NUL inside', () => secret('abcdefghij\u0000klmnopqrstu'), 'TOKEN_UNAVAILABLE', /U\+0000/],
    ['an emoji inside', () => secret('abcdefghij\u{1F600}klmnopqrstu'), 'TOKEN_UNAVAILABLE', /U\+D83D/],
    [
      'a thrown error',
      () => {
        throw new Error('identity provider down');
      },
      'TOKEN_UNAVAILABLE',
      /identity provider down/,
    ],
    ['a rejection', () => Promise.reject(new Error('vault sealed')), 'TOKEN_UNAVAILABLE', /vault sealed/],
    ['a hang', () => new Promise(() => undefined), 'TOKEN_UNAVAILABLE', /did not answer within 200 ms/],
    ['an expired JWT', expired, 'TOKEN_EXPIRED', /expired/],
  ];
  for (const [name, getter, code, message] of cases) {
    it(`a getter returning ${name}: ${code}, no subscription, no token in any output`, async () => {
      const manager = new WatchManager({
        target: service.target,
        tenantId: service.tenantId,
        historyUrl: service.historyUrl,
        tls: false,
        logger: captureLogger(),
        getToken: async () => {
          const value = await getter();
          if (typeof value === 'string' && value.trim().length >= 6) secret(value);
          return value as string;
        },
        tokenTimeoutMs: 200,
        connectTimeoutMs: 600,
        reconnect: { initialDelayMs: 10, maxDelayMs: 50 },
      });
      const before = service.counters.subscribes;
      const err = await typedError(() => manager.registerWatch(TOPIC, { onEvent: () => undefined }), name);
      assert.equal(err.code, code, err.message);
      assert.match(err.message, message);
      assert.equal(service.counters.subscribes, before);
      await bounded(manager.close(), 5_000, 'close');
      tally('tokens', 'typed');
    });
  }
  for (const [name, damage] of [
    ['an inner newline', (t: string) => `${t.slice(0, 20)}\n${t.slice(20)}`],
    ['a tab', (t: string) => `${t.slice(0, 20)}\t${t.slice(20)}`],
    ['non-ASCII', (t: string) => `${t.slice(0, 20)}é${t.slice(20)}`],
    ['an inner space', (t: string) => `${t.slice(0, 20)} ${t.slice(20)}`],
  ] as const) {
    it(`#1 a token with ${name} from the getter is a typed error naming getToken, never a crash or the token`, async () => {
      const service = await startService();
      const bad = secret(damage(await token(service)));
      let calls = 0;
      const manager = new WatchManager(
        options(service, { getToken: () => ((calls += 1), bad), connectTimeoutMs: 300 }),
      );
      const before = unhandled.length;
      const err = await codeOf(manager.registerWatch(TOPIC, { onEvent: () => undefined }));
      assert.equal(err.code, 'TOKEN_UNAVAILABLE');
      assert.match(
        err.message,
        /getToken returned a token with a character a request header cannot carry \(U\+[0-9A-F]{4} at position 20\)/,
      );
      assert.ok(!err.message.includes(bad.slice(0, 20)), 'the message never quotes the token');
      assert.ok(calls >= 1);
      assert.equal(service.counters.subscribes, 0, 'nothing reached grpc-js');
      assert.equal(service.historyCounters.requests, 0, 'nor an HTTP header');
      await manager.close();
      assert.equal(unhandled.length, before, 'no unhandled rejection');
      await service.stop();
      tally('tokens', 'typed');
    });
  }

  it('#2 a JWT valid for 30 days is refreshed once, not in a hot loop (system clock)', async () => {
    const service = await startService();
    const jwt = await token(service, { ttlMs: 30 * DAY_MS });
    let calls = 0;
    const refresher = new TokenRefresher({
      getToken: () => ((calls += 1), jwt),
      timeoutMs: 1_000,
      fallbackRefreshMs: 300_000,
      backoff: DEFAULT_BACKOFF,
      clock: systemClock,
      log: createLog(captureLogger()),
    });
    await refresher.current();
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(calls, 1, `getter calls in 400 ms: ${calls}`);
    refresher.close();
    await service.stop();
    tally('tokens', 'correct');
  });

  it('#2 clientCredentialsToken with 30-day tokens: one token request, not hundreds a second', async () => {
    const service = await startService();
    service.registerClient({
      clientId: 'long-lived',
      clientSecret: secret('long-lived-secret-0042'),
      tokenTtlMs: 30 * DAY_MS,
    });
    const manager = new WatchManager(
      options(service, {
        getToken: clientCredentialsToken({
          tokenUrl: service.tokenUrl,
          clientId: 'long-lived',
          clientSecret: 'long-lived-secret-0042',
        }),
      }),
    );
    await manager.registerWatch(TOPIC, { onEvent: () => undefined });
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(service.tokenCounters.requests, 1, `token requests in 500 ms: ${service.tokenCounters.requests}`);
    assert.equal(service.counters.tokenRefreshes, 0);
    await manager.close();
    await service.stop();
    tally('tokens', 'correct');
  });
});

describe('stream frames', () => {
  let service: FakeWatchService;
  before(async () => {
    service = await startService();
  });
  after(async () => {
    await service.stop();
  });

  let topics = 0;
  const meta = (sequenceID: string | undefined): RawWireEvent['metadata'] => ({
    watchTopicID: 'w',
    watchTopicSelfLink: TOPIC,
    ...(sequenceID === undefined ? {} : { sequenceID }),
  });
  const frames: Array<[string, RawWireEvent, 'PROTOCOL' | number | 'none']> = [
    ['no metadata', { id: 'a', type: 'CREATED' }, 'PROTOCOL'],
    ['sequence id 0', { id: 'a', type: 'CREATED', metadata: meta('0') }, 'PROTOCOL'],
    ['sequence id negative', { id: 'a', type: 'CREATED', metadata: meta('-7') }, 'PROTOCOL'],
    ['sequence id above 2^53', { id: 'a', type: 'CREATED', metadata: meta('9007199254740993') }, 'PROTOCOL'],
    ['sequence id missing', { id: 'a', type: 'UPDATED', metadata: meta(undefined) }, 'PROTOCOL'],
    [
      'the largest safe sequence id',
      { id: 'a', type: 'CREATED', metadata: meta('9007199254740991') },
      9007199254740991,
    ],
    [
      'an unknown type (skipped by default, the position moves)',
      { id: 'a', type: 42 as never, metadata: meta('5') },
      'none',
    ],
    ['no payload', { id: 'a', type: 'DELETED', metadata: meta('6') }, 6],
    ['no organization, empty strings', { type: 'UPDATED', metadata: meta('7') }, 7],
    [
      'a payload with odd attributes',
      {
        id: 'a',
        type: 'UPDATED',
        payload: { kind: 'K', name: 'n', attributes: { '': '', ü: '\u0000' } },
        metadata: meta('8'),
      },
      8,
    ],
    [
      "another topic's self link in metadata",
      {
        id: 'a',
        type: 'CREATED',
        metadata: { ...meta('9'), watchTopicSelfLink: '/management/v1alpha1/watchtopics/other' },
      },
      9,
    ],
    ['a repeat of a delivered id', { id: 'a', type: 'CREATED', metadata: meta('2') }, 'none'],
    ['a PING (answered, never handed over)', { id: 'ping-x', type: 'PING' }, 'none'],
    ['a PING without id', { type: 'PING' }, 'none'],
  ];
  for (const [name, frame, expected] of frames) {
    it(`a frame with ${name}: ${typeof expected === 'number' ? `delivered as #${expected}` : expected === 'none' ? 'not handed over' : 'a typed PROTOCOL error'}`, async () => {
      const topic = `/management/v1alpha1/watchtopics/f${(topics += 1)}`;
      service.createTopic(topic);
      const jwt = await token(service);
      const got: number[] = [];
      const errors: WatchError[] = [];
      const manager = new WatchManager({
        target: service.target,
        tenantId: service.tenantId,
        historyUrl: service.historyUrl,
        getToken: () => jwt,
        tls: false,
        logger: captureLogger(),
        from: 'beginning',
        reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000 },
      });
      await manager.registerWatch(topic, {
        onEvent: (e) => void got.push(e.sequenceId),
        onError: (e) => void errors.push(recordError(e)),
      });
      service.publish(topic);
      service.publish(topic);
      await service.waitFor(() => got.length === 2, 5_000, 'two events');
      service.sendRaw(topic, {
        ...frame,
        metadata:
          frame.metadata === undefined
            ? undefined
            : {
                ...frame.metadata,
                watchTopicSelfLink:
                  frame.metadata.watchTopicSelfLink === TOPIC ? topic : frame.metadata.watchTopicSelfLink,
              },
      });
      if (expected === 'PROTOCOL') {
        await bounded(
          service.waitFor(() => errors.length > 0, 5_000, 'the error'),
          6_000,
          name,
        );
        assert.equal(errors[0]?.code, 'PROTOCOL');
        tally('stream frames', 'typed');
      } else if (typeof expected === 'number') {
        await bounded(
          service.waitFor(() => got.length === 3, 5_000, 'the frame'),
          6_000,
          name,
        );
        assert.equal(got[2], expected);
        assert.deepEqual(errors, []);
        tally('stream frames', 'correct');
      } else {
        // Then a regular event: it is the next one handed over (the frame was not), and the watch goes on.
        const next = service.publish(topic, { skip: 100 });
        await bounded(
          service.waitFor(() => got.length >= 3, 5_000, 'the next event'),
          6_000,
          name,
        );
        assert.deepEqual(got, [1, 2, next.sequenceId]);
        assert.deepEqual(errors, []);
        tally('stream frames', 'correct');
      }
      await bounded(manager.close(), 5_000, 'close');
    });
  }
});

describe('history bodies and headers', () => {
  let service: FakeWatchService;
  let raw: http.Server;
  let answer: (req: http.IncomingMessage, res: http.ServerResponse) => void = (_req, res) => res.end('[]');
  let historyUrl = '';
  before(async () => {
    service = await startService();
    raw = http.createServer((req, res) => answer(req, res));
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', () => resolve()));
    historyUrl = `http://127.0.0.1:${(raw.address() as net.AddressInfo).port}`;
  });
  after(async () => {
    raw.closeAllConnections();
    await new Promise<void>((resolve) => raw.close(() => resolve()));
    await service.stop();
  });

  const event = (seq: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    id: `e${String(seq)}`,
    type: 'ResourceCreated',
    payload: {},
    metadata: { sequenceID: seq },
    ...extra,
  });
  const json =
    (status: number, body: unknown, headers: Record<string, string> = {}) =>
    (_req: http.IncomingMessage, res: http.ServerResponse): void => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
  const cases: Array<
    [
      string,
      (req: http.IncomingMessage, res: http.ServerResponse) => void,
      WatchErrorCode | 'delivered',
      RegExp | number[],
    ]
  > = [
    ['a body that is not JSON', json(200, '[{"id": '), 'PROTOCOL', /not valid JSON/],
    ['an object instead of an array', json(200, { items: [] }), 'PROTOCOL', /not a JSON array/],
    ['an array of strings', json(200, ['x']), 'PROTOCOL', /not an event object/],
    ['an event without metadata', json(200, [{ id: 'a', type: 'ResourceCreated' }]), 'PROTOCOL', /has no metadata/],
    ['a sequence id that is a word', json(200, [event('x')]), 'PROTOCOL', /invalid sequence id/],
    ['sequence id 0', json(200, [event(0)]), 'PROTOCOL', /invalid sequence id/],
    ['a fractional sequence id', json(200, [event(1.5)]), 'PROTOCOL', /invalid sequence id/],
    ['a sequence id above 2^53', json(200, [event(2 ** 60)]), 'PROTOCOL', /invalid sequence id/],
    ['a sequence id as a numeric string', json(200, [event('3')]), 'delivered', [3]],
    ['a type that is a number', json(200, [event(1, { type: 7 })]), 'PROTOCOL', /is not a type name/],
    ['a missing type', json(200, [event(1, { type: undefined })]), 'PROTOCOL', /is not a type name/],
    [
      'a page in descending order',
      json(200, [event(3), event(2), event(1)]),
      'PROTOCOL',
      /not in ascending sequence order \(2 after 3\)/,
    ],
    ['a repeated id in a page', json(200, [event(1), event(1)]), 'PROTOCOL', /not in ascending sequence order/],
    ['an event not above the asked position', json(200, [event(0.5 + 0.5)]), 'delivered', [1]],
    [
      'unknown fields everywhere (tolerated)',
      json(200, [
        event(4, { spec: { deep: [1, 2] }, extra: null, payload: { kind: 'K', spec: {}, metadata: { audit: {} } } }),
      ]),
      'delivered',
      [4],
    ],
    ['a 302 redirect', json(302, '', { location: 'http://elsewhere/' }), 'PROTOCOL', /unexpected HTTP 302/],
    ['a 204 without body', json(204, ''), 'PROTOCOL', /unexpected HTTP 204/],
    ['a 418', json(418, { error: 'teapot' }), 'PROTOCOL', /unexpected HTTP 418/],
    ['a 503 with Retry-After garbage', json(503, {}, { 'retry-after': 'soon' }), 'HISTORY_UNAVAILABLE', /HTTP 503$/],
    [
      'a 429 with Retry-After in the past',
      json(429, {}, { 'retry-after': 'Wed, 21 Oct 2015 07:28:00 GMT' }),
      'HISTORY_UNAVAILABLE',
      /asked to wait 0 ms/,
    ],
    ['a 503 with a negative Retry-After', json(503, {}, { 'retry-after': '-5' }), 'HISTORY_UNAVAILABLE', /HTTP 503$/],
    [
      'a 410 with a negative newest id',
      json(410, {}, { 'x-axway-max-sequence-id': '-5' }),
      'PROTOCOL',
      /cannot be resumed from \("-5"/,
    ],
    [
      'a 410 with a huge newest id',
      json(410, {}, { 'x-axway-max-sequence-id': '99999999999999999999' }),
      'PROTOCOL',
      /cannot be resumed from/,
    ],
    [
      'a 410 with two newest ids',
      json(410, {}, { 'x-axway-max-sequence-id': '5, 6' }),
      'PROTOCOL',
      /cannot be resumed from/,
    ],
    ['a 500 with an HTML body', json(500, '<html>boom</html>'), 'HISTORY_UNAVAILABLE', /HTTP 500/],
    [
      'a connection cut mid-body',
      (_req, res) => {
        res.writeHead(200, { 'content-length': '100' });
        res.write('[{"id"', () => res.socket?.destroy());
      },
      'HISTORY_UNAVAILABLE',
      /ECONNRESET|closed/,
    ],
  ];
  for (const [name, handler, outcome, detail] of cases) {
    it(`history answering ${name}: ${outcome === 'delivered' ? 'the events' : outcome}`, async () => {
      answer = handler;
      const jwt = await token(service);
      const got: number[] = [];
      const errors: WatchError[] = [];
      const manager = new WatchManager({
        target: service.target,
        tenantId: service.tenantId,
        historyUrl,
        getToken: () => jwt,
        tls: false,
        logger: captureLogger(),
        from: 'beginning',
        reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000 },
      });
      // A permanent failure may come before the subscription is accepted (a rejection) or after (onError).
      await manager
        .registerWatch(TOPIC, {
          onEvent: (e) => void got.push(e.sequenceId),
          onError: (e) => void errors.push(recordError(e)),
        })
        .catch((e: unknown) => void errors.push(recordError(e as WatchError)));
      if (outcome === 'delivered') {
        await bounded(
          service.waitFor(() => got.length === (detail as number[]).length, 5_000, 'delivered'),
          6_000,
          name,
        );
        assert.deepEqual(got, detail);
        tally('history', 'correct');
      } else {
        await bounded(
          service.waitFor(() => errors.length > 0, 5_000, 'an error'),
          6_000,
          name,
        );
        assert.equal(errors[0]?.code, outcome, errors[0]?.message);
        assert.match(errors[0]?.message ?? '', detail as RegExp);
        assert.deepEqual(got, [], 'nothing of a bad page handed over');
        tally('history', 'typed');
      }
      await bounded(manager.close(), 5_000, 'close');
    });
  }

  it('#13 the history request path is built from encoded segments and stays under /events', async () => {
    const service = await startService({ topics: ['/management/v1alpha1/watchtopics/a.b~c_d-e'] });
    const jwt = await token(service);
    const manager = new WatchManager(options(service, { getToken: () => jwt, from: 'beginning' }));
    service.publishMany('/management/v1alpha1/watchtopics/a.b~c_d-e', 2);
    const seen: number[] = [];
    await manager.registerWatch('/management/v1alpha1/watchtopics/a.b~c_d-e', {
      onEvent: (e) => void seen.push(e.sequenceId),
    });
    await service.waitFor(() => seen.length === 2, 5_000, 'both events');
    await manager.close();
    await service.stop();
    tally('history', 'correct');
  });
});

describe('state files', () => {
  const body = (positions: unknown, extra: Record<string, unknown> = {}): string =>
    JSON.stringify({ format: 'watch-manager.positions', version: 1, positions, checksum: 'sha256:0', ...extra });
  const cases: Array<[string, (file: string) => void, WatchErrorCode | 'none']> = [
    ['empty', (f) => writeFileSync(f, ''), 'STATE_CORRUPT'],
    ['one brace', (f) => writeFileSync(f, '{'), 'STATE_CORRUPT'],
    ['null', (f) => writeFileSync(f, 'null'), 'STATE_CORRUPT'],
    ['an array', (f) => writeFileSync(f, '[]'), 'STATE_CORRUPT'],
    [
      'another format',
      (f) => writeFileSync(f, JSON.stringify({ format: 'x', version: 1, positions: {} })),
      'STATE_CORRUPT',
    ],
    ['version 2', (f) => writeFileSync(f, body({}, { version: 2 })), 'STATE_CORRUPT'],
    ['positions an array', (f) => writeFileSync(f, body([1, 2])), 'STATE_CORRUPT'],
    ['a fractional position', (f) => writeFileSync(f, body({ [TOPIC]: 1.5 })), 'STATE_CORRUPT'],
    ['a position as a string', (f) => writeFileSync(f, body({ [TOPIC]: '5' })), 'STATE_CORRUPT'],
    ['a position above 2^53', (f) => writeFileSync(f, body({ [TOPIC]: 2 ** 60 })), 'STATE_CORRUPT'],
    ['a wrong checksum', (f) => writeFileSync(f, body({ [TOPIC]: 5 })), 'STATE_CORRUPT'],
    ['binary garbage', (f) => writeFileSync(f, Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x7b])), 'STATE_CORRUPT'],
    ['a directory in its place', (f) => mkdirSync(f), 'STATE_IO'],
    ['a missing directory', () => undefined, 'STATE_IO'],
    ['a missing file (a first run)', () => undefined, 'none'],
  ];
  for (const [name, make, code] of cases) {
    it(`a position file that is ${name}: ${code === 'none' ? 'no position, no error' : code}`, async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'wm-bad-state-'));
      const file =
        name === 'a missing directory' ? path.join(dir, 'no', 'positions.json') : path.join(dir, 'positions.json');
      make(file);
      const store = new FileSequenceStore(file);
      if (code === 'none') {
        assert.equal(await bounded(store.getSequence(TOPIC), 5_000, name), undefined);
        assert.deepEqual(await FileSequenceStore.read(file), {});
        tally('state files', 'correct');
      } else {
        const err = await typedError(() => store.getSequence(TOPIC), name);
        assert.equal(err.code, code, err.message);
        if (name !== 'a missing directory')
          assert.equal((await typedError(() => FileSequenceStore.read(file), name)).code, code);
        tally('state files', 'typed');
      }
      await store.close();
    });
  }
});

describe('proxy replies', () => {
  let proxyServer: net.Server;
  let reply: (socket: net.Socket, request: string) => void = () => undefined;
  let proxyPort = 0;
  const sockets = new Set<net.Socket>();
  before(async () => {
    proxyServer = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
      let head = '';
      socket.on('data', (chunk) => {
        head += String(chunk);
        if (head.includes('\r\n\r\n')) reply(socket, head);
      });
    });
    await new Promise<void>((resolve) => proxyServer.listen(0, '127.0.0.1', () => resolve()));
    proxyPort = (proxyServer.address() as net.AddressInfo).port;
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => proxyServer.close(() => resolve()));
  });

  const password = secret('bad-proxy-password-5150');
  const status =
    (line: string) =>
    (socket: net.Socket): void =>
      void socket.end(`${line}\r\nContent-Length: 0\r\n\r\n`);
  const cases: Array<[string, (socket: net.Socket, request: string) => void, WatchErrorCode, WatchErrorCode | 'none']> =
    [
      [
        '407 Proxy Authentication Required',
        status('HTTP/1.1 407 Proxy Authentication Required'),
        'PROXY_AUTH',
        'PROXY_AUTH',
      ],
      ['401 Unauthorized', status('HTTP/1.1 401 Unauthorized'), 'PROXY_AUTH', 'PROXY_AUTH'],
      ['403 Forbidden', status('HTTP/1.1 403 Forbidden'), 'PROXY_REFUSED', 'PROXY_REFUSED'],
      [
        '405 Method Not Allowed (no CONNECT)',
        status('HTTP/1.1 405 Method Not Allowed'),
        'PROXY_REFUSED',
        'PROXY_REFUSED',
      ],
      ['502 Bad Gateway', status('HTTP/1.1 502 Bad Gateway'), 'HISTORY_UNAVAILABLE', 'CONNECTION_LOST'],
      [
        'garbage instead of HTTP',
        (socket) => void socket.end('hello there\r\n\r\n'),
        'HISTORY_UNAVAILABLE',
        'PROXY_REFUSED',
      ],
      ['a close without a word', (socket) => void socket.destroy(), 'HISTORY_UNAVAILABLE', 'CONNECTION_LOST'],
      [
        '200 and then a close of the tunnel',
        (socket) => void socket.end('HTTP/1.1 200 Connection established\r\n\r\n'),
        'HISTORY_UNAVAILABLE',
        'none',
      ],
      ['silence (never answers)', () => undefined, 'HISTORY_UNAVAILABLE', 'CONNECTION_LOST'],
    ];
  for (const [name, handler, httpCode, probeCode] of cases) {
    it(`a proxy answering CONNECT with ${name}: ${httpCode} on HTTP, ${probeCode} from the gRPC probe; never its password`, async () => {
      reply = handler;
      const proxy = parseProxyUrl(`http://agent:${password}@127.0.0.1:${proxyPort}`, 'test');
      const transport = new HttpTransport({ secure: false, tls: false, proxy, clock: systemClock });
      const err = await typedError(
        () =>
          transport.request(new URL('http://watch.example.com:8080/events/x'), {
            method: 'GET',
            headers: {},
            timeoutMs: 800,
            where: 'history',
            unavailable: 'HISTORY_UNAVAILABLE',
          }),
        name,
      );
      assert.equal(err.code, httpCode, err.message);
      assert.ok(!err.message.includes(password));
      await transport.close();
      const probe = await bounded(
        probeProxy(proxy, 'watch.example.com:443', 800, systemClock, new AbortController().signal),
        5_000,
        name,
      );
      if (probe !== undefined) recordError(probe);
      assert.equal(probe?.code ?? 'none', probeCode, probe?.message);
      tally('proxy replies', 'typed');
    });
  }
});

describe('watch-tail flags', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'wm-bad-flags-'));
  const tokenFile = path.join(dir, 'token');
  writeFileSync(tokenFile, 'x'.repeat(30));
  const garbagePem = path.join(dir, 'ca.pem');
  writeFileSync(garbagePem, 'not a certificate');
  const base = ['--tenant', 't', '--topic', TOPIC, '--token-file', tokenFile, '--insecure'];
  const cases: Array<[string, string[], number, RegExp]> = [
    ['--target without a port', ['--target', 'h', ...base], 2, /--target/],
    ['--target with a bad port', ['--target', 'h:99999', ...base], 2, /--target/],
    [
      '--tenant with a tab',
      ['--target', 'h:1', '--tenant', 'a\tb', '--topic', TOPIC, '--token-file', tokenFile],
      2,
      /--tenant/,
    ],
    [
      '--topic with dot segments',
      ['--target', 'h:1', '--tenant', 't', '--topic', '/management/../admin', '--token-file', tokenFile],
      2,
      /--topic/,
    ],
    ['--topic twice', ['--target', 'h:1', ...base, '--topic', TOPIC], 2, /--topic/],
    ['--from negative', ['--target', 'h:1', ...base, '--from', '-1'], 2, /--from/],
    ['--from a word', ['--target', 'h:1', ...base, '--from', 'soon'], 2, /--from/],
    ['--max-events in exponent form', ['--target', 'h:1', ...base, '--max-events', '1e3'], 2, /--max-events/],
    ['--keepalive-ms 0', ['--target', 'h:1', ...base, '--keepalive-ms', '0'], 2, /--keepalive-ms/],
    ['--proxy without a scheme', ['--target', 'h:1', ...base, '--proxy', 'proxy.corp:3128'], 2, /--proxy/],
    ['--proxy socks', ['--target', 'h:1', ...base, '--proxy', 'socks5://p:1080'], 2, /--proxy/],
    ['--history-url ftp', ['--target', 'h:1', ...base, '--history-url', 'ftp://h'], 2, /--history-url/],
    [
      '--ca-file that is not PEM',
      ['--target', 'h:1', '--tenant', 't', '--topic', TOPIC, '--token-file', tokenFile, '--ca-file', garbagePem],
      2,
      /--ca-file/,
    ],
    [
      '--state-file in a directory nobody may write',
      ['--target', 'h:1', ...base, '--state-file', '/proc/wm/state.json'],
      1,
      /STATE_IO/,
    ],
    ['--log-level loud', ['--target', 'h:1', ...base, '--log-level', 'loud'], 2, /--log-level/],
    ['a stray argument', ['--target', 'h:1', ...base, 'extra'], 2, /argument/],
  ];
  for (const [name, args, code, message] of cases) {
    it(`watch-tail ${name}: exit ${code}, one line`, async () => {
      const stdout = new Capture();
      const stderr = new Capture();
      const exit = await bounded(runCli(args, { stdout, stderr, env: {} }), 10_000, name);
      assert.equal(exit, code, stderr.text);
      assert.equal(stdout.text, '');
      assert.match(stderr.text, /^watch-tail: [^\n]+\n$/);
      assert.match(stderr.text, message);
      tally('CLI flags', 'typed');
    });
  }

  it('#1 watch-tail --token-file holding two lines exits 2 at once naming the flag; a trailing newline is fine', async () => {
    const service = await startService();
    const dir = mkdtempSync(path.join(tmpdir(), 'wm-inputs-'));
    const jwt = await token(service);
    const twoLines = path.join(dir, 'two-lines');
    writeFileSync(twoLines, `${jwt}\n${secret('second-line-of-the-file-0123')}\n`);
    const args = (file: string): string[] => [
      ...cliArgs(service, file),
      '--topic',
      TOPIC,
      '--json',
      '--max-events',
      '1',
    ];
    const run = await cli(args(twoLines));
    assert.equal(run.code, 2, run.err);
    assert.match(run.err, /^watch-tail: --token-file: .* holds more than one line \(a token is one line\)\n$/);
    assert.ok(run.ms < 2_000, `at once: ${run.ms.toFixed(0)} ms`);
    assert.equal(service.counters.subscribes, 0);

    const trailing = path.join(dir, 'trailing');
    writeFileSync(trailing, `${jwt}\n`);
    const before = service.counters.accepted;
    const ok = cli(args(trailing));
    await service.waitFor(() => service.counters.accepted > before, 5_000, 'subscribed with the trimmed token');
    service.publish(TOPIC);
    assert.equal((await ok).code, 0);
    await service.stop();
    tally('CLI flags', 'typed');
  });

  it('#12 watch-tail --proxy notaurl and an empty --token-file both exit 2 at once naming the flag', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'wm-inputs-'));
    const empty = path.join(dir, 'empty');
    writeFileSync(empty, '\n');
    const base = ['--target', '127.0.0.1:1', '--tenant', 't', '--topic', TOPIC, '--insecure'];
    const emptyRun = await cli([...base, '--token-file', empty]);
    assert.equal(emptyRun.code, 2);
    assert.match(emptyRun.err, /^watch-tail: --token-file: .* is empty\n$/);
    assert.ok(emptyRun.ms < 2_000, `at once: ${emptyRun.ms.toFixed(0)} ms`);
    const tokenFile = path.join(dir, 'token');
    writeFileSync(tokenFile, 'x'.repeat(20));
    const proxyRun = await cli([...base, '--token-file', tokenFile, '--proxy', 'notaurl']);
    assert.equal(proxyRun.code, 2);
    assert.match(proxyRun.err, /^watch-tail: .*--proxy.*\n$/);
    assert.ok(proxyRun.ms < 2_000);
    const envRun = await cli([...base, '--token-env', 'WM_TOKEN'], { WM_TOKEN: 'a\tb' + 'c'.repeat(20) });
    assert.equal(envRun.code, 2);
    assert.match(envRun.err, /^watch-tail: --token-env: .*U\+0009/);
    tally('CLI flags', 'typed');
  });
});
