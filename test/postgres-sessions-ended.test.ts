import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { Pool } from 'pg';
import { WatchManager } from 'watch-manager';
import { PostgresCoordinator } from 'watch-manager/postgres';
import type { FakeWatchService } from 'watch-manager/testing';
import { startPostgres, type TestPostgres } from './support/postgres';
import { quietLogger, scanForSecrets, serviceOptions, startService, token } from './support/harness';

scanForSecrets();

// A file of its own: ten runs of two seconds of terminated sessions each, which on a loaded machine would take a
// large share of coordinated-manager.test.ts's time limit.
const topicName = (name: string): string => `/management/v1alpha1/watchtopics/coordinated-${name}`;

describe(
  'PostgreSQL ending the SDK sessions (a fail-over, a restart, an idle-session killer)',
  { timeout: 300_000 },
  () => {
    let pg: TestPostgres;
    let service: FakeWatchService;
    let jwt: string;
    let db: Pool;
    const managers: WatchManager[] = [];
    before(async () => {
      pg = await startPostgres();
      service = await startService();
      jwt = await token(service, { ttlMs: 3_600_000 });
      db = new Pool({ connectionString: pg.connectionString, max: 2 });
      db.on('error', () => undefined);
    });
    after(async () => {
      await Promise.all(managers.map((m) => m.close()));
      await db?.end();
      await service?.stop();
      await pg?.stop();
    });

    const options = (coordinator: PostgresCoordinator): ConstructorParameters<typeof WatchManager>[0] => ({
      ...serviceOptions(service, jwt),
      from: 'beginning',
      reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
      logger: quietLogger,
      coordinator,
    });

    it(
      'PostgreSQL ending the SDK sessions again and again (pg_terminate_backend every 60 ms): no uncaught error, each effect exactly once',
      { timeout: 240_000 },
      async () => {
        // What a fail-over, a restart or an idle-session killer does. A client whose session ends while no one listens
        // for its 'error' event crashes the process: counted here (node:test would also fail the test on its own).
        const uncaught: unknown[] = [];
        const onUncaught = (err: unknown): void => void uncaught.push(err);
        process.on('uncaughtException', onUncaught);
        const app = 'wm-terminated';
        const url = `${pg.connectionString}?application_name=${app}`;
        try {
          for (let run = 1; run <= 10; run++) {
            const schema = `terminated_${run}`;
            const topic = topicName(`terminated-${run}`);
            service.createTopic(topic);
            await db.query(`CREATE SCHEMA ${schema}`);
            await db.query(`CREATE TABLE ${schema}.effects (seq bigint)`);
            // Odd runs: pools the SDK makes; even runs: a pool of the application's (listened to, as it must be).
            const borrowed = run % 2 === 0 ? new Pool({ connectionString: url, max: 4 }) : undefined;
            borrowed?.on('error', () => undefined);
            const coordinator = new PostgresCoordinator({
              ...(borrowed === undefined ? { connectionString: url } : { pool: borrowed }),
              schema,
              memberId: `member-terminated-${run}`,
              leaseMs: 1_500,
              renewMs: 100,
            });
            const manager = new WatchManager(options(coordinator));
            managers.push(manager);
            await manager.registerWatch(
              topic,
              {
                onEvent: async (e, ctx) => {
                  await ctx.client?.query(`INSERT INTO ${schema}.effects VALUES ($1)`, [e.sequenceId]);
                },
              },
              { transaction: true },
            );
            let published = 0;
            const until3s = performance.now() + 2_000;
            while (performance.now() < until3s) {
              service.publishMany(topic, 3);
              published += 3;
              await db.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, [
                app,
              ]);
              await new Promise((resolve) => setTimeout(resolve, 60));
            }
            const committed = async (): Promise<number[]> =>
              (await db.query<{ seq: string }>(`SELECT seq FROM ${schema}.effects ORDER BY seq`)).rows.map((r) =>
                Number(r.seq),
              );
            const deadline = Date.now() + 30_000;
            while ((await committed()).length < published) {
              assert.ok(Date.now() < deadline, `run ${run}: committed ${(await committed()).length} of ${published}`);
              await new Promise((resolve) => setTimeout(resolve, 50));
            }
            assert.deepEqual(
              await committed(),
              Array.from({ length: published }, (_, i) => i + 1),
              `run ${run}: each effect exactly once`,
            );
            await manager.close();
            await borrowed?.end();
            assert.deepEqual(uncaught.map(String), [], `run ${run}: uncaught errors`);
          }
        } finally {
          process.removeListener('uncaughtException', onUncaught);
        }
      },
    );
  },
);
