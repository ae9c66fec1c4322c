/**
 * The leak check of every test file, loaded by `npm test` with `--import` (a house rule: each suite ends with a leak
 * check). In each test file's process it notes the resources that keep the event loop alive before the file runs
 * (sockets, servers, ref'd timers, child processes, file handles) and, after the file's last test and hook, fails the
 * file when any kind is above that count: a server left listening, a socket left open, a timer left armed.
 *
 * Closing takes a turn or two of the loop (a socket's close callback, a server's last connection), so the check
 * waits up to {@link SETTLE_MS} for the counts to come back before it fails. A leaked handle would keep the process
 * alive for ever (which `--test-force-exit` used to hide): once the failure is reported the process exits.
 */
import { after } from 'node:test';

/** How long resources may take to finish closing after the last hook. */
const SETTLE_MS = 2_000;
/** After a failure is reported, how long the report has to reach the runner before the process exits. */
const REPORT_MS = 500;

function counts(): Map<string, number> {
  const out = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) out.set(kind, (out.get(kind) ?? 0) + 1);
  return out;
}

/** The kinds above their count at the start, with how many more. */
function leaked(baseline: Map<string, number>): string[] {
  return [...counts()]
    .filter(([kind, n]) => n > (baseline.get(kind) ?? 0))
    .map(([kind, n]) => `${kind} ×${n - (baseline.get(kind) ?? 0)}`);
}

// Only in a test file's own process (the runner sets NODE_TEST_CONTEXT there), never in the runner itself.
if (process.env.NODE_TEST_CONTEXT !== undefined) {
  const baseline = counts();
  after(async () => {
    // The real timer is unref'd so that the wait itself never counts as a leak nor keeps the process alive.
    const deadline = performance.now() + SETTLE_MS;
    let left = leaked(baseline);
    while (left.length > 0 && performance.now() < deadline) {
      await new Promise<void>((resolve) => globalThis.setTimeout(resolve, 20).unref());
      left = leaked(baseline);
    }
    if (left.length === 0) return;
    globalThis.setTimeout(() => process.exit(1), REPORT_MS).unref();
    throw new Error(
      `leak check: this test file left resources behind that keep the process alive: ${left.join(', ')} ` +
        `(at the start: ${[...baseline].map(([k, n]) => `${k} ×${n}`).join(', ')})`,
    );
  });
}
