// A minimal agent: watches one topic of the embedded fake service with handlers, reports its status, and stops
// after a few events.   node --import tsx examples/handler-agent.ts
import { WatchManager } from '../src';
import { FakeWatchService } from '../src/testing';

const TOPIC = '/management/v1alpha1/watchtopics/agent-demo';

async function main(): Promise<void> {
  const service = await FakeWatchService.start({ topics: [TOPIC], pingIntervalMs: 1_000 });
  const manager = new WatchManager({
    target: service.target,
    tenantId: service.tenantId, historyUrl: service.historyUrl,
    getToken: () => service.issueToken({ ttlMs: 5_000 }),
    tls: false, // the fake service speaks plaintext; never do this against the real service
  });
  let handled = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  await manager.registerWatch(TOPIC, {
    onEvent: async (event) => {
      console.log(`#${event.sequenceId} ${event.type} ${event.payload.kind}/${event.payload.name}`);
      if (++handled === 10) done();
    },
    onError: (err) => console.error(`watch error ${err.code} (retryable: ${err.retryable})`),
  });
  await manager.sendAgentStatus({ state: 'running', message: 'watching' });
  const publisher = setInterval(() => service.publish(TOPIC), 100);
  await finished;
  clearInterval(publisher);
  console.log(JSON.stringify(manager.status()));
  await manager.close();
  await service.stop();
}

void main();
