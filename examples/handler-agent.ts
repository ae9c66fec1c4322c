// A handler agent: one topic of the embedded fake service, positions in a file (against a real service, a restart
// resumes where handling ended), failed events set aside in a dead-letter spool and redriven, a token from the
// OAuth2 endpoint, four handlers at once (one resource at a time).
//   npm run example:handler [-- <state dir>]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileSequenceStore, WatchManager, type WatchEvent, type WatchHandlers } from 'watch-manager';
import { FakeWatchService } from 'watch-manager/testing';

const TOPIC = '/management/v1alpha1/watchtopics/agent-demo';

/** The agent's "business logic": events of revision resources fail, to show the dead-letter spool at work. */
async function apply(event: WatchEvent): Promise<void> {
  if (event.payload.kind === 'APIServiceRevision') throw new Error(`cannot apply ${event.payload.name}`);
  console.log(`applied #${event.sequenceId} ${event.type} ${event.payload.kind}/${event.payload.name}`);
}

async function main(): Promise<void> {
  const stateDir = process.argv[2] ?? mkdtempSync(path.join(tmpdir(), 'handler-agent-'));
  const service = await FakeWatchService.start({ topics: [TOPIC] });
  service.registerClient({ clientId: 'handler-agent', clientSecret: 'example-secret-123', tokenTtlMs: 60_000 });
  service.publishMany(TOPIC, 20); // history the agent catches up on before live events

  const manager = new WatchManager({
    target: service.target, // gRPC host:port of the watch service, e.g. 'apicentral.axway.com:443'
    historyUrl: service.historyUrl, // default: https://<target host:port>
    tenantId: service.tenantId, // sent as x-axway-tenant-id
    // An OAuth2 service account; or `getToken: () => token` (called at start, before each expiry, after a refusal).
    clientCredentials: {
      tokenUrl: service.tokenUrl,
      clientId: 'handler-agent',
      clientSecret: 'example-secret-123',
    },
    sequenceProvider: new FileSequenceStore(path.join(stateDir, 'positions.json')), // survive restarts
    deadLetterDir: path.join(stateDir, 'dead-letters'), // failed events are set aside here, never dropped
    from: 'beginning', // without a stored position: everything history holds (default 'latest')
    tls: false, // the fake service speaks plaintext; never do this against the real service
  });

  let handled = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const handlers: WatchHandlers = {
    // Acknowledged when the promise resolves: the stored position is the highest sequence id below which every
    // event is acknowledged. A throw is retried (maxAttempts), then the event goes to the dead-letter spool.
    onEvent: async (event) => {
      await apply(event);
      if (++handled === 25) done();
    },
    // The stored position was purged from history: changes were skipped, re-list.
    onResync: (notice) => console.log(`resync ${notice.topic}: ${notice.reason}`),
    // The missed events were all delivered; live events follow.
    onLive: (topic) => console.log(`live: ${topic}`),
    // Retryable errors (the SDK reconnects or retries by itself) and the error that stopped the watch.
    onError: (err) => console.error(`watch error ${err.code} (retryable: ${err.retryable})`),
  };
  // 4 handlers at once, one resource (payload selfLink) at a time.
  const sub = await manager.registerWatch(TOPIC, handlers, { concurrency: 4, maxAttempts: 2 });
  await manager.sendAgentStatus({ state: 'running', message: 'watching' });
  const publisher = setInterval(() => service.publish(TOPIC), 20);
  await finished;
  clearInterval(publisher);

  await sub.close(); // one watch (its position is written); nothing is set aside any more below
  const spool = manager.deadLetters;
  if (spool !== undefined) {
    const letters = await spool.list();
    console.log(`dead letters: ${letters.length}`);
    // Redrive with the fix deployed: each entry is removed once its handler succeeds.
    const redriven = await spool.redrive(async (event) =>
      console.log(`redriven #${event.sequenceId} ${event.payload.name}`),
    );
    console.log(`redriven: ${JSON.stringify(redriven)}`);
  }
  console.log(
    `position saved: ${(await FileSequenceStore.read(path.join(stateDir, 'positions.json')))[TOPIC]} in ${stateDir}`,
  );
  await manager.close(); // everything; resolves when nothing is left running
  await service.stop();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
