/**
 * The tables of `PostgresResourceStore`, as SQL a DBA can run ahead with a user that has DDL rights (`schema` is the
 * quoted schema name). Apart from `topics`: a topic may have a cache and a watch of its own at once, each with its
 * own position.
 *
 * - `resource_topics`: one row per cached topic, the sequence id its resources reflect (every event up to it applied,
 *   none after it). A topic without this row has nothing stored.
 * - `resources`: one row per resource of a cached topic, keyed by topic and self link, the whole resource in
 *   `resource` (jsonb) and its identity beside it for SQL (`"group"` is quoted: GROUP is an SQL keyword). Rows and
 *   position change in one transaction: a reader sees the resources of the position it reads, never a mix.
 */
export function resourceSchemaSql(schema: string): string {
  return `CREATE SCHEMA IF NOT EXISTS ${schema};
CREATE TABLE IF NOT EXISTS ${schema}.resource_topics (
  topic      text PRIMARY KEY,
  position   bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS ${schema}.resources (
  topic      text NOT NULL,
  self_link  text NOT NULL,
  id         text NOT NULL,
  kind       text NOT NULL,
  "group"    text NOT NULL,
  scope_kind text,
  scope_name text,
  name       text NOT NULL,
  resource   jsonb NOT NULL,
  PRIMARY KEY (topic, self_link)
);
CREATE INDEX IF NOT EXISTS resources_by_kind ON ${schema}.resources (topic, kind, scope_kind, scope_name);
CREATE INDEX IF NOT EXISTS resources_by_id ON ${schema}.resources (topic, id);`;
}

/** What `ensureSchema` looks for and creates for a `PostgresResourceStore`. */
export const RESOURCE_TABLES = { tables: ['resource_topics', 'resources'], sql: resourceSchemaSql } as const;
