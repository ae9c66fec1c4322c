/**
 * watch-manager/postgres: positions (and, later, leases) in PostgreSQL through `pg` (node-postgres), an optional
 * peer dependency loaded only by this entry.
 * @packageDocumentation
 */
import './peer-check';
export { PostgresSequenceStore, type PostgresSequenceStoreOptions } from './postgres-sequence-store';
export type { PostgresConnectionOptions } from './connection';
export { schemaSql } from './schema';
export { PostgresCoordinator, type PostgresCoordinatorOptions } from './postgres-coordinator';
export type { Coordinator, TopicLease } from '../state/coordinator';
