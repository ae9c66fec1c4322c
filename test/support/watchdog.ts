import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Writable } from 'node:stream';

/**
 * What a test process starts (PostgreSQL clusters, tinyproxy, replica and consumer processes) ends with it, however
 * it ends. The runner ends a test file that runs past its time with a signal, and a SIGKILL cannot be caught: no
 * `after` hook, `exit` handler or signal handler runs then. So the clean-up lives in another process: one watchdog
 * per test process (watchdog-process.mjs), in a session of its own (a signal to the test's process group does not
 * reach it), holding a pipe from this process. The kernel closes that pipe when this process is gone, whatever
 * ended it; the watchdog then stops what is still registered. What a test stops itself is unregistered first.
 */

let channel: Writable | undefined;

function send(op: '+' | '-', kind: 'pid' | 'postgres' | 'dir', value: number | string): void {
  if (channel === undefined) {
    const watchdog = spawn(process.execPath, [path.join(__dirname, 'watchdog-process.mjs')], {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
    });
    // Neither the watchdog nor its pipe keeps this process alive (nor counts in the leak check): at a normal exit
    // the pipe closes too, and the watchdog finds nothing left to stop.
    watchdog.unref();
    const stdin = watchdog.stdin as Writable & { unref?: () => void };
    stdin.unref?.();
    stdin.on('error', () => undefined); // a watchdog gone (killed by hand) must not crash the tests
    channel = stdin;
  }
  channel.write(`${JSON.stringify([op, kind, value])}\n`);
}

/** Registers something to clean up if this process dies; returns the call that unregisters it (idempotent). */
function register(kind: 'pid' | 'postgres' | 'dir', value: number | string): () => void {
  send('+', kind, value);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    send('-', kind, value);
  };
}

/** `child` is SIGKILLed if this process dies first; unregistered when it exits (its pid may then be reused). */
export function endsWithParent(child: ChildProcess): () => void {
  if (child.pid === undefined) return () => undefined; // it did not start: nothing to end
  const release = register('pid', child.pid);
  child.once('exit', release);
  return release;
}

/**
 * The PostgreSQL cluster in `data` is shut down (its postmaster SIGQUIT: immediate shutdown) if this process dies;
 * register before the server starts, so that no moment is left uncovered.
 */
export function clusterEndsWithParent(data: string): () => void {
  return register('postgres', data);
}

/** `dir` is removed (after the processes above ended) if this process dies. */
export function removedWithParent(dir: string): () => void {
  return register('dir', dir);
}
