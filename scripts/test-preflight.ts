/**
 * Before `npm test`: the system tools the suite starts instances of — Debian's `tinyproxy` (the proxy tests),
 * `openssl` (test certificates) and `postgresql` (the clusters of watch-manager/postgres). Missing ones are installed
 * with apt-get when this runs as root on a machine that has it (a fresh CI or container); otherwise the run stops at
 * once with one line naming what to install — never a screen of failures from every test that needs them.
 *
 * For its own test, where it looks can be changed: WATCH_MANAGER_PREFLIGHT_PATH (the PATH searched for tinyproxy
 * and openssl), WATCH_MANAGER_PREFLIGHT_PG_ROOT (where the PostgreSQL binaries are looked for) and
 * WATCH_MANAGER_PREFLIGHT_INSTALL=never (do not install, even as root).
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

interface Tool {
  /** The Debian package that brings it. */
  readonly pkg: string;
  /** What the tests use it for, for the message. */
  readonly why: string;
  present(): boolean;
}

const searchPath = process.env.WATCH_MANAGER_PREFLIGHT_PATH ?? process.env.PATH ?? '';
const pgRoot = process.env.WATCH_MANAGER_PREFLIGHT_PG_ROOT ?? '/usr/lib/postgresql';

function onPath(name: string): boolean {
  return searchPath
    .split(path.delimiter)
    .filter((dir) => dir !== '')
    .some((dir) => {
      try {
        accessSync(path.join(dir, name), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
}

function hasPostgres(): boolean {
  if (!existsSync(pgRoot)) return false;
  return readdirSync(pgRoot).some(
    (major) =>
      existsSync(path.join(pgRoot, major, 'bin', 'initdb')) && existsSync(path.join(pgRoot, major, 'bin', 'pg_ctl')),
  );
}

const TOOLS: readonly Tool[] = [
  { pkg: 'tinyproxy', why: 'the proxy tests', present: () => onPath('tinyproxy') },
  { pkg: 'openssl', why: 'test certificates', present: () => onPath('openssl') },
  { pkg: 'postgresql', why: 'the PostgreSQL tests', present: hasPostgres },
];

function missing(): Tool[] {
  return TOOLS.filter((t) => !t.present());
}

function canInstall(): boolean {
  if (process.env.WATCH_MANAGER_PREFLIGHT_INSTALL === 'never') return false;
  return process.getuid?.() === 0 && onPath('apt-get');
}

function main(): number {
  let lacking = missing();
  if (lacking.length === 0) return 0;
  const packages = lacking.map((t) => t.pkg);
  if (canInstall()) {
    process.stderr.write(`npm test: installing ${packages.join(', ')} (apt-get, as root)\n`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const update = spawnSync('apt-get', ['update'], { stdio: ['ignore', 'inherit', 'inherit'], env });
    if (update.status === 0)
      spawnSync('apt-get', ['install', '-y', ...packages], {
        stdio: ['ignore', 'inherit', 'inherit'],
        env,
      });
    lacking = missing();
    if (lacking.length === 0) return 0;
  }
  const what = lacking.map((t) => `${t.pkg} (${t.why})`).join(', ');
  process.stderr.write(
    `npm test needs ${what}: install with \`sudo apt-get install -y ${lacking.map((t) => t.pkg).join(' ')}\` (Debian/Ubuntu)\n`,
  );
  return 1;
}

process.exitCode = main();
