import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { captured } from './support/harness';
import { exitCode } from './support/exit-code';

const ROOT = path.join(__dirname, '..');

function run(
  command: string,
  args: string[],
  cwd: string,
  timeout = 120_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd, timeout, env: { ...process.env, npm_config_update_notifier: 'false' } },
      (err, stdout, stderr) => {
        captured.push(stdout, stderr);
        resolve({ code: err === null ? 0 : exitCode(err), stdout, stderr });
      },
    );
  });
}

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

// The same program in both module systems: the fake service from 'watch-manager/testing', a manager, one event.
const program = (load: string): string => `${load}
(async () => {
  const service = await FakeWatchService.start({ pingIntervalMs: false });
  const token = await service.issueToken();
  const manager = new WatchManager({ target: service.target, historyUrl: service.historyUrl, tenantId: service.tenantId, getToken: () => token, tls: false });
  const got = [];
  await manager.registerWatch('/management/v1alpha1/watchtopics/demo', { onEvent: (e) => void got.push(e) });
  const sent = service.publish('/management/v1alpha1/watchtopics/demo');
  await service.waitFor(() => got.length === 1, 5000, 'the event');
  await manager.close();
  await service.stop();
  if (!(new WatchError('CLOSED', 'x') instanceof WatchError) || got[0].sequenceId !== sent.sequenceId) throw new Error('wrong');
  console.log('ok ' + got[0].sequenceId + ' ' + VERSION);
})().catch((err) => { console.error(err); process.exit(1); });
`;

describe('the npm package, packed and installed offline into an empty directory', { timeout: 300_000 }, () => {
  let work: string;
  let app: string;
  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'wm-pack-'));
    app = path.join(work, 'app');
    // npm pack runs `prepare`, so the tarball holds a fresh build of this checkout.
    const packed = await run(NPM, ['pack', '--pack-destination', work, '--silent'], ROOT);
    assert.equal(packed.code, 0, packed.stderr);
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz')) as string;
    // Offline: a lockfile made from this project's own (its production packages, already in npm's cache since
    // `npm ci`) plus the tarball, so `npm ci --offline` needs no registry.
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
    const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const integrity = `sha512-${createHash('sha512')
      .update(readFileSync(path.join(work, tarball)))
      .digest('base64')}`;
    const spec = `file:../${tarball}`;
    const packages: Record<string, unknown> = {
      '': { name: 'app', dependencies: { 'watch-manager': spec } },
      'node_modules/watch-manager': {
        version: pkg.version,
        resolved: spec,
        integrity,
        license: pkg.license,
        dependencies: pkg.dependencies,
        bin: pkg.bin,
        engines: pkg.engines,
      },
    };
    // With the tarball URL next to each integrity, npm takes the tarballs from its cache without asking the registry
    // for package metadata (this project's lockfile leaves `resolved` out).
    const registry = 'https://registry.npmjs.org';
    for (const [key, entry] of Object.entries(lock.packages)) {
      if (key === '' || entry.dev === true) continue;
      const name = key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
      const version = (entry as { version: string }).version;
      packages[key] = {
        resolved: `${registry}/${name}/-/${name.slice(name.indexOf('/') + 1)}-${version}.tgz`,
        ...entry,
      };
    }
    mkdirSync(app);
    writeFileSync(
      path.join(app, 'package.json'),
      JSON.stringify({ name: 'app', private: true, dependencies: { 'watch-manager': spec } }),
    );
    writeFileSync(
      path.join(app, 'package-lock.json'),
      JSON.stringify({ name: 'app', lockfileVersion: 3, requires: true, packages }),
    );
    const installed = await run(NPM, ['ci', '--offline', '--no-audit', '--no-fund'], app);
    assert.equal(installed.code, 0, installed.stderr);
  });
  after(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it('holds only what users need: dist, proto, the docs, README, LICENSE, package.json (no tests, benches or sources)', async () => {
    const listed = await run(NPM, ['pack', '--dry-run', '--json', '--ignore-scripts'], ROOT);
    const files =
      (JSON.parse(listed.stdout) as Array<{ files: Array<{ path: string }> }>)[0]?.files.map((f) => f.path) ?? [];
    assert.ok(
      files.includes('dist/index.js') &&
        files.includes('dist/index.d.ts') &&
        files.includes('dist/testing/index.js') &&
        files.includes('proto/watch.proto') &&
        files.includes('docs/wire.md') &&
        files.includes('LICENSE'),
    );
    const allowed = (f: string): boolean =>
      /^(dist\/|proto\/|docs\/[a-z-]+\.md$|README\.md$|LICENSE$|package\.json$)/.test(f) &&
      !f.endsWith('.map') &&
      (!f.endsWith('.ts') || f.endsWith('.d.ts'));
    const stray = files.filter((f) => !allowed(f));
    assert.deepEqual(stray, []);
  });

  it('works with require (CommonJS), the main entry and watch-manager/testing', async () => {
    writeFileSync(
      path.join(app, 'main.cjs'),
      program(
        "const { WatchManager, WatchError, VERSION } = require('watch-manager');\nconst { FakeWatchService } = require('watch-manager/testing');",
      ),
    );
    const r = await run(process.execPath, ['main.cjs'], app, 30_000);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ok \d+ \d+\.\d+\.\d+/);
  });

  it('never loads pg unless watch-manager/postgres is imported, which names the missing peer in one line', async () => {
    writeFileSync(
      path.join(app, 'peer.cjs'),
      [
        "require('watch-manager');",
        "require('watch-manager/testing');",
        "if (Object.keys(require.cache).some((f) => /[\\/]node_modules[\\/]pg[\\/]/.test(f))) throw new Error('pg loaded');",
        "try { require('watch-manager/postgres'); } catch (err) { console.log(err.message); process.exit(0); }",
        "throw new Error('watch-manager/postgres loaded without pg installed');",
      ].join('\n'),
    );
    const r = await run(process.execPath, ['peer.cjs'], app, 30_000);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^watch-manager\/postgres needs the optional peer dependency 'pg' \(node-postgres\): npm install pg/,
    );
  });

  it('never loads @opentelemetry/api unless watch-manager/opentelemetry is imported, which names the missing peer', async () => {
    writeFileSync(
      path.join(app, 'otel.cjs'),
      [
        "const { WatchManager } = require('watch-manager');",
        "new WatchManager({ target: 'h:1', tenantId: 't', getToken: () => 'x', tls: false, logger: { error() {}, warn() {}, info() {}, debug() {} } }).close();",
        "if (Object.keys(require.cache).some((f) => /[\\/]@opentelemetry[\\/]/.test(f))) throw new Error('@opentelemetry loaded');",
        "try { require('watch-manager/opentelemetry'); } catch (err) { console.log(err.message); process.exit(0); }",
        "throw new Error('watch-manager/opentelemetry loaded without @opentelemetry/api installed');",
      ].join('\n'),
    );
    const r = await run(process.execPath, ['otel.cjs'], app, 30_000);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^watch-manager\/opentelemetry needs the optional peer dependency '@opentelemetry\/api': npm install @opentelemetry\/api/,
    );
  });

  it('works with import (ES modules): named exports of both entries', async () => {
    writeFileSync(
      path.join(app, 'main.mjs'),
      program(
        "import { WatchManager, WatchError, VERSION } from 'watch-manager';\nimport { FakeWatchService } from 'watch-manager/testing';",
      ),
    );
    const r = await run(process.execPath, ['main.mjs'], app, 30_000);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ok \d+ /);
  });

  it('resolves its types for both module systems (tsc, node16 resolution, strict)', async () => {
    const use = (load: string): string => `${load}
const options: WatchManagerOptions = { target: 'h:1', tenantId: 't', getToken: () => 'x', proxy: false };
const manager: WatchManager = new WatchManager(options);
const code: WatchErrorCode = 'PROXY_AUTH';
export const checks: [WatchManager, WatchErrorCode, typeof FakeWatchService] = [manager, code, FakeWatchService];
`;
    writeFileSync(
      path.join(app, 'types-esm.mts'),
      use(
        "import { WatchManager, type WatchManagerOptions, type WatchErrorCode } from 'watch-manager';\nimport { FakeWatchService } from 'watch-manager/testing';",
      ),
    );
    writeFileSync(
      path.join(app, 'types-cjs.cts'),
      use(
        "import { WatchManager, type WatchManagerOptions, type WatchErrorCode } from 'watch-manager';\nimport { FakeWatchService } from 'watch-manager/testing';",
      ),
    );
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = await run(
      process.execPath,
      [
        tsc,
        '--noEmit',
        '--strict',
        '--module',
        'node16',
        '--moduleResolution',
        'node16',
        '--target',
        'es2022',
        '--skipLibCheck',
        'false',
        '--types',
        'node',
        '--typeRoots',
        path.join(ROOT, 'node_modules', '@types'),
        'types-esm.mts',
        'types-cjs.cts',
      ],
      app,
      60_000,
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });

  it('runs its bin through npx: watch-tail --demo', async () => {
    const r = await run(
      NPM,
      ['exec', '--offline', '--', 'watch-tail', '--demo', '--max-events', '3', '--json'],
      app,
      30_000,
    );
    assert.equal(r.code, 0, r.stderr);
    const records = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { record: string });
    assert.equal(records.filter((x) => x.record === 'event').length, 3);
  });
});
