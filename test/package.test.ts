import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import './support/harness';
import { NPM, installPacked, run, type PackedApp } from './support/packed-app';

const ROOT = path.join(__dirname, '..');

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
  let packed: PackedApp;
  let app: string;
  before(async () => {
    packed = await installPacked();
    app = packed.app;
  });
  after(() => {
    packed.remove();
  });

  it('holds only what users need: dist, proto, the docs and API reference, the examples, README, LICENSE, package.json (no tests, benches or sources)', async () => {
    const listed = await run(NPM, ['pack', '--dry-run', '--json', '--ignore-scripts'], ROOT);
    const files =
      (JSON.parse(listed.stdout) as Array<{ files: Array<{ path: string }> }>)[0]?.files.map((f) => f.path) ?? [];
    assert.ok(
      files.includes('dist/index.js') &&
        files.includes('dist/index.d.ts') &&
        files.includes('dist/testing/index.js') &&
        files.includes('proto/watch.proto') &&
        files.includes('docs/wire.md') &&
        files.includes('examples/handler-agent.ts') &&
        files.includes('docs/reference/README.md') &&
        files.includes('docs/reference/watch-manager/classes/WatchManager.md') &&
        files.includes('LICENSE'),
    );
    // The examples are the one TypeScript source shipped: programs to read and copy, they import 'watch-manager'.
    const allowed = (f: string): boolean =>
      /^examples\/[a-z-]+\.ts$/.test(f) ||
      (/^(dist\/|proto\/|docs\/[a-z-]+\.md$|docs\/reference\/[\w/.-]+\.md$|README\.md$|LICENSE$|package\.json$)/.test(
        f,
      ) &&
        !f.endsWith('.map') &&
        (!f.endsWith('.ts') || f.endsWith('.d.ts')));
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
    // VERSION is the package's own version, read from the installed package.json (it said 0.0.0 once its file moved).
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(r.stdout.trim().split(' ')[2], pkg.version);
  });

  it('keeps its dist/ when npm runs its prepare script inside the installed package (the build removed dist/ first, then failed)', async () => {
    const installed = path.join(app, 'node_modules', 'watch-manager');
    const r = await run(NPM, ['run', 'prepare'], installed, 60_000);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(path.join(installed, 'dist', 'index.js')), 'dist/ is still there');
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
