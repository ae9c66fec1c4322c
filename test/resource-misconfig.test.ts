import './support/harness';
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { WatchManager, type Logger, type WatchError, type WatchManagerOptions } from 'watch-manager';
import { FakeClock, type FakeWatchService, type WatchTopicFilter } from 'watch-manager/testing';
import { captured, scanForSecrets, serviceOptions, startService, token, until } from './support/harness';

scanForSecrets();

// What a new user gets wrong about the resource API and is told at once (issue 23's trial of the packed package): an
// apiUrl where no resource API answers, a kind of `kinds` the WatchTopic does not cover, `fields` without fetch mode.

const ENV = { kind: 'Environment', name: 'env-m' };
const filter = (kind: string, group = 'management'): WatchTopicFilter => ({
  group,
  kind,
  name: '*',
  scope: ENV,
  type: ['created', 'updated', 'deleted'],
});

/** A logger that keeps each line (`level message`) and hands it to the secret scan. */
function keepingLogger(lines: string[]): Logger {
  const keep =
    (level: string) =>
    (message: string, fields?: Record<string, unknown>): void => {
      captured.push(`${message} ${JSON.stringify(fields ?? {})}`);
      lines.push(`${level} ${message}`);
    };
  return { error: keep('error'), warn: keep('warn'), info: keep('info'), debug: keep('debug') };
}

const noop = (): void => undefined;

describe('a resource API misconfigured, told at once', () => {
  let service: FakeWatchService;
  let jwt: string;
  let managers: WatchManager[] = [];
  let topicSeq = 0;

  const manager = (lines: string[], extra: Partial<WatchManagerOptions> = {}): WatchManager => {
    const m = new WatchManager({
      ...serviceOptions(service, jwt),
      apiUrl: service.resourceApiUrl,
      from: 'beginning',
      logger: keepingLogger(lines),
      reconnect: { initialDelayMs: 10, maxDelayMs: 50 },
      ...extra,
    });
    managers.push(m);
    return m;
  };
  const newTopic = (filters: WatchTopicFilter[]): string => {
    const topic = `/management/v1alpha1/watchtopics/misconfig-${++topicSeq}`;
    service.createTopic(topic, { filters });
    return topic;
  };
  const warnings = (lines: readonly string[]): string[] => lines.filter((l) => l.startsWith('warn '));

  before(async () => {
    service = await startService();
    jwt = await token(service, { ttlMs: 3_600_000 });
  });
  after(async () => {
    await service.stop();
  });
  afterEach(async () => {
    await Promise.all(managers.map((m) => m.close()));
    managers = [];
  });

  it('an apiUrl without its /apis base: the WatchTopic is not found (TOPIC_NOT_FOUND), and the error says to check apiUrl', async () => {
    const lines: string[] = [];
    const m = manager(lines, { apiUrl: service.resourceApiUrl.replace(/\/apis$/, '') });
    const topic = newTopic([filter('APIService')]);
    const cache = await m.cache(topic);
    const err = await cache.ready().then(
      () => assert.fail('ready() resolved without a resource API'),
      (e: WatchError) => e,
    );
    assert.equal(err.code, 'TOPIC_NOT_FOUND');
    assert.match(err.message, /apiUrl, the API's base, which usually ends in \/apis/);
    assert.ok(err.message.includes(topic), err.message);
  });

  it('a historyUrl where nothing answers: the retry warning carries the cause, naming the URL tried', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const warned: Array<Record<string, unknown>> = [];
    const lines: string[] = [];
    const logger = keepingLogger(lines);
    const m = manager(lines, {
      historyUrl: `http://127.0.0.1:${port}`,
      logger: {
        ...logger,
        warn: (message, fields) => {
          logger.warn(message, fields);
          if (message.startsWith('history request failed')) warned.push(fields ?? {});
        },
      },
    });
    const topic = newTopic([filter('APIService')]);
    service.publishMany(topic, 2);
    await m.registerWatch(topic, { onEvent: noop, onError: noop });
    await until('the retry warning', () => warned.length > 0);
    assert.match(
      String(warned[0]?.['error']),
      new RegExp(`127\\.0\\.0\\.1:${port}.*ECONNREFUSED|ECONNREFUSED.*127\\.0\\.0\\.1:${port}`),
    );
  });

  describe('an apiUrl where nothing answers', () => {
    it('cache(topic).ready() waiting on a closed port: warned at the first failure, naming apiUrl', async () => {
      // A port that was open a moment ago: connections to it are refused.
      const closed = net.createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise((resolve) => closed.close(resolve));
      const clock = new FakeClock();
      const lines: string[] = [];
      const m = manager(lines, { clock, apiUrl: `http://127.0.0.1:${port}/apis` });
      const topic = newTopic([filter('APIService')]);
      const cache = await m.cache(topic);
      const ready = cache.ready().then(
        () => assert.fail('ready() resolved without a resource API'),
        (err: WatchError) => err,
      );
      const start = clock.now();
      await until('the warning', () => warnings(lines).some((l) => l.includes('resource API')));
      // Told before any retry's wait went by on the clock.
      assert.equal(clock.now(), start);
      const told = warnings(lines).filter((l) => l.includes('resource API'));
      assert.equal(told.length, 1, told.join('\n'));
      assert.match(
        told[0] ?? '',
        new RegExp(
          `^warn the resource API at http://127\\.0\\.0\\.1:${port}/apis failed: .*\\(GET http://127\\.0\\.0\\.1:${port}/apis/management/v1alpha1/watchtopics/misconfig-\\d+\\): ECONNREFUSED; retrying for up to 60 s, then RESOURCE_UNAVAILABLE; set the apiUrl option if the resource API is elsewhere$`,
        ),
      );
      await m.close();
      assert.equal((await ready).code, 'CLOSED');
    });
  });
  describe('fields without fetch mode', () => {
    it('a kind’s fields without { fetch: true }: INVALID_CONFIG at registerWatch, saying to pass it', async () => {
      const m = manager([]);
      const topic = newTopic([filter('APIService')]);
      await assert.rejects(
        m.registerWatch(topic, { kinds: { APIService: { onEvent: noop, fields: ['spec'] } } }),
        (err: WatchError) =>
          err.code === 'INVALID_CONFIG' &&
          /^invalid argument 'handlers\.kinds\.APIService\.fields': .*fetch mode.*\{ fetch: true \}/.test(err.message),
      );
      await assert.rejects(
        m.registerWatch(topic, { kinds: { APIService: { onEvent: noop, fields: ['spec'] } } }, { fetch: false }),
        { code: 'INVALID_CONFIG' },
      );
      assert.deepEqual(m.status().watches, [], 'no watch made');
      // With fetch mode, the same handlers are taken.
      const sub = await m.registerWatch(
        topic,
        { kinds: { APIService: { onEvent: noop, fields: ['spec'] } } },
        { fetch: true },
      );
      await sub.close();
    });

    it('fetch.fields without an every-kind onEvent (whose fields they are): INVALID_CONFIG naming kinds.<kind>.fields', async () => {
      const m = manager([]);
      const topic = newTopic([filter('APIService')]);
      await assert.rejects(
        m.registerWatch(topic, { kinds: { APIService: { onEvent: noop } } }, { fetch: { fields: ['spec'] } }),
        (err: WatchError) =>
          err.code === 'INVALID_CONFIG' &&
          /^invalid option 'options\.fetch\.fields': .*onEvent.*handlers\.kinds\.<kind>\.fields/.test(err.message),
      );
      const sub = await m.registerWatch(
        topic,
        { kinds: { APIService: { onEvent: noop } }, onEvent: noop },
        { fetch: { fields: ['spec'] } },
      );
      await sub.close();
    });
  });
  describe('a kind of `kinds` the WatchTopic does not cover', () => {
    it('in fetch mode: warned once per such kind, naming the kinds the topic covers', async () => {
      const lines: string[] = [];
      const m = manager(lines);
      const topic = newTopic([filter('APIService'), filter('AccessRequest'), filter('APIService')]);
      await m.registerWatch(
        topic,
        {
          kinds: {
            APIServce: { onEvent: noop },
            APIService: { onEvent: noop },
            Enviroment: { onEvent: noop },
          },
        },
        { fetch: true },
      );
      await until('the warnings', () => warnings(lines).some((l) => l.includes('kinds.')));
      // The check warns of every kind at once, after its one read.
      assert.deepEqual(
        warnings(lines).filter((l) => l.includes('kinds.')),
        ['APIServce', 'Enviroment'].map(
          (kind) =>
            `warn kinds.${kind}: the WatchTopic ${topic} covers no such kind (it covers APIService, AccessRequest): this handler is never called`,
        ),
      );
    });

    it('never delays registerWatch: a WatchTopic read that does not answer ends with its watch, silently', async () => {
      const paths: string[] = [];
      let cancelled = 0;
      const silent = http.createServer((req) => {
        paths.push(req.url ?? '');
        req.on('close', () => void cancelled++);
      });
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      try {
        const lines: string[] = [];
        const apiUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/apis`;
        const m = manager(lines, { apiUrl });
        const topic = newTopic([filter('APIService')]);
        const sub = await m.registerWatch(topic, { kinds: { APIServce: { onEvent: noop } } }, { fetch: true });
        await until('the WatchTopic read', () => paths.length === 1);
        assert.match(paths[0] ?? '', new RegExp(`^/apis${topic}\\?fields=`));
        assert.equal(m.status().watches[0]?.state, 'subscribed');
        // The watch closed: its read is cancelled (the manager and its client stay open).
        await sub.close();
        await until('the read cancelled', () => cancelled === 1);
        // Another watch's read, pending when the manager closes.
        const other = newTopic([filter('APIService')]);
        await m.registerWatch(other, { kinds: { APIServce: { onEvent: noop } } }, { fetch: true });
        await until('the second read', () => paths.length === 2);
        await m.close();
        await until('the second read cancelled', () => cancelled === 2);
        assert.deepEqual(
          lines.filter((l) => l.includes('kinds') || l.includes('resource API')),
          [],
          'nothing said of a cancelled read',
        );
      } finally {
        silent.closeAllConnections();
        await new Promise((resolve) => silent.close(resolve));
      }
    });

    it('a WatchTopic that cannot be read (403), or has no filters: a debug line, no warning', async () => {
      const lines: string[] = [];
      const m = manager(lines);
      const topic = newTopic([filter('APIService')]);
      service.setResourceFaults({ failNext: 1, status: 403 });
      try {
        await m.registerWatch(topic, { kinds: { APIServce: { onEvent: noop } } }, { fetch: true });
        await until('the debug line', () => lines.some((l) => l.startsWith('debug kinds:')));
      } finally {
        service.setResourceFaults({});
      }
      const bare = newTopic([]);
      await m.registerWatch(bare, { kinds: { APIServce: { onEvent: noop } } }, { fetch: true });
      await until('the second debug line', () => lines.filter((l) => l.startsWith('debug kinds:')).length === 2);
      assert.deepEqual(
        lines.filter((l) => l.includes('kinds')),
        [
          `debug kinds: the WatchTopic ${topic} could not be read to check the kinds it covers`,
          `debug kinds: the WatchTopic ${bare} has no spec.filters that say which kinds it covers: not checked`,
        ],
      );
      assert.deepEqual(
        warnings(lines).filter((l) => /kinds|resource API/.test(l)),
        [],
      );
    });

    it('without fetch mode: the resource API is not asked (a watch that does not use it gets no new dependency)', async () => {
      const lines: string[] = [];
      const m = manager(lines);
      const topic = newTopic([filter('APIService')]);
      let handled = false;
      await m.registerWatch(topic, {
        kinds: { APIServce: { onEvent: noop } },
        onEvent: () => void (handled = true),
      });
      service.publish(topic, { type: 'CREATED', kind: 'APIService', name: 'svc-n', scope: ENV });
      await until('the event handled', () => handled);
      assert.deepEqual(
        service.resourceRequests.filter((r) => r.includes(topic)),
        [],
        'no read of the WatchTopic',
      );
      assert.deepEqual(
        warnings(lines).filter((l) => /kinds|resource API/.test(l)),
        [],
      );
    });
  });
});
