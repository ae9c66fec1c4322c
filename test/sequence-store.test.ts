import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileSequenceStore, MemorySequenceStore, WatchError, WatchManager } from 'watch-manager';
import { interceptWrites, type WriteStep } from '../src/state/durable-file';
import { PositionKeeper } from '../src/state/position-keeper';
import { FakeClock } from 'watch-manager/testing';
import { TOPIC, captureLogger, recordError, scanForSecrets, startService, token } from './support/harness';

scanForSecrets();

const dir = (): string => mkdtempSync(path.join(tmpdir(), 'wm-state-'));
const T2 = '/management/v1alpha1/watchtopics/other';

async function codeOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof WatchError, `expected a WatchError, got ${String(err)}`);
  recordError(err);
  return err.code;
}

async function written(file: string, positions: Record<string, number>): Promise<void> {
  const store = new FileSequenceStore(file);
  for (const [topic, seq] of Object.entries(positions)) await store.setSequence(topic, seq);
  await store.close();
}

/** The stored position of `topic`, read by a store of its own (closed again: each holds the file's lock). */
async function readBack(file: string, topic: string): Promise<number | undefined> {
  const store = new FileSequenceStore(file);
  try {
    return await store.getSequence(topic);
  } finally {
    await store.close();
  }
}

describe('sequence stores', () => {
  it('MemorySequenceStore only moves forward', () => {
    const store = new MemorySequenceStore();
    assert.equal(store.getSequence(TOPIC), undefined);
    store.setSequence(TOPIC, 10);
    store.setSequence(TOPIC, 7);
    assert.equal(store.getSequence(TOPIC), 10);
  });

  it('FileSequenceStore keeps many topics in one versioned, checksummed file with mode 0600', async () => {
    const file = path.join(dir(), 'positions.json');
    await written(file, { [TOPIC]: 42, [T2]: 7 });
    await written(file, { [TOPIC]: 41 }); // backwards: ignored
    assert.equal(await readBack(file, TOPIC), 42);
    assert.equal(await readBack(file, T2), 7);
    assert.equal(await readBack(file, '/management/v1alpha1/watchtopics/none'), undefined);
    const body = JSON.parse(readFileSync(file, 'utf8')) as { format: string; version: number; checksum: string };
    assert.equal(body.format, 'watch-manager.positions');
    assert.equal(body.version, 1);
    assert.match(body.checksum, /^sha256:[0-9a-f]{64}$/);
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });

  it('a missing file is a first run (no position), not an error', async () => {
    assert.equal(await readBack(path.join(dir(), 'new.json'), TOPIC), undefined);
  });

  it('coalesces concurrent writes and never loses the last one', async () => {
    const file = path.join(dir(), 'positions.json');
    const store = new FileSequenceStore(file);
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.setSequence(i % 2 === 0 ? TOPIC : T2, i + 1)));
    await store.close();
    assert.equal(await readBack(file, TOPIC), 49);
    assert.equal(await readBack(file, T2), 50);
  });

  const broken: Array<[string, (file: string) => void, string]> = [
    ['truncated', (f) => writeFileSync(f, readFileSync(f, 'utf8').slice(0, 40)), 'STATE_CORRUPT'],
    ['empty (a torn write)', (f) => writeFileSync(f, ''), 'STATE_CORRUPT'],
    ['garbage', (f) => writeFileSync(f, '\u0000\u0001 not json at all'), 'STATE_CORRUPT'],
    ['another format', (f) => writeFileSync(f, JSON.stringify({ positions: {} })), 'STATE_CORRUPT'],
    [
      'a wrong version',
      (f) => writeFileSync(f, readFileSync(f, 'utf8').replace('"version":1', '"version":9')),
      'STATE_CORRUPT',
    ],
    [
      'a position edited by hand (checksum)',
      (f) => writeFileSync(f, readFileSync(f, 'utf8').replace(':42', ':43')),
      'STATE_CORRUPT',
    ],
    ['a negative position', (f) => writeFileSync(f, readFileSync(f, 'utf8').replace(':42', ':-1')), 'STATE_CORRUPT'],
  ];
  for (const [name, damage, code] of broken) {
    it(`a position file that is ${name} is ${code}, never "no position"`, async () => {
      const file = path.join(dir(), 'positions.json');
      await written(file, { [TOPIC]: 42 });
      damage(file);
      assert.equal(await codeOf(new FileSequenceStore(file).getSequence(TOPIC)), code);
    });
  }

  it('an unreadable position file (a directory in its place) is STATE_IO', async () => {
    const file = path.join(dir(), 'positions.json');
    mkdirSync(file);
    assert.equal(await codeOf(new FileSequenceStore(file).getSequence(TOPIC)), 'STATE_IO');
  });

  it('a missing directory is STATE_IO, for reads and writes', async () => {
    const file = path.join(dir(), 'no', 'such', 'dir', 'positions.json');
    assert.equal(await codeOf(new FileSequenceStore(file).getSequence(TOPIC)), 'STATE_IO');
    assert.equal(await codeOf(new FileSequenceStore(file).setSequence(TOPIC, 1)), 'STATE_IO');
  });

  const steps: WriteStep[] = ['open', 'write', 'sync', 'rename', 'sync-dir'];
  for (const step of steps) {
    it(`a write interrupted before '${step}' leaves a file that reads back as the old or the new position`, async () => {
      const d = dir();
      const file = path.join(d, 'positions.json');
      await written(file, { [TOPIC]: 5 });
      const crashing = new FileSequenceStore(file);
      interceptWrites(crashing, (s) => {
        if (s === step) throw new Error(`crash before ${s}`);
      });
      await assert.rejects(crashing.setSequence(TOPIC, 9));
      await crashing.close();
      const after = await readBack(file, TOPIC);
      // Before the rename nothing of the new version is visible; once renamed, it is whole.
      assert.equal(after, step === 'sync-dir' ? 9 : 5);
      assert.deepEqual(
        readdirSync(d).filter((n) => n.includes('.tmp-')),
        [],
        'no temp file left behind',
      );
    });
  }

  it('a partial temp file left by a crash is never read, and is cleaned up at start', async () => {
    const d = dir();
    const file = path.join(d, 'positions.json');
    await written(file, { [TOPIC]: 5 });
    writeFileSync(`${file}.tmp-99999-1`, '{"format":"watch-manager.positions","version":1,"positions":{"');
    assert.equal(await readBack(file, TOPIC), 5);
    assert.deepEqual(readdirSync(d), ['positions.json']);
  });

  it('a manager whose position file is corrupt refuses to start the watch with STATE_CORRUPT', async () => {
    const service = await startService();
    const jwt = await token(service);
    const file = path.join(dir(), 'positions.json');
    writeFileSync(file, '{"format":"watch-manager.positions","version":1,"positions":{"/x":1},"checksum":"sha256:00"}');
    const manager = new WatchManager({
      target: service.target,
      tenantId: service.tenantId,
      historyUrl: service.historyUrl,
      getToken: () => jwt,
      tls: false,
      logger: captureLogger(),
      sequenceProvider: new FileSequenceStore(file),
    });
    assert.equal(await codeOf(manager.registerWatch(TOPIC, { onEvent: () => undefined })), 'STATE_CORRUPT');
    assert.equal(service.counters.subscribes, 0, 'nothing was fetched on a guess');
    await manager.close();
    await service.stop();
  });
});

describe('position flush policy', () => {
  it('writes after everyAcks acknowledgements or intervalMs after the first unsaved one, and always on flush', async () => {
    const clock = new FakeClock();
    const writes: number[] = [];
    const keeper = new PositionKeeper({
      provider: { getSequence: () => undefined, setSequence: (_t: string, s: number) => void writes.push(s) },
      topic: TOPIC,
      maxUnsaved: 1_000,
      onError: () => undefined,
      flush: { everyAcks: 3, intervalMs: 500, clock },
    });
    keeper.record(1);
    keeper.record(2);
    assert.deepEqual(writes, [], 'not yet: 2 of 3');
    keeper.record(3);
    assert.deepEqual(writes, [3], 'the third acknowledgement writes');
    keeper.record(4);
    await clock.advance(499);
    assert.deepEqual(writes, [3]);
    await clock.advance(1);
    assert.deepEqual(writes, [3, 4], 'the interval writes the rest');
    keeper.record(5);
    await keeper.flush();
    assert.deepEqual(writes, [3, 4, 5], 'flush (close) writes at once');
    assert.equal(clock.pending, 0, 'and leaves no timer');
  });

  it('close() writes the last position even while a batched write runs, and leaves no timer', async () => {
    const clock = new FakeClock();
    const writes: number[] = [];
    let release: (() => void) | undefined;
    const slow = {
      getSequence: () => undefined,
      setSequence: (_t: string, s: number) =>
        new Promise<void>((resolve) => {
          writes.push(s);
          release = resolve;
        }),
    };
    const keeper = new PositionKeeper({
      provider: slow,
      topic: TOPIC,
      maxUnsaved: 1_000,
      onError: () => undefined,
      flush: { everyAcks: 3, intervalMs: 500, clock },
    });
    for (let i = 1; i <= 3; i++) keeper.record(i); // a write of 3 starts
    keeper.record(4);
    keeper.record(5);
    const closing = keeper.close();
    release?.();
    await new Promise((resolve) => setImmediate(resolve));
    release?.();
    await closing;
    assert.deepEqual(writes, [3, 5]);
    assert.equal(clock.pending, 0);
    keeper.record(6);
    assert.deepEqual(writes, [3, 5], 'nothing is written after close');
  });
});
