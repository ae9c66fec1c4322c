// A real-time run of one watch against the fake service: 5-second tokens, a PING every second, 10 events a second.
// Prints in-stream refreshes, reconnects, ping answers and their slowest round trip, and delivery completeness.
//   node --import tsx bench/long-stream.ts [--seconds 60]
import { WatchManager, type WatchError } from '../src';
import { FakeWatchService } from '../src/testing';
import { numberArg } from './support/stats';

const seconds = numberArg('--seconds', 60);
const TOPIC = '/management/v1alpha1/watchtopics/long-stream';

async function main(): Promise<void> {
  const service = await FakeWatchService.start({ topics: [TOPIC], pingIntervalMs: 1_000 });
  const errors: WatchError[] = [];
  let delivered = 0;
  let inOrder = true;
  let last = 0;
  const manager = new WatchManager({
    target: service.target,
    tenantId: service.tenantId,
    historyUrl: service.historyUrl,
    tls: false,
    getToken: () => service.issueToken({ ttlMs: 5_000 }),
  });
  await manager.registerWatch(TOPIC, {
    onEvent: (e) => {
      inOrder &&= e.sequenceId > last;
      last = e.sequenceId;
      delivered += 1;
    },
    onError: (e) => void errors.push(e),
  });
  const started = performance.now();
  let published = 0;
  const publisher = setInterval(() => {
    service.publish(TOPIC);
    published += 1;
  }, 100);
  const report = setInterval(() => {
    const c = service.counters;
    process.stdout.write(
      `t=${((performance.now() - started) / 1000).toFixed(0)}s refreshes=${c.tokenRefreshes} subscribes=${c.subscribes} pings=${c.pingResponses}/${c.pingsSent} delivered=${delivered}\n`,
    );
  }, 10_000);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  clearInterval(publisher);
  clearInterval(report);
  await service.waitFor(() => delivered === published, 5_000, 'last events');
  service.pause();
  await service.waitFor(
    () => service.counters.pingResponses === service.counters.pingsSent,
    5_000,
    'last ping answers',
  );
  const c = service.counters;
  const reconnects = c.subscribes - 1;
  await manager.close();
  await service.stop();
  process.stdout.write(
    `duration=${seconds}s token_ttl=5s refreshes=${c.tokenRefreshes} reconnects=${reconnects} expired_streams=${c.expiredStreams} ` +
      `pings_sent=${c.pingsSent} pings_answered=${c.pingResponses} max_ping_ms=${c.maxPingLatencyMs} ` +
      `events=${delivered}/${published} in_order=${inOrder} errors=${errors.length}\n`,
  );
  process.stdout.write(
    `BENCH long-stream duration_s=${seconds} refreshes=${c.tokenRefreshes} reconnects=${reconnects} pings_answered=${c.pingResponses}/${c.pingsSent} ` +
      `max_ping_ms=${c.maxPingLatencyMs} events=${delivered}/${published}\n`,
  );
}

void main();
