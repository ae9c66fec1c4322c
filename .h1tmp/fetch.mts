import { WatchManager, type WatchEvent } from 'watch-manager';
import { FakeWatchService } from 'watch-manager/testing';

const TOPIC = '/management/v1alpha1/watchtopics/fetch-demo';
const scope = { kind: 'Environment', name: 'prod' };
const service = await FakeWatchService.start({ topics: [TOPIC] });
service.publish(TOPIC, { type: 'CREATED', kind: 'APIService', name: 'orders', scope, spec: { endpoint: 'https://a' } });
service.publish(TOPIC, { type: 'CREATED', kind: 'AccessRequest', name: 'orders-for-team-a', scope });
service.publish(TOPIC, { type: 'CREATED', kind: 'APIService', name: 'short-lived', scope });
service.publish(TOPIC, { type: 'DELETED', kind: 'APIService', name: 'short-lived', scope }); // so #3's fetch: 404
const manager = new WatchManager({
  target: service.target,
  historyUrl: service.historyUrl,
  apiUrl: service.resourceApiUrl, // the resource API; by default https://<target host>/apis
  tenantId: service.tenantId,
  getToken: () => service.issueToken(),
  from: 'beginning',
  tls: false, // the fake speaks plaintext; never do this against the real service
});

const show = (event: WatchEvent): string =>
  event.type === 'DELETED' ? 'deleted (not fetched)' : event.gone ? 'gone (404)' : JSON.stringify(event.resource?.spec);
let done!: () => void;
const finished = new Promise<void>((resolve) => (done = resolve));
await manager.registerWatch(
  TOPIC,
  {
    kinds: {
      APIService: {
        fields: ['spec'], // what this handler reads (the fetch asks for the union of the taking handlers' fields)
        onEvent: (event) => {
          console.log(`#${event.sequenceId} ${event.type} ${event.payload.name}: ${show(event)}`);
          if (event.type === 'UPDATED') done();
        },
      },
      AccessRequest: {
        shouldHandle: (event) => event.type !== 'DELETED', // an event no handler takes: no fetch, acknowledged
        onEvent: (event) => console.log(`#${event.sequenceId} ${event.type} ${event.resource?.name}: ${show(event)}`),
      },
    },
    // onEvent(event, ctx) here would take every event, after the kind's handler (its fields: fetch.fields)
  },
  { fetch: { concurrency: 8 } }, // or { fetch: true }: 8 fetches in flight at most, ahead of the handlers
);
await manager.ready(); // the 4 events of history are handled
service.publish(TOPIC, { type: 'DELETED', kind: 'AccessRequest', name: 'orders-for-team-a', scope }); // filtered
service.publish(TOPIC, { type: 'UPDATED', kind: 'APIService', name: 'orders', scope, spec: { endpoint: 'https://b' } });
await finished;
const metrics = manager.metrics().watches[0];
console.log(`fetched ${metrics?.fetched}, gone ${metrics?.fetchedGone}, filtered ${metrics?.filtered}`); // 4, 1, 1
await manager.close();
await service.stop();
