// Many watches on one manager: 1,000 topics over one channel (one HTTP/2 connection) to a service in its own
// process. Prints the heap each watch costs (after GC) and the client's CPU while idle for 30 s.
//   node --expose-gc --import tsx bench/many-watches.ts [--watches 1000] [--seconds 30]
import { WatchManager } from '../src';
import { numberArg, startServiceProcess } from './support/stats';

const WATCHES = numberArg('--watches', 1_000);
const SECONDS = numberArg('--seconds', 30);
const quiet = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined } as never;

function heapAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc');
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

async function main(): Promise<void> {
  process.env.WM_TOPICS = String(WATCHES);
  const { info, stop } = await startServiceProcess(0);
  const manager = new WatchManager({
    target: info.target,
    historyUrl: info.historyUrl,
    tenantId: info.tenantId,
    getToken: () => info.token,
    tls: false,
    logger: quiet,
  });
  const before = heapAfterGc();
  const t0 = performance.now();
  let received = 0;
  for (let i = 0; i < WATCHES; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, WATCHES - i) }, (_, j) =>
        manager.registerWatch(`${info.topic}-${i + j}`, { onEvent: () => void (received += 1) }),
      ),
    );
  }
  const setupS = (performance.now() - t0) / 1000;
  const after = heapAfterGc();
  const perWatchKiB = (after - before) / WATCHES / 1024;
  const ready = manager.status().watches.filter((w) => w.state === 'ready').length;
  process.stdout.write(
    `${ready}/${WATCHES} watches ready in ${setupS.toFixed(1)} s; heap ${(before / 2 ** 20).toFixed(1)} → ${(after / 2 ** 20).toFixed(1)} MiB: ${perWatchKiB.toFixed(1)} KiB per watch\n`,
  );
  const cpu0 = process.cpuUsage();
  const i0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
  const cpu = process.cpuUsage(cpu0);
  const idlePct = ((cpu.user + cpu.system) / 1000 / (performance.now() - i0)) * 100;
  process.stdout.write(
    `idle for ${SECONDS} s: client CPU ${idlePct.toFixed(2)} % of one core (${received} events, keepalive pings included)\n`,
  );
  await manager.close();
  stop();
  process.stdout.write(
    `BENCH many-watches heap_kib_per_watch=${perWatchKiB.toFixed(1)} idle_cpu_pct=${idlePct.toFixed(2)} watches=${ready}\n`,
  );
}

void main();
