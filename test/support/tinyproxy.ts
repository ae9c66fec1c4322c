import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { secret } from './harness';
import { endsWithParent, removedWithParent } from './watchdog';

/** A running Debian tinyproxy of a test's own: its config in a temp dir, BasicAuth, only the test's ports allowed. */
export interface Tinyproxy {
  port: number;
  /** `http://[user:password@]127.0.0.1:port`; without arguments, the configured credentials. */
  url(credentials?: { user: string; password: string } | false): string;
  /** The `CONNECT host:port` requests tinyproxy logged, in order. */
  connects(): string[];
  stop(): Promise<void>;
}

export interface TinyproxyOptions {
  /** BasicAuth credentials; none = an open proxy. */
  user?: string;
  password?: string;
  /** The only ports CONNECT may reach (tinyproxy's ConnectPort). */
  allowPorts: number[];
}

/** A port nothing listens on right now (for "proxy down", and to choose tinyproxy's port: it rejects `Port 0`). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function launch(
  dir: string,
  options: TinyproxyOptions,
): Promise<{ child: ChildProcess; port: number } | undefined> {
  const port = await freePort();
  const log = path.join(dir, 'tinyproxy.log');
  // tinyproxy takes comments only on lines of their own (docs/facts.md#tinyproxy).
  const lines = [
    `Port ${port}`,
    'Listen 127.0.0.1',
    'Timeout 60',
    `LogFile "${log}"`,
    'LogLevel Connect',
    'MaxClients 200',
    'Allow 127.0.0.1',
    ...(options.user === undefined ? [] : [`BasicAuth ${options.user} ${options.password ?? ''}`]),
    ...options.allowPorts.map((p) => `ConnectPort ${p}`),
  ];
  const conf = path.join(dir, 'tinyproxy.conf');
  writeFileSync(conf, `${lines.join('\n')}\n`);
  const child = spawn('tinyproxy', ['-d', '-c', conf], { stdio: 'ignore' });
  endsWithParent(child);
  let exited = false;
  child.once('exit', () => (exited = true));
  child.once('error', () => (exited = true));
  for (let i = 0; i < 250 && !exited; i++) {
    if (await canConnect(port)) return { child, port };
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  child.kill('SIGKILL');
  return undefined; // the port was taken meanwhile, or tinyproxy failed: the caller tries another port
}

/** Starts tinyproxy (`apt-get install tinyproxy`; .ci/run does it). The password is registered with the secret scan. */
export async function startTinyproxy(options: TinyproxyOptions): Promise<Tinyproxy> {
  if (options.password !== undefined) secret(options.password);
  const dir = mkdtempSync(path.join(tmpdir(), 'wm-tinyproxy-'));
  const keepDir = removedWithParent(dir);
  let started: { child: ChildProcess; port: number } | undefined;
  for (let attempt = 0; attempt < 5 && started === undefined; attempt++) started = await launch(dir, options);
  if (started === undefined) throw new Error('tinyproxy did not start (is it installed? .ci/run installs it)');
  const { child, port } = started;
  return {
    port,
    url(credentials) {
      const creds =
        credentials ?? (options.user === undefined ? false : { user: options.user, password: options.password ?? '' });
      return creds === false
        ? `http://127.0.0.1:${port}`
        : `http://${encodeURIComponent(creds.user)}:${encodeURIComponent(creds.password)}@127.0.0.1:${port}`;
    },
    connects() {
      let text = '';
      try {
        text = readFileSync(path.join(dir, 'tinyproxy.log'), 'utf8');
      } catch {
        return [];
      }
      return [...text.matchAll(/Request \(file descriptor \d+\): CONNECT (\S+) HTTP/g)].map((m) => m[1] as string);
    },
    async stop() {
      if (child.exitCode === null) {
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
      keepDir();
    },
  };
}
