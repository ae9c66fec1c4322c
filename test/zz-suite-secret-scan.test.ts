import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { findLeak, readReport, suiteScanDir, type Report } from './support/harness';
import { startedAt } from './support/processes';

// Runs last (the runner takes the files in order, one at a time: --test-concurrency=1 in `npm test`). Every other
// test file left everything it captured (SDK log lines at debug level, stderr, CLI output, errors with their cause
// chains and util.inspect) and every token and password it used; no secret of any file may appear in any of it.
// A file the runner killed (past its time) fails on its own; what it captured up to the kill is scanned all the same,
// and its kill is no reason for this scan to fail.
describe('suite-wide secret scan', () => {
  it('no token or password used anywhere in the suite appears in any log line, output or error of the suite', (t) => {
    const dir = suiteScanDir();
    const mine = path.basename(__filename);
    const tests = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.test.ts'));
    // The public behaviour's tests here, the internals' under unit/ (run first): every one reports.
    const expected = [...tests(__dirname).filter((f) => f !== mine), ...tests(path.join(__dirname, 'unit'))];
    let reports: Report[] = [];
    try {
      reports = readdirSync(dir).map((f) => readReport(path.join(dir, f)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // A report written before this runner started (left by an earlier runner whose process id this one reuses) is
    // not this run's: it must not stand in for a file that reported nothing.
    // (The start is known to the second: boot time's precision.)
    const started = (startedAt(process.ppid) ?? 0) - 2_000;
    reports = reports.filter((r) => r.writtenAt >= started);
    const missing = expected.filter((f) => !reports.some((r) => r.file === f));
    assert.deepEqual(
      missing,
      [],
      'every test file of the suite reported what it captured (run this with the whole suite: npm test)',
    );
    const killed = reports.filter((r) => !r.ended).map((r) => r.file);
    if (killed.length > 0)
      t.diagnostic(`ended without finishing (killed), scanned up to the kill: ${killed.join(', ')}`);
    const secrets = new Set(reports.flatMap((r) => r.secrets));
    const lines = reports.flatMap((r) => r.captured);
    assert.ok(secrets.size >= 20, `the suite used ${secrets.size} secrets`);
    assert.ok(lines.length >= 1_000, `the suite captured ${lines.length} lines`);
    t.diagnostic(
      `scanned ${lines.length} captured lines/errors of ${reports.length} test files for ${secrets.size} secrets`,
    );
    const hit = findLeak(lines, secrets);
    // Only the start of the line is shown: the line itself holds the secret.
    assert.equal(hit, undefined, `a secret appeared in the suite's output: ${hit?.slice(0, 40)}…`);
  });
});
