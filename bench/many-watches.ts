// Many watches on one manager: 1,000 topics over one channel (one HTTP/2 connection) to a service in its own
// process. Prints the heap each watch costs (after GC) and the client's CPU while idle, over --rounds windows of
// --seconds each after a settling pause (median and range: the machine is shared).
// The SDK is loaded by its package name, so by default the built package (dist/, `npm run build` first), what an
// application runs; `--conditions=watch-manager-source` loads src/ through tsx instead, whose transform (esbuild's
// keepNames) gives every named closure a property store of its own (~256 bytes each, ~28 per watch).
//   node --expose-gc --import tsx bench/many-watches.ts [--watches 1000] [--seconds 10] [--rounds 3]
import { WatchManager } from 'watch-manager';
import { median, numberArg, range, sdkCode, startServiceProcess } from './support/stats';

const WATCHES = numberArg('--watches', 1_000);
const SECONDS = numberArg('--seconds', 10);
const ROUNDS = numberArg('--rounds', 3);
/** After the last registration: the first streams' timers (quiet accept, 2 s) and the setup's garbage settle. */
const SETTLE_MS = 3_000;
const quiet = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined } as never;

function heapAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc');
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const code = sdkCode();
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
  await sleep(SETTLE_MS);
  const subscribed = manager.status().watches.filter((w) => w.state === 'subscribed').length;
  const kib: number[] = [];
  const idle: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    kib.push((heapAfterGc() - before) / WATCHES / 1024);
    const cpu0 = process.cpuUsage();
    const i0 = performance.now();
    await sleep(SECONDS * 1000);
    const cpu = process.cpuUsage(cpu0);
    idle.push(((cpu.user + cpu.system) / 1000 / (performance.now() - i0)) * 100);
    process.stdout.write(
      `round ${round + 1}: heap ${(kib.at(-1) as number).toFixed(1)} KiB per watch; idle ${SECONDS} s: client CPU ${(idle.at(-1) as number).toFixed(2)} % of one core\n`,
    );
  }
  process.stdout.write(
    `${subscribed}/${WATCHES} watches subscribed in ${setupS.toFixed(1)} s (${code}); heap per watch ${median(kib).toFixed(1)} KiB (${range(kib, 1)}), idle CPU ${median(idle).toFixed(2)} % of one core (${range(idle, 2)}), ${received} events, keepalive pings included\n`,
  );
  await manager.close();
  stop();
  process.stdout.write(
    `BENCH many-watches heap_kib_per_watch=${median(kib).toFixed(1)} heap_kib_per_watch_range=${range(kib, 1)} idle_cpu_pct=${median(idle).toFixed(2)} idle_cpu_pct_range=${range(idle, 2)} watches=${subscribed} code=${code}\n`,
  );
}

void main();
