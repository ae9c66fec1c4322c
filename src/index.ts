/**
 * watch-manager: a client SDK for gRPC watch streams (the Amplify Central watch service). The public surface;
 * test helpers live in `watch-manager/testing`.
 * @module watch-manager
 */
export { WatchManager, type Subscription, type WatchManagerEvents } from './engine/watch-manager';
export type {
  WatchHandlers,
  KindHandlers,
  ResyncNotice,
  EventContext,
  TransactionClient,
} from './delivery/watch-handlers';
export type {
  Coordinator,
  CoordinatorTrouble,
  TopicLease,
  ObservedLease,
  TransactionQuery,
  TransactionResult,
} from './state/coordinator';
export type { WatchRecord, IterateOptions, WatchLoop } from './delivery/watch-loop';
export { DeadLetterSpool, type DeadLetter } from './delivery/dead-letter-spool';
export { clientCredentialsToken, type ClientCredentialsOptions } from './auth/client-credentials';
export type { ClientCredentials, ClientSecretCredentials, ClientAssertionCredentials } from './config/credentials';
export type { WatchOptions, WatchFilter, FetchOptions } from './config/watch-options';
export type { WatchManagerOptions, TlsOptions, KeepaliveOptions, ReconnectOptions, StartFrom } from './config/options';
export type { TokenGetter, TokenRequest } from './config/token-getter';
export type { SequenceProvider } from './state/sequence-provider';
export { MemorySequenceStore } from './state/memory-sequence-store';
export { FileSequenceStore, type FileSequenceStoreOptions } from './state/file-sequence-store';
export type { ResourceStore, StoredChange, StoredCache } from './state/resource-store';
export { MemoryResourceStore } from './state/memory-resource-store';
export { FileResourceStore, type FileResourceStoreOptions } from './state/file-resource-store';
export type { BackoffOptions } from './core/backoff';
export type { ResourceClient } from './resources/resource-client';
export type {
  ResourceCache,
  CacheFilter,
  ResourceChange,
  ResourceChangeBase,
  ResourceChangeCreated,
  ResourceChangeUpdated,
  ResourceChangeDeleted,
  CacheSynced,
} from './cache/resource-cache';
export type { CacheOptions } from './config/cache-options';
export type {
  Resource,
  ResourceMetadata,
  ResourceAudit,
  ResourceGetOptions,
  ResourceListOptions,
  ResourceCountOptions,
} from './resources/resource';
export { WatchError, isRetryable, type WatchErrorCode, type WatchErrorOptions } from './core/errors';
export type { Clock, Timer, TimerOptions } from './core/clock';
export type {
  WatchEvent,
  WatchEventType,
  ResourceInstance,
  ResourceReference,
  ResourceScope,
  AgentStatus,
  WatchState,
  ManagerState,
  ConnectionState,
  ManagerStatus,
  WatchStatus,
  StateChange,
  StateChangeBase,
  StateChangeToWork,
  StateChangeToTrouble,
  StateChangeToStandby,
  WatchMetrics,
  LeaseChange,
} from './core/types';
export { VERSION } from './core/version';
export type { HealthReport, WatchHealth } from './health/health-report';
export type { WatchTelemetry, TelemetryLink, TopicTelemetry } from './telemetry/watch-telemetry';
export { serveProbes, type ProbeServer, type ProbeServerOptions, type HealthSource } from './health/probe-server';
export { createDefaultLogger, type LogLevel, type Logger } from './logging/logger';
