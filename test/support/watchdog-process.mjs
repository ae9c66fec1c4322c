/* global process, setTimeout */
// The watchdog of one test process (started by watchdog.ts). It reads what to clean up from its stdin, one JSON line
// each: ["+"|"-", "pid", n] a child process to SIGKILL, ["+"|"-", "postgres", dataDir] a cluster whose postmaster
// (data/postmaster.pid) gets SIGQUIT (PostgreSQL's immediate shutdown: it ends its backends, then itself),
// ["+"|"-", "dir", path] a directory to remove. Its stdin is the only pipe to the parent: it reaches end of file when
// the parent is gone, however it ended (SIGKILL included, which the parent cannot catch), and then the watchdog stops
// everything still registered and exits. Plain JavaScript, so that it starts in a few milliseconds without tsx.
import { readFileSync, rmSync } from 'node:fs';

const registered = { pid: new Set(), postgres: new Set(), dir: new Set() };
/** How long the processes signalled get to end before they are killed. */
const GRACE_MS = 10_000;

let buffer = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buffer += chunk;
  for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
    const line = buffer.slice(0, nl);
    buffer = buffer.slice(nl + 1);
    try {
      const [op, kind, value] = JSON.parse(line);
      const set = registered[kind];
      if (set === undefined) continue;
      if (op === '+') set.add(value);
      else set.delete(value);
    } catch {
      // Not a line of ours: nothing to register.
    }
  }
});
process.stdin.on('end', () => void cleanUp());
process.stdin.on('error', () => void cleanUp());

function postmasterOf(data) {
  try {
    const pid = Number(readFileSync(`${data}/postmaster.pid`, 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined; // not started yet, or stopped already
  }
}

function signal(pid, name) {
  try {
    process.kill(pid, name);
  } catch {
    // gone already
  }
}

/** Whether `pid` runs (a zombie, ended but not yet reaped by its new parent, does not). */
function alive(pid) {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if (err.code !== 'EPERM') return false;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] !== 'Z';
  } catch {
    return false;
  }
}

let cleaning = false;
async function cleanUp() {
  if (cleaning) return;
  cleaning = true;
  const postmasters = [...registered.postgres].map(postmasterOf).filter((pid) => pid !== undefined);
  for (const pid of postmasters) signal(pid, 'SIGQUIT');
  for (const pid of registered.pid) signal(pid, 'SIGKILL');
  const waited = [...postmasters, ...registered.pid];
  const deadline = Date.now() + GRACE_MS;
  while (waited.some(alive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  for (const pid of waited.filter(alive)) signal(pid, 'SIGKILL');
  for (const dir of registered.dir) rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}
