// Several replicas of an agent sharing four topics through PostgreSQL. Each topic runs on one replica at a time (the
// one holding its lease); each event is applied in a transaction that also stores the topic's position, so it is
// applied exactly once, whichever replica runs it. Replica A then closes (as on SIGTERM): B takes its topics over.
// The two replicas share this process to keep the example short; in production each is a process (a pod) of its own.
//   DATABASE_URL=postgres://user:password@host:5432/db npm run example:replicas
// The example drops and creates the schema `watch_manager_replicas` there, so that every run starts afresh.
import { Pool } from 'pg';
import { WatchManager, type WatchManagerOptions } from 'watch-manager';
import { PostgresCoordinator } from 'watch-manager/postgres';
import { FakeWatchService } from 'watch-manager/testing';

const SCHEMA = 'watch_manager_replicas';
const TOPICS = ['orders', 'payments', 'shipments', 'returns'].map((n) => `/management/v1alpha1/watchtopics/${n}`);

/** One replica: a coordinator (its member of the group) and a manager watching every topic through it. */
async function replica(name: string, options: WatchManagerOptions, connectionString: string): Promise<WatchManager> {
  const coordinator = new PostgresCoordinator({
    connectionString, // or pool: an existing pg.Pool
    schema: SCHEMA,
    memberId: name, // default: hostname + a random suffix
    leaseMs: 5_000, // default 15000: a crashed replica's topics move after at most leaseMs + 2 x renewMs
    renewMs: 500, // default 2000: a closed replica's topics move within about one renewMs
  });
  const manager = new WatchManager({ ...options, coordinator });
  manager.on('lease', (change) => console.log(`${name}: ${change.kind} ${change.topic} (epoch ${change.epoch})`));
  for (const topic of TOPICS) {
    await manager.registerWatch(
      topic,
      {
        onEvent: async (_event, ctx) => {
          // ctx.client: the transaction that also stores this event's position. It commits only while this replica
          // holds the topic's lease at ctx.fencingToken, so a deposed replica's effects never commit.
          await ctx.client?.query(`INSERT INTO ${SCHEMA}.applied (key, replica, fence) VALUES ($1, $2, $3)`, [
            ctx.idempotencyKey, // `${topic}:${sequenceId}`: the key for effects outside this database
            name,
            ctx.fencingToken,
          ]);
        },
      },
      { transaction: true },
    );
  }
  return manager;
}

/** Topics a replica runs now (its watches that are `active`). */
const running = (manager: WatchManager): number => manager.status().watches.filter((w) => w.role === 'active').length;

async function until(what: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > deadline) throw new Error(`not done within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function main(): Promise<void> {
  const connectionString = process.env.DATABASE_URL;
  if (connectionString === undefined) {
    console.error('set DATABASE_URL=postgres://user:password@host:port/db (a database this example may use)');
    process.exit(2);
  }
  const db = new Pool({ connectionString });
  await db.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await db.query(`CREATE SCHEMA ${SCHEMA}`);
  await db.query(`CREATE TABLE ${SCHEMA}.applied (key text, replica text, fence bigint)`);
  const applied = async (): Promise<number> =>
    Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${SCHEMA}.applied`)).rows[0]?.n);

  const service = await FakeWatchService.start({ topics: TOPICS });
  const token = await service.issueToken({ ttlMs: 600_000 });
  const options: WatchManagerOptions = {
    target: service.target,
    historyUrl: service.historyUrl,
    tenantId: service.tenantId,
    getToken: () => token,
    from: 'beginning', // without a stored position
    tls: false, // the fake service speaks plaintext; never do this against the real service
  };
  const a = await replica('replica-a', options, connectionString);
  const b = await replica('replica-b', options, connectionString);
  // A replica counts once it survived two heartbeats; the topics then spread over both.
  await until(() => running(a) === 2 && running(b) === 2);
  console.log(`balanced: replica-a runs ${running(a)} topics, replica-b ${running(b)}`);
  for (const topic of TOPICS) service.publishMany(topic, 5);
  await until(async () => (await applied()) === 20);

  await a.close(); // what a SIGTERM handler does: finish, store the positions, release the leases
  console.log('replica-a closed');
  await until(() => running(b) === 4);
  console.log(`replica-b runs ${running(b)} topics`);
  for (const topic of TOPICS) service.publishMany(topic, 5);
  await until(async () => (await applied()) === 40);

  const twice = await db.query(`SELECT key FROM ${SCHEMA}.applied GROUP BY key HAVING count(*) > 1`);
  console.log(`applied ${await applied()} events, ${twice.rowCount === 0 ? 'each exactly once' : 'SOME TWICE'}`);
  await b.close();
  await service.stop();
  await db.end();
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
