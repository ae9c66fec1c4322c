import { endOfLifeMessage } from '../../src/core/node-support';

/**
 * The SDK's own end-of-life warning (src/core/node-support.ts), taken out of a child's stderr so that a test can hold
 * the rest to exactly the lines it expects. On an ended Node.js line (the machines' 20 since 2026-04-30) every process
 * that builds a WatchManager prints it once, as Node.js prints any process warning (the same on 20, 22, 24 and 26):
 *
 *   (node:PID) [WATCH_MANAGER_NODE_EOL] Warning: Node.js v20.20.2 reached its end of life on 2026-04-30: …
 *   (Use `node --trace-warnings ...` to show where the warning was created)
 *
 * the second line only after a process's first warning. Only this code is taken out: any other warning (a
 * deprecation a new Node.js prints, say) still fails a test that expects one line, as it should. For the library's
 * own processes only: `watch-tail` tells an ended line in one line of its own ({@link cliEndOfLifeLine}), and a test
 * of the CLI holds its stderr exactly.
 */
export function withoutEndOfLifeWarning(stderr: string): string {
  return stderr.replace(
    /^\(node:\d+\) \[WATCH_MANAGER_NODE_EOL\] Warning: [^\n]*\n(?:\(Use `node --trace-warnings \.\.\.` [^\n]*\n)?/m,
    '',
  );
}

/**
 * The line `watch-tail` starts its stderr with on this Node.js today once its configuration is accepted: its own
 * end-of-life line on an ended line, nothing ('') on a supported one. (Not at all for JSON to a pipe at
 * `--log-level error`.)
 */
export function cliEndOfLifeLine(now = Date.now()): string {
  const message = endOfLifeMessage(process.version, now);
  return message === undefined ? '' : `watch-tail: warning: ${message}\n`;
}
