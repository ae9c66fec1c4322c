import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FakeWatchService, WatchTopicFilter } from 'watch-manager/testing';
import type { Resource, WatchEvent, WatchEventType } from 'watch-manager';
import { eventRecord, resourceLine, resourceRecord, syncedLine, syncedRecord } from '../src/cli/records';
import { captured, cliArgs, scanForSecrets, startService, token, until } from './support/harness';
import { exitCode } from './support/exit-code';
import { endsWithParent } from './support/watchdog';
import { bundledFixture } from './support/bundled-fixture';

scanForSecrets();

const CLI = path.join(__dirname, '..', 'src', 'cli', 'watch-tail.ts');
/** The bundle of CLI (set before the tests run): each start of the binary skips compiling it. */
let program: string;
const TOPIC = '/management/v1alpha1/watchtopics/cli-resources';
const ENV = { kind: 'Environment', name: 'env-1' };

interface Run {
  code: number;
  err: string;
  records: Array<Record<string, unknown>>;
}

/** Runs the real `watch-tail` binary to its end; stdout parsed as JSON records, stderr kept for the secret scan. */
function watchTail(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [program, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      captured.push(stderr);
      const records = stdout
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      resolve({ code: exitCode(err), err: stderr, records });
    });
  });
}

interface Tail {
  records: () => Array<Record<string, unknown>>;
  signal: (name: NodeJS.Signals) => void;
  exited: Promise<Run>;
}

/** Starts the real `watch-tail` binary; its records can be read while it runs. */
function startTail(args: string[]): Tail {
  const child = spawn(process.execPath, [program, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  endsWithParent(child);
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
    captured.push(chunk);
  });
  const records = (): Array<Record<string, unknown>> =>
    out
      .split('\n')
      .filter((line) => line.endsWith('}'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  // Ended if it runs past its time (as execFile's timeout does), so that a tail waiting for records that never come
  // fails with its own output rather than the test's timeout.
  const deadline = setTimeout(() => child.kill('SIGKILL'), 60_000);
  child.once('close', () => clearTimeout(deadline));
  return {
    records,
    signal: (name) => void child.kill(name),
    // 'close', not 'exit': only then has all of the child's output been read.
    exited: new Promise((resolve) =>
      child.once('close', (code) => resolve({ code: code ?? -1, err, records: records() })),
    ),
  };
}

describe('watch-tail: resources (--api-url, --fetch, --cache, --dump)', { timeout: 120_000 }, () => {
  let service: FakeWatchService;
  let base: string[];
  let dir: string;

  before(async () => {
    [service, program] = await Promise.all([startService({ topics: [TOPIC] }), bundledFixture(CLI)]);
    dir = mkdtempSync(path.join(tmpdir(), 'wm-cli-resources-'));
    const file = path.join(dir, 'token');
    writeFileSync(file, await token(service, { ttlMs: 3_600_000 }));
    base = cliArgs(service, file);
  });
  after(async () => {
    await service.stop();
  });

  const refused: Array<[string, string[], RegExp]> = [
    ['--cache with --state-file', ['--cache', 'c', '--state-file', 's.json'], /^watch-tail: --cache and --state-file/],
    ['--cache with --from (even the default spelled out)', ['--cache', 'c', '--from', 'latest'], /--from .*--cache/],
    ['--dump without --cache', ['--dump'], /^watch-tail: --dump needs --cache/],
    ['--cache with --postgres', ['--cache', 'c', '--postgres', 'postgres://u@h/db'], /--cache and --postgres/],
    ['an empty --cache', ['--cache', ''], /^watch-tail: --cache: /],
    [
      '--cache naming a file (with --dump too)',
      ['--cache', __filename, '--dump'],
      /^watch-tail: --cache: cannot make the directory/,
    ],
    ['--api-url without a value', ['--api-url'], /--api-url/],
    ['--api-url that is not an http(s) URL', ['--api-url', 'ftp://host/apis'], /^watch-tail: .*--api-url/],
    ['--api-url with a query', ['--api-url', 'http://host/apis?x=1'], /^watch-tail: .*--api-url.*query/],
  ];
  for (const [name, flags, message] of refused) {
    it(`exits 2 with one line naming the flag: ${name}`, async () => {
      // Everything else valid, so the refusal is the flag's own.
      const run = await watchTail([...base, '--topic', TOPIC, ...flags]);
      assert.equal(run.code, 2, run.err);
      assert.deepEqual(run.records, []);
      assert.match(run.err, /^watch-tail: [^\n]+\n$/);
      assert.match(run.err, message);
    });
  }

  it('--fetch with --api-url: each event record carries its resource as the API serves it, or gone: true after a 404; DELETED carries neither', async () => {
    const link = (name: string): string => `/management/v1alpha1/environments/env-1/apiservices/${name}`;
    const publish = (type: WatchEventType, name: string, more: object = {}): WatchEvent =>
      service.publish(TOPIC, { type, kind: 'APIService', name, scope: ENV, ...more });
    const first = publish('CREATED', 'svc-a', { spec: { endpoint: 'https://a.example' } }).sequenceId;
    publish('CREATED', 'svc-s');
    publish('SUBRESOURCEUPDATED', 'svc-s', { subresource: 'status', subresources: { status: { phase: 'ready' } } });
    publish('CREATED', 'svc-d');
    publish('DELETED', 'svc-d'); // deleted before the tail reads it: its CREATED is fetched as a 404
    publish('UPDATED', 'svc-a', { spec: { endpoint: 'https://a2.example' } });
    const gets = service.resourceCounters.gets;

    const run = await watchTail([
      ...base,
      '--api-url',
      service.resourceApiUrl,
      '--topic',
      TOPIC,
      '--from',
      String(first - 1),
      '--fetch',
      '--json',
      '--max-events',
      '6',
    ]);
    assert.equal(run.code, 0, run.err);
    const events = run.records.filter((r) => r.record === 'event');
    const summary = events.map((r) => {
      const payload = r.payload as { name: string };
      return [r.type, payload.name, 'resource' in r, r.gone];
    });
    assert.deepEqual(summary, [
      ['CREATED', 'svc-a', true, undefined],
      ['CREATED', 'svc-s', true, undefined],
      ['SUBRESOURCEUPDATED', 'svc-s', true, undefined],
      ['CREATED', 'svc-d', false, true],
      ['DELETED', 'svc-d', false, undefined],
      ['UPDATED', 'svc-a', true, undefined],
    ]);
    // Read after every event was published: each holds the resource as the API serves it now, whole.
    const a = service.resource(link('svc-a'));
    const s = service.resource(link('svc-s'));
    assert.deepEqual(events[0]?.resource, a);
    assert.deepEqual(events[5]?.resource, a);
    assert.deepEqual((a as Resource).spec, { endpoint: 'https://a2.example' });
    assert.deepEqual(events[1]?.resource, s);
    assert.deepEqual(events[2]?.resource, s);
    assert.deepEqual((s as Resource).status, { phase: 'ready' });
    assert.equal(service.resource(link('svc-d')), undefined);
    // One GET per fetched event: DELETED is never fetched.
    assert.equal(service.resourceCounters.gets - gets, 5);
  });

  it('--cache: an initial sync (a synced record), then the events after it; a restart resumes without listing; --dump writes every cached resource ordered by topic then self link and exits 0', async () => {
    // Given in the order opposite to the dump's: the dump orders by topic, not by the command line.
    const zeta = '/management/v1alpha1/watchtopics/cli-cache-zeta';
    const alpha = '/management/v1alpha1/watchtopics/cli-cache-alpha';
    // Topics of other kinds: the fake keeps one resource state for all its topics, and a topic's events are all that
    // reach its cache.
    const anyEnvironment = { kind: 'Environment', name: '*' };
    const filter = (group: string, kind: string): WatchTopicFilter => ({
      group,
      kind,
      name: '*',
      scope: anyEnvironment,
      type: ['created', 'updated', 'deleted'],
    });
    service.createTopic(zeta, {
      filters: [filter('management', 'AccessRequest'), filter('catalog', 'ConsumerInstance')],
    });
    service.createTopic(alpha, { filters: [filter('management', 'APIService')] });
    const publishZeta = (count: number): WatchEvent[] =>
      Array.from({ length: count }, (_, i) =>
        service.publish(zeta, i % 2 === 0 ? { kind: 'AccessRequest' } : { kind: 'ConsumerInstance', group: 'catalog' }),
      );
    publishZeta(40);
    service.publishMany(alpha, 20, { kind: 'APIService' });
    const cache = path.join(dir, 'cache');
    const args = [
      ...base,
      '--api-url',
      service.resourceApiUrl,
      '--topic',
      zeta,
      '--topic',
      alpha,
      '--cache',
      cache,
      '--json',
    ];
    const synced = (records: Array<Record<string, unknown>>): Array<Record<string, unknown>> =>
      records.filter((r) => r.record === 'synced');
    const events = (records: Array<Record<string, unknown>>): Array<[unknown, unknown]> =>
      records.filter((r) => r.record === 'event').map((r) => [r.topic, r.sequenceId]);

    // A first run: each topic synced at the newest event before its lists, then every event after it: one published
    // while zeta's list is read (an update, so the count is the same whether the list saw it or not) too.
    const updated = service.coveredResources(zeta).find((r) => r.kind === 'AccessRequest') as Resource;
    const { kind: scopeKind, name: scopeName } = updated.metadata.scope as { kind: string; name: string };
    let midList: number | undefined;
    service.setResourceFaults({
      beforePage: ({ collection }) => {
        if (midList !== undefined || !collection.includes('accessrequests')) return;
        midList = service.publish(zeta, {
          type: 'UPDATED',
          kind: 'AccessRequest',
          name: updated.name,
          scope: { kind: scopeKind, name: scopeName },
        }).sequenceId;
      },
    });
    const newest = {
      zeta: (publishZeta(1)[0] as WatchEvent).sequenceId,
      alpha: service.publish(alpha, { kind: 'APIService' }).sequenceId,
    };
    const listsBefore = service.resourceCounters.lists;
    const first = startTail([...args, '--max-events', '5']);
    await until('both topics synced', () => synced(first.records()).length === 2, 60_000);
    assert.deepEqual(
      synced(first.records()).sort((a, b) => String(a.topic).localeCompare(String(b.topic))),
      [
        { record: 'synced', topic: alpha, resources: service.coveredResources(alpha).length, sequenceId: newest.alpha },
        { record: 'synced', topic: zeta, resources: service.coveredResources(zeta).length, sequenceId: newest.zeta },
      ],
    );
    assert.ok(service.resourceCounters.lists > listsBefore, 'the first run listed the topics');
    service.setResourceFaults({});
    assert.ok(midList !== undefined, 'an event was published while zeta was listed');
    const z = publishZeta(2).map((e) => e.sequenceId);
    const a = service.publishMany(alpha, 2, { kind: 'APIService' }).map((e) => e.sequenceId);
    const firstRun = await first.exited;
    assert.equal(firstRun.code, 0, firstRun.err);
    assert.deepEqual(
      events(firstRun.records).sort(),
      [...a.map((n) => [alpha, n]), ...[midList, ...z].map((n) => [zeta, n])].sort(),
      'exactly the events after each sync',
    );
    // Per topic (the topics sync at their own pace: one's events may come before another's sync).
    for (const topic of [alpha, zeta]) {
      const own = firstRun.records.filter((r) => r.topic === topic && r.record !== 'live');
      assert.equal(own[0]?.record, 'synced', `${topic}: its synced record before any of its events`);
      assert.equal(synced(own).length, 1, `${topic}: one synced record`);
    }

    // Changes while it is down; a restart with --dump: no list, the cache brought up to date by the events.
    const down = [
      service.publish(zeta, { type: 'CREATED', kind: 'AccessRequest', name: 'ar-new', scope: ENV }).sequenceId,
      publishZeta(3).map((e) => e.sequenceId),
    ].flat();
    const victim = service.coveredResources(alpha)[0] as Resource;
    const place = victim.metadata.scope as { kind: string; name: string };
    service.publish(alpha, {
      type: 'DELETED',
      kind: 'APIService',
      name: victim.name,
      scope: { kind: place.kind, name: place.name },
    });
    const listsAtRestart = service.resourceCounters.lists;
    const dump = await startTail([...args, '--dump']).exited;
    assert.equal(dump.code, 0, dump.err);
    assert.equal(service.resourceCounters.lists, listsAtRestart, 'a restart lists nothing');
    assert.deepEqual(synced(dump.records), []);
    assert.deepEqual(events(dump.records), [], '--dump writes no event');
    const expected = [alpha, zeta].flatMap((topic) =>
      service
        .coveredResources(topic)
        .map((resource) => ({ record: 'resource', topic, selfLink: resource.metadata.selfLink, resource }))
        .sort((x, y) => (x.selfLink < y.selfLink ? -1 : x.selfLink > y.selfLink ? 1 : 0)),
    );
    assert.deepEqual(
      dump.records.map((r) => `${String(r.topic)} ${String(r.selfLink)}`),
      expected.map((r) => `${r.topic} ${r.selfLink}`),
    );
    assert.deepEqual(dump.records, JSON.parse(JSON.stringify(expected)));
    assert.ok(expected.some((r) => r.resource.name === 'ar-new'));

    // The events the first run did not write, after the last it wrote: the positions are kept in the directory.
    const resumed = await startTail([...args, '--fetch', '--max-events', String(down.length + 1)]).exited;
    assert.equal(resumed.code, 0, resumed.err);
    assert.equal(service.resourceCounters.lists, listsAtRestart, 'still no list');
    assert.deepEqual(synced(resumed.records), []);
    assert.deepEqual(
      events(resumed.records).filter(([topic]) => topic === zeta),
      down.map((n) => [zeta, n]),
    );
    // With --fetch too: a resource (or gone) on every event but a DELETED.
    const fetched = resumed.records
      .filter((r) => r.record === 'event')
      .map((r) => [r.type, 'resource' in r || r.gone === true]);
    assert.ok(
      fetched.every(([type, has]) => has === (type !== 'DELETED')),
      JSON.stringify(fetched),
    );
  });

  it('--cache: a stored position history no longer holds is re-listed: a synced record at the newest event, and the cache equals the service', async () => {
    const topic = '/management/v1alpha1/watchtopics/cli-cache-purged';
    service.createTopic(topic, {
      filters: [
        {
          group: 'management',
          kind: 'AccessRequest',
          name: '*',
          scope: { kind: 'Environment', name: '*' },
          type: ['created', 'updated', 'deleted'],
        },
      ],
    });
    service.publishMany(topic, 10, { kind: 'AccessRequest' });
    const cache = path.join(dir, 'cache-purged');
    const args = [...base, '--api-url', service.resourceApiUrl, '--topic', topic, '--cache', cache, '--json', '--dump'];
    const first = await watchTail(args);
    assert.equal(first.code, 0, first.err);
    // While it is down: changes, and the history of all of them purged (a resume from the stored position is 410).
    const newest = service.publishMany(topic, 30, { kind: 'AccessRequest' }).at(-1)?.sequenceId as number;
    service.purgeHistory(topic, newest);
    const lists = service.resourceCounters.lists;
    const second = await watchTail(args);
    assert.equal(second.code, 0, second.err);
    assert.ok(service.resourceCounters.lists > lists, 'listed again');
    const covered = service.coveredResources(topic);
    assert.deepEqual(
      second.records.filter((r) => r.record === 'synced'),
      [{ record: 'synced', topic, resources: covered.length, sequenceId: newest }],
    );
    assert.deepEqual(
      second.records.filter((r) => r.record === 'resource').map((r) => r.resource),
      JSON.parse(
        JSON.stringify(
          [...covered].sort((a, b) =>
            a.metadata.selfLink < b.metadata.selfLink ? -1 : a.metadata.selfLink > b.metadata.selfLink ? 1 : 0,
          ),
        ),
      ),
    );
  });

  it("--cache: a topic its cache holds but the tail has no position for (a crash between their first writes, or positions.json removed) starts with a synced record at the cache's position, then the events after it", async () => {
    const topic = '/management/v1alpha1/watchtopics/cli-cache-no-position';
    service.createTopic(topic, {
      filters: [{ group: 'management', kind: 'Secret', name: '*', scope: ENV, type: ['created', 'updated'] }],
    });
    service.publishMany(topic, 4, { kind: 'Secret', type: 'CREATED', scope: ENV });
    const cache = path.join(dir, 'cache-no-position');
    const common = [...base, '--api-url', service.resourceApiUrl, '--topic', topic, '--cache', cache, '--json'];
    // --dump keeps the cache and writes no event position: the state a crash leaves after the cache's first write.
    const first = await watchTail([...common, '--dump']);
    assert.equal(first.code, 0, first.err);
    const held = service.coveredResources(topic).length;
    const stored = service.topic(topic)?.newestSequenceId as number;
    const later = service.publishMany(topic, 3, { kind: 'Secret', type: 'CREATED', scope: ENV });
    const lists = service.resourceCounters.lists;
    const second = await watchTail([...common, '--max-events', '3']);
    assert.equal(second.code, 0, second.err);
    assert.equal(service.resourceCounters.lists, lists, 'resumed from the store, not listed again');
    assert.deepEqual(
      second.records.filter((r) => r.record !== 'live').map((r) => (r.record === 'event' ? r.sequenceId : r.record)),
      ['synced', ...later.map((e) => e.sequenceId)],
    );
    assert.deepEqual(second.records[0], { record: 'synced', topic, resources: held, sequenceId: stored });
  });

  it('--cache: a directory another watch-tail holds is refused (exit 1, STATE_LOCKED); SIGTERM ends the holder with 0', async () => {
    const topic = '/management/v1alpha1/watchtopics/cli-cache-locked';
    service.createTopic(topic);
    service.publishMany(topic, 5);
    const cache = path.join(dir, 'cache-locked');
    const args = [...base, '--api-url', service.resourceApiUrl, '--topic', topic, '--cache', cache, '--json'];
    const holder = startTail(args);
    try {
      await until('the holder synced', () => holder.records().some((r) => r.record === 'synced'), 60_000);
      const second = await watchTail(args);
      assert.equal(second.code, 1, second.err);
      // The last line (a Node.js line past its end of life is told first, once the flags are accepted).
      assert.match(second.err, /(^|\n)watch-tail: STATE_LOCKED: resource store [^\n]+ is locked by process [^\n]+\n$/);
    } finally {
      holder.signal('SIGTERM');
    }
    const held = await holder.exited;
    assert.equal(held.code, 0, held.err);
  });

  it('without --fetch: event records are as they always were, and no resource is read', async () => {
    const first = service.publish(TOPIC, { type: 'CREATED', kind: 'APIService', name: 'svc-plain', scope: ENV });
    const gets = service.resourceCounters.gets;
    const run = await watchTail([
      ...base,
      '--api-url',
      service.resourceApiUrl,
      '--topic',
      TOPIC,
      '--from',
      String(first.sequenceId - 1),
      '--json',
      '--max-events',
      '1',
    ]);
    assert.equal(run.code, 0, run.err);
    const event = run.records.find((r) => r.record === 'event');
    assert.deepEqual(Object.keys(event ?? {}), ['record', 'topic', 'sequenceId', 'id', 'type', 'time', 'payload']);
    assert.equal(service.resourceCounters.gets, gets);
  });
});

describe('watch-tail records of resources (docs/cli.md#output-records)', () => {
  const resource = {
    group: 'management',
    apiVersion: 'v1alpha1',
    kind: 'APIService',
    name: 'svc-a',
    metadata: { id: 'id-1', selfLink: '/management/v1alpha1/environments/env-1/apiservices/svc-a' },
    spec: { endpoint: 'https://a.example' },
  } satisfies Resource;

  it('synced: exactly {record, topic, resources, sequenceId}, in that order', () => {
    const notice = { topic: TOPIC, resources: 12, sequenceId: 40, cause: 'resync' };
    assert.equal(
      JSON.stringify(syncedRecord(notice)),
      `{"record":"synced","topic":"${TOPIC}","resources":12,"sequenceId":40}`,
    );
    assert.equal(syncedLine(notice), `-- synced: ${TOPIC}: 12 resources as of #40`);
  });

  it('resource: exactly {record, topic, selfLink, resource}, the resource as cached', () => {
    assert.equal(
      JSON.stringify(resourceRecord(TOPIC, resource)),
      `{"record":"resource","topic":"${TOPIC}","selfLink":"${resource.metadata.selfLink}","resource":${JSON.stringify(resource)}}`,
    );
    assert.match(resourceLine(TOPIC, resource), /^cli-resources +APIService\/svc-a +\/management\/.*\/svc-a$/);
  });

  it('event: resource after payload when fetched, gone: true after a 404, neither otherwise', () => {
    const event = {
      topic: TOPIC,
      sequenceId: 7,
      id: 'e-7',
      type: 'UPDATED',
      time: '2026-01-01T00:00:00.000+0000',
      subresource: '',
      payload: { group: 'management', kind: 'APIService', name: 'svc-a', metadata: resource.metadata, attributes: {} },
    } as unknown as WatchEvent;
    assert.deepEqual(Object.keys(eventRecord({ ...event, resource })).slice(-2), ['payload', 'resource']);
    assert.equal(eventRecord({ ...event, resource }).resource, resource);
    assert.deepEqual(Object.keys(eventRecord({ ...event, gone: true })).slice(-2), ['payload', 'gone']);
    assert.equal(eventRecord({ ...event, gone: true }).gone, true);
    assert.deepEqual(Object.keys(eventRecord({ ...event, gone: false })).slice(-1), ['payload']);
    assert.deepEqual(Object.keys(eventRecord(event)).slice(-1), ['payload']);
  });
});
