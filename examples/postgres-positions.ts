// Positions in PostgreSQL: a manager handles the first events of a topic, stops, and a new manager (a restarted
// process) resumes after the last one handled, reading its position from the database.
//   DATABASE_URL=postgres://user:password@host:5432/db npm run example:postgres
// The example creates the schema `watch_manager_example` there (and its tables) if it may.
import { WatchManager, type WatchManagerOptions } from 'watch-manager';
import { PostgresSequenceStore } from 'watch-manager/postgres';
import { FakeWatchService } from 'watch-manager/testing';

const TOPIC = '/management/v1alpha1/watchtopics/postgres-demo';

async function run(options: WatchManagerOptions, connectionString: string, until: number): Promise<number[]> {
  const manager = new WatchManager({
    ...options,
    sequenceProvider: new PostgresSequenceStore({ connectionString, schema: 'watch_manager_example' }), // or { pool }
  });
  const seen: number[] = [];
  let done!: () => void;
  const enough = new Promise<void>((resolve) => (done = resolve));
  await manager.registerWatch(TOPIC, {
    onEvent: (event) => {
      seen.push(event.sequenceId);
      if (event.sequenceId >= until) done();
    },
  });
  await enough;
  await manager.close(); // stores the position, and closes the store (its pool)
  return seen;
}

async function main(): Promise<void> {
  const connectionString = process.env.DATABASE_URL;
  if (connectionString === undefined) {
    console.error('set DATABASE_URL=postgres://user:password@host:port/db (a database this example may use)');
    process.exit(2);
  }
  const service = await FakeWatchService.start({ topics: [TOPIC] });
  const token = await service.issueToken({ ttlMs: 60_000 });
  const options: WatchManagerOptions = {
    target: service.target,
    historyUrl: service.historyUrl,
    tenantId: service.tenantId,
    getToken: () => token,
    from: 'beginning', // without a stored position
    tls: false, // the fake service speaks plaintext; never do this against the real service
  };
  service.publishMany(TOPIC, 5);
  console.log(`first run: ${(await run(options, connectionString, 5)).join(' ')}`);
  service.publishMany(TOPIC, 3);
  console.log(`after a restart: ${(await run(options, connectionString, 8)).join(' ')}`);
  await service.stop();
}

void main();
