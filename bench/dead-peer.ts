// How long a silently dead peer (bytes stop, no FIN/RST/GOAWAY) takes to be reported as CONNECTION_LOST, against
// the keepalive budget interval + timeout. Several rounds; prints median and range.
//   node --import tsx bench/dead-peer.ts [--interval-ms 1000] [--timeout-ms 1000] [--rounds 5]
import { WatchManager } from '../src';
import { FakeWatchService, FaultProxy } from '../src/testing';
import { numberArg } from './support/stats';

const intervalMs = numberArg('--interval-ms', 1_000);
const timeoutMs = numberArg('--timeout-ms', 1_000);
const rounds = numberArg('--rounds', 5);
const TOPIC = '/management/v1alpha1/watchtopics/dead-peer';

async function round(service: FakeWatchService): Promise<number> {
  const proxy = await FaultProxy.start(service.target);
  const jwt = await service.issueToken();
  let detectedAt = 0;
  const manager = new WatchManager({
    target: proxy.target,
    tenantId: service.tenantId,
    historyUrl: service.historyUrl,
    getToken: () => jwt,
    tls: false,
    keepalive: { intervalMs, timeoutMs },
    reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000 },
  });
  await manager.registerWatch(TOPIC, {
    onEvent: () => undefined,
    onError: (e) => {
      if (e.code === 'CONNECTION_LOST' && detectedAt === 0) detectedAt = performance.now();
    },
  });
  // Freeze at a random point of the keepalive cycle, as a real network failure would.
  await new Promise((resolve) => setTimeout(resolve, Math.random() * intervalMs));
  const frozenAt = performance.now();
  proxy.freeze();
  await service.waitFor(() => detectedAt !== 0, intervalMs + timeoutMs + 10_000, 'detection');
  await manager.close();
  await proxy.close();
  return detectedAt - frozenAt;
}

async function main(): Promise<void> {
  const service = await FakeWatchService.start({ topics: [TOPIC], pingIntervalMs: false });
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const ms = await round(service);
    times.push(ms);
    process.stdout.write(`round ${i + 1}: detected after ${ms.toFixed(0)} ms\n`);
  }
  await service.stop();
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] as number;
  const budget = intervalMs + timeoutMs;
  process.stdout.write(
    `keepalive ${intervalMs}/${timeoutMs} ms: median ${median.toFixed(0)} ms, range ${sorted[0]?.toFixed(0)}–${sorted.at(-1)?.toFixed(0)} ms, budget ${budget} ms\n`,
  );
  process.stdout.write(
    `BENCH dead-peer detect_ms_median=${median.toFixed(0)} detect_ms_max=${sorted.at(-1)?.toFixed(0)} budget_ms=${budget} within_budget=${(sorted.at(-1) as number) <= budget}\n`,
  );
}

void main();
