import * as grpc from '@grpc/grpc-js';
import { sleep, type Clock, type Timer } from '../core/clock';
import type { WireEventInput, WireRequestOutput } from '../transport/proto';
import type { AgentStatus, WatchEvent } from '../core/types';
import type { FakeTokenIssuer, TokenCheck } from './fake-token-issuer';
import { hasUnknownType, LiveShaper, type HostileBehaviour } from './hostile';
import type { TopicLog } from './topic-log';
import { toWireEvent } from './wire-render';

/** What one server-side subscription needs from its service. */
export interface SubscriptionHost {
  tenantId: string;
  clock: Clock;
  tokens: FakeTokenIssuer;
  topic(selfLink: string): TopicLog | undefined;
  pingIntervalMs: number | false;
  /** Delay between accepting a subscription and sending it live events (the real service's fan-out lag). */
  activationDelayMs: number;
  /** Whether an accepted subscription sends response headers at once (the client's first sign of life). */
  sendHeaders: boolean;
  paused(): boolean;
  /** The service's current hostile behaviour (see {@link HostileBehaviour}). */
  hostile(): HostileBehaviour;
  /** Whether this subscription is one hostile `refuseSubscriptions` refuses (counts it down). */
  takeRefusal(): boolean;
  counters: FakeServiceCounters;
  ended(sub: FakeSubscription): void;
}

/** Everything the fake watch service saw and did. */
export interface FakeServiceCounters {
  /** `subscribe` calls opened. */
  subscribes: number;
  /** Subscriptions accepted. */
  accepted: number;
  /** Subscriptions refused for their token. */
  rejectedUnauthenticated: number;
  /** Subscriptions refused for their tenant. */
  rejectedPermission: number;
  /** Subscriptions refused for an unknown topic. */
  rejectedNotFound: number;
  /** In-stream token refreshes accepted. */
  tokenRefreshes: number;
  /** In-stream token refreshes refused. */
  refreshesRejected: number;
  /** Streams ended because their token expired without a refresh. */
  expiredStreams: number;
  /** PING events sent. */
  pingsSent: number;
  /** PING answers received. */
  pingResponses: number;
  /** The slowest ping answer, in the service clock's ms. */
  maxPingLatencyMs: number;
  /** Ping answers whose id matched no outstanding ping. */
  unknownPingResponses: number;
  /** Every AGENT_STATUS request, in order. */
  agentStatuses: AgentStatus[];
  /** Resource events written to streams. */
  eventsSent: number;
  /** Streams ended by {@link FakeWatchService.abortStreams}. */
  aborted: number;
  /** Repeats of an event already sent on the stream (hostile `repeatEvery`). */
  repeated: number;
  /** Events held back and sent after a later one (hostile `reorder`). */
  reordered: number;
  /** Events queued on a stream with a type the contract does not know (hostile `unknownTypeEvery`). */
  unknownTypes: number;
  /** Events (and raw messages) a stream dropped instead of sending, while `silent` (hostile `silent`). */
  dropped: number;
  /** Streams ended after their allowed number of events (hostile `abortAfterEvents`). */
  abortedAfterEvents: number;
  /** Subscriptions refused with UNAVAILABLE before any sign of life (hostile `refuseSubscriptions`). */
  refusedSubscriptions: number;
}

type Call = grpc.ServerDuplexStream<WireRequestOutput, WireEventInput>;

/** One `subscribe` stream on the fake service, from first request to final status. */
export class FakeSubscription {
  topic: TopicLog | undefined;
  private active = false;
  private done = false;
  private expiryTimer: Timer | undefined;
  private pingTimer: Timer | undefined;
  private readonly outbox: WireEventInput[] = [];
  private waitingDrain = false;
  private readonly pings = new Map<string, number>();
  private pingSeq = 0;
  private chain: Promise<void> = Promise.resolve();
  private currentToken = '';
  private idleWaiters: Array<() => void> = [];
  private shaper: LiveShaper<WireEventInput> | undefined;
  private stalled = false;
  /** Events written since the stream started or the hostile behaviour last changed (for `abortAfterEvents`). */
  private eventsWritten = 0;

  constructor(
    private readonly call: Call,
    private readonly host: SubscriptionHost,
  ) {
    host.counters.subscribes += 1;
    this.shaper = LiveShaper.for(host.hostile());
    call.on('data', (req: WireRequestOutput) => {
      // Requests are handled one after another, in arrival order, even though token checks are asynchronous.
      this.chain = this.chain.then(() => this.onRequest(req));
    });
    call.on('error', () => this.finish());
    call.on('cancelled', () => this.finish());
    call.on('end', () => {
      // The client half-closed: the watch is over from its side.
      this.end(grpc.status.OK, 'client finished');
    });
  }

  /** Whether the subscription was accepted and receives live events. */
  get isActive(): boolean {
    return this.active && !this.done;
  }

  /**
   * Queues a live event (sent at once unless paused or flow control holds it back), as the hostile behaviour
   * renders, reorders and repeats it.
   */
  push(event: WatchEvent): void {
    if (!this.isActive) return;
    if (this.stalled) {
      this.host.counters.dropped += 1;
      return;
    }
    const unknownType = hasUnknownType(this.host.hostile(), event.sequenceId);
    if (unknownType) this.host.counters.unknownTypes += 1;
    const message = toWireEvent(event, unknownType);
    if (this.shaper === undefined) this.outbox.push(message);
    else for (const { item, note } of this.shaper.next(message)) this.queueShaped(item, note);
    this.flush();
  }

  /** Queues a wire message as it is. */
  pushWire(message: WireEventInput): void {
    if (!this.isActive) return;
    if (this.stalled) {
      this.host.counters.dropped += 1;
      return;
    }
    this.outbox.push(message);
    this.flush();
  }

  /**
   * The service's hostile behaviour was replaced: the per-stream counting of `reorder`, `repeatEvery` and
   * `abortAfterEvents` starts afresh. Events `reorder` held go out now, in their original order (nothing later was
   * sent yet, so this is in order); a stream turned silent drops what it had queued.
   */
  hostileChanged(): void {
    const held = this.shaper?.release() ?? [];
    this.shaper = LiveShaper.for(this.host.hostile());
    this.eventsWritten = 0;
    if (!this.isActive) return;
    this.outbox.push(...held);
    this.flush();
  }

  private queueShaped(message: WireEventInput, note: 'repeat' | 'reordered' | undefined): void {
    if (note === 'repeat') this.host.counters.repeated += 1;
    if (note === 'reordered') this.host.counters.reordered += 1;
    this.outbox.push(message);
  }

  /**
   * This stream stalls for good, left open: nothing new is fed to it (events and pings dropped); what it queued still
   * goes out, as a send buffer would. Streams opened later are not affected.
   */
  stall(): void {
    this.stalled = true;
  }

  /** Whether everything queued was handed to the transport (flow control is not holding anything back). */
  get idle(): boolean {
    return this.outbox.length === 0 && !this.waitingDrain;
  }

  /** Resolves once {@link idle} (or the stream is over). */
  whenIdle(): Promise<void> {
    if (this.idle || this.done) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Writes what waits, respecting `write()`'s backpressure and the service's pause. */
  flush(): void {
    this.flushOutbox();
    if (this.idle || this.done) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  private flushOutbox(): void {
    // Hostile `silent` drops whatever is queued, even what pause held (pause holds, silence drops: a silent service
    // sends nothing, now or later). Pings are not even queued (armPing).
    if (this.host.hostile().silent === true) this.dropQueued();
    while (this.outbox.length > 0 && !this.waitingDrain && !this.host.paused() && !this.done) {
      const next = this.outbox.shift() as WireEventInput;
      const isEvent = next.type !== 'PING';
      if (isEvent) {
        this.host.counters.eventsSent += 1;
        this.eventsWritten += 1;
      }
      const written = this.call.write(next);
      if (isEvent && this.endAtMaxAge()) return;
      if (!written) {
        this.waitingDrain = true;
        this.call.once('drain', () => {
          this.waitingDrain = false;
          this.flush();
        });
      }
    }
  }

  /** Hostile `silent`: what the stream queued is dropped, events counted (pings are not queued while silent). */
  private dropQueued(): void {
    for (const message of this.outbox.splice(0)) if (message.type !== 'PING') this.host.counters.dropped += 1;
  }

  /**
   * Hostile `abortAfterEvents`: a load balancer's maximum connection age ends the stream right after its Nth event.
   * The events already written reach the client before the status (grpc-js sends it after pending writes).
   */
  private endAtMaxAge(): boolean {
    const limit = this.host.hostile().abortAfterEvents;
    if (limit === undefined || this.eventsWritten < limit) return false;
    this.host.counters.abortedAfterEvents += 1;
    this.end(grpc.status.UNAVAILABLE, 'max connection age');
    return true;
  }

  /** Ends the stream with `code` (an abort, an expiry, a refusal). */
  end(code: grpc.status, details: string): void {
    if (this.done) return;
    if (code === grpc.status.OK) {
      this.finish();
      this.call.end();
      return;
    }
    this.finish();
    this.call.emit('error', { code, details, metadata: new grpc.Metadata() });
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.expiryTimer?.cancel();
    this.pingTimer?.cancel();
    this.host.ended(this);
    for (const resolve of this.idleWaiters) resolve();
    this.idleWaiters = [];
  }

  private async onRequest(req: WireRequestOutput): Promise<void> {
    if (this.done) return;
    if (!this.active) return this.subscribe(req);
    if (req.requestType === 'PING_RESPONSE') return this.pingAnswered(req.pingResponse?.id ?? '');
    if (req.requestType === 'AGENT_STATUS') {
      const status = req.agentStatus;
      if (status !== null && status !== undefined) {
        const entry: AgentStatus = { state: status.state, message: status.message };
        if (status.context !== null && status.context !== undefined)
          entry.context = { environmentName: status.context.environmentName, agentName: status.context.agentName };
        this.host.counters.agentStatuses.push(entry);
      }
      return;
    }
    // Unset or TOKEN_REFRESH: an in-stream token refresh (docs/wire.md#token-refresh).
    const check = await this.host.tokens.check(bearer(req.token));
    if (!check.ok) {
      this.host.counters.refreshesRejected += 1;
      return this.end(grpc.status.UNAUTHENTICATED, `refreshed token ${check.reason}`);
    }
    this.host.counters.tokenRefreshes += 1;
    this.currentToken = bearer(req.token) ?? '';
    this.armExpiry(check);
  }

  private async subscribe(req: WireRequestOutput): Promise<void> {
    if (this.host.takeRefusal()) {
      this.host.counters.refusedSubscriptions += 1;
      return this.end(grpc.status.UNAVAILABLE, 'service restarting');
    }
    const md = this.call.metadata;
    const header = md.get('authorization')[0];
    const metaToken = typeof header === 'string' ? bearer(header) : undefined;
    const check = await this.host.tokens.check(metaToken);
    if (this.done) return;
    if (!check.ok || bearer(req.token) !== metaToken) {
      this.host.counters.rejectedUnauthenticated += 1;
      return this.end(
        grpc.status.UNAUTHENTICATED,
        check.ok ? 'request token differs from the call token' : `token ${check.reason}`,
      );
    }
    const tenant = md.get('x-axway-tenant-id')[0];
    if (tenant !== this.host.tenantId || check.tenantId !== this.host.tenantId) {
      this.host.counters.rejectedPermission += 1;
      return this.end(grpc.status.PERMISSION_DENIED, 'tenant not allowed for this token');
    }
    const topic = this.host.topic(req.selfLink);
    if (topic === undefined) {
      this.host.counters.rejectedNotFound += 1;
      return this.end(grpc.status.NOT_FOUND, `watch topic ${req.selfLink} not found`);
    }
    this.currentToken = metaToken ?? '';
    this.armExpiry(check);
    if (this.host.activationDelayMs > 0) {
      // Events published meanwhile reach history but not this stream: the window a client must close.
      await sleep(this.host.clock, this.host.activationDelayMs);
      if (this.done) return;
    }
    this.topic = topic;
    this.active = true;
    this.host.counters.accepted += 1;
    // Response headers now: the client's first sign that the subscription is live.
    if (this.host.sendHeaders) this.call.sendMetadata(new grpc.Metadata());
    if (req.capabilities.includes('ping')) this.armPing();
  }

  /** Ends the stream when its current token expires without an in-stream refresh. */
  private armExpiry(check: Extract<TokenCheck, { ok: true }>): void {
    this.expiryTimer?.cancel();
    this.expiryTimer = this.host.clock.setTimeout(() => {
      this.host.counters.expiredStreams += 1;
      this.end(grpc.status.UNAUTHENTICATED, 'token expired');
    }, check.expiresAt - this.host.clock.now());
  }

  /** Ends the stream at once if its current token was withdrawn by a test. */
  checkWithdrawn(): void {
    if (this.isActive && this.host.tokens.isWithdrawn(this.currentToken)) {
      this.host.counters.expiredStreams += 1;
      this.end(grpc.status.UNAUTHENTICATED, 'token expired');
    }
  }

  private armPing(): void {
    const interval = this.host.pingIntervalMs;
    if (interval === false) return;
    this.pingTimer = this.host.clock.setTimeout(() => {
      if (!this.isActive) return;
      // A silent service sends no pings either (hostile `silent`): only the transport shows the peer is there.
      if (this.host.hostile().silent !== true && !this.stalled) this.sendPing();
      this.armPing();
    }, interval);
  }

  private sendPing(): void {
    const id = `ping-${++this.pingSeq}`;
    this.pings.set(id, this.host.clock.now());
    this.host.counters.pingsSent += 1;
    this.outbox.push({ id, type: 'PING', time: new Date(this.host.clock.now()).toISOString() });
    this.flush();
  }

  private pingAnswered(id: string): void {
    const sentAt = this.pings.get(id);
    if (sentAt === undefined) {
      this.host.counters.unknownPingResponses += 1;
      return;
    }
    this.pings.delete(id);
    this.host.counters.pingResponses += 1;
    this.host.counters.maxPingLatencyMs = Math.max(this.host.counters.maxPingLatencyMs, this.host.clock.now() - sentAt);
  }
}

function bearer(value: string | undefined): string | undefined {
  return value?.startsWith('Bearer ') === true ? value.slice(7) : undefined;
}
