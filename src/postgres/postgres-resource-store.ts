import type { PoolClient } from 'pg';
import type { Resource } from '../core/resource';
import { WatchError } from '../core/errors';
import type { ResourceStore, StoredCache, StoredChange } from '../state/resource-store';
import {
  checkout,
  databaseError,
  endPool,
  resolveConnection,
  type PostgresConnection,
  type PostgresConnectionOptions,
} from './connection';
import { ensureSchema } from './schema';
import { RESOURCE_TABLES } from './resource-schema';
import { netChanges } from './resource-batches';
import { ResourceWrites } from './resource-writes';
import { checkChanges, checkPosition, checkResource, checkTopic } from './resource-store-arguments';
import { DATABASE_IDENTITY, FencedResourceStore } from './fenced-resource-store';
import type { TopicLease } from '../state/coordinator';

/** Options of {@link PostgresResourceStore}: where its database is, as for `PostgresSequenceStore`. */
export type PostgresResourceStoreOptions = PostgresConnectionOptions;

/**
 * A resource cache's store in PostgreSQL (`manager.cache(topic, { store })`): one row per resource in
 * `<schema>.resources`, the position in `<schema>.resource_topics`, both written in one transaction, so the rows of a
 * topic are always exactly the resources at its stored position, for a restarted cache and for anyone reading them
 * with SQL (`resourceSchemaSql` shows the tables; they are created on first use unless they exist). A write is a few
 * round trips whatever its size: the resources go as JSON arrays, thousands per statement.
 */
export class PostgresResourceStore implements ResourceStore {
  private readonly db: PostgresConnection;
  private readonly writes: ResourceWrites;
  private ready: Promise<void> | undefined;
  private closed = false;

  /** Validates the options (`INVALID_CONFIG` naming the field, never the password); connects on first use. */
  constructor(options: PostgresResourceStoreOptions) {
    this.db = resolveConnection(options, 'PostgresResourceStore');
    this.writes = new ResourceWrites(this.db.schema);
  }

  async load(topic: string): Promise<StoredCache | undefined> {
    checkTopic(topic, 'load');
    await this.prepare();
    let rows: Array<[position: string, selfLink: string | null, resource: string | null]>;
    try {
      // One statement, one snapshot: the position and the rows of the same committed write.
      ({ rows } = await this.db.pool.query<[string, string | null, string | null]>({
        text: `SELECT t.position::text, r.self_link, r.resource::text
               FROM ${this.db.schema}.resource_topics t LEFT JOIN ${this.db.schema}.resources r ON r.topic = t.topic
               WHERE t.topic = $1`,
        values: [topic],
        rowMode: 'array',
      }));
    } catch (err) {
      throw databaseError(`load the resources of ${topic}`, err);
    }
    if (rows.length === 0) return undefined;
    const position = Number(rows[0]?.[0]);
    if (!Number.isSafeInteger(position) || position < 0)
      throw corrupt(topic, `its position is ${rows[0]?.[0]}, not a sequence id`);
    const resources: Resource[] = [];
    for (const [, selfLink, text] of rows) {
      if (selfLink === null || text === null) continue; // the topic's row alone: no resources
      const resource = JSON.parse(text) as Resource;
      // A row edited by hand: its resource must still be the one its key names, or the cache would index it wrongly.
      if (resource?.metadata?.selfLink !== selfLink)
        throw corrupt(topic, `the row of ${selfLink} holds a resource whose self link is not ${selfLink}`);
      resources.push(resource);
    }
    return { position, resources };
  }

  async replace(topic: string, resources: readonly Resource[], position: number): Promise<void> {
    checkTopic(topic, 'replace');
    checkPosition(position, 'replace');
    for (const resource of resources) checkResource(resource, 'replace');
    // The last of several resources of one self link wins, as a put of each in turn would leave it.
    const { puts } = netChanges(resources.map((resource) => ({ op: 'put', resource })));
    await this.transaction(`replace the resources of ${topic} at position ${position}`, (client) =>
      this.writes.replace(client, topic, puts, position),
    );
  }

  async apply(topic: string, changes: readonly StoredChange[], position: number): Promise<void> {
    checkTopic(topic, 'apply');
    checkPosition(position, 'apply');
    checkChanges(changes, 'apply');
    const net = netChanges(changes);
    await this.transaction(`apply ${changes.length} changes to ${topic} at position ${position}`, (client) =>
      this.writes.apply(client, topic, net, position),
    );
  }

  async drop(topic: string): Promise<void> {
    checkTopic(topic, 'drop');
    await this.transaction(`drop the resources of ${topic}`, (client) => this.writes.drop(client, topic));
  }

  /**
   * This store's writes under `lease` (a lease of a `PostgresCoordinator`): each `replace` and `apply` runs in the
   * lease's own transaction, which also stores the position under the fence and commits only while this member holds
   * the lease at its epoch; a deposed holder's write is rolled back and rejects with `LEASE_LOST`. What a resource
   * cache writes through under a coordinator. The tables must be in the coordinator's database (the first write
   * checks it: `INVALID_CONFIG` otherwise).
   */
  fenced(lease: TopicLease): ResourceStore {
    return new FencedResourceStore(lease, {
      load: (topic) => this.load(topic),
      writes: this.writes,
      prepare: () => this.prepare(),
      database: async () => {
        try {
          const { rows } = await this.db.pool.query<{ id: string }>(DATABASE_IDENTITY);
          return rows[0]?.id ?? '';
        } catch (err) {
          throw databaseError('read which database the resource store is in', err);
        }
      },
    });
  }

  /** Ends the pool it made, abandoning connects under way (a pool the application gave stays open). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.db.owned) await endPool(this.db.pool);
  }

  /** Runs `work` in one transaction on one connection: all of it commits, or none of it (rolled back, typed). */
  private async transaction(action: string, work: (client: PoolClient) => Promise<void>): Promise<void> {
    await this.prepare();
    const { client, release } = await checkout(this.db.pool, action);
    try {
      await client.query('BEGIN');
      await work(client);
      await client.query('COMMIT');
    } catch (err) {
      // A rollback that fails means a broken connection: the pool must not hand it out again.
      const broken = await client.query('ROLLBACK').then(
        () => undefined,
        (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
      );
      release(broken);
      throw databaseError(action, err);
    }
    release();
  }

  private prepare(): Promise<void> {
    if (this.closed) return Promise.reject(new WatchError('CLOSED', 'the PostgresResourceStore is closed'));
    // A failed preparation is tried again by the next call (the database may come back).
    this.ready ??= ensureSchema(this.db.pool, this.db.schema, RESOURCE_TABLES).catch((err: unknown) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }
}

function corrupt(topic: string, problem: string): WatchError {
  return new WatchError('STATE_CORRUPT', `PostgreSQL: the stored resources of ${topic} need repair: ${problem}`);
}
