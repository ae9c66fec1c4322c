import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FakeWatchService } from 'watch-manager/testing';
import type { Resource, WatchEvent, WatchEventType } from 'watch-manager';
import { eventRecord, resourceLine, resourceRecord, syncedLine, syncedRecord } from '../src/cli/records';
import { captured, cliArgs, scanForSecrets, startService, token } from './support/harness';
import { exitCode } from './support/exit-code';

scanForSecrets();

const CLI = path.join(__dirname, '..', 'src', 'cli', 'watch-tail.ts');
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
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      captured.push(stderr);
      const records = stdout
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      resolve({ code: exitCode(err), err: stderr, records });
    });
  });
}

describe('watch-tail: resources (--api-url, --fetch, --cache, --dump)', { timeout: 120_000 }, () => {
  let service: FakeWatchService;
  let base: string[];
  let dir: string;

  before(async () => {
    service = await startService({ topics: [TOPIC] });
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
