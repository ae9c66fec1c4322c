import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** The number after `--name` on the command line, or `fallback`. */
export function numberArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

/** Median of `xs` (the mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** `min–max` of `xs`, rounded. */
export function range(xs: readonly number[], digits = 0): string {
  return `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;
}

/** What {@link startServiceProcess} prints once it serves. */
export interface ServiceInfo {
  target: string;
  historyUrl: string;
  tenantId: string;
  token: string;
  topic: string;
}

/** Starts `bench/support/service-process.ts` with `events` events published; resolves once it serves. */
export function startServiceProcess(
  events: number,
): Promise<{ info: ServiceInfo; child: ChildProcess; stop: () => void }> {
  return startProcess<ServiceInfo>('service-process.ts', { WM_EVENTS: String(events) });
}

/** Starts a script of `bench/support` that prints one JSON line when it serves, and stops when its stdin closes. */
export function startProcess<T>(
  script: string,
  env: Record<string, string>,
): Promise<{ info: T; child: ChildProcess; stop: () => void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, script)], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.on('exit', (code) => reject(new Error(`service process exited with ${String(code)}`)));
    child.stdout?.on('data', (d: Buffer) => {
      out += String(d);
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve({ info: JSON.parse(out.slice(0, nl)) as T, child, stop: () => child.stdin?.end() });
    });
  });
}

/** CPU time (user + system) of this process in µs. */
export function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** What one run of `bench/support/throughput-run.ts` prints. */
export interface ThroughputRun {
  ms: number;
  cpuUs: number;
  peakRssMiB: number;
}

/**
 * One throughput measurement in a fresh process: `throughput-run.ts <mode>` of the checkout at `root` (this one by
 * default) against the server in `info`, with `env` added; the SDK from src/ (through tsx) when `source` is set, else
 * as throughput-run.ts of that checkout loads it (this one's: the built dist/, see {@link sdkCode}).
 */
export function runThroughput(
  mode: string,
  info: ServiceInfo,
  options: { root?: string; env?: Record<string, string>; source?: boolean } = {},
): Promise<ThroughputRun> {
  const root = options.root ?? path.join(__dirname, '..', '..');
  const conditions = options.source === true ? ['--conditions=watch-manager-source'] : [];
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [...conditions, '--import', 'tsx', path.join(root, 'bench', 'support', 'throughput-run.ts'), mode],
      { cwd: root, env: { ...process.env, WM_SERVICE: JSON.stringify(info), ...options.env }, timeout: 300_000 },
      (err, stdout) => {
        if (err !== null) reject(new Error(`a ${mode} run in ${root} failed: ${err.message}`));
        else resolve(JSON.parse(stdout.trim().split('\n').at(-1) as string) as ThroughputRun);
      },
    );
  });
}

/**
 * Which code `import … from 'watch-manager'` loaded: `dist` (the built package, what an application runs) or `src`
 * (with `--conditions=watch-manager-source`). Refuses a dist/ older than a file of src/: it would measure old code.
 */
export function sdkCode(): 'dist' | 'src' {
  const loaded = require.resolve('watch-manager');
  if (loaded.endsWith('.ts')) return 'src';
  const root = path.join(__dirname, '..', '..');
  const built = statSync(path.join(root, 'dist', 'index.js')).mtimeMs;
  const newer = readdirSync(path.join(root, 'src'), { recursive: true, encoding: 'utf8' }).find(
    (f) => f.endsWith('.ts') && statSync(path.join(root, 'src', f)).mtimeMs > built,
  );
  if (newer !== undefined) throw new Error(`dist/ is older than src/${newer}: npm run build first`);
  return 'dist';
}
