/**
 * The SDK's own public types. Generated proto types stay inside the stream and codec modules; these are what users
 * see, and they are stable across proto regeneration.
 */
import type { WatchErrorCode } from './errors';
import type { Resource, ResourceReference, ResourceScope } from './resource';

export type { ResourceReference, ResourceScope };

/** What happened to the resource. PING events of the wire never reach users. */
export type WatchEventType = 'CREATED' | 'UPDATED' | 'DELETED' | 'SUBRESOURCEUPDATED' | 'TRIGGERACTION';

/** Every {@link WatchEventType}, for checks at run time. */
export const WATCH_EVENT_TYPES: ReadonlySet<string> = new Set<WatchEventType>([
  'CREATED',
  'UPDATED',
  'DELETED',
  'SUBRESOURCEUPDATED',
  'TRIGGERACTION',
]);

/** The changed resource as the event carries it (`ResourceInstance`, docs/wire.md#resource-model). */
export interface ResourceInstance {
  /** The API group, for example `management` or `catalog`. */
  group: string;
  /** The resource kind, for example `APIService`. */
  kind: string;
  /** The resource's name, unique within its scope. */
  name: string;
  /** Identity and place of the resource. */
  metadata: {
    /** The resource's id. */
    id: string;
    /** The scope it lives in, or null for an unscoped resource. */
    scope: ResourceScope | null;
    /** Its self link: the default key of per-resource ordering (`keyOf`). */
    selfLink: string;
    /** The resources it refers to. */
    references: ResourceReference[];
  };
  /** Free-form string attributes. */
  attributes: Record<string, string>;
}

/** One resource change on a watch topic. */
export interface WatchEvent {
  /** The event's id. */
  id: string;
  /** When the change happened (RFC 3339, as the service sends it). */
  time: string;
  /** The event format's version, as the service sends it. */
  version: string;
  /** The product that emitted the event, for example `AmplifyCentral`. */
  product: string;
  /** Ties together the events one request caused. */
  correlationId: string;
  /** The organization (tenant) the resource belongs to. */
  organizationId: string;
  /**
   * What happened to the resource. `UNKNOWN`: a type this SDK does not know (a newer service); such events reach
   * handlers only with the manager option `unknownEventTypes: 'deliver'`, with the service's name in `rawType`.
   */
  type: WatchEventType | 'UNKNOWN';
  /** For an `UNKNOWN` type: the type as the service sent it (the enum number on the stream, the name in history). */
  rawType?: string;
  /** The WatchTopic self link this event belongs to. */
  topic: string;
  /** The WatchTopic's id. */
  watchTopicId: string;
  /** Increases per topic; the resume position. Not necessarily consecutive. */
  sequenceId: number;
  /** The subresource that changed, for `SUBRESOURCEUPDATED`; empty otherwise. */
  subresource: string;
  /** The resource as it is after the change (for `DELETED`, as it was). */
  payload: ResourceInstance;
  /**
   * Fetch mode only (`registerWatch(…, { fetch: true })`): the full resource as the resource API returned it after
   * the event (the fields the kind's handlers asked for). Never set for `DELETED` (the payload is what was deleted),
   * nor when the API answered 404 (`gone`). Undefined outside fetch mode.
   */
  resource?: Resource;
  /** Fetch mode only: the resource API answered 404 when the event's resource was fetched (deleted since). */
  gone?: boolean;
  /** The `actionDetails` of a `TRIGGERACTION` event, when present: a protobuf `Any`, undecoded. */
  actionDetails?: {
    /** The `Any`'s type URL, naming the message in `value`. */
    typeUrl: string;
    /** The encoded message. */
    value: Uint8Array;
  };
}

/** What an agent reports about itself with {@link WatchManager.sendAgentStatus}. */
export interface AgentStatus {
  /** The agent's state, for example `running` or `unhealthy`. */
  state: string;
  /** A human-readable detail of the state. */
  message: string;
  /** Which agent this is. */
  context?: {
    /** The environment the agent serves. */
    environmentName?: string;
    /** The agent's name. */
    agentName?: string;
  };
}

/**
 * Where one watch is in its lifecycle:
 * - `connecting`: starting, before its first subscription was accepted;
 * - `subscribed`: the service accepted its subscription (the stream is up; a catch-up may still run: see
 *   {@link WatchStatus.live} for "caught up");
 * - `reconnecting`: its subscription was lost (or a first attempt failed), waiting to attempt again;
 * - `standby`: with a coordinator, while another member holds the topic's lease (or nobody does yet);
 * - `closed`: stopped, by `close()` or for good by a permanent error (then with its code in
 *   {@link WatchStatus.lastErrorCode}).
 */
export type WatchState = 'connecting' | 'subscribed' | 'reconnecting' | 'standby' | 'closed';

/**
 * The state of a whole manager ({@link ManagerStatus.state}), from its watches' states, the first that applies:
 * - `closed`: the manager was closed;
 * - `degraded`: at least one watch stopped for good and is still listed (state `closed` with a
 *   {@link WatchStatus.lastErrorCode}); it stays so until that watch is closed or its topic registered again;
 * - `reconnecting`: a watch is;
 * - `connecting`: a watch is;
 * - `subscribed`: every open watch is subscribed (or stands by, with a coordinator);
 * - `idle`: no watch.
 */
export type ManagerState = 'idle' | 'connecting' | 'subscribed' | 'reconnecting' | 'degraded' | 'closed';

/**
 * The state of a manager (a watch's state was `Exclude<ConnectionState, 'idle'> | 'standby'`).
 *
 * @deprecated Since 0.2: use {@link ManagerState} for a manager's state and {@link WatchState} for a watch's. Its
 * value `'ready'` is now `'subscribed'`. Removed in 0.3.
 */
export type ConnectionState = ManagerState;

/** One watch in {@link ManagerStatus}. */
export interface WatchStatus {
  /** The watch's id (`watch-1`, …), unique within the manager. */
  id: string;
  /** The WatchTopic self link. */
  topic: string;
  /** Where the watch is in its lifecycle (see {@link WatchState}). */
  state: WatchState;
  /** True once the missed events were delivered and live events flow (false while catching up). */
  live: boolean;
  /**
   * The acknowledged position: the sequence id of the last event whose handler finished (or a resync target). The
   * position `metrics().watches[i].acknowledgedSequenceId` tells too.
   */
  acknowledgedSequenceId: number;
  /**
   * The same value as {@link WatchStatus.acknowledgedSequenceId}.
   *
   * @deprecated Since 0.2: use `acknowledgedSequenceId` (the name `metrics()` uses too). Removed in 0.3.
   */
  lastSequenceId: number;
  /** The code of the last error this watch met, if any. */
  lastErrorCode?: WatchErrorCode;
  /** When the next connection attempt is due (epoch ms), while `reconnecting`. */
  nextAttemptAt?: number;
  /** With a coordinator: whether this member runs the topic (`active`) or waits for its lease (`standby`). */
  role?: 'active' | 'standby';
  /** With a coordinator: the member holding the topic's lease (this one when active), as last seen. */
  owner?: string;
  /** With a coordinator: the epoch of that lease (the handlers' `ctx.fencingToken` when active). */
  epoch?: number;
  /**
   * With a coordinator, standing by: why the topic runs nowhere as this member sees it (no member has held its lease
   * for more than 2 x leaseMs); such a watch is not ready.
   */
  stalled?: string;
  /** `true` on the watch of a resource cache (`manager.cache`): its events keep the cache in step. */
  cache?: true;
}

/** A snapshot of {@link WatchManager.status}. */
export interface ManagerStatus {
  /**
   * The manager's state (see {@link ManagerState}): `closed` > `degraded` > `reconnecting` > `connecting` >
   * `subscribed` > `idle`, the first that applies.
   */
  state: ManagerState;
  /** Every watch not closed yet, and those that stopped for good (until closed or their topic registered again). */
  watches: WatchStatus[];
}

/** What every {@link StateChange} carries, whatever the state. */
export interface StateChangeBase {
  /** The watch that changed. */
  watchId: string;
  /** Its topic. */
  topic: string;
  /** Its state before. */
  from: WatchState;
  /** The manager's state after the change (its `status().state`). */
  managerState: ManagerState;
  /**
   * The same value as {@link StateChangeBase.managerState}.
   *
   * @deprecated Since 0.2: use `managerState`. Removed in 0.3.
   */
  manager: ManagerState;
}

/**
 * A watch changed state: the payload of the manager's `'state'` event, keyed on the state it moved `to`. Only a move
 * to `reconnecting`, `closed` or `standby` can have a cause (for example `CONNECTION_LOST` → `reconnecting`; a watch
 * stopped by a permanent error → `closed` with its code; `close()` → `closed` without one; a lost lease → `standby`
 * with `LEASE_LOST`).
 */
export type StateChange = StateChangeToWork | StateChangeToTrouble | StateChangeToStandby;

/** A move to `connecting` or `subscribed`: never caused by an error. */
export interface StateChangeToWork extends StateChangeBase {
  /** Its state now. */
  to: 'connecting' | 'subscribed';
  /** Never set: such a move has no error behind it. */
  errorCode?: undefined;
}

/** A move to `reconnecting` or `closed`, with the code of the error behind it when one was. */
export interface StateChangeToTrouble extends StateChangeBase {
  /** Its state now. */
  to: 'reconnecting' | 'closed';
  /** The code of the error that caused the change, if one did (none for `close()`). */
  errorCode?: WatchErrorCode;
}

/**
 * With a coordinator, a move to `standby`: the topic runs elsewhere or waits for its lease, with the code of the error
 * behind the move when one was.
 */
export interface StateChangeToStandby extends StateChangeBase {
  /** Its state now. */
  to: 'standby';
  /** The code of the error that caused the change, if one did (for example `LEASE_LOST` for a lost lease). */
  errorCode?: WatchErrorCode;
}

/** Counters and gauges of one watch: {@link WatchManager.metrics}. */
export interface WatchMetrics {
  /** The watch's id. */
  id: string;
  /** Its topic. */
  topic: string;
  /** Its state. */
  state: WatchState;
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
  /** Events of a type this SDK does not know (a newer service): skipped or handed over per `unknownEventTypes`. */
  unknownTypes: number;
  /**
   * Events that arrived after a higher sequence id without having been handed over before (the service broke the
   * ascending order): handed over late, each also reported to `onError` as a retryable `PROTOCOL` error.
   */
  lateEvents: number;
  /** Reconnects after retryable failures. */
  reconnects: number;
  /** The same reconnects by the code of the error behind each. */
  reconnectsByCode: Partial<Record<WatchErrorCode, number>>;
  /** History pages fetched by catch-ups (a repeated request counts once, when it succeeds). */
  historyPages: number;
  /** History requests that failed and were retried. */
  historyRetries: number;
  /**
   * `410 Gone` answers whose `X-Axway-Max-Sequence-Id` was the position asked for: a quiet topic whose last event
   * aged out of history. Nothing was missed: no resync, the catch-up ends there.
   */
  historyGoneNothingMissed: number;
  /**
   * Fetch mode (`registerWatch(…, { fetch })`): resources fetched for events handed to the handlers (a `DELETED` event
   * fetches nothing; a fetch made again after a failure counts once). 0 outside fetch mode.
   */
  fetched: number;
  /** Fetch mode: of {@link WatchMetrics.fetched}, those the resource API answered 404 (`event.gone`). */
  fetchedGone: number;
  /** The current or last catch-up: events replayed from history, and the live event it catches up to, when known. */
  catchUp: {
    /** Whether a catch-up is running now. */
    active: boolean;
    /** Events replayed from history by the current (or last) catch-up. */
    replayed: number;
    /** The first live event held back: the catch-up ends just before it. */
    targetSequenceId?: number;
  };
  /** `time` of the last event handled. */
  lastEventTime?: string;
  /** Clock now − the last handled event's `time`, in ms: how far behind the consumer is while events flow. */
  lagMs?: number;
  /** With a coordinator: `active` or `standby` (see {@link WatchStatus.role}); counters add up over every lease. */
  role?: 'active' | 'standby';
  /** With a coordinator: the member holding the topic's lease, as last seen. */
  owner?: string;
  /** With a coordinator: the epoch of that lease. */
  epoch?: number;
}

/** A lease of a watch's topic was won, lost or given up here: the payload of the manager's `'lease'` event. */
export interface LeaseChange {
  /** The watch. */
  watchId: string;
  /** Its topic. */
  topic: string;
  /** `won`: the topic runs here now; `lost`: it stopped, the lease ran out or was taken; `released`: given up. */
  kind: 'won' | 'lost' | 'released';
  /** The lease's epoch (the fencing token); 0 when its row could not be read (`STATE_CORRUPT`). */
  epoch: number;
  /** This member's id. */
  owner: string;
  /** Why it was lost (`LEASE_LOST`), or the error that made the watch give the lease up. */
  errorCode?: WatchErrorCode;
}
