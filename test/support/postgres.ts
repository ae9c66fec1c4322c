import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Pool } from 'pg';
import { freePort } from './tinyproxy';
import { clusterEndsWithParent, removedWithParent } from './watchdog';

const run = promisify(execFile);

/** A PostgreSQL server of a test's own: a cluster in a temp dir, on a free port, its socket in the temp dir. */
export interface TestPostgres {
  port: number;
  /** The cluster's directory: its data (`data/`), socket and log. */
  dir: string;
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication: no password). */
  connectionString: string;
  /** `pg_ctl restart -m fast`: every connection is dropped, the data stays. */
  restart(): Promise<void>;
  /** `pg_ctl stop -m fast` (restart() brings it back). */
  stopServer(): Promise<void>;
  /** Stops the server and removes the cluster. Idempotent. */
  stop(): Promise<void>;
}

/** Debian's PostgreSQL binaries (`/usr/lib/postgresql/<major>/bin`, not on PATH), newest major first. */
function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root)
    .filter((d) => /^\d+$/.test(d))
    .sort((a, b) => Number(b) - Number(a));
  for (const major of majors) {
    const bin = path.join(root, major, 'bin');
    if (existsSync(path.join(bin, 'initdb')) && existsSync(path.join(bin, 'pg_ctl'))) return bin;
  }
  return undefined;
}

/**
 * Where the cluster's directory goes. As root it belongs to user `postgres`, which must be able to reach it: every
 * directory above it searchable by others. A private TMPDIR (a sandbox's, mode 700) is not, so /tmp is used then.
 */
function clusterBase(asRoot: boolean): string {
  const base = tmpdir();
  if (!asRoot) return base;
  for (let dir = path.resolve(base); ; dir = path.dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return '/tmp';
    if (dir === path.dirname(dir)) return base;
  }
}

/**
 * Starts a fresh cluster (docs/facts.md#initdb-as-root): `initdb` refuses root, so as root the cluster's directory
 * belongs to user `postgres` and both commands run as it (`runuser`). Trust authentication on 127.0.0.1 only.
 */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = postgresBin();
  if (bin === undefined)
    throw new Error('PostgreSQL is not installed (Debian package postgresql); .ci/run installs it');
  const asRoot = userInfo().uid === 0;
  const dir = mkdtempSync(path.join(clusterBase(asRoot), 'wm-pg-'));
  const data = path.join(dir, 'data');
  // Before anything runs: a test process killed at any moment from here on leaves no server and no cluster behind.
  const keepDir = removedWithParent(dir);
  const keepServer = clusterEndsWithParent(data);
  const as = async (command: string, args: string[]): Promise<void> => {
    const file = path.join(bin, command);
    // Run from the cluster's directory: user postgres may not be allowed into the current one.
    if (asRoot) await run('runuser', ['-u', 'postgres', '--', file, ...args], { timeout: 60_000, cwd: dir });
    else await run(file, args, { timeout: 60_000, cwd: dir });
  };
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const port = await freePort();
  await as('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  // The superuser connects without a password; every other role over TCP needs one (SCRAM), so tests can show a
  // wrong password, and a role without privileges, refused.
  writeFileSync(
    path.join(data, 'pg_hba.conf'),
    ['local all all trust', 'host all postgres 127.0.0.1/32 trust', 'host all all 127.0.0.1/32 scram-sha-256', ''].join(
      '\n',
    ),
  );
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200`;
  const start = (): Promise<void> =>
    as('pg_ctl', ['-D', data, '-o', options, '-l', path.join(dir, 'log'), '-w', 'start']);
  await start();
  let stopped = false;
  return {
    port,
    dir,
    connectionString: `postgres://postgres@127.0.0.1:${port}/postgres`,
    restart: async () => {
      await as('pg_ctl', ['-D', data, '-o', options, '-l', path.join(dir, 'log'), '-m', 'fast', '-w', 'restart']);
    },
    stopServer: () => as('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await as('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
      keepServer();
      keepDir();
    },
  };
}

/**
 * A ledger of `topic`'s stored position in `<schema>.topics`, read every 25 ms until `stop()`, which resolves with
 * the readings: for checks that a position never went back. The caller passes its own pool (and ends it).
 */
export function positionLedger(
  pool: Pick<Pool, 'query'>,
  schema: string,
  topic: string,
): { stop(): Promise<number[]> } {
  const readings: number[] = [];
  let reading = true;
  const reader = (async () => {
    while (reading) {
      const { rows } = await pool.query<{ position: string | null }>(
        `SELECT position FROM ${schema}.topics WHERE topic = $1`,
        [topic],
      );
      readings.push(Number(rows[0]?.position ?? 0));
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  })();
  return {
    stop: async () => {
      reading = false;
      await reader;
      return readings;
    },
  };
}

/** Fails naming the readings when a position in them went back. */
export function assertNeverBack(readings: readonly number[]): void {
  for (let i = 1; i < readings.length; i++)
    assert.ok((readings[i] as number) >= (readings[i - 1] as number), `position went back: ${readings.join(',')}`);
}
