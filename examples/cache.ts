// A resource cache (manager.cache) of everything a WatchTopic covers, kept in a FileResourceStore: the initial sync
// lists the topic's filters' collections, live events are applied on top (each change told to a listener and to a
// `for await` loop), and a restarted process resumes from the stored position without listing again.
//   npm run example:cache
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileResourceStore, WatchManager, type ResourceChange } from 'watch-manager';
import { FakeWatchService } from 'watch-manager/testing';

const TOPIC = '/management/v1alpha1/watchtopics/cache-demo';
const PROD = { kind: 'Environment', name: 'prod' };
const ORDERS = '/management/v1alpha1/environments/prod/apiservices/orders';

function describe(change: ResourceChange): string {
  // The type says which side holds the resource: `after` for CREATED and UPDATED, `before` for DELETED.
  const resource = change.type === 'DELETED' ? change.before : change.after;
  return `${change.type} ${change.kind}/${resource.name} (#${change.sequenceId}, ${change.cause})`;
}

async function main(): Promise<void> {
  const service = await FakeWatchService.start({ topics: [] });
  // The WatchTopic's filters say what the cache lists: APIServices of one environment, AccessRequests of any.
  service.createTopic(TOPIC, {
    filters: [
      { group: 'management', kind: 'APIService', name: '*', scope: PROD, type: ['created', 'updated', 'deleted'] },
      {
        group: 'management',
        kind: 'AccessRequest',
        name: '*',
        scope: { kind: 'Environment', name: '*' },
        type: ['created', 'updated', 'deleted'],
      },
    ],
  });
  // What exists before the agent first starts: the initial sync lists it.
  for (const name of ['orders', 'payments', 'search'])
    service.publish(TOPIC, {
      type: 'CREATED',
      kind: 'APIService',
      name,
      scope: PROD,
      spec: { endpoint: `https://${name}.example/v1` },
    });
  service.publish(TOPIC, { type: 'CREATED', kind: 'AccessRequest', name: 'orders-for-team-a', scope: PROD });

  const directory = mkdtempSync(path.join(tmpdir(), 'cache-demo-'));
  const token = await service.issueToken({ ttlMs: 600_000 });
  const newManager = (): WatchManager =>
    new WatchManager({
      target: service.target,
      historyUrl: service.historyUrl,
      apiUrl: service.resourceApiUrl, // the resource API (the real service's: https://<target host>/apis, the default)
      tenantId: service.tenantId,
      getToken: () => token,
      tls: false, // the fake service speaks plaintext; never do this against the real service
    });

  try {
    // First run: nothing stored, so an initial sync (the newest sequence id taken before the lists), then live.
    const manager = newManager();
    const cache = await manager.cache(TOPIC, { store: new FileResourceStore({ directory }) });
    await cache.ready();
    console.log(`synced: ${cache.size} resources at #${cache.sequenceId}`);
    console.log(
      `APIServices in prod: ${cache
        .list({ kind: 'APIService', scope: PROD })
        .map((r) => r.name)
        .join(', ')}`,
    );

    let told = 0;
    cache.on('change', () => (told += 1));
    const changes = cache.changes({ signal: AbortSignal.timeout(20_000) }); // every change from now on, in order
    service.publish(TOPIC, {
      type: 'UPDATED',
      kind: 'APIService',
      name: 'orders',
      scope: PROD,
      spec: { endpoint: 'https://orders.example/v2' },
    });
    service.publish(TOPIC, { type: 'DELETED', kind: 'APIService', name: 'search', scope: PROD });
    service.publish(TOPIC, { type: 'CREATED', kind: 'APIService', name: 'inventory', scope: PROD });
    let seen = 0;
    for await (const change of changes) {
      console.log(`change: ${describe(change)}`);
      if (++seen === 3) break; // ends this iterator only; the cache goes on
    }
    const endpoint = (cache.get(ORDERS)?.spec as { endpoint?: string } | undefined)?.endpoint;
    console.log(`told to the listener: ${told}; orders now at ${endpoint}`);
    await manager.close(); // closes the cache and its store (the lock on the directory is released)

    // While the agent is down the service moves on.
    service.publish(TOPIC, { type: 'DELETED', kind: 'APIService', name: 'payments', scope: PROD });

    // Restart: the store holds the resources and their position, so no list: the missed event is applied on top.
    const listsBefore = service.resourceCounters.lists;
    const restarted = newManager();
    const again = await restarted.cache(TOPIC, { store: new FileResourceStore({ directory }) });
    console.log(`loaded: ${again.size} resources at #${again.sequenceId}`);
    again.on('change', (change) => console.log(`change: ${describe(change)}`));
    await again.ready();
    console.log(
      `restarted: ${again.size} resources at #${again.sequenceId}, ${service.resourceCounters.lists - listsBefore} lists`,
    );
    console.log(
      `APIServices in prod: ${again
        .list({ kind: 'APIService', scope: PROD })
        .map((r) => r.name)
        .join(', ')}`,
    );
    await restarted.close();
  } finally {
    await service.stop();
    rmSync(directory, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
