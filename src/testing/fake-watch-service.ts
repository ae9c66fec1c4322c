import https from 'node:https';
import * as grpc from '@grpc/grpc-js';
import { systemClock, type Clock } from '../core/clock';
import { watchProto, type WireEventInput, type WireWatchHandlers } from '../transport/proto';
import type { WatchEvent } from '../core/types';
import { seededRandom } from './fake-clock';
import { FakeHistoryServer, type HistoryCounters, type HistoryFaults } from './fake-history-server';
import {
  FakeTokenEndpoint,
  TOKEN_PATH,
  type FakeClient,
  type TokenEndpointCounters,
  type TokenEndpointFaults,
} from './fake-token-endpoint';
import { FakeSubscription, type FakeServiceCounters } from './fake-subscription';
import { FakeTokenIssuer, type IssueTokenOptions } from './fake-token-issuer';
import { checkHostile, type HostileBehaviour } from './hostile';
import { TopicLog, type PublishInput, type PurgedReading } from './topic-log';
import { FakeResourceApi, API_PATH, type ResourceCounters, type ResourceFaults } from './fake-resource-api';
import { ResourceState, type FakeResource, type WatchTopicFilter } from './resource-state';
import { collectionHolds, filterCollection } from './resource-address';

/** Options of {@link FakeWatchService.start}. */
export interface FakeWatchServiceOptions {
  /** The tenant the service accepts. @default 'fake-tenant' */
  tenantId?: string;
  /** Topics that exist from the start. @default ['/management/v1alpha1/watchtopics/demo'] */
  topics?: string[];
  /**
   * Interval of the service's PING events on each stream that advertised the `ping` capability, or false. @default
   * 30000
   */
  pingIntervalMs?: number | false;
  /**
   * Delay between accepting a subscription and sending it live events: events published meanwhile reach only
   * history, as with a service whose fan-out lags. @default 0
   */
  activationDelayMs?: number;
  /**
   * Whether an accepted subscription sends response headers at once; false = silent until its first message. @default
   * true
   */
  sendHeaders?: boolean;
  /** The service's clock (token expiry, pings, history delays). @default the system clock */
  clock?: Clock;
  /** Seed of the random draws of injected faults. @default 1 */
  seed?: number;
  /** The host to listen on. @default '127.0.0.1' */
  host?: string;
  /**
   * How the history API reads "purged" for a `410 Gone`: when an event after the position was purged
   * (`'next-event'`), or also when the position's own event was (`'position'`: a quiet topic whose last event aged
   * out answers 410 with the position itself as the newest id). See {@link PurgedReading};
   * {@link FakeWatchService.setPurgedReading} changes it later.
   * @default 'next-event'
   */
  purgedReading?: PurgedReading;
  /**
   * Keep the resources the published events describe and serve them, with each topic's WatchTopic, as the resource
   * API under `/apis` (docs/resources.md). False spares a publish the work (a few µs; for a benchmark's service).
   * @default true
   */
  resourceApi?: boolean;
  /** Serve gRPC and the history API with TLS (PEM). @default plaintext */
  tls?: {
    /** The servers' certificate chain, PEM. */
    cert: string | Buffer;
    /** Its private key, PEM. */
    key: string | Buffer;
    /** Require a client certificate signed by this CA (mutual TLS) on both servers. @default none required */
    clientCa?: string | Buffer;
  };
}

/**
 * A wire `Event` (docs/wire.md#event) as {@link FakeWatchService.sendRaw} sends it: any field may be missing or wrong,
 * which is the point. Enums by name, int64 as a decimal string.
 */
export interface RawWireEvent {
  /** The event's id. */
  id?: string;
  /** RFC 3339 time. */
  time?: string;
  /** Format version. */
  version?: string;
  /** Emitting product. */
  product?: string;
  /** Correlation id. */
  correlationId?: string;
  /** The organization. */
  organization?: {
    /** Its id. */
    id?: string;
  };
  /** `CREATED`, `UPDATED`, `DELETED`, `SUBRESOURCEUPDATED`, `TRIGGERACTION`, `PING` (or anything, to break it). */
  type?: string;
  /** The resource, as a `ResourceInstance` object. */
  payload?: Record<string, unknown>;
  /** Topic and position. */
  metadata?: {
    /** The WatchTopic's id. */
    watchTopicID?: string;
    /** The WatchTopic's self link. */
    watchTopicSelfLink?: string;
    /** The sequence id, decimal. */
    sequenceID?: string;
    /** The changed subresource. */
    subresource?: string;
  };
}

/** Options of {@link FakeWatchService.createTopic}. */
export interface CreateTopicOptions {
  /**
   * The `spec.filters` of the topic's WatchTopic resource; given for a topic that exists, they replace its filters.
   * @default each of the kinds the service publishes by default (APIService, APIServiceRevision, APIServiceInstance,
   * AccessRequest in `management`, ConsumerInstance in `catalog`), any name, in any Environment
   */
  filters?: WatchTopicFilter[];
}

/** Options of {@link FakeWatchService.abortStreams}. */
export interface AbortOptions {
  /** Only streams of this topic. @default all */
  topic?: string;
  /** The status the streams end with. @default UNAVAILABLE */
  code?: grpc.status;
  /** The status message. @default 'aborted by test' */
  details?: string;
}

/**
 * An in-process stand-in for the watch service, faithful to the wire contract (docs/wire.md) so that any client written
 * from the contract works against it: a real grpc-js server for `subscribe` and a real HTTP server for the event
 * history. Tests publish events, abort streams, expire tokens, purge history, inject history faults, pause delivery,
 * and read counters of everything the service saw.
 */
export class FakeWatchService {
  /** The only tenant the service accepts. */
  readonly tenantId: string;
  /** The service's clock: token expiry, pings, delays. */
  readonly clock: Clock;
  /** Issues, checks, expires and revokes the service's JWTs. */
  readonly tokens: FakeTokenIssuer;
  /** What the gRPC side saw and did. */
  readonly counters: FakeServiceCounters = {
    subscribes: 0,
    accepted: 0,
    rejectedUnauthenticated: 0,
    rejectedPermission: 0,
    rejectedNotFound: 0,
    tokenRefreshes: 0,
    refreshesRejected: 0,
    expiredStreams: 0,
    pingsSent: 0,
    pingResponses: 0,
    maxPingLatencyMs: 0,
    unknownPingResponses: 0,
    agentStatuses: [],
    eventsSent: 0,
    aborted: 0,
    repeated: 0,
    reordered: 0,
    unknownTypes: 0,
    dropped: 0,
    abortedAfterEvents: 0,
    refusedSubscriptions: 0,
  };
  private readonly topics = new Map<string, TopicLog>();
  private readonly resourceState = new ResourceState();
  private readonly resourceApi: FakeResourceApi;
  private readonly keepsResources: boolean;
  private readonly subscriptions = new Set<FakeSubscription>();
  private readonly random: () => number;
  private readonly history: FakeHistoryServer;
  private readonly tokenEndpoint: FakeTokenEndpoint;
  private isPaused = false;
  private purgedReading: PurgedReading;
  private hostile: HostileBehaviour = {};
  private refusalsLeft = 0;
  private topicSeq = 0;
  private grpcPort = 0;
  private historyPort = 0;

  private constructor(
    private readonly server: grpc.Server,
    private readonly options: FakeWatchServiceOptions,
  ) {
    this.tenantId = options.tenantId ?? 'fake-tenant';
    this.clock = options.clock ?? systemClock;
    this.random = seededRandom(options.seed ?? 1);
    this.purgedReading = options.purgedReading ?? 'next-event';
    this.tokens = new FakeTokenIssuer(this.clock, this.tenantId);
    this.keepsResources = options.resourceApi ?? true;
    this.resourceApi = new FakeResourceApi({
      tenantId: this.tenantId,
      tokens: this.tokens,
      state: this.resourceState,
      clock: this.clock,
    });
    for (const topic of options.topics ?? ['/management/v1alpha1/watchtopics/demo']) this.createTopic(topic);
    this.tokenEndpoint = new FakeTokenEndpoint(this.tokens, this.clock, () => this.tokenUrl);
    this.history = new FakeHistoryServer(
      {
        tenantId: this.tenantId,
        tokens: this.tokens,
        tokenEndpoint: this.tokenEndpoint,
        resourceApi: this.keepsResources ? this.resourceApi : undefined,
        topic: (selfLink) => this.topics.get(selfLink),
        clock: this.clock,
        random: this.random,
        purgedReading: () => this.purgedReading,
      },
      options.tls === undefined
        ? undefined
        : https.createServer({
            cert: options.tls.cert,
            key: options.tls.key,
            ...(options.tls.clientCa === undefined
              ? {}
              : { ca: options.tls.clientCa, requestCert: true, rejectUnauthorized: true }),
          }),
    );
  }

  /** Starts both servers on free ports of `host`. */
  static async start(options: FakeWatchServiceOptions = {}): Promise<FakeWatchService> {
    const server = new grpc.Server();
    const service = new FakeWatchService(server, options);
    const handlers: WireWatchHandlers = { subscribe: (call) => service.accept(call) };
    server.addService(watchProto().central.events.v1.watch.service, handlers);
    const host = options.host ?? '127.0.0.1';
    const creds =
      options.tls === undefined
        ? grpc.ServerCredentials.createInsecure()
        : grpc.ServerCredentials.createSsl(
            options.tls.clientCa === undefined ? null : Buffer.from(options.tls.clientCa),
            [{ cert_chain: Buffer.from(options.tls.cert), private_key: Buffer.from(options.tls.key) }],
            options.tls.clientCa !== undefined,
          );
    service.grpcPort = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`${host}:0`, creds, (err, port) => (err === null ? resolve(port) : reject(err)));
    });
    service.historyPort = await service.history.listen(0, host);
    return service;
  }

  /** A summary for `util.inspect`: the service holds tokens and signing keys, which logs must not show. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `FakeWatchService ${JSON.stringify({ target: this.target, historyUrl: this.historyUrl, topics: [...this.topics.keys()] })}`;
  }

  /** `host:port` of the gRPC server. */
  get target(): string {
    return `${this.options.host ?? '127.0.0.1'}:${this.grpcPort}`;
  }

  /** Base URL of the event-history API (`{historyUrl}/events{selfLink}`). */
  get historyUrl(): string {
    return `${this.options.tls === undefined ? 'http' : 'https'}://${this.options.host ?? '127.0.0.1'}:${this.historyPort}`;
  }

  /**
   * URL of the service's OAuth2 token endpoint (client-credentials grant), on the history API's port: clients are
   * added with {@link registerClient}; it issues the service's own short-lived JWTs.
   */
  get tokenUrl(): string {
    return `${this.historyUrl}${TOKEN_PATH}`;
  }

  /**
   * Base URL of the resource API (docs/resources.md), on the history API's port: a resource is
   * `GET {resourceApiUrl}{selfLink}`. It serves the resources the published events left (see {@link publish}) and
   * each topic's WatchTopic.
   */
  get resourceApiUrl(): string {
    return `${this.historyUrl}${API_PATH}`;
  }

  /** Sets the faults of the resource API (see {@link ResourceFaults}); `{}` clears them. */
  setResourceFaults(faults: ResourceFaults): void {
    this.resourceApi.setFaults(faults);
  }

  /** The resource API's counters. */
  get resourceCounters(): ResourceCounters {
    return this.resourceApi.counters;
  }

  /** `METHOD path?query` of the resource API requests seen (most recent last). */
  get resourceRequests(): readonly string[] {
    return this.resourceApi.requests;
  }

  /** A copy of the resource at `selfLink` as the resource API serves it now; undefined when there is none. */
  resource(selfLink: string): FakeResource | undefined {
    const held = this.resourceState.get(selfLink);
    return held === undefined ? undefined : structuredClone(held);
  }

  /** Copies of every resource the service holds (WatchTopics included), oldest creation first. */
  resources(): FakeResource[] {
    return [...this.resourceState.entries()].map(({ resource }) => structuredClone(resource));
  }

  /**
   * Copies of the resources the WatchTopic of `topic` covers now, oldest creation first: those of every filter's
   * collection (docs/resources.md#watchtopic-filters; a filter's `name` and `type` do not narrow it, as a client's
   * initial sync lists it). What a cache of the topic must equal once the service is quiet.
   */
  coveredResources(topic: string): FakeResource[] {
    const filters = this.resourceState.get(topic)?.spec['filters'];
    if (!Array.isArray(filters)) throw new Error(`fake watch service: no WatchTopic with filters at ${topic}`);
    const collections = (filters as WatchTopicFilter[]).map(filterCollection);
    return [...this.resourceState.entries()]
      .filter(({ place }) => collections.some((c) => collectionHolds(c, place)))
      .map(({ resource }) => structuredClone(resource));
  }

  /** Makes a service account known to the token endpoint (a client secret, or a public key and its key id). */
  registerClient(client: FakeClient): void {
    this.tokenEndpoint.register(client);
  }

  /** Sets the faults of the token endpoint (see {@link TokenEndpointFaults}); `{}` clears them. */
  setTokenFaults(faults: TokenEndpointFaults): void {
    this.tokenEndpoint.setFaults(faults);
  }

  /** The token endpoint's counters. */
  get tokenCounters(): TokenEndpointCounters {
    return this.tokenEndpoint.counters;
  }

  /** The history server's counters. */
  get historyCounters(): HistoryCounters {
    return this.history.counters;
  }

  /** The query strings the history server saw (most recent last). */
  get historyQueries(): readonly string[] {
    return this.history.queries;
  }

  /** Subscriptions currently accepted and receiving live events. */
  get activeStreams(): number {
    return [...this.subscriptions].filter((s) => s.isActive).length;
  }

  /**
   * Makes a topic exist, with its WatchTopic resource at `selfLink` in the resource API (id: the events'
   * `watchTopicId`). Idempotent; `options.filters` given for an existing topic replace its WatchTopic's filters.
   */
  createTopic(selfLink: string, options: CreateTopicOptions = {}): TopicLog {
    let topic = this.topics.get(selfLink);
    const created = topic === undefined;
    if (topic === undefined) {
      topic = new TopicLog(
        selfLink,
        `wt-${++this.topicSeq}`,
        this.tenantId,
        () => this.clock.now(),
        this.keepsResources ? this.resourceState : undefined,
      );
      this.topics.set(selfLink, topic);
    }
    // A self link of another shape than a resource's still makes a topic, only without a WatchTopic resource.
    if (this.keepsResources && isResourceLink(selfLink) && (created || options.filters !== undefined)) {
      const time = new Date(this.clock.now()).toISOString();
      this.resourceState.putTopic(selfLink, topic.topicId, options.filters ?? DEFAULT_FILTERS, time);
    }
    return topic;
  }

  /** The log of `selfLink`, for tests that inspect history. */
  topic(selfLink: string): TopicLog | undefined {
    return this.topics.get(selfLink);
  }

  /** A signed JWT for this service, expiring after `ttlMs` on the service's clock. */
  issueToken(options: IssueTokenOptions = {}): Promise<string> {
    return this.tokens.issue(options);
  }

  /** Treats `token` as expired now: every stream whose current token it is ends with UNAUTHENTICATED. */
  expireToken(token: string): void {
    this.tokens.expire(token);
    for (const sub of this.subscriptions) sub.checkWithdrawn();
  }

  /** Refuses `token` from now on (streams holding it end, new subscriptions and history calls are refused). */
  revokeToken(token: string): void {
    this.tokens.revoke(token);
    for (const sub of this.subscriptions) sub.checkWithdrawn();
  }

  /** Appends an event to `topic` (its history) and sends it to every active subscription of the topic. */
  publish(topic: string, input: PublishInput = {}): WatchEvent {
    const log = this.topics.get(topic);
    if (log === undefined) throw new Error(`fake watch service: unknown topic ${topic}`);
    const event = log.append(input);
    for (const sub of this.subscriptions) if (sub.topic === log) sub.push(event);
    return event;
  }

  /**
   * Sends `message` as it is to every active subscription of `topic`, without recording it in history: for tests
   * of how a client treats a message that breaks the contract.
   */
  sendRaw(topic: string, message: RawWireEvent): void {
    // The serializer takes any shape it can encode; the generated type is stricter than a broken message needs.
    for (const sub of this.subscriptions) if (sub.topic?.selfLink === topic) sub.pushWire(message as WireEventInput);
  }

  /** Publishes `count` events to `topic`; returns them. */
  publishMany(topic: string, count: number, input: PublishInput = {}): WatchEvent[] {
    const out: WatchEvent[] = [];
    for (let i = 0; i < count; i++) out.push(this.publish(topic, input));
    return out;
  }

  /**
   * Publishes `count` events to `topic` no faster than the subscribers' streams take them: a batch at a time, the
   * next once every active subscription handed the last to its transport. Models a service with a large backlog
   * queued for a slow client, without holding the backlog in memory. Resolves when all are published (or `signal`
   * aborts).
   */
  async feed(topic: string, count: number, batch = 256, signal?: AbortSignal): Promise<number> {
    let published = 0;
    while (published < count && signal?.aborted !== true) {
      const n = Math.min(batch, count - published);
      for (let i = 0; i < n; i++) this.publish(topic);
      published += n;
      const subs = [...this.subscriptions].filter((s) => s.isActive && s.topic?.selfLink === topic);
      await Promise.all(subs.map((s) => s.whenIdle()));
      if (subs.length === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    return published;
  }

  /** Ends active streams with an error status (default UNAVAILABLE); returns how many. */
  abortStreams(options: AbortOptions = {}): number {
    let n = 0;
    for (const sub of [...this.subscriptions]) {
      if (!sub.isActive || (options.topic !== undefined && sub.topic?.selfLink !== options.topic)) continue;
      sub.end(options.code ?? grpc.status.UNAVAILABLE, options.details ?? 'aborted by test');
      n += 1;
    }
    this.counters.aborted += n;
    return n;
  }

  /**
   * Stalls the active streams (of `topic`, or all) for good: each stays open with a healthy connection, but nothing
   * new is fed to it, neither events nor pings (what it had queued still goes out), while events still reach history:
   * the stream that "stops delivering" (kubernetes-client/javascript #596). Unlike hostile `silent`, streams opened
   * afterwards behave. Returns how many were stalled.
   */
  stallStreams(options: { topic?: string } = {}): number {
    let n = 0;
    for (const sub of this.subscriptions) {
      if (!sub.isActive || (options.topic !== undefined && sub.topic?.selfLink !== options.topic)) continue;
      sub.stall();
      n += 1;
    }
    return n;
  }

  /** Forgets `topic`'s events up to `through` (default all): resumes from before it are answered 410 Gone. */
  purgeHistory(topic: string, through?: number): void {
    this.topics.get(topic)?.purge(through);
  }

  /** Changes how the history API reads "purged" for a 410 (see {@link FakeWatchServiceOptions.purgedReading}). */
  setPurgedReading(reading: PurgedReading): void {
    this.purgedReading = reading;
  }

  /**
   * Deletes `topic` and creates it again under the same self link: a new topic id, an empty history, sequence ids
   * from 1 again. Its open streams end (UNAVAILABLE, as the old topic's watches would); a resume after a position of
   * the old sequence is then answered `410 Gone` with the new newest id, below that position.
   */
  recreateTopic(topic: string): TopicLog {
    if (!this.topics.delete(topic)) throw new Error(`fake watch service: unknown topic ${topic}`);
    this.abortStreams({ topic, details: 'the watch topic was recreated' });
    const filters = this.resourceState.get(topic)?.spec['filters'] as WatchTopicFilter[] | undefined;
    return this.createTopic(topic, filters === undefined ? {} : { filters });
  }

  /** Sets the faults of the history API (see {@link HistoryFaults}); `{}` clears them. */
  setHistoryFaults(faults: HistoryFaults): void {
    this.history.setFaults(faults);
  }

  /**
   * Makes the service misbehave as a real service, a newer version of it or a gateway might (see
   * {@link HostileBehaviour}): replaces the whole current set; `{}` clears it. Open streams start their per-stream
   * counting afresh (runs of `reorder`, `repeatEvery`, `abortAfterEvents`) and send what `reorder` held back at once,
   * in order; `retryAfter.count` counts from now. Throws a RangeError for a value out of range.
   */
  setHostile(behaviour: HostileBehaviour): void {
    this.hostile = checkHostile(behaviour);
    this.refusalsLeft = this.hostile.refuseSubscriptions ?? 0;
    this.history.setHostile(this.hostile);
    for (const sub of this.subscriptions) sub.hostileChanged();
  }

  /** Holds every write to the streams (events and pings) until {@link resume}. */
  pause(): void {
    this.isPaused = true;
  }

  /** Sends what {@link pause} held, and goes on. */
  resume(): void {
    this.isPaused = false;
    for (const sub of this.subscriptions) sub.flush();
  }

  /** Resolves when `predicate` holds, checking after each event-loop turn; rejects after `timeoutMs` real ms. */
  async waitFor(predicate: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
    const started = performance.now();
    while (!predicate()) {
      if (performance.now() - started > timeoutMs) throw new Error(`fake watch service: timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  /** Stops both servers at once, ending every stream. */
  async stop(): Promise<void> {
    for (const sub of [...this.subscriptions]) sub.end(grpc.status.UNAVAILABLE, 'service stopped');
    this.server.forceShutdown();
    await this.history.close();
  }

  private accept(call: Parameters<WireWatchHandlers['subscribe']>[0]): void {
    const sub = new FakeSubscription(call, {
      tenantId: this.tenantId,
      clock: this.clock,
      tokens: this.tokens,
      topic: (selfLink) => this.topics.get(selfLink),
      pingIntervalMs: this.options.pingIntervalMs ?? 30_000,
      activationDelayMs: this.options.activationDelayMs ?? 0,
      sendHeaders: this.options.sendHeaders ?? true,
      paused: () => this.isPaused,
      hostile: () => this.hostile,
      takeRefusal: () => this.refusalsLeft > 0 && this.refusalsLeft-- > 0,
      counters: this.counters,
      ended: (s) => this.subscriptions.delete(s),
    });
    this.subscriptions.add(sub);
  }
}

/** The filters of a topic created without any: the kinds the service publishes by default, in any Environment. */
const DEFAULT_FILTERS: readonly WatchTopicFilter[] = [
  ['management', 'APIService'],
  ['management', 'APIServiceRevision'],
  ['management', 'APIServiceInstance'],
  ['catalog', 'ConsumerInstance'],
  ['management', 'AccessRequest'],
].map(([group, kind]) => ({
  group: group as string,
  kind: kind as string,
  name: '*',
  scope: { kind: 'Environment', name: '*' },
  type: ['created', 'updated', 'deleted'],
}));

/** Whether `selfLink` has the shape of an unscoped resource's self link (`/{group}/{version}/{plural}/{name}`). */
function isResourceLink(selfLink: string): boolean {
  return /^\/[^/]+\/[^/]+\/[^/]+\/[^/]+$/.test(selfLink);
}
