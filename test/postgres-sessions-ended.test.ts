import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { Pool } from 'pg';
import { PostgresCoordinator } from 'watch-manager/postgres';
import { coordinatedSuite } from './support/coordinated-suite';
import { scanForSecrets } from './support/harness';

scanForSecrets();

// A file of its own: ten runs of two seconds of terminated sessions each, which on a loaded machine would take a
// large share of coordinated-manager.test.ts's time limit.
const topicName = (name: string): string => `/management/v1alpha1/watchtopics/coordinated-${name}`;

describe(
  'PostgreSQL ending the SDK sessions (a fail-over, a restart, an idle-session killer)',
  { timeout: 300_000 },
  () => {
    const suite = coordinatedSuite();

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
        const url = `${suite.pg.connectionString}?application_name=${app}`;
        try {
          for (let run = 1; run <= 10; run++) {
            const schema = `terminated_${run}`;
            const topic = topicName(`terminated-${run}`);
            suite.service.createTopic(topic);
            await suite.db.query(`CREATE SCHEMA ${schema}`);
            await suite.db.query(`CREATE TABLE ${schema}.effects (seq bigint)`);
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
            const manager = suite.manager({ coordinator });
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
              suite.service.publishMany(topic, 3);
              published += 3;
              await suite.db.query(
                `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`,
                [app],
              );
              await new Promise((resolve) => setTimeout(resolve, 60));
            }
            const committed = async (): Promise<number[]> =>
              (await suite.db.query<{ seq: string }>(`SELECT seq FROM ${schema}.effects ORDER BY seq`)).rows.map((r) =>
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
