import { after, before } from 'node:test';
import { Pool } from 'pg';
import { WatchManager, type Coordinator, type WatchManagerOptions } from '../../src';
import { PostgresCoordinator, type PostgresCoordinatorOptions } from '../../src/postgres';
import type { FakeWatchService } from '../../src/testing';
import { quietLogger, serviceOptions, startService, token } from './harness';
import { startPostgres, type TestPostgres } from './postgres';

/**
 * What a suite of coordinated watches runs against: a PostgreSQL of its own, the fake watch service with a token, and
 * a pool for the test's own queries. Started in `before()`; in `after()` the managers and coordinators it made close
 * first, then the pool, the service and the database.
 */
export interface CoordinatedSuite {
  readonly pg: TestPostgres;
  readonly service: FakeWatchService;
  /** A token of `service`, valid for an hour. */
  readonly jwt: string;
  /** For the test's own statements (two connections; its errors are ignored: the server may restart under it). */
  readonly db: Pool;
  /** A manager's options against `service`: from the beginning, reconnects within 20–200 ms, a quiet logger. */
  readonly options: (extra?: Partial<WatchManagerOptions>) => WatchManagerOptions;
  /**
   * A coordinator member on `pg` (leases of 1.5 s renewed every 150 ms unless `extra` says otherwise), closed after
   * the suite.
   */
  readonly coordinator: (
    schema: string,
    memberId: string,
    extra?: Partial<PostgresCoordinatorOptions>,
  ) => PostgresCoordinator;
  /** A manager with {@link options}, closed after the suite. */
  readonly manager: (extra?: Partial<WatchManagerOptions>) => WatchManager;
}

/** Registers the suite's `before()` and `after()` in the `describe` it is called in. */
export function coordinatedSuite(): CoordinatedSuite {
  const managers: WatchManager[] = [];
  const coordinators: Coordinator[] = [];
  const suite = {
    options: (extra: Partial<WatchManagerOptions> = {}): WatchManagerOptions => ({
      ...serviceOptions(suite.service, suite.jwt),
      from: 'beginning',
      reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
      logger: quietLogger,
      ...extra,
    }),
    coordinator: (schema: string, memberId: string, extra: Partial<PostgresCoordinatorOptions> = {}) => {
      const c = new PostgresCoordinator({
        connectionString: suite.pg.connectionString,
        schema,
        memberId,
        leaseMs: 1_500,
        renewMs: 150,
        ...extra,
      });
      coordinators.push(c);
      return c;
    },
    manager: (extra: Partial<WatchManagerOptions> = {}) => {
      const m = new WatchManager(suite.options(extra));
      managers.push(m);
      return m;
    },
  } as CoordinatedSuite & { pg: TestPostgres; service: FakeWatchService; jwt: string; db: Pool };
  before(async () => {
    suite.pg = await startPostgres();
    suite.service = await startService();
    suite.jwt = await token(suite.service, { ttlMs: 3_600_000 });
    suite.db = new Pool({ connectionString: suite.pg.connectionString, max: 2 });
    suite.db.on('error', () => undefined);
  });
  after(async () => {
    await Promise.all(managers.map((m) => m.close()));
    await Promise.all(coordinators.map((c) => c.close()));
    await suite.db?.end();
    await suite.service?.stop();
    await suite.pg?.stop();
  });
  return suite;
}
