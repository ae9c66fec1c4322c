// A `for await` consumer: records of one topic (catch-up, then `live`, then live events), acknowledged when the loop
// asks for the next one; `break` or the abort signal closes the watch and saves the position.
//   npm run example:iterator
import { WatchManager } from 'watch-manager';
import { FakeWatchService } from 'watch-manager/testing';

const TOPIC = '/management/v1alpha1/watchtopics/iterator-demo';

async function main(): Promise<void> {
  const service = await FakeWatchService.start({ topics: [TOPIC] });
  service.publishMany(TOPIC, 5);
  const token = await service.issueToken({ ttlMs: 60_000 });
  const manager = new WatchManager({
    target: service.target,
    historyUrl: service.historyUrl,
    tenantId: service.tenantId,
    getToken: () => token,
    tls: false, // the fake service speaks plaintext; never do this against the real service
  });
  const publisher = setInterval(() => service.publish(TOPIC), 20);

  let events = 0;
  // At most 50 records wait unacknowledged; past that the SDK stops reading and HTTP/2 pushes back on the service.
  for await (const record of manager.watch(TOPIC, {
    from: 'beginning',
    concurrency: 50,
    signal: AbortSignal.timeout(10_000),
  })) {
    if (record.kind === 'live') console.log(`live: ${record.topic}`);
    else if (record.kind === 'resync')
      console.log(`resync: re-list, then go on after #${record.notice.newestSequenceId}`);
    else {
      console.log(
        `#${record.event.sequenceId} ${record.event.type} ${record.event.payload.kind}/${record.event.payload.name}`,
      );
      if (++events === 15) break; // closes the watch; the 15th is not acknowledged, a restart would see it again
    }
  }

  clearInterval(publisher);
  console.log(`done after ${events} events`);
  await manager.close();
  await service.stop();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
