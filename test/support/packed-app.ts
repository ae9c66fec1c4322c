import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { captured } from './harness';
import { exitCode } from './exit-code';

const ROOT = path.join(__dirname, '..', '..');

export const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  /** Killed for running past its timeout. */
  timedOut: boolean;
}

/**
 * Runs a command to its end, or kills it (SIGKILL: a program may catch SIGTERM) at its timeout; its output captured
 * for the suite's secret scan.
 */
export function run(
  command: string,
  args: readonly string[],
  cwd: string,
  timeout = 120_000,
  env: NodeJS.ProcessEnv = {},
): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      {
        cwd,
        timeout,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
        env: { ...process.env, npm_config_update_notifier: 'false', ...env },
      },
      (err, stdout, stderr) => {
        captured.push(stdout, stderr);
        const timedOut = err !== null && (err as { killed?: boolean }).killed === true;
        resolve({ code: err === null ? 0 : exitCode(err), stdout, stderr, timedOut });
      },
    );
  });
}

/** This checkout packed (`npm pack`) and installed into an empty app directory, as a user installs it. */
export interface PackedApp {
  /** The app's directory: its package.json, node_modules/watch-manager. */
  app: string;
  /** Removes the tarball and the app. */
  remove(): void;
}

interface LockEntry {
  version?: string;
  dev?: boolean;
  devOptional?: boolean;
  peer?: boolean;
  optional?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/** The lockfile key a package `name` required from the package at `from` resolves to (Node's lookup, upwards). */
function lookup(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  for (let dir = from; ;) {
    const key = `${dir === '' ? '' : `${dir}/`}node_modules/${name}`;
    if (packages[key] !== undefined) return key;
    if (dir === '') return undefined;
    const at = dir.lastIndexOf('/node_modules/');
    dir = at < 0 ? '' : dir.slice(0, at);
  }
}

/** `names` (top-level packages of this project's lockfile) and everything they need, as lockfile keys. */
function closure(packages: Record<string, LockEntry>, names: readonly string[]): Set<string> {
  const keys = new Set<string>();
  const visit = (key: string): void => {
    if (keys.has(key)) return;
    keys.add(key);
    const entry = packages[key] as LockEntry;
    const peers = Object.keys(entry.peerDependencies ?? {}).filter(
      (p) => entry.peerDependenciesMeta?.[p]?.optional !== true,
    );
    for (const dep of [
      ...Object.keys(entry.dependencies ?? {}),
      ...Object.keys(entry.optionalDependencies ?? {}),
      ...peers,
    ]) {
      const found = lookup(packages, key, dep);
      if (found !== undefined) visit(found);
    }
  };
  for (const name of names) {
    const key = `node_modules/${name}`;
    assert.ok(packages[key] !== undefined, `${name} is not in this project's package-lock.json`);
    visit(key);
  }
  return keys;
}

/**
 * Packs this checkout (`npm pack` runs `prepare`: the tarball holds a fresh build) and installs it offline into an
 * empty app directory, with `extra` packages of this project's own lockfile beside it (a dev dependency such as
 * `typescript` or `pg`, at the version this project pins). Offline: the app's lockfile is made from this project's
 * (its packages are in npm's cache since `npm ci`) plus the tarball, so `npm ci --offline` needs no registry.
 */
export async function installPacked(
  options: { extra?: readonly string[]; packageJson?: Record<string, unknown> } = {},
): Promise<PackedApp> {
  const work = mkdtempSync(path.join(tmpdir(), 'wm-pack-'));
  const remove = (): void => rmSync(work, { recursive: true, force: true });
  try {
    const app = path.join(work, 'app');
    const packed = await run(NPM, ['pack', '--pack-destination', work, '--silent'], ROOT, 300_000);
    assert.equal(packed.code, 0, packed.stderr);
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz')) as string;
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
    const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, LockEntry>;
    };
    const integrity = `sha512-${createHash('sha512')
      .update(readFileSync(path.join(work, tarball)))
      .digest('base64')}`;
    const spec = `file:../${tarball}`;
    const extra = options.extra ?? [];
    const dependencies: Record<string, string> = { 'watch-manager': spec };
    for (const name of extra) dependencies[name] = lock.packages[`node_modules/${name}`]?.version ?? '';
    const packages: Record<string, unknown> = {
      '': { name: 'app', dependencies },
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
    const wanted = closure(lock.packages, extra);
    for (const [key, entry] of Object.entries(lock.packages)) {
      if (key === '' || (entry.dev === true && !wanted.has(key))) continue;
      const name = key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
      // In the app, a dev package of this project is a production one.
      const { dev: _dev, devOptional: _devOptional, peer: _peer, ...kept } = entry;
      packages[key] = {
        resolved: `${registry}/${name}/-/${name.slice(name.indexOf('/') + 1)}-${entry.version}.tgz`,
        ...kept,
      };
    }
    mkdirSync(app);
    writeFileSync(
      path.join(app, 'package.json'),
      JSON.stringify({ name: 'app', private: true, ...options.packageJson, dependencies }),
    );
    writeFileSync(
      path.join(app, 'package-lock.json'),
      JSON.stringify({ name: 'app', lockfileVersion: 3, requires: true, packages }),
    );
    const installed = await run(NPM, ['ci', '--offline', '--no-audit', '--no-fund'], app, 300_000);
    assert.equal(installed.code, 0, installed.stderr);
    return { app, remove };
  } catch (err) {
    remove();
    throw err;
  }
}
