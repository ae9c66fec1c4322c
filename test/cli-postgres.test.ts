import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FakeWatchService } from 'watch-manager/testing';
import { startPostgres, type TestPostgres } from './support/postgres';
import { captured, cliArgs, scanForSecrets, secret, startService, token, until } from './support/harness';
import { endsWithParent } from './support/watchdog';

scanForSecrets();

// watch-tail --postgres: two tails of one topic keep positions and leases in a real PostgreSQL; one writes, the
// other takes over when it is killed.
const CLI = path.join(__dirname, '..', 'src', 'cli', 'watch-tail.ts');
const TOPIC = '/management/v1alpha1/watchtopics/tailed-twice';

interface Tail {
  child: ChildProcess;
  sequenceIds: number[];
  stderr: () => string;
  exited: Promise<number | null>;
}

function tail(args: string[], env: NodeJS.ProcessEnv = {}): Tail {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  endsWithParent(child);
  const sequenceIds: number[] = [];
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += String(chunk);
    for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
      const record = JSON.parse(out.slice(0, nl)) as { record: string; sequenceId?: number };
      captured.push(out.slice(0, nl));
      out = out.slice(nl + 1);
      if (record.record === 'event') sequenceIds.push(record.sequenceId as number);
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    err += String(chunk);
    captured.push(String(chunk));
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, sequenceIds, stderr: () => err, exited };
}

describe('watch-tail --postgres', { timeout: 120_000 }, () => {
  let pg: TestPostgres;
  let service: FakeWatchService;
  let tokenFile: string;
  const tails: Tail[] = [];
  before(async () => {
    pg = await startPostgres();
    service = await startService();
    tokenFile = path.join(mkdtempSync(path.join(tmpdir(), 'wm-cli-pg-')), 'token');
    writeFileSync(tokenFile, await token(service, { ttlMs: 3_600_000 }));
  });
  after(async () => {
    for (const t of tails) t.child.kill('SIGKILL');
    await Promise.all(tails.map((t) => t.exited));
    await service?.stop();
    await pg?.stop();
  });

  it('two tails of one topic: one writes; kill -9 it and the other goes on after the stored position', async () => {
    service.createTopic(TOPIC);
    const args = [
      ...cliArgs(service, tokenFile),
      '--topic',
      TOPIC,
      '--from',
      'beginning',
      '--json',
      '--postgres',
      pg.connectionString,
      '--lease-ms',
      '1500',
      '--renew-ms',
      '200',
    ];
    const a = tail(args);
    const b = tail(args);
    tails.push(a, b);
    const publisher = setInterval(() => service.publishMany(TOPIC, 2), 20);
    let writer: Tail = a;
    let other: Tail = b;
    try {
      await until('one tail writes events', () => a.sequenceIds.length + b.sequenceIds.length > 40, 30_000);
      // The writer is the tail with the newest event (the other may have written first, before it handed over).
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const last = (t: Tail): number => t.sequenceIds.at(-1) ?? 0;
      [writer, other] = last(a) > last(b) ? [a, b] : [b, a];
      const before = other.sequenceIds.length;
      writer.child.kill('SIGKILL');
      await writer.exited;
      await until('the other tail takes over', () => other.sequenceIds.length > before + 20, 10_000);
    } finally {
      clearInterval(publisher);
    }
    const newest = service.topic(TOPIC)?.newestSequenceId ?? 0;
    await until('the other tail wrote every event', () => other.sequenceIds.includes(newest), 10_000);
    // Each tail in strictly increasing order; together every event; repeats only of events in flight.
    for (const t of [a, b])
      assert.ok(
        t.sequenceIds.every((s, i) => i === 0 || s > (t.sequenceIds[i - 1] as number)),
        'a tail wrote out of order',
      );
    const union = new Set([...a.sequenceIds, ...b.sequenceIds]);
    assert.deepEqual(
      Array.from({ length: newest }, (_, i) => i + 1).filter((s) => !union.has(s)),
      [],
      'events no tail wrote',
    );
    const both = a.sequenceIds.length + b.sequenceIds.length - union.size;
    assert.ok(both <= 100, `${both} events written by both`);
    other.child.kill('SIGTERM');
    assert.equal(await other.exited, 0, other.stderr());
  });

  it('bad --postgres settings exit 2 naming the flag, never the password', async () => {
    const password = secret('tail-pg-password-77');
    const runs: Array<[string[], RegExp]> = [
      [['--postgres', 'mysql://x@localhost/db'], /--postgres/],
      [['--postgres', pg.connectionString, '--state-file', '/tmp/x.json'], /--state-file and --postgres/],
      [['--lease-ms', '1000'], /--lease-ms needs --postgres/],
      [['--postgres', pg.connectionString, '--lease-ms', '1000', '--renew-ms', '2000'], /--lease-ms/],
    ];
    const wrongPassword = pg.connectionString.replace('postgres://postgres@', `postgres://nobody:${password}@`);
    for (const [extra, expected] of runs) {
      const t = tail([...cliArgs(service, tokenFile), '--topic', TOPIC, ...extra]);
      tails.push(t);
      assert.equal(await t.exited, 2, t.stderr());
      assert.match(t.stderr(), expected);
      assert.match(t.stderr(), /^watch-tail: [^\n]*\n$/, 'exactly one line');
    }
    const refused = tail([...cliArgs(service, tokenFile), '--topic', TOPIC, '--postgres', wrongPassword]);
    tails.push(refused);
    assert.equal(await refused.exited, 2, refused.stderr());
    assert.match(refused.stderr(), /--postgres/);
    assert.ok(!refused.stderr().includes(password));
  });
});
