import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { captured, readReport, scanForSecrets, secret, suiteScanDir, until } from './support/harness';
import { descendants, processInfo, processes, running } from './support/processes';

scanForSecrets();

/** The PostgreSQL processes of the machine whose command line names `dir` (what `pgrep -a postgres` shows). */
function postgresOf(dir: string): string[] {
  return processes()
    .filter((p) => p.state !== 'Z' && p.cmdline.includes('postgres') && p.cmdline.includes(dir))
    .map((p) => `${p.pid} ${p.cmdline}`);
}

function kill(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // ended meanwhile
  }
}

// The runner ends a test file that runs past its time with a signal; a SIGKILL runs no hook of the file. What the
// file started must end anyway (test/support/watchdog.ts): here a test process in miniature is killed for real.
describe('a test process killed (as the runner kills a file past its time)', () => {
  let leftovers: { pids: number[]; postmaster?: number; dir?: string } = { pids: [] };
  after(() => {
    // Only when the test failed: nothing of the killed process may outlive this file either.
    if (leftovers.postmaster !== undefined) kill(leftovers.postmaster, 'SIGQUIT');
    for (const pid of leftovers.pids.filter((p) => p !== leftovers.postmaster)) kill(pid, 'SIGKILL');
    if (leftovers.dir !== undefined) rmSync(leftovers.dir, { recursive: true, force: true });
  });

  it(
    'SIGKILL of a test process: its PostgreSQL (postmaster and sessions), tinyproxy, consumer and replica processes end, the cluster is removed',
    { timeout: 90_000 },
    async (t) => {
      const owner = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'fixtures', 'servers-owner.ts')], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      owner.stdout.on('data', (d: Buffer) => (out += String(d)));
      owner.stderr.on('data', (d: Buffer) => (err += String(d)));
      const exited = new Promise((resolve) => owner.once('exit', resolve));
      await until(
        'the test process in miniature has started everything',
        () => out.includes('\n') || owner.exitCode !== null,
        60_000,
      );
      captured.push(err);
      assert.ok(out.includes('\n'), `it exited: ${err}`);
      const { dir, replicaStarted } = JSON.parse(out) as { dir: string; replicaStarted: boolean };
      assert.ok(replicaStarted, 'the replica process started');
      const postmaster = Number(readFileSync(path.join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
      const children = descendants(owner.pid as number);
      const sessions = descendants(postmaster);
      const pids = [...children, postmaster, ...sessions];
      leftovers = { pids, postmaster, dir };
      const commands = children.map((pid) => processInfo(pid)?.cmdline ?? '');
      assert.ok(
        commands.some((cmd) => cmd.startsWith('tinyproxy')),
        `tinyproxy runs: ${commands.join(' | ')}`,
      );
      for (const what of ['crash-consumer.ts', 'watch-replica.ts', 'watchdog-process.mjs'])
        assert.ok(
          commands.some((cmd) => cmd.includes(what)),
          `${what} runs: ${commands.join(' | ')}`,
        );
      assert.ok(sessions.length >= 1, 'PostgreSQL runs with its sessions');
      assert.notDeepEqual(postgresOf(dir), [], 'the cluster is seen running');

      const killedAt = Date.now();
      owner.kill('SIGKILL');
      await exited;
      await until(
        'every process it started has ended and the cluster is removed',
        () => pids.every((pid) => !running(pid)) && !existsSync(dir),
        30_000,
      ).catch((error: Error) => {
        const left = pids.filter(running);
        throw new Error(
          `${error.message}: still running ${left.join(',')}, cluster ${existsSync(dir) ? 'kept' : 'removed'}`,
        );
      });
      assert.deepEqual(postgresOf(dir), [], 'no PostgreSQL process of the cluster left');
      t.diagnostic(
        `${pids.length} processes (${children.length} children, a postmaster, ${sessions.length} of its processes) ended ${Date.now() - killedAt} ms after the kill`,
      );
    },
  );

  it(
    "SIGKILL of a test process: what it captured and the secrets it used up to the kill are in its report for the suite's secret scan",
    { timeout: 30_000 },
    async () => {
      // A process that loads the harness as a test file named probe.test.ts would, captures a line, registers a
      // secret, says so, and waits for its kill (no exit handler runs).
      const value = secret('probe-secret-5521');
      const script = [
        "process.argv[1] = require('node:path').join(process.cwd(), 'probe.test.ts');",
        "const { captured, secret } = require('./test/support/harness');",
        `secret(${JSON.stringify(value)});`,
        `captured.push('a line that holds ' + ${JSON.stringify(value)});`,
        "process.stdout.write('ready\\n');",
        'setInterval(() => undefined, 60000);',
      ].join('\n');
      const probe = spawn(process.execPath, ['--import', 'tsx', '-e', script], {
        cwd: path.join(__dirname, '..'),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      probe.stdout.on('data', (d: Buffer) => (out += String(d)));
      probe.stderr.on('data', (d: Buffer) => (err += String(d)));
      const exited = new Promise((resolve) => probe.once('exit', resolve));
      await until('the probe is ready', () => out.includes('ready') || probe.exitCode !== null, 20_000);
      assert.ok(out.includes('ready'), err);
      probe.kill('SIGKILL');
      await exited;
      // Its runner is this process: the report is in this process's directory of the scan.
      const file = path.join(suiteScanDir(process.pid), 'probe.test.ts.jsonl');
      try {
        const report = readReport(file);
        assert.equal(report.file, 'probe.test.ts');
        assert.equal(report.ended, false, 'a killed file is told from one that ended');
        assert.deepEqual(report.secrets, [value]);
        assert.deepEqual(report.captured, [`a line that holds ${value}`]);
      } finally {
        rmSync(suiteScanDir(process.pid), { recursive: true, force: true });
      }
    },
  );
});
