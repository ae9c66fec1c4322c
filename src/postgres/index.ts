/**
 * watch-manager/postgres: positions and leases in PostgreSQL through `pg` (node-postgres), an optional
 * peer dependency loaded only by this entry.
 * @module watch-manager/postgres
 */
import './peer-check';
export { PostgresSequenceStore, type PostgresSequenceStoreOptions } from './postgres-sequence-store';
export type { PostgresConnectionOptions } from './connection';
export { schemaSql } from './schema';
export { PostgresCoordinator } from './postgres-coordinator';
export type { PostgresCoordinatorOptions } from './coordinator-options';
export type { Coordinator, TopicLease } from '../state/coordinator';
export { PostgresResourceStore, type PostgresResourceStoreOptions } from './postgres-resource-store';
export { resourceSchemaSql } from './resource-schema';
export type { ResourceStore, StoredCache, StoredChange } from '../state/resource-store';
