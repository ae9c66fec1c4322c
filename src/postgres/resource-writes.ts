import type { Resource } from '../core/resource';
import type { TransactionClient } from '../state/coordinator';
import { resourceBatches, type NetChanges } from './resource-batches';

/** Where the statements of a write run: the client of a transaction begun and committed by someone else. */
export type StatementRunner = Pick<TransactionClient, 'query'>;

/**
 * The statements of a `PostgresResourceStore` write, run inside a transaction its caller begins and commits: the
 * store's own, or (under a coordinator) a lease's, whose fenced position write then decides whether they commit. A
 * write is one statement for the position, one for the deletes, and one per batch of resources put: its round trips
 * do not grow with its size but by a batch in thousands.
 */
export class ResourceWrites {
  /** @param schema the schema as a quoted SQL identifier */
  constructor(private readonly schema: string) {}

  /** Every resource of `topic` becomes `resources` (one per self link), at `position`. */
  async replace(db: StatementRunner, topic: string, resources: readonly Resource[], position: number): Promise<void> {
    await this.position(db, topic, position);
    await db.query(`DELETE FROM ${this.schema}.resources WHERE topic = $1`, [topic]);
    await this.put(db, topic, resources);
  }

  /** The net changes of an apply (one per self link) and the position. */
  async apply(db: StatementRunner, topic: string, { puts, deletes }: NetChanges, position: number): Promise<void> {
    await this.position(db, topic, position);
    if (deletes.length > 0)
      await db.query(`DELETE FROM ${this.schema}.resources WHERE topic = $1 AND self_link = ANY($2::text[])`, [
        topic,
        deletes,
      ]);
    await this.put(db, topic, puts);
  }

  /** Nothing stored for `topic` any more. */
  async drop(db: StatementRunner, topic: string): Promise<void> {
    await db.query(`DELETE FROM ${this.schema}.resource_topics WHERE topic = $1`, [topic]);
    await db.query(`DELETE FROM ${this.schema}.resources WHERE topic = $1`, [topic]);
  }

  /**
   * Sets the topic's position, first in its transaction: the row lock it takes holds off any other write of the
   * topic (another process's) until this one commits, so that writes of one topic never interleave.
   */
  private async position(db: StatementRunner, topic: string, position: number): Promise<void> {
    await db.query(
      `INSERT INTO ${this.schema}.resource_topics AS t (topic, position) VALUES ($1, $2)
       ON CONFLICT (topic) DO UPDATE SET updated_at = now(), position = EXCLUDED.position`,
      [topic, position],
    );
  }

  /**
   * Writes `resources` (one per self link) over the topic's rows, a batch per statement. The columns are read out of
   * the resource by the database itself, so they always say what the row's `resource` says.
   */
  private async put(db: StatementRunner, topic: string, resources: readonly Resource[]): Promise<void> {
    for (const batch of resourceBatches(resources))
      await db.query(
        `INSERT INTO ${this.schema}.resources AS r
           (topic, self_link, id, kind, "group", scope_kind, scope_name, name, resource)
         SELECT $1, e->'metadata'->>'selfLink', e->'metadata'->>'id', e->>'kind', e->>'group',
                e->'metadata'->'scope'->>'kind', e->'metadata'->'scope'->>'name', e->>'name', e
         FROM jsonb_array_elements($2::jsonb) AS e
         ON CONFLICT (topic, self_link) DO UPDATE SET id = EXCLUDED.id, kind = EXCLUDED.kind, "group" = EXCLUDED."group",
           scope_kind = EXCLUDED.scope_kind, scope_name = EXCLUDED.scope_name, name = EXCLUDED.name,
           resource = EXCLUDED.resource`,
        [topic, batch],
      );
  }
}
