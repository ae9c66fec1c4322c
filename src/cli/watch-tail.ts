#!/usr/bin/env node
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

runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, onSignal, ownsProcess: true }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`watch-tail: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
