import { readFileSync, readdirSync } from 'node:fs';

/**
 * The machine's processes, read from /proc (Linux, as the whole suite): no `ps` or `pgrep`, which a slim image may
 * lack (procps is not among the suite's system tools).
 */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** `R`, `S`, `Z` (a zombie: ended, not yet reaped)… */
  state: string;
  /** The command line, arguments joined by spaces. */
  cmdline: string;
  /** Clock ticks after boot when it started (field 22 of /proc/<pid>/stat). */
  startTicks: number;
}

/** /proc/<pid>/stat's fields after the command name (which may hold spaces and parentheses). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined; // ended meanwhile
  }
}

/** One process, or undefined when it is gone. */
export function processInfo(pid: number): ProcessInfo | undefined {
  const fields = statFields(pid);
  if (fields === undefined) return undefined;
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    // ended meanwhile: the stat read is what counts
  }
  return {
    pid,
    ppid: Number(fields[1]),
    state: fields[0] ?? '',
    cmdline,
    startTicks: Number(fields[19]),
  };
}

/** Every process now. */
export function processes(): ProcessInfo[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((name) => processInfo(Number(name)))
    .filter((p): p is ProcessInfo => p !== undefined);
}

/** Whether `pid` runs (a zombie does not). */
export function running(pid: number): boolean {
  const info = processInfo(pid);
  return info !== undefined && info.state !== 'Z';
}

/** The processes descended from `root` now (children, their children…). */
export function descendants(root: number): number[] {
  const all = processes();
  const found: number[] = [];
  for (let frontier = [root]; frontier.length > 0;) {
    const next = all.filter((p) => frontier.includes(p.ppid)).map((p) => p.pid);
    found.push(...next);
    frontier = next;
  }
  return found;
}

/**
 * When `pid` started, in ms since the epoch (to the clock tick): boot time (/proc/stat `btime`) plus its start in
 * ticks of USER_HZ, which is 100 on every Linux /proc.
 */
export function startedAt(pid: number): number | undefined {
  const info = processInfo(pid);
  const btime = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1];
  if (info === undefined || btime === undefined) return undefined;
  return Number(btime) * 1_000 + info.startTicks * 10;
}
