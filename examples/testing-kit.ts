// Testing an agent against the embedded fake service: publish events, break streams, expire tokens, make history
// fail, and read what the service saw. The agent under test here is a plain handler that counts what it sees.
//   npm run example:testing
import { WatchManager } from 'watch-manager';
import { FakeWatchService } from 'watch-manager/testing';

async function main(): Promise<void> {
  const topic = '/management/v1alpha1/watchtopics/t';
  const service = await FakeWatchService.start({ topics: [topic] });
  const token = await service.issueToken({ ttlMs: 5_000 });
  let current = token;
  const manager = new WatchManager({
    target: service.target,
    historyUrl: service.historyUrl,
    tenantId: service.tenantId,
    tls: false,
    getToken: async ({ forceRefresh }) =>
      forceRefresh ? (current = await service.issueToken({ ttlMs: 5_000 })) : current,
    reconnect: { initialDelayMs: 10, maxDelayMs: 100 },
  });
  const seen = new Set<number>();
  let calls = 0;
  await manager.registerWatch(topic, {
    onEvent: (event) => {
      calls += 1;
      seen.add(event.sequenceId);
    },
  });

  service.publish(topic, { type: 'CREATED', kind: 'APIService', name: 'petstore' });
  service.abortStreams(); // drop every stream (UNAVAILABLE)
  service.expireToken(token); // the stream holding it ends UNAUTHENTICATED
  service.setHistoryFaults({ failRate: 0.2, delayMs: 50 });
  service.publishMany(topic, 20);
  await service.waitFor(() => seen.size === 21, 10_000, 'every event despite the faults');
  console.log(service.counters); // subscribes, refreshes, pings, agent statuses, events sent…

  console.log(
    `agent saw ${seen.size} events in ${calls} handler calls, through ${manager.metrics().watches[0]?.reconnects} reconnects`,
  );
  await manager.close();
  await service.stop();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
