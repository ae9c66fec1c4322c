import { describe, it, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import '../support/harness';
import { withoutEndOfLifeWarning } from '../support/node-warnings';
import {
  END_OF_LIFE,
  NODE_EOL_WARNING_CODE,
  OLDEST_SUPPORTED_MAJOR,
  endOfLife,
  endOfLifeMessage,
  warnIfEndOfLife,
} from '../../src/core/node-support';

const ROOT = path.join(__dirname, '..', '..');
const day = (iso: string): number => Date.parse(`${iso}T12:00:00Z`);
const TODAY = day('2026-11-30');

/** An emitter that records what it was given. */
function recorder(): { emit: (message: string, options: { code: string }) => void; told: string[][] } {
  const told: string[][] = [];
  return { emit: (message, options) => void told.push([options.code, message]), told };
}

// The once-per-process flag lives on globalThis under a registry symbol (so that two copies of the package share
// it); forgetting it here stands for a fresh process, so each test starts as the first warning of one.
beforeEach(() => {
  delete (globalThis as Record<symbol, unknown>)[Symbol.for('watch-manager.nodeEndOfLifeWarned')];
});

describe('Node.js end of life', () => {
  it('20 on 2026-11-30 is past its end of life (2026-04-30); 22 and 24 are not', () => {
    assert.equal(endOfLife('v20.20.2', TODAY), '2026-04-30');
    assert.equal(endOfLife('20.20.2', TODAY), '2026-04-30', 'without the v too');
    assert.equal(endOfLife('v22.23.5', TODAY), undefined);
    assert.equal(endOfLife('v24.22.3', TODAY), undefined);
    assert.equal(endOfLife('v26.12.1', TODAY), undefined);
  });

  it('the line ends on its day, not before: 20 on 2026-04-29 is supported, from 2026-04-30 00:00 UTC not', () => {
    assert.equal(endOfLife('v20.20.2', day('2026-04-29')), undefined);
    assert.equal(endOfLife('v20.20.2', Date.parse('2026-04-29T23:59:59.999Z')), undefined);
    assert.equal(endOfLife('v20.20.2', Date.parse('2026-04-30T00:00:00Z')), '2026-04-30');
  });

  it('odd lines end early; a major newer than the table counts as supported', () => {
    assert.equal(endOfLife('v25.9.0', TODAY), '2026-06-01');
    assert.equal(endOfLife('v23.11.1', TODAY), '2025-06-01');
    assert.equal(endOfLife('v27.0.0', TODAY), undefined);
    assert.equal(endOfLife('v40.1.0', day('2040-01-01')), undefined);
    assert.equal(endOfLife('v26.0.0-nightly20260401abc', day('2029-05-01')), '2029-04-30', 'a pre-release');
  });

  it('the table is in order: each even (LTS) line lives past the one before it', () => {
    const even = Object.keys(END_OF_LIFE)
      .map(Number)
      .filter((m) => m % 2 === 0)
      .sort((a, b) => a - b);
    for (const [i, major] of even.entries()) {
      if (i === 0) continue;
      assert.ok(Date.parse(END_OF_LIFE[major] as string) > Date.parse(END_OF_LIFE[even[i - 1] as number] as string));
    }
    for (const iso of Object.values(END_OF_LIFE)) assert.match(iso, /^\d{4}-\d{2}-\d{2}$/);
  });

  it("OLDEST_SUPPORTED_MAJOR is the major of package.json's engines.node", () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
    assert.equal(Number(/^>=\s*(\d+)/.exec(pkg.engines.node)?.[1]), OLDEST_SUPPORTED_MAJOR);
  });

  it('the message names the version, the day and the oldest LTS line still supported', () => {
    assert.equal(
      endOfLifeMessage('v20.20.2', TODAY),
      'Node.js v20.20.2 reached its end of life on 2026-04-30: watch-manager supports it for now, upgrade to Node.js 22 or newer (see docs/operations.md#supported-nodejs-versions)',
    );
    // In May 2027 22 has ended too: the advice moves on to 24.
    assert.match(endOfLifeMessage('v22.23.5', day('2027-05-01')) ?? '', /on 2027-04-30: .*upgrade to Node\.js 24 or/);
    // Below engines.node it does not pretend to support the line.
    assert.match(endOfLifeMessage('v18.20.8', TODAY) ?? '', /on 2025-04-30: watch-manager does not support it, /);
    assert.equal(endOfLifeMessage('v24.22.3', TODAY), undefined);
  });
});

describe('warnIfEndOfLife', () => {
  it('on an ended line: one warning with its code, then none for the rest of the process', () => {
    const { emit, told } = recorder();
    assert.equal(warnIfEndOfLife('v22.23.5', TODAY, emit), false, 'a supported line: nothing');
    assert.equal(warnIfEndOfLife('v20.20.2', day('2026-04-29'), emit), false, 'not ended yet: nothing');
    assert.deepEqual(told, []);
    assert.equal(warnIfEndOfLife('v20.20.2', TODAY, emit), true);
    assert.equal(warnIfEndOfLife('v20.20.2', TODAY, emit), false);
    assert.equal(warnIfEndOfLife('v18.20.8', TODAY, emit), false, 'even for another ended line');
    assert.equal(told.length, 1);
    assert.equal(told[0]?.[0], NODE_EOL_WARNING_CODE);
    assert.equal(told[0]?.[0], 'WATCH_MANAGER_NODE_EOL');
    assert.match(told[0]?.[1] ?? '', /^Node\.js v20\.20\.2 reached its end of life on 2026-04-30: /);
  });

  it('a version string that does not parse: no warning, no throw', () => {
    const { emit, told } = recorder();
    for (const bad of ['v', '', 'abc', '20', 'v20', 'v20.x.1', ' v20.20.2', 'v20.20.2 ', '-20.1.1', 'v1e3.0.0']) {
      assert.equal(endOfLife(bad, TODAY), undefined, bad);
      assert.equal(warnIfEndOfLife(bad, TODAY, emit), false, bad);
    }
    // A JavaScript caller (or a patched process.version) may hand in anything. (Not undefined: that means the
    // default, this process's own version, which is past its end of life on Node.js 20.)
    for (const bad of [null, 20, {}, ['v20.20.2']] as unknown as string[]) {
      assert.equal(warnIfEndOfLife(bad, TODAY, emit), false);
    }
    assert.equal(warnIfEndOfLife('v20.20.2', Number.NaN, emit), false, 'nor a clock that is not a number');
    assert.deepEqual(told, []);
  });

  it('an emitter that throws does not throw into the caller (and still counts as the one warning)', () => {
    const boom = (): void => {
      throw new Error('stderr is gone');
    };
    assert.equal(warnIfEndOfLife('v20.20.2', TODAY, boom), true);
    const { emit, told } = recorder();
    assert.equal(warnIfEndOfLife('v20.20.2', TODAY, emit), false);
    assert.deepEqual(told, []);
  });

  it('with the defaults in a real process: one Node.js warning line on stderr, on whichever Node.js runs it', async () => {
    // Called twice in a child process on this very runtime, with an end of life forced through the injected
    // version: the default emitter is process.emitWarning, which prints `(node:PID) [CODE] Warning: …`.
    const script = [
      "const { warnIfEndOfLife } = require('./src/core/node-support.ts');",
      "warnIfEndOfLife('v20.20.2', Date.parse('2026-11-30'));",
      "warnIfEndOfLife('v20.20.2', Date.parse('2026-11-30'));",
      "warnIfEndOfLife(process.version, Date.parse('2026-11-30'));",
    ].join('\n');
    const run = await new Promise<{ err: Error | null; stderr: string }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, timeout: 30_000 }, (err, _, stderr) =>
        resolve({ err, stderr }),
      );
    });
    assert.equal(run.err, null, run.stderr);
    const warnings = run.stderr.split('\n').filter((line) => line.includes('[WATCH_MANAGER_NODE_EOL]'));
    assert.equal(warnings.length, 1, run.stderr);
    assert.match(
      warnings[0] ?? '',
      /^\(node:\d+\) \[WATCH_MANAGER_NODE_EOL\] Warning: Node\.js v20\.20\.2 reached its end of life on 2026-04-30: /,
    );
    // Nothing else: the warning and Node.js's hint after a first warning are all, and the tests' helper that takes
    // them out of a CLI's stderr knows this runtime's format.
    assert.equal(withoutEndOfLifeWarning(run.stderr), '', run.stderr);
  });
});

describe('the Node.js under test', () => {
  it('is also the `node` on PATH, so the children the suite starts by name (npm, npm run demo) run on it', async () => {
    // The suite starts most children with process.execPath, but npm (npm pack, npm ci, npm exec, npm run demo) and
    // what npm starts find `node` through PATH: with another Node.js first in PATH they would test that one instead.
    const onPath = await new Promise<string>((resolve) => {
      execFile('node', ['--version'], { timeout: 10_000 }, (err, stdout) =>
        resolve(err === null ? stdout.trim() : `none that runs (${err.message})`),
      );
    });
    assert.equal(
      onPath,
      process.version,
      `this runs on ${process.execPath} (${process.version}), but \`node\` on PATH is ${onPath}: put the Node.js ` +
        'under test first in PATH (as .ci/run does: PATH="$(.ci/node.sh 22):$PATH" npm test)',
    );
  });
});
