import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../src/cli/main';
import { liveLine, resyncLine } from '../src/cli/records';
import type { ResyncNotice } from 'watch-manager';
import { FaultProxy, type FakeWatchService } from 'watch-manager/testing';
import { makeTestCerts } from './support/certs';
import { Capture, TOPIC, captured, scanForSecrets, startService, token, cliArgs } from './support/harness';
import { exitCode } from './support/exit-code';
import { cliEndOfLifeLine } from './support/node-warnings';

scanForSecrets();

async function cli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  tty = false,
): Promise<{ code: number; out: string; err: string }> {
  const stdout = new Capture(tty);
  const stderr = new Capture();
  const code = await runCli(args, { stdout, stderr, env });
  return { code, out: stdout.text, err: stderr.text };
}

describe('watch-tail', { timeout: 60_000 }, () => {
  let service: FakeWatchService;
  let dir: string;
  let base: string[];

  before(async () => {
    service = await startService();
    dir = mkdtempSync(path.join(tmpdir(), 'wm-cli-'));
    const file = path.join(dir, 'token');
    writeFileSync(file, await token(service));
    base = [...cliArgs(service, file)];
  });
  after(async () => {
    await service.stop();
  });

  /** Starts `run` and waits until the service accepted its subscription (a stale stream must not count). */
  const subscribed = async <T>(run: () => Promise<T>): Promise<{ result: Promise<T> }> => {
    const before = service.counters.accepted;
    const result = run();
    await service.waitFor(() => service.counters.accepted > before, 5_000, 'subscribed');
    return { result }; // wrapped: an async function returning a promise would wait for it
  };

  const usage: Array<[string, string[], RegExp]> = [
    ['no target', ['--tenant', 't', '--topic', TOPIC, '--token-env', 'X'], /--target/],
    ['no tenant', ['--target', 'h:1', '--topic', TOPIC, '--token-env', 'X'], /--tenant/],
    ['no topic', ['--target', 'h:1', '--tenant', 't', '--token-env', 'X'], /--topic/],
    ['no token source', ['--target', 'h:1', '--tenant', 't', '--topic', TOPIC], /--token-file or --token-env/],
    [
      'two token sources',
      ['--target', 'h:1', '--tenant', 't', '--topic', TOPIC, '--token-env', 'X', '--token-file', 'f'],
      /--token-file or --token-env/,
    ],
    ['bad --max-events', ['--demo', '--max-events', '0'], /--max-events/],
    ['bad --keepalive-ms', ['--demo', '--keepalive-ms', 'soon'], /--keepalive-ms/],
    ['bad --log-level', ['--demo', '--log-level', 'loud'], /--log-level/],
    ['unknown flag, with a suggestion', ['--demo', '--max-event', '3'], /--max-events/],
    [
      'a target without port',
      ['--target', 'example.com', '--tenant', 't', '--topic', TOPIC, '--token-env', 'X'],
      /--target/,
    ],
    [
      'a topic that is not a self link',
      ['--target', 'h:1', '--tenant', 't', '--topic', 'demo', '--token-env', 'X', '--insecure'],
      /--topic/,
    ],
    [
      'an unreadable --token-file',
      ['--target', 'h:1', '--tenant', 't', '--topic', TOPIC, '--token-file', '/nonexistent/token.jwt'],
      /--token-file: cannot read/,
    ],
    [
      'an unset --token-env variable',
      ['--target', 'h:1', '--tenant', 't', '--topic', TOPIC, '--token-env', 'WM_UNSET_TOKEN_VARIABLE'],
      /--token-env: environment variable WM_UNSET_TOKEN_VARIABLE is not set/,
    ],
    [
      'an unreadable --ca-file',
      ['--target', 'h:1', '--tenant', 't', '--topic', TOPIC, '--token-env', 'X', '--ca-file', '/nonexistent/ca.pem'],
      /--ca-file/,
    ],
  ];
  for (const [name, args, flag] of usage) {
    it(`exits 2 with one line naming the flag: ${name}`, async () => {
      const run = await cli(args, { X: 'x' });
      assert.equal(run.code, 2, run.err);
      assert.equal(run.out, '');
      assert.match(run.err, /^watch-tail: [^\n]+\n$/);
      assert.match(run.err, flag);
    });
  }

  it('prints help with exit 0', async () => {
    const run = await cli(['--help']);
    assert.equal(run.code, 0);
    assert.match(run.out, /--token-file/);
    assert.match(run.out, /\nExamples:\n/);
    assert.match(run.out, /watch-tail --demo\n/);
    assert.match(run.out, /Exit codes: 0 finished/);
  });

  it('--json writes one event record per line and exits 0 after --max-events', async () => {
    const { result: pending } = await subscribed(() => cli([...base, '--topic', TOPIC, '--json', '--max-events', '5']));
    const published = service.publishMany(TOPIC, 8);
    const run = await pending;
    assert.equal(run.code, 0, run.err);
    const lines = run.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.length, 5);
    lines.forEach((record, i) => {
      const event = published[i];
      assert.ok(event !== undefined);
      const { group, kind, name, metadata, attributes } = event.payload;
      assert.deepEqual(record, {
        record: 'event',
        topic: TOPIC,
        sequenceId: event.sequenceId,
        id: event.id,
        type: event.type,
        time: event.time,
        payload: { group, kind, name, metadata, attributes },
      });
    });
  });

  it('writes JSON when stdout is not a terminal and aligned lines when it is', async () => {
    const { result: piped } = await subscribed(() => cli([...base, '--topic', TOPIC, '--max-events', '1']));
    service.publish(TOPIC);
    assert.match((await piped).out, /^\{"record":"event"/);
    const { result: tty } = await subscribed(() =>
      cli([...base, '--topic', TOPIC, '--max-events', '1'], { NO_COLOR: '1' }, true),
    );
    const event = service.publish(TOPIC, { kind: 'APIService', name: 'petstore', type: 'CREATED' });
    const line = (await tty).out;
    assert.match(line, new RegExp(`^${event.time} +demo +CREATED +APIService/petstore +#${event.sequenceId}\\n$`));
  });

  it("colours a terminal's lines (type, topic, live highlighted) unless NO_COLOR is set; columns stay aligned", async () => {
    const { result: tty } = await subscribed(() => cli([...base, '--topic', TOPIC, '--max-events', '2'], {}, true));
    const created = service.publish(TOPIC, { kind: 'APIService', name: 'petstore', type: 'CREATED' });
    const deleted = service.publish(TOPIC, { kind: 'APIService', name: 'petstore', type: 'DELETED' });
    const out = (await tty).out;
    assert.match(out, /\x1b\[32mCREATED/, 'CREATED in green');
    assert.match(out, /\x1b\[31mDELETED/, 'DELETED in red');
    assert.match(liveLine(TOPIC, true), /^\x1b\[32m\x1b\[1m-- live: /, 'the live line bold and green');
    assert.match(
      resyncLine({ topic: TOPIC, reason: 'purged', newestSequenceId: 9 } as ResyncNotice, true),
      /^\x1b\[7m\x1b\[1m-- RESYNC: /,
      'resync bold, inverted',
    );
    assert.equal(liveLine(TOPIC, false), `-- live: ${TOPIC} (missed events delivered; live events follow)`);
    const plain = out
      .replace(/\x1b\[[0-9;]*m/g, '')
      .split('\n')
      .filter((l) => !l.startsWith('-- live'));
    assert.match(
      plain[0] as string,
      new RegExp(`^${created.time} +demo +CREATED +APIService/petstore +#${created.sequenceId}$`),
    );
    assert.match(
      plain[1] as string,
      new RegExp(`^${deleted.time} +demo +DELETED +APIService/petstore +#${deleted.sequenceId}$`),
    );
    assert.equal((plain[0] as string).indexOf('APIService'), (plain[1] as string).indexOf('APIService'), 'aligned');
  });

  it('draws a catch-up progress bar on a terminal stderr only, never on stdout', async () => {
    const topic = '/management/v1alpha1/watchtopics/progress';
    service.createTopic(topic);
    service.publishMany(topic, 3_000);
    service.setHistoryFaults({ delayMs: 60 }); // 30 pages, 4 in flight: long enough for a few redraws
    const stderr = new Capture(true);
    const stdout = new Capture(false);
    const before = service.counters.accepted;
    const running = runCli([...base, '--topic', topic, '--from', 'beginning', '--max-events', '3001'], {
      stdout,
      stderr,
      env: {},
    });
    // One live event, held back during the catch-up: it tells how far the catch-up goes (the bar's total).
    await service.waitFor(() => service.counters.accepted > before, 5_000, 'subscribed');
    service.publish(topic);
    const code = await running;
    service.setHistoryFaults({});
    assert.equal(code, 0, stderr.text);
    assert.match(stderr.text, /catch-up .*\d+\/\d+ events · \d+\/s/, 'done/total, rate');
    assert.match(stderr.text, /ETA \d+s/);
    const lines = stdout.text.trim().split('\n');
    assert.equal(
      lines.filter((l) => (JSON.parse(l) as { record: string }).record === 'event').length,
      3_001,
      'stdout holds records only',
    );
    const quiet = new Capture(false);
    const again = await runCli([...base, '--topic', topic, '--from', 'beginning', '--max-events', '3000'], {
      stdout: new Capture(false),
      stderr: quiet,
      env: {},
    });
    assert.equal(again, 0);
    assert.doesNotMatch(quiet.text, /catch-up/, 'no bar when stderr is not a terminal');
    const both = new Capture(true);
    const third = await runCli([...base, '--topic', topic, '--from', 'beginning', '--max-events', '3000', '--json'], {
      stdout: new Capture(true),
      stderr: both,
      env: {},
    });
    assert.equal(third, 0);
    assert.doesNotMatch(
      both.text,
      /catch-up/,
      'no bar when stdout is the terminal too (the events would overwrite it)',
    );
  });

  it('no progress bar on a TERM=dumb terminal (it cannot redraw a line); NO_COLOR leaves the bar, which has no colour', async () => {
    const topic = '/management/v1alpha1/watchtopics/progress-term';
    service.createTopic(topic);
    service.publishMany(topic, 3_000);
    service.setHistoryFaults({ delayMs: 60 }); // 30 pages, 4 in flight: long enough for a few redraws
    const tail = async (env: NodeJS.ProcessEnv): Promise<string> => {
      const stderr = new Capture(true);
      const code = await runCli([...base, '--topic', topic, '--from', 'beginning', '--max-events', '3000'], {
        stdout: new Capture(false),
        stderr,
        env,
      });
      assert.equal(code, 0, stderr.text);
      return stderr.text;
    };
    try {
      const noColour = await tail({ TERM: 'xterm-256color', NO_COLOR: '1' });
      assert.match(noColour, /catch-up .*\d+ events · \d+\/s/, 'NO_COLOR is about colour: the bar is drawn');
      assert.doesNotMatch(noColour, /\x1b\[[\d;]*m/, 'without colour');
      const dumb = await tail({ TERM: 'dumb' });
      assert.doesNotMatch(dumb, /catch-up/, 'no bar on a dumb terminal');
      assert.doesNotMatch(dumb, /\x1b/, 'no cursor or erase sequence');
    } finally {
      service.setHistoryFaults({});
    }
  });

  it('tails several --topic over one connection, with a live record for each', async () => {
    const other = '/management/v1alpha1/watchtopics/second';
    service.createTopic(other);
    const stdout = new Capture(false);
    const running = runCli([...base, '--topic', TOPIC, '--topic', other, '--json', '--max-events', '4'], {
      stdout,
      stderr: new Capture(),
      env: {},
    });
    await service.waitFor(() => (stdout.text.match(/"record":"live"/g) ?? []).length === 2, 5_000, 'both topics live');
    service.publishMany(TOPIC, 2);
    service.publishMany(other, 2);
    assert.equal(await running, 0);
    const records = stdout.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { record: string; topic: string });
    assert.deepEqual(new Set(records.filter((r) => r.record === 'live').map((r) => r.topic)), new Set([TOPIC, other]));
    assert.equal(records.filter((r) => r.record === 'event' && r.topic === TOPIC).length, 2);
    assert.equal(records.filter((r) => r.record === 'event' && r.topic === other).length, 2);
  });

  it('--ca-file: trusts a private CA for TLS to gRPC and the history API', async () => {
    const certs = makeTestCerts(['127.0.0.1']);
    const secure = await startService({ tls: { cert: certs.cert, key: certs.key } });
    try {
      const caFile = path.join(dir, 'ca.pem');
      writeFileSync(caFile, certs.ca);
      const tokenFile = path.join(dir, 'tls-token');
      writeFileSync(tokenFile, await token(secure));
      secure.publishMany(TOPIC, 3);
      const args = [
        '--target',
        secure.target,
        '--history-url',
        secure.historyUrl,
        '--tenant',
        secure.tenantId,
        '--token-file',
        tokenFile,
        '--topic',
        TOPIC,
        '--from',
        'beginning',
        '--max-events',
        '3',
        '--json',
      ];
      const ok = await cli([...args, '--ca-file', caFile]);
      assert.equal(ok.code, 0, ok.err);
      assert.equal(
        ok.out
          .trim()
          .split('\n')
          .filter((l) => l.includes('"record":"event"')).length,
        3,
      );
      assert.doesNotMatch(ok.err, /clear text/, 'TLS, not plaintext');
    } finally {
      await secure.stop();
    }
  });

  it('--log-level debug: diagnostics (pings answered) on stderr, records alone on stdout', async () => {
    const pinging = await startService({ pingIntervalMs: 30 });
    try {
      const tokenFile = path.join(dir, 'ping-token');
      writeFileSync(tokenFile, await token(pinging));
      const stdout = new Capture(false);
      const stderr = new Capture(false);
      const running = runCli(
        [...cliArgs(pinging, tokenFile), '--topic', TOPIC, '--max-events', '1', '--log-level', 'debug'],
        { stdout, stderr, env: {} },
      );
      await pinging.waitFor(() => pinging.counters.pingResponses >= 3, 5_000, 'pings answered');
      pinging.publish(TOPIC);
      assert.equal(await running, 0, stderr.text);
      assert.match(stderr.text, /debug watch-manager: ping answered/);
      for (const line of stdout.text.trim().split('\n')) assert.match(line, /^\{"record":"(event|live)"/);
    } finally {
      await pinging.stop();
    }
  });

  it('--keepalive-ms and --keepalive-timeout-ms: a silently dead connection is noticed and replaced', async () => {
    const faults = await FaultProxy.start(service.target);
    try {
      const before = service.counters.subscribes;
      const stdout = new Capture(false);
      const running = runCli(
        [
          ...base.map((a) => (a === service.target ? faults.target : a)),
          '--topic',
          TOPIC,
          '--json',
          '--max-events',
          '1',
          '--keepalive-ms',
          '300',
          '--keepalive-timeout-ms',
          '300',
        ],
        { stdout, stderr: new Capture(), env: {} },
      );
      await service.waitFor(
        () => service.counters.subscribes > before && stdout.text.includes('"record":"live"'),
        5_000,
        'live',
      );
      faults.freeze(); // bytes stop, no FIN, no RST: only keepalive can tell
      // Keepalive 300/300 notices within ~600 ms; frozen four times that, so a loaded machine still sees it.
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      faults.thaw();
      await service.waitFor(
        () => service.counters.subscribes > before + 1,
        10_000,
        'a new subscription after the dead one',
      );
      service.publish(TOPIC);
      assert.equal(await running, 0);
    } finally {
      await faults.close();
    }
  });

  it('reads the token file again for every token, so rotating the file rotates the token', async () => {
    const file = path.join(dir, 'rotating');
    const first = await token(service, { ttlMs: 3_000 });
    writeFileSync(file, first);
    const { result: pending } = await subscribed(() =>
      cli([
        ...base.slice(0, 4),
        '--tenant',
        service.tenantId,
        '--token-file',
        file,
        '--insecure',
        '--topic',
        TOPIC,
        '--max-events',
        '1',
      ]),
    );
    const refreshesBefore = service.counters.tokenRefreshes;
    writeFileSync(file, await token(service, { ttlMs: 60_000 }));
    // The 3 s token is refreshed in-stream at 4/5 of its life, from the rewritten file.
    await service.waitFor(
      () => service.counters.tokenRefreshes > refreshesBefore,
      8_000,
      'in-stream refresh from the file',
    );
    service.revokeToken(first);
    service.publish(TOPIC);
    const run = await pending;
    assert.equal(run.code, 0, run.err);
  });

  it('--demo tails the embedded service (the README quick start)', async () => {
    const started = performance.now();
    const run = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(
        process.execPath,
        [
          '--import',
          'tsx',
          path.join(__dirname, '..', 'src', 'cli', 'watch-tail.ts'),
          '--demo',
          '--json',
          '--max-events',
          '20',
        ],
        { timeout: 60_000 },
        (err, stdout) => resolve({ code: err === null ? 0 : exitCode(err), stdout }),
      );
    });
    assert.equal(run.code, 0);
    const all = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { record: string; sequenceId: number });
    // From 'latest' nothing older than the start is replayed; an event the demo published while the tail was starting
    // (every 250 ms) comes from history before the live record, so the live record need not be first. 20 events (5 s
    // of the demo) leave the tail time to go live on a loaded machine.
    assert.ok(
      all.some((r) => r.record === 'live'),
      'the tail went live',
    );
    const records = all.filter((r) => r.record === 'event');
    assert.equal(records.length, 20);
    assert.ok(records.every((r, i) => i === 0 || r.sequenceId > (records[i - 1] as { sequenceId: number }).sequenceId));
    // It ends by itself (--max-events) within seconds on a quiet machine; the bound leaves room for a loaded one.
    assert.ok(performance.now() - started < 45_000);
  });

  it('--state-file: a restart resumes exactly after the last record written; live and resync records', async () => {
    const topic = '/management/v1alpha1/watchtopics/cli-state';
    service.createTopic(topic);
    service.publishMany(topic, 50);
    const state = path.join(dir, 'state.json');
    const args = [...base, '--topic', topic, '--state-file', state, '--from', 'beginning', '--json'];
    const records = (out: string): Array<Record<string, unknown>> =>
      out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);

    const first = await cli([...args, '--max-events', '30']);
    assert.equal(first.code, 0, first.err);
    const firstSeqs = records(first.out).map((r) => r.sequenceId);
    assert.deepEqual(
      firstSeqs,
      Array.from({ length: 30 }, (_, i) => i + 1),
    );

    const second = await cli([...args, '--max-events', '20']);
    assert.equal(second.code, 0, second.err);
    const secondRecords = records(second.out);
    assert.deepEqual(
      secondRecords.map((r) => r.sequenceId),
      Array.from({ length: 20 }, (_, i) => i + 31),
      'resumed after 30',
    );

    // History purged while the tail is down: a resync record first, then the events after the newest id (by
    // catch-up or live, depending on when they come; a live record, if any, after the resync).
    service.publishMany(topic, 10);
    service.purgeHistory(topic, 55);
    const { result } = await subscribed(() => cli([...args, '--max-events', '2']));
    service.publishMany(topic, 2);
    const third = records((await result).out);
    assert.deepEqual(third[0], {
      record: 'resync',
      topic,
      reason: 'history after sequence id 50 was purged',
      newestSequenceId: 60,
    });
    assert.deepEqual(
      third.filter((r) => r.record === 'event').map((r) => r.sequenceId),
      [61, 62],
    );
    assert.ok(third.slice(1).every((r) => r.record === 'event' || (r.record === 'live' && r.topic === topic)));
  });

  for (const reading of ['position', 'next-event'] as const) {
    it(`issue 20 #1: a quiet topic whose last event aged out (purgedReading '${reading}'): live at once, no resync record; a recreated topic: one resync record naming the range`, async () => {
      const topic = `/management/v1alpha1/watchtopics/cli-quiet-${reading}`;
      service.createTopic(topic);
      service.publishMany(topic, 10);
      const state = path.join(dir, `quiet-${reading}.json`);
      const args = [...base, '--topic', topic, '--state-file', state, '--json'];
      const records = (out: string): Array<Record<string, unknown>> =>
        out
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Record<string, unknown>);
      /** Runs watch-tail for one event, published once it wrote its live record (before, it could be caught up). */
      const oneLiveEvent = async (): Promise<{ code: number; out: string; err: string }> => {
        const stdout = new Capture();
        const stderr = new Capture();
        const run = runCli([...args, '--max-events', '1'], { stdout, stderr, env: {} });
        await service.waitFor(() => stdout.text.includes('"record":"live"'), 10_000, 'the live record');
        service.publishMany(topic, 1);
        return { code: await run, out: stdout.text, err: stderr.text };
      };
      const first = await cli([...args, '--from', 'beginning', '--max-events', '10']);
      assert.equal(first.code, 0, first.err);

      // Nothing published for longer than history keeps: the last event (the position) aged out.
      service.purgeHistory(topic);
      service.setPurgedReading(reading);
      try {
        const gone = service.historyCounters.gone;
        const quiet = await oneLiveEvent();
        assert.equal(quiet.code, 0, quiet.err);
        assert.deepEqual(
          records(quiet.out).map((r) => r.sequenceId ?? r.record),
          ['live', 11],
        );
        assert.equal(service.historyCounters.gone > gone, reading === 'position', 'a 410 under this reading only');
        assert.doesNotMatch(quiet.err, /PROTOCOL|cannot be resumed/);

        // The topic is deleted and created again while the tail is down: its sequence counts from 1.
        service.recreateTopic(topic);
        service.publishMany(topic, 3);
        const again = await oneLiveEvent();
        assert.equal(again.code, 0, again.err);
        const restarted = records(again.out);
        assert.deepEqual(
          restarted.map((r) => r.sequenceId ?? r.record),
          ['resync', 'live', 4],
        );
        assert.deepEqual(restarted[0], {
          record: 'resync',
          topic,
          reason:
            "the topic's sequence restarted: its newest sequence id 3 is below the position 11 (the topic was recreated?); every event up to 3 of the new sequence was skipped",
          newestSequenceId: 3,
        });
      } finally {
        service.setPurgedReading('next-event');
      }
    });
  }

  it('--from N starts with the first event after N; a bad --from exits 2', async () => {
    const topic = '/management/v1alpha1/watchtopics/cli-from';
    service.createTopic(topic);
    service.publishMany(topic, 10);
    const run = await cli([...base, '--topic', topic, '--from', '7', '--json', '--max-events', '3']);
    assert.deepEqual(
      run.out
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { sequenceId: number }).sequenceId),
      [8, 9, 10],
    );
    const bad = await cli([...base, '--topic', topic, '--from', 'yesterday']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--from/);
  });
});

/** The real watch-tail binary (source) in a child process: its stderr as the user sees it. */
function tail(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', path.join(__dirname, '..', 'src', 'cli', 'watch-tail.ts'), ...args],
      { env: { ...process.env, ...env }, timeout: 30_000 },
      (err, stdout, stderr) => {
        captured.push(stdout, stderr);
        resolve({ code: exitCode(err), stdout, stderr });
      },
    );
  });
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// On an ended Node.js line (this machine's 20) the library warns as Node.js warns (two lines); the CLI says it in one
// line of its own, only once its flags are accepted, and not at all to a machine reading JSON that asked for errors.
describe('watch-tail on an ended Node.js line', { timeout: 60_000 }, () => {
  it('a bad flag prints exactly one line: the one naming the flag (no warning of the Node.js line)', async () => {
    const badTarget = await tail(['--target', 'bad host:1', '--tenant', 't', '--token-env', 'HOME', '--topic', TOPIC]);
    assert.equal(badTarget.code, 2);
    assert.equal(badTarget.stderr, "watch-tail: invalid option --target: expected 'host:port', got 'bad host:1'\n");
    const unknown = await tail(['--demo', '--no-such-flag']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^watch-tail: [^\n]*--no-such-flag[^\n]*\n$/);
  });

  it('a run says it in one line of its own, first; JSON to a pipe at --log-level error: nothing at all', async () => {
    const told = await tail(['--demo', '--json', '--max-events', '1']);
    assert.equal(told.code, 0, told.stderr);
    // Then --demo's plaintext warning (a log line at warn), and nothing else: no Node.js warning, no hint.
    assert.match(
      told.stderr,
      new RegExp(`^${escape(cliEndOfLifeLine())}[^\\n]* warn watch-manager: TLS is off [^\\n]*\\n$`),
    );
    const quiet = await tail(['--demo', '--json', '--max-events', '1', '--log-level', 'error']);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stderr, '');
  });
});
