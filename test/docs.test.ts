import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { captured } from './support/harness';
import { exitCode } from './support/exit-code';

const ROOT = path.join(__dirname, '..');

/** Runs TypeDoc with `args` from the root: its exit code and output. */
function typedoc(args: readonly string[]): Promise<{ code: number; text: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'node_modules', 'typedoc', 'bin', 'typedoc'), ...args],
      { cwd: ROOT, timeout: 110_000 },
      (err, stdout, stderr) => {
        captured.push(stdout, stderr);
        resolve({ code: exitCode(err), text: stdout + stderr });
      },
    );
  });
}

/** Every file under `dir`, by its path relative to it (with `/`), to its text. */
function tree(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    files.set(path.relative(dir, full).split(path.sep).join('/'), readFileSync(full, 'utf8'));
  }
  return files;
}

describe('API reference (npm run docs, npm run docs:reference)', { timeout: 300_000 }, () => {
  it('TypeDoc builds it from the JSDoc with zero warnings (warnings are errors in typedoc.json)', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'wm-docs-'));
    const run = await typedoc(['--out', out]);
    rmSync(out, { recursive: true, force: true });
    assert.equal(run.code, 0, run.text);
    assert.doesNotMatch(run.text, /warning|error/i);
  });

  it('the Markdown reference shipped in docs/reference/ is what npm run docs:reference makes of this checkout', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'wm-reference-'));
    try {
      const run = await typedoc(['--options', 'typedoc.reference.json', '--out', out]);
      assert.equal(run.code, 0, run.text);
      assert.doesNotMatch(run.text, /warning|error/i);
      const fresh = tree(out);
      const committed = tree(path.join(ROOT, 'docs', 'reference'));
      assert.ok(fresh.has('README.md') && fresh.size > 50, `${fresh.size} pages`);
      const stale = [
        ...[...fresh.keys()].filter((f) => !committed.has(f)).map((f) => `missing: ${f}`),
        ...[...committed.keys()].filter((f) => !fresh.has(f)).map((f) => `no longer made: ${f}`),
        ...[...fresh]
          .filter(([f, text]) => committed.has(f) && committed.get(f) !== text)
          .map(([f]) => `differs: ${f}`),
      ];
      assert.deepEqual(stale, [], 'docs/reference/ is stale: run `npm run docs:reference` and commit it');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
