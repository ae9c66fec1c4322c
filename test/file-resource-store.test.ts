import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  FileResourceStore,
  MemoryResourceStore,
  WatchError,
  type Resource,
  type ResourceStore,
  type StoredCache,
} from 'watch-manager';
import { resourceStoreContract, seededRandom } from 'watch-manager/testing';
import { interceptWrites } from '../src/state/durable-file';
import { parseLines } from '../src/state/file-resource-store';
import { recordError, scanForSecrets } from './support/harness';
import { endsWithParent } from './support/watchdog';
import { ageKilledHoldersLock } from './support/killed-holders-lock';
import { bundledFixture } from './support/bundled-fixture';
import { WORKLOAD_TOPIC, stateAt } from './fixtures/resource-store-workload';

scanForSecrets();

// The file store of the resource cache and the contract kit every resource store runs (issue 23, part C).

const dir = (): string => mkdtempSync(path.join(tmpdir(), 'wm-resources-'));
const TOPIC = '/management/v1alpha1/watchtopics/files';
/** Each store's directory, so that reopen() finds the same storage. */
const homes = new WeakMap<ResourceStore, string>();

function fileStore(
  directory: string,
  options: { compactAfterBytes?: number; fsync?: boolean } = {},
): FileResourceStore {
  const store = new FileResourceStore({ directory, lockStaleMs: 2_000, ...options });
  homes.set(store, directory);
  return store;
}

function resource(name: string, value: unknown = 1): Resource {
  return {
    group: 'management',
    apiVersion: 'v1alpha1',
    kind: 'APIService',
    name,
    metadata: { id: `id-${name}`, selfLink: `/management/v1alpha1/environments/env/apiservices/${name}` },
    spec: { value },
  };
}

function bySelfLink(cache: StoredCache | undefined): Record<string, Resource> {
  assert.ok(cache !== undefined, 'nothing loaded');
  const entries = cache.resources.map((r): [string, Resource] => [r.metadata.selfLink, r]);
  return Object.fromEntries(entries.sort(([a], [b]) => a.localeCompare(b)));
}

async function errorOf(p: Promise<unknown>): Promise<WatchError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof WatchError, `expected a WatchError, got ${String(err)}`);
  return recordError(err);
}

/** The one file of `directory` ending in `suffix` (a store of one topic). */
function fileOf(directory: string, suffix: '.snapshot' | '.log'): string {
  const names = readdirSync(directory).filter((n) => n.endsWith(suffix));
  assert.equal(names.length, 1, `one ${suffix} file in ${directory}: ${names.join(', ')}`);
  return path.join(directory, names[0] as string);
}

describe('the ResourceStore contract', () => {
  for (const check of resourceStoreContract('MemoryResourceStore', () => new MemoryResourceStore()))
    it(check.name, check.run);
  for (const check of resourceStoreContract('FileResourceStore', () => fileStore(dir()), {
    reopen: (previous) => fileStore(homes.get(previous) as string),
  }))
    it(check.name, check.run);
  for (const check of resourceStoreContract('FileResourceStore (fsync off)', () => fileStore(dir(), { fsync: false }), {
    reopen: (previous) => fileStore(homes.get(previous) as string),
  }))
    it(check.name, check.run);
  for (const check of resourceStoreContract('FileResourceStore (compacting at every apply)', () =>
    fileStore(dir(), { compactAfterBytes: 1 }),
  ))
    it(check.name, check.run);

  it('the contract can fail: a store that forgets, ignores a delete, or keeps nothing across a restart fails its checks', async () => {
    const failed = async (...args: Parameters<typeof resourceStoreContract>): Promise<string[]> => {
      const names: string[] = [];
      for (const check of resourceStoreContract(...args)) await check.run().catch(() => names.push(check.name));
      return names;
    };
    const forgetful = (): ResourceStore => ({
      load: () => Promise.resolve(undefined),
      replace: () => Promise.resolve(),
      apply: () => Promise.resolve(),
    });
    assert.ok((await failed('forgetful', forgetful)).some((n) => n.startsWith('forgetful: replace then load')));
    const noDeletes = (): ResourceStore => {
      const inner = new MemoryResourceStore();
      return {
        load: (t) => inner.load(t),
        replace: (t, r, p) => inner.replace(t, r, p),
        apply: (t, c, p) =>
          inner.apply(
            t,
            c.filter((x) => x.op === 'put'),
            p,
          ),
      };
    };
    assert.ok((await failed('no-deletes', noDeletes)).some((n) => n.startsWith('no-deletes: apply puts')));
    const stuck = (): ResourceStore => {
      const inner = new MemoryResourceStore();
      return {
        load: (t) => inner.load(t),
        replace: (t, r, p) => inner.replace(t, r, p),
        apply: () => Promise.resolve(),
      };
    };
    assert.ok((await failed('stuck', stuck)).some((n) => n.startsWith('stuck: an empty apply moves the position')));
    const volatile = (): ResourceStore => new MemoryResourceStore();
    assert.ok(
      (await failed('volatile', volatile, { reopen: () => new MemoryResourceStore() })).some((n) =>
        n.startsWith('volatile: durable'),
      ),
    );
  });
});

describe('FileResourceStore', () => {
  it('options are checked once, at construction: INVALID_CONFIG', () => {
    const bad: unknown[] = [
      undefined,
      {},
      { directory: '' },
      { directory: dir(), compactAfterBytes: 0 },
      { directory: dir(), compactAfterBytes: 1.5 },
      { directory: dir(), fsync: 'yes' },
      { directory: dir(), lockStaleMs: 10 },
      { directory: dir(), directroy: 'typo' },
    ];
    for (const options of bad) {
      assert.throws(
        () => new FileResourceStore(options as never),
        (err: unknown) => err instanceof WatchError && err.code === 'INVALID_CONFIG',
        JSON.stringify(options),
      );
    }
  });

  it('an apply to a topic never stored starts from no resources (its first snapshot), also after a restart', async () => {
    const home = dir();
    const store = fileStore(home);
    await store.apply(
      TOPIC,
      [
        { op: 'put', resource: resource('a') },
        { op: 'delete', selfLink: resource('absent').metadata.selfLink },
      ],
      9,
    );
    await store.apply(TOPIC, [{ op: 'put', resource: resource('b') }], 10);
    assert.deepEqual(
      bySelfLink(await store.load(TOPIC)),
      bySelfLink({ position: 0, resources: [resource('a'), resource('b')] }),
    );
    await store.close();
    const again = fileStore(home);
    assert.equal((await again.load(TOPIC))?.position, 10);
    await again.close();
  });

  it('an apply appends its change and nothing more: the cost of a change is the change, not the cache', async () => {
    const home = dir();
    const store = fileStore(home);
    try {
      const many = Array.from({ length: 2_000 }, (_, i) => resource(`r${i}`, 'x'.repeat(200)));
      await store.replace(TOPIC, many, 1);
      const snapshot = fileOf(home, '.snapshot');
      const snapshotBefore = statSync(snapshot).mtimeMs;
      const log = fileOf(home, '.log');
      for (let position = 2; position <= 21; position++) {
        const before = statSync(log).size;
        const change = { op: 'put' as const, resource: resource(`r${position}`, position) };
        await store.apply(TOPIC, [change], position);
        const grown = statSync(log).size - before;
        const bare = Buffer.byteLength(JSON.stringify(change));
        assert.ok(grown < bare + 80, `one change of ${bare} bytes appended ${grown} bytes`);
      }
      assert.equal(statSync(snapshot).mtimeMs, snapshotBefore, 'the snapshot was rewritten by an apply');
      assert.equal((await store.load(TOPIC))?.position, 21);
    } finally {
      await store.close();
    }
  });

  it('a torn last record (a crash during an append) is dropped at load and cut off, and later appends load', async () => {
    const home = dir();
    let store = fileStore(home);
    await store.replace(TOPIC, [resource('a')], 1);
    await store.apply(TOPIC, [{ op: 'put', resource: resource('b') }], 2);
    await store.apply(TOPIC, [{ op: 'put', resource: resource('c') }], 3);
    await store.close();
    const log = fileOf(home, '.log');
    const whole = readFileSync(log);
    const lastStart = whole.lastIndexOf('\n', whole.length - 2) + 1;
    for (const torn of [
      whole.subarray(0, whole.length - 1), // all but its newline
      whole.subarray(0, lastStart + 10), // a prefix of it
      Buffer.concat([whole.subarray(0, lastStart), Buffer.alloc(300)]), // pages of zeros (a power loss)
      Buffer.concat([whole.subarray(0, whole.length - 5), Buffer.from('XXXX\n')]), // garbled, with its newline
    ]) {
      writeFileSync(log, torn);
      store = fileStore(home);
      assert.deepEqual(
        bySelfLink(await store.load(TOPIC)),
        bySelfLink({ position: 2, resources: [resource('a'), resource('b')] }),
      );
      assert.equal((await store.load(TOPIC))?.position, 2, 'the torn record moved the position');
      assert.equal(statSync(log).size, lastStart, 'the torn tail was not cut off');
      await store.apply(TOPIC, [{ op: 'put', resource: resource('d') }], 3);
      await store.close();
      store = fileStore(home);
      const loaded = await store.load(TOPIC);
      assert.equal(loaded?.position, 3);
      assert.deepEqual(Object.keys(bySelfLink(loaded)).length, 3, 'a record appended after the cut is read');
      await store.close();
      writeFileSync(log, whole);
    }
  });

  it('a snapshot too large for one string is read line by line: the same resources as one JSON.parse', async () => {
    for (const resources of [[], [resource('one')], [resource('a', 'x\ny,\n'), resource('b', '],'), resource('c')]]) {
      const home = dir();
      const store = fileStore(home);
      await store.replace(TOPIC, resources, 1);
      await store.close();
      const data = readFileSync(fileOf(home, '.snapshot'));
      const body = data.subarray(data.indexOf('\n') + 1);
      assert.deepEqual(parseLines(body), JSON.parse(body.toString()));
      assert.deepEqual(parseLines(body), resources);
      assert.equal(parseLines(body.subarray(0, body.length - 1)), undefined, 'a body without its end');
    }
  });

  it('garbage before the last record, a snapshot failing its checksum or count, another version: STATE_CORRUPT', async () => {
    const home = dir();
    const store = fileStore(home);
    await store.replace(TOPIC, [resource('a'), resource('b')], 1);
    for (let position = 2; position <= 4; position++)
      await store.apply(TOPIC, [{ op: 'put', resource: resource(`n${position}`) }], position);
    await store.close();
    const log = fileOf(home, '.log');
    const snapshot = fileOf(home, '.snapshot');
    const goodLog = readFileSync(log);
    const goodSnapshot = readFileSync(snapshot);
    const damage = (file: string, good: Buffer, at: number, text: string): void => {
      const copy = Buffer.from(good);
      copy.write(text, at);
      writeFileSync(file, copy);
    };
    const secondRecord = goodLog.indexOf('\n', goodLog.indexOf('\n') + 1) + 1;
    const cases: [string, () => void, RegExp][] = [
      ['a record in the middle garbled', () => damage(log, goodLog, secondRecord + 30, 'garbage'), /damaged record/],
      ['a record in the middle cut', () => damage(log, goodLog, secondRecord + 5, '\n'), /damaged record/],
      [
        'a value in a record in the middle changed (still valid JSON)',
        () => damage(log, goodLog, goodLog.indexOf('"value":1', secondRecord) + 8, '7'),
        /damaged record/,
      ],
      [
        'a resource flipped in the snapshot',
        () => damage(snapshot, goodSnapshot, goodSnapshot.length - 20, 'Z'),
        /checksum/,
      ],
      [
        'a snapshot cut at a line',
        () => writeFileSync(snapshot, goodSnapshot.subarray(0, goodSnapshot.indexOf('\n') + 1)),
        /checksum/,
      ],
      [
        'a snapshot of another version',
        () => writeFileSync(snapshot, goodSnapshot.toString().replace('"version":1', '"version":2')),
        /format version 2/,
      ],
      ['an empty snapshot', () => writeFileSync(snapshot, ''), /no valid header/],
    ];
    for (const [what, spoil, message] of cases) {
      spoil();
      const reader = fileStore(home);
      const err = await errorOf(reader.load(TOPIC));
      assert.equal(err.code, 'STATE_CORRUPT', what);
      assert.match(err.message, message, what);
      await assert.rejects(reader.apply(TOPIC, [], 9), (e: unknown) => (e as WatchError).code === 'STATE_CORRUPT');
      await reader.close();
      writeFileSync(log, goodLog);
      writeFileSync(snapshot, goodSnapshot);
    }
    const reader = fileStore(home);
    assert.equal((await reader.load(TOPIC))?.position, 4, 'the restored files load');
    await reader.close();
  });

  it('one directory, one process: a live holder is refused at once with STATE_LOCKED, also in the same process', async () => {
    const home = dir();
    const child = await writer(home, 1_000_000);
    try {
      await child.applied(3);
      const started = performance.now();
      const err = await errorOf(fileStore(home).load(WORKLOAD_TOPIC));
      assert.equal(err.code, 'STATE_LOCKED');
      assert.match(err.message, new RegExp(`locked by process ${String(child.process.pid)} on `));
      assert.ok(performance.now() - started < 1_000, 'at once, not after the lock went stale');
    } finally {
      await killed(child.process);
    }
    ageKilledHoldersLock(home);
    const first = fileStore(home);
    await first.load(WORKLOAD_TOPIC); // takes over the dead holder's lock
    const err = await errorOf(fileStore(home).load(WORKLOAD_TOPIC));
    assert.equal(err.code, 'STATE_LOCKED');
    assert.match(err.message, /another FileResourceStore of this process/);
    await first.close();
  });

  it('compaction folds the log into a new snapshot once it outgrows compactAfterBytes; the state stays', async () => {
    const home = dir();
    const store = fileStore(home, { compactAfterBytes: 4_000 });
    await store.replace(TOPIC, [resource('a')], 0);
    const log = fileOf(home, '.log');
    let compactions = 0;
    let size = statSync(log).size;
    const expected = new Map<string, Resource>([[resource('a').metadata.selfLink, resource('a')]]);
    for (let position = 1; position <= 200; position++) {
      const put = resource(`r${position % 17}`, 'y'.repeat(position % 50));
      expected.set(put.metadata.selfLink, put);
      await store.apply(TOPIC, [{ op: 'put', resource: put }], position);
      const now = statSync(log).size;
      if (now < size) compactions += 1;
      size = now;
      assert.ok(now < 4_000 + 400, `the log grew to ${now} bytes`);
    }
    assert.ok(compactions >= 5, `${compactions} compactions`);
    await store.close();
    const reader = fileStore(home);
    const loaded = await reader.load(TOPIC);
    assert.equal(loaded?.position, 200);
    assert.deepEqual(bySelfLink(loaded), bySelfLink({ position: 200, resources: [...expected.values()] }));
    await reader.close();
  });

  it('a crash between a new snapshot and its new log (compaction or replace) loads the new snapshot, not the old log', async () => {
    for (const via of ['compaction', 'replace'] as const) {
      const home = dir();
      const store = fileStore(home, via === 'compaction' ? { compactAfterBytes: 1_000 } : {});
      await store.replace(TOPIC, [resource('a'), resource('b')], 100);
      let position = 100;
      // Records at positions above the next snapshot's: a load that took the old log's records would show them.
      // Records of ~270 bytes up to ~700 bytes of log: below compactAfterBytes, so no compaction yet.
      while (statSync(fileOf(home, '.log')).size < 700) {
        position += 1;
        await store.apply(TOPIC, [{ op: 'put', resource: resource('a', position) }], position);
      }
      let opens = 0;
      interceptWrites(store, (step) => {
        // The snapshot's write runs whole; the new log's (the second durable write) crashes before it starts.
        if (step === 'open' && ++opens === 2) throw Object.assign(new Error('killed'), { code: 'EKILLED' });
      });
      const write =
        via === 'compaction'
          ? store.apply(TOPIC, [{ op: 'put', resource: resource('c', 'c'.repeat(2_000)) }], position + 1) // compacts
          : store.replace(TOPIC, [resource('fresh')], 5);
      await write.then(
        () => assert.fail('the crash did not interrupt the write'),
        () => undefined,
      );
      await store.close();
      const reader = fileStore(home);
      const loaded = await reader.load(TOPIC);
      if (via === 'compaction') {
        assert.equal(loaded?.position, position + 1);
        assert.deepEqual(
          bySelfLink(loaded),
          bySelfLink({
            position: 0,
            resources: [resource('a', position), resource('b'), resource('c', 'c'.repeat(2_000))],
          }),
        );
      } else {
        assert.deepEqual(loaded, { position: 5, resources: [resource('fresh')] });
      }
      // The store writes on from there: a new log follows the new snapshot.
      await reader.apply(TOPIC, [{ op: 'put', resource: resource('after') }], 1_000);
      await reader.close();
      const again = fileStore(home);
      assert.equal((await again.load(TOPIC))?.position, 1_000);
      assert.ok(bySelfLink(await again.load(TOPIC))[resource('after').metadata.selfLink] !== undefined);
      await again.close();
    }
  });

  it(
    'SIGKILL of a process while it applies (8 kills, compacting every few records): every load is the state at its position, never behind a resolved write',
    { timeout: 120_000 },
    async () => {
      const home = dir();
      const random = seededRandom(23);
      for (let kill = 1; kill <= 8; kill++) {
        const child = await writer(home, 4_000);
        const target = child.startedAt + 3 + Math.floor(random() * 20);
        await child.applied(target);
        // Then a moment more, whatever the writer is doing by then (an append, a compaction).
        await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 30)));
        await killed(child.process);
        ageKilledHoldersLock(home);
        const lastResolved = child.lastApplied();
        const store = fileStore(home);
        const loaded = await store.load(WORKLOAD_TOPIC);
        await store.close();
        assert.ok(loaded !== undefined, `kill ${kill}: nothing loaded`);
        assert.ok(
          loaded.position >= lastResolved,
          `kill ${kill}: loaded position ${loaded.position} is behind the resolved write ${lastResolved}`,
        );
        assert.ok(loaded.position <= lastResolved + 1, `kill ${kill}: position ${loaded.position} ahead of any write`);
        const marker = loaded.resources.find((r) => r.name === 'marker');
        assert.equal((marker?.spec as { position?: number }).position, loaded.position, `kill ${kill}: the marker`);
        assert.deepEqual(bySelfLink(loaded), stateAt(loaded.position), `kill ${kill}: the resources at the position`);
      }
    },
  );

  it('100,000 resources load (the time is printed, not asserted)', { timeout: 120_000 }, async (t) => {
    const home = dir();
    const store = fileStore(home);
    const resources = Array.from({ length: 100_000 }, (_, i) => resource(`many-${i}`, 'z'.repeat(200)));
    await store.replace(TOPIC, resources, 7);
    for (let position = 8; position <= 100; position++)
      await store.apply(TOPIC, [{ op: 'put', resource: resource(`many-${position}`, position) }], position);
    await store.close();
    const reader = fileStore(home);
    const started = performance.now();
    const loaded = await reader.load(TOPIC);
    const ms = performance.now() - started;
    await reader.close();
    assert.equal(loaded?.resources.length, 100_000);
    assert.equal(loaded?.position, 100);
    const bytes = statSync(fileOf(home, '.snapshot')).size;
    t.diagnostic(
      `100,000 resources (${(bytes / 1e6).toFixed(1)} MB snapshot + 93 records) loaded in ${ms.toFixed(0)} ms`,
    );
    process.stdout.write(`# 100,000 resources loaded in ${ms.toFixed(0)} ms\n`);
  });
});

interface Writer {
  process: ChildProcess;
  startedAt: number;
  applied(position: number): Promise<void>;
  lastApplied(): number;
}

/** Starts the crash workload's writer over `directory`; resolves once it loaded and started applying. */
async function writer(directory: string, compactAfterBytes: number): Promise<Writer> {
  const program = await bundledFixture(path.join(__dirname, 'fixtures', 'resource-store-writer.ts'));
  const child = spawn(process.execPath, [program, directory, String(compactAfterBytes)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  endsWithParent(child);
  let out = '';
  let err = '';
  let last = -1;
  let startedAt = -1;
  const waiters: { position: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  const settle = (): void => {
    for (const w of [...waiters]) {
      if (last >= w.position) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stderr?.on('data', (d: Buffer) => (err += String(d)));
  child.stdout?.on('data', (d: Buffer) => {
    out += String(d);
    const lines = out.split('\n');
    out = lines.pop() ?? '';
    for (const line of lines) {
      const applied = /^applied (\d+)$/.exec(line);
      if (applied !== null) last = Number(applied[1]);
      const started = /^started \d+ at (\d+)$/.exec(line);
      if (started !== null) startedAt = last = Number(started[1]);
    }
    settle();
  });
  child.on('exit', (code, signal) => {
    for (const w of waiters.splice(0))
      w.reject(new Error(`the writer exited (${String(code ?? signal)}) before ${w.position}: ${err}`));
  });
  const applied = (position: number): Promise<void> =>
    new Promise((resolve, reject) => {
      waiters.push({ position, resolve, reject });
      settle();
    });
  await applied(0);
  return { process: child, startedAt, applied, lastApplied: () => last };
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('close', () => resolve()); // after its output was read to the end, not just its exit
    child.kill('SIGKILL');
  });
}
