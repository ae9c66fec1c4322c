#!/usr/bin/env node
import { errorMessage } from '../core/errors';
import { runCli } from './main';

// A second SIGINT/SIGTERM exits at once; the first one lets the CLI close cleanly and save its state.
let signalled = false;
const onSignal = (handler: () => void): (() => void) => {
  const listener = (): void => {
    if (signalled) process.exit(130);
    signalled = true;
    handler();
  };
  process.on('SIGINT', listener);
  process.on('SIGTERM', listener);
  return () => {
    process.off('SIGINT', listener);
    process.off('SIGTERM', listener);
  };
};

// A reader that goes away (`watch-tail … | head`) makes writes fail with EPIPE: without a listener that would be an
// uncaught 'error' event. The failed write itself tells runCli to finish (exit 0, state saved).
process.stdout.on('error', () => undefined);

runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  onSignal,
  ownsProcess: true,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`watch-tail: internal error: ${errorMessage(err)}\n`);
    process.exitCode = 1;
  },
);
