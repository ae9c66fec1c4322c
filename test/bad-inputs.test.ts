import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  FileSequenceStore,
  WatchError,
  WatchManager,
  type WatchErrorCode,
  type WatchManagerOptions,
} from 'watch-manager';
import { runCli } from '../src/cli/main';
import { systemClock } from '../src/core/clock';
import { HttpTransport } from '../src/transport/http-transport';
import { parseProxyUrl } from '../src/config/proxy';
import { probeProxy } from '../src/transport/proxy-probe';
import type { FakeWatchService, RawWireEvent } from 'watch-manager/testing';
import {
  Capture,
  TOPIC,
  captureLogger,
  recordError,
  scanForSecrets,
  secret,
  startService,
  token,
} from './support/harness';

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

/** `work` settles within `ms`, or the case is a hang. */
async function bounded<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`HANG: ${what} did not settle within ${ms} ms`)), ms)),
  );
  try {
    return await Promise.race([work, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** The WatchError `work` fails with (thrown synchronously or rejected), within 10 s. */
async function typedError(work: () => unknown, what: string): Promise<WatchError> {
  const err = await bounded(
    Promise.resolve()
      .then(work)
      .then(
        () => undefined,
        (e: unknown) => e,
      ),
    10_000,
    what,
  );
  assert.ok(err instanceof WatchError, `${what}: expected a WatchError, got ${String(err)}`);
  return recordError(err);
}

after(() => {
  const total = [...counts.values()].reduce((n, c) => n + c.cases, 0);
  const lines = [...counts].map(([family, c]) => `${family}: ${c.cases} (${c.typed} typed, ${c.correct} correct)`);
  process.stdout.write(
    `# bad inputs: ${total} cases — ${lines.join('; ')}; unhandled rejections: ${unhandled.length}\n`,
  );
  assert.ok(total >= 100, `at least 100 bad inputs: ${total}`);
  assert.equal(unhandled.length, 0, `no unhandled rejection or exception: ${String(unhandled[0])}`);
});

const VALID: WatchManagerOptions = { target: 'watch.example.com:443', tenantId: 'org-1', getToken: () => 'x' };

describe('options and arguments', () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['target empty', { target: '' }, /'target'/],
    ['target without port', { target: 'watch.example.com' }, /'target'/],
    ['target port 0', { target: 'h:0' }, /'target'/],
    ['target port too large', { target: 'h:99999' }, /'target'/],
    ['target with a space', { target: 'wa tch:1' }, /'target'/],
    ['target a number', { target: 443 }, /'target'/],
    ['target an unclosed IPv6', { target: '[::1:443' }, /'target'/],
    ['tenantId empty', { tenantId: '' }, /'tenantId'/],
    ['tenantId blank', { tenantId: '   ' }, /'tenantId'/],
    ['tenantId with CR', { tenantId: 'a\rb' }, /'tenantId'/],
    ['tenantId a number', { tenantId: 7 }, /'tenantId'/],
    ['getToken a string', { getToken: 'token' }, /'getToken'/],
    ['tls true', { tls: true }, /'tls'/],
    ['tls.ca not PEM', { tls: { ca: 'not a certificate' } }, /'tls\.ca'/],
    ['tls.cert without key', { tls: { cert: 'x' } }, /'tls\.cert'/],
    ['tls.minVersion TLSv1', { tls: { minVersion: 'TLSv1' } }, /'tls\.minVersion'/],
    ['tls unknown key', { tls: { verify: false } }, /'tls\.verify'/],
    ['proxy socks', { proxy: 'socks5://p:1080' }, /proxy/],
    ['proxy with a path', { proxy: 'http://p:3128/x' }, /proxy/],
    ['proxy true', { proxy: true }, /'proxy'/],
    ['proxy broken percent-encoding', { proxy: 'http://u:%zz@p:3128' }, /proxy/],
    ['entryAddress without port', { entryAddress: '10.0.0.1' }, /'entryAddress'/],
    ['keepalive negative', { keepalive: { intervalMs: -1 } }, /'keepalive\.intervalMs'/],
    ['keepalive fractional', { keepalive: { timeoutMs: 1.5 } }, /'keepalive\.timeoutMs'/],
    ['keepalive a string', { keepalive: 'fast' }, /'keepalive'/],
    ['reconnect multiplier below 1', { reconnect: { multiplier: 0.5 } }, /'reconnect\.multiplier'/],
    ['reconnect max below initial', { reconnect: { initialDelayMs: 100, maxDelayMs: 10 } }, /'reconnect\.maxDelayMs'/],
    ['tokenTimeoutMs 0', { tokenTimeoutMs: 0 }, /'tokenTimeoutMs'/],
    ['tokenTimeoutMs NaN', { tokenTimeoutMs: Number.NaN }, /'tokenTimeoutMs'/],
    ['connectTimeoutMs Infinity', { connectTimeoutMs: Number.POSITIVE_INFINITY }, /'connectTimeoutMs'/],
    ['historyTimeoutMs a string', { historyTimeoutMs: '30000' }, /'historyTimeoutMs'/],
    ['closeTimeoutMs above 2^31-1', { closeTimeoutMs: 2 ** 31 }, /'closeTimeoutMs'/],
    ['maxBufferedEvents 0', { maxBufferedEvents: 0 }, /'maxBufferedEvents'/],
    ['historyPageSize 1001', { historyPageSize: 1001 }, /'historyPageSize'/],
    ['historyUrl ftp', { historyUrl: 'ftp://h' }, /'historyUrl'/],
    ['historyUrl with credentials', { historyUrl: 'https://u:p@h' }, /'historyUrl'/],
    ['historyUrl with a query', { historyUrl: 'https://h/?x=1' }, /'historyUrl'/],
    ['historyUrl plain http with TLS on', { historyUrl: 'http://h' }, /'historyUrl'/],
    ['from yesterday', { from: 'yesterday' }, /'from'/],
    ['from negative', { from: -1 }, /'from'/],
    ['from fractional', { from: 1.5 }, /'from'/],
    ['stallTimeoutMs 0', { stallTimeoutMs: 0 }, /'stallTimeoutMs'/],
    ['stallTimeoutMs auto', { stallTimeoutMs: 'auto' }, /'stallTimeoutMs'/],
    ['stateTimeoutMs negative', { stateTimeoutMs: -5 }, /'stateTimeoutMs'/],
    ['unknownEventTypes keep', { unknownEventTypes: 'keep' }, /'unknownEventTypes'/],
    ['positionFlush everyAcks 0', { positionFlush: { everyAcks: 0 } }, /'positionFlush\.everyAcks'/],
    ['clock without random', { clock: { now: () => 0, setTimeout: () => ({ cancel: () => undefined }) } }, /'clock'/],
    [
      'logger without debug',
      { logger: { error: () => undefined, warn: () => undefined, info: () => undefined } },
      /'logger'/,
    ],
    [
      'sequenceProvider without setSequence',
      { sequenceProvider: { getSequence: () => undefined } },
      /'sequenceProvider'/,
    ],
    ['an unknown key (a typo)', { tenantID: 'x' }, /'tenantID'/],
    ['userAgent with a newline', { userAgent: 'a\nb' }, /'userAgent'/],
  ];
  for (const [name, patch, field] of cases) {
    it(`refuses option ${name} with INVALID_CONFIG naming it`, async () => {
      const err = await typedError(() => new WatchManager({ ...VALID, ...patch }), name);
      assert.equal(err.code, 'INVALID_CONFIG');
      assert.match(err.message, field);
      tally('options', 'typed');
    });
  }

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
      ['sendAgentStatus without a message', () => manager.sendAgentStatus({ state: 'running' } as never), /'status'/],
    ];
    for (const [name, call, field] of calls) {
      const err = await typedError(call, name);
      assert.equal(err.code, 'INVALID_CONFIG', name);
      assert.match(err.message, field, name);
      tally('options', 'typed');
    }
    await manager.close();
  });
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
});
