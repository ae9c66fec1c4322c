/**
 * watch-manager: a client SDK for gRPC watch streams (the Amplify Central watch service). The public surface;
 * test helpers live in `watch-manager/testing`.
 * @packageDocumentation
 */
export { WatchManager, type Subscription, type WatchManagerEvents } from './watch-manager';
export type { WatchHandlers, ResyncNotice } from './delivery';
export type { WatchRecord, IterateOptions } from './watch-iterator';
export { DeadLetterSpool, type DeadLetter } from './dead-letter-spool';
export { clientCredentialsToken, type ClientSecretCredentials, type ClientAssertionCredentials, type ClientCredentialsOptions } from './client-credentials';
export type { WatchOptions, WatchFilter } from './watch-options';
export type { WatchManagerOptions, TlsOptions, KeepaliveOptions, ReconnectOptions, TokenGetter, TokenRequest, StartFrom } from './options';
export { MemorySequenceStore, FileSequenceStore, type SequenceProvider, type FileSequenceStoreOptions, type WriteStep } from './sequence-store';
export type { BackoffOptions } from './backoff';
export { WatchError, isRetryable, type WatchErrorCode, type WatchErrorOptions } from './errors';
export type { Clock, Timer, TimerOptions } from './clock';
export type {
  WatchEvent,
  WatchEventType,
  ResourceInstance,
  ResourceReference,
  ResourceScope,
  AgentStatus,
  ConnectionState,
  ManagerStatus,
  WatchStatus,
  StateChange,
  WatchMetrics,
} from './types';
export { VERSION } from './version';
export { createDefaultLogger, type LogLevel } from './logger';
