import type { AgentStatusFeed } from '../transport/stream-feeds';
import type { WatchMetrics, WatchStatus } from '../core/types';

/**
 * A registered watch as its manager keeps it: the engine of one topic ({@link TopicWatch}), or, with a coordinator,
 * a watch that runs such an engine only while it holds the topic's lease ({@link CoordinatedWatch}).
 */
export interface ManagedWatch {
  readonly id: string;
  readonly topic: string;
  readonly currentState: WatchStatus['state'];
  /** The agent status its streams send (`manager.sendAgentStatus`). */
  readonly agentStatus: AgentStatusFeed;
  /** Resolves once subscribed (a coordinated watch: once it waits for its lease); rejects on a permanent failure. */
  start(): Promise<void>;
  status(): WatchStatus;
  metrics(): WatchMetrics;
  /** Stops it and stores its position. Idempotent. */
  close(): Promise<void>;
}
