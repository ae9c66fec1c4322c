import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { captured } from './support/harness';
import { exitCode } from './support/exit-code';

const ROOT = path.join(__dirname, '..');

describe('API reference (npm run docs)', { timeout: 120_000 }, () => {
  it('TypeDoc builds it from the JSDoc with zero warnings (warnings are errors in typedoc.json)', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'wm-docs-'));
    const run = await new Promise<{ code: number; text: string }>((resolve) => {
      execFile(
        process.execPath,
        [path.join(ROOT, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--out', out],
        { cwd: ROOT, timeout: 110_000 },
        (err, stdout, stderr) => {
          captured.push(stdout, stderr);
          resolve({ code: exitCode(err), text: stdout + stderr });
        },
      );
    });
    rmSync(out, { recursive: true, force: true });
    assert.equal(run.code, 0, run.text);
    assert.doesNotMatch(run.text, /warning|error/i);
  });
});
