import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { scanForSecrets } from './support/harness';

scanForSecrets();

// `npm test` starts with scripts/test-preflight.ts: the system tools the suite needs, installed (root + apt-get) or
// named in one line. Here the tools are hidden from it (an empty PATH, an empty PostgreSQL root) and installing is
// off, as on a fresh machine where the user is not root.
const SCRIPT = path.join(__dirname, '..', 'scripts', 'test-preflight.ts');

function preflight(env: NodeJS.ProcessEnv): { status: number | null; stderr: string; ms: number } {
  const started = Date.now();
  const run = spawnSync(process.execPath, ['--import', 'tsx', SCRIPT], {
    env: { ...process.env, WATCH_MANAGER_PREFLIGHT_INSTALL: 'never', ...env },
    encoding: 'utf8',
  });
  return { status: run.status, stderr: run.stderr, ms: Date.now() - started };
}

describe('npm test on a machine without the system tools it needs', () => {
  it('none of them: stops within seconds with one line naming tinyproxy, openssl and postgresql', () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'wm-preflight-'));
    const run = preflight({ WATCH_MANAGER_PREFLIGHT_PATH: empty, WATCH_MANAGER_PREFLIGHT_PG_ROOT: empty });
    assert.equal(run.status, 1);
    assert.ok(run.ms < 10_000, `took ${run.ms} ms`);
    const lines = run.stderr.trim().split('\n');
    assert.equal(lines.length, 1, run.stderr);
    assert.match(
      lines[0] as string,
      /^npm test needs tinyproxy \(the proxy tests\), openssl \(test certificates\), postgresql \(the PostgreSQL tests\): install with `sudo apt-get install -y tinyproxy openssl postgresql`/,
    );
  });

  it('only tinyproxy hidden: names it alone', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'wm-preflight-'));
    const openssl = spawnSync('sh', ['-c', 'command -v openssl'], { encoding: 'utf8' }).stdout.trim();
    symlinkSync(openssl, path.join(dir, 'openssl'));
    const run = preflight({ WATCH_MANAGER_PREFLIGHT_PATH: dir });
    assert.equal(run.status, 1);
    assert.match(
      run.stderr,
      /^npm test needs tinyproxy \(the proxy tests\): install with `sudo apt-get install -y tinyproxy`/,
    );
  });

  it('everything there (as here): passes silently', () => {
    const run = preflight({});
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stderr, '');
  });
});
