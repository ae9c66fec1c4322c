/**
 * The SDK's own public types. Generated proto types stay inside the stream and codec modules; these are what users
 * see, and they are stable across proto regeneration.
 */

/** What happened to the resource. PING events of the wire never reach users. */
export type WatchEventType = 'CREATED' | 'UPDATED' | 'DELETED' | 'SUBRESOURCEUPDATED' | 'TRIGGERACTION';

/** Every {@link WatchEventType}, for checks at run time. */
export const WATCH_EVENT_TYPES: ReadonlySet<string> = new Set<WatchEventType>(['CREATED', 'UPDATED', 'DELETED', 'SUBRESOURCEUPDATED', 'TRIGGERACTION']);

/** A reference from one resource to another (WIRE.md `Reference`). */
export interface ResourceReference {
  id: string;
  kind: string;
  name: string;
  scopeKind: string;
  scopeName: string;
  selfLink: string;
  type: 'SOFT' | 'HARD';
}

/** The scope (environment, catalog…) a resource lives in. */
export interface ResourceScope {
  id: string;
  kind: string;
  name: string;
  selfLink: string;
}

/** The changed resource as the event carries it (WIRE.md `ResourceInstance`). */
export interface ResourceInstance {
  group: string;
  kind: string;
  name: string;
  metadata: {
    id: string;
    scope: ResourceScope | null;
    selfLink: string;
    references: ResourceReference[];
  };
  attributes: Record<string, string>;
}

/** One resource change on a watch topic. */
export interface WatchEvent {
  /** The event's id. */
  id: string;
  /** When the change happened (RFC 3339, as the service sends it). */
  time: string;
  version: string;
  product: string;
  correlationId: string;
  organizationId: string;
  type: WatchEventType;
  /** The WatchTopic self link this event belongs to. */
  topic: string;
  watchTopicId: string;
  /** Increases per topic; the resume position. Not necessarily consecutive. */
  sequenceId: number;
  /** The subresource that changed, for `SUBRESOURCEUPDATED`; empty otherwise. */
  subresource: string;
  payload: ResourceInstance;
  /** The `actionDetails` of a `TRIGGERACTION` event, when present: a protobuf `Any`, undecoded. */
  actionDetails?: { typeUrl: string; value: Uint8Array };
}

/** What an agent reports about itself with {@link WatchManager.sendAgentStatus}. */
export interface AgentStatus {
  /** The agent's state, for example `running` or `unhealthy`. */
  state: string;
  message: string;
  context?: { environmentName?: string; agentName?: string };
}

/** The lifecycle state of a manager or of one watch. */
export type ConnectionState = 'idle' | 'connecting' | 'ready' | 'reconnecting' | 'closed';

/** One watch in {@link ManagerStatus}. */
export interface WatchStatus {
  id: string;
  topic: string;
  state: Exclude<ConnectionState, 'idle'>;
  /** True once the missed events were delivered and live events flow (false while catching up). */
  live: boolean;
  /** The acknowledged position: the sequence id of the last event whose handler finished (or a resync target). */
  lastSequenceId: number;
  /** The code of the last error this watch met, if any. */
  lastErrorCode?: string;
  /** When the next connection attempt is due (epoch ms), while `reconnecting`. */
  nextAttemptAt?: number;
}

/** A snapshot of {@link WatchManager.status}. */
export interface ManagerStatus {
  state: ConnectionState;
  watches: WatchStatus[];
}

/** A watch changed state: the payload of the manager's `'state'` event. */
export interface StateChange {
  watchId: string;
  topic: string;
  from: WatchStatus['state'];
  to: WatchStatus['state'];
  /** The code of the error that caused the change, if one did (for example `CONNECTION_LOST` → `reconnecting`). */
  errorCode?: string;
  /** The manager's state after the change. */
  manager: ConnectionState;
}

/** Counters and gauges of one watch: {@link WatchManager.metrics}. */
export interface WatchMetrics {
  id: string;
  topic: string;
  state: WatchStatus['state'];
  /** Events whose handler finished (filtered and repeated events not counted). */
  delivered: number;
  /** The acknowledged (stored) position. */
  acknowledgedSequenceId: number;
  /** Handlers running now. */
  inFlight: number;
  /** Events waiting: queued for delivery plus live events held back during a catch-up. */
  buffered: number;
  /** Events kept from the handlers by the filter. */
  filtered: number;
  /** Events dropped as repeats (already delivered). */
  duplicates: number;
  /** Events set aside in the dead-letter spool. */
  deadLettered: number;
  /** Reconnects after retryable failures. */
  reconnects: number;
  /** The current or last catch-up: events replayed from history, and the live event it catches up to, when known. */
  catchUp: { active: boolean; replayed: number; targetSequenceId?: number };
  /** `time` of the last event handled. */
  lastEventTime?: string;
  /** Clock now − the last handled event's `time`, in ms: how far behind the consumer is while events flow. */
  lagMs?: number;
}
