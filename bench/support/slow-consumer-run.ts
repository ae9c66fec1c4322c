// One slow consumer (1 ms per event) against the service named in WM_SERVICE, through handlers or for await
// (argv[2]); samples its own RSS every 5 s for WM_SECONDS and prints one JSON line with the samples.
import { WatchManager } from '../../src';
import type { ServiceInfo } from './stats';

const mode = process.argv[2] === 'iterator' ? 'iterator' : 'handler';
const seconds = Number(process.env.WM_SECONDS ?? '30');
const info = JSON.parse(process.env.WM_SERVICE as string) as ServiceInfo;
const quiet = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined } as never;
const slow = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1));

async function main(): Promise<void> {
  const manager = new WatchManager({
    target: info.target,
    historyUrl: info.historyUrl,
    tenantId: info.tenantId,
    getToken: () => info.token,
    tls: false,
    logger: quiet,
  });
  let handled = 0;
  const samples: Array<{ t: number; rssMiB: number; handled: number }> = [];
  let first!: () => void;
  const started = new Promise<void>((resolve) => (first = resolve));
  const onEvent = async (): Promise<void> => {
    if (++handled === 100) first(); // measure from a running state, not from process start
    await slow();
  };
  const stop = new AbortController();
  if (mode === 'handler') {
    await manager.registerWatch(info.topic, { onEvent });
  } else {
    void (async () => {
      for await (const record of manager.watch(info.topic, { signal: stop.signal }))
        if (record.kind === 'event') await onEvent();
    })();
  }
  await started;
  const t0 = performance.now();
  for (let i = 0; i <= seconds / 5; i++) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, Math.max(0, t0 + i * 5_000 - performance.now())));
    samples.push({
      t: Math.round((performance.now() - t0) / 1000),
      rssMiB: process.memoryUsage.rss() / 2 ** 20,
      handled,
    });
  }
  stop.abort();
  await manager.close();
  process.stdout.write(`${JSON.stringify({ mode, samples })}\n`);
}

void main();
