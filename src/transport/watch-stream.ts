import * as grpc from '@grpc/grpc-js';
import { WatchError, fromGrpcStatus, toWatchError } from '../core/errors';
import { WIRE_PING, fromWireEvent } from './event-codec';
import type { WatchClient } from './grpc-channel';
import type { Log } from '../logging/logger';
import { unsafeHeaderChar } from '../core/option-checks';
import type { DecodedEvent, WireRequest } from './proto';
import type { AgentStatus, WatchEvent } from '../core/types';
import { StateMachine } from '../core/state-machine';
import { STREAM_END, STREAM_LIFE, type StreamEnd, type StreamLife } from './stream-lifecycle';
import type { AgentStatusFeed, TokenFeed } from './stream-feeds';

/** What a {@link WatchStream} reports to its owner. */
interface WatchStreamCallbacks {
  /** The service accepted the subscription (a sign of life, or the owner's `accept()`). Called at most once. */
  onReady(): void;
  /** The stream's first sign of life: response headers or a first message. Called at most once. */
  onAlive(): void;
  /** A resource event, in the order the service sent it. Pings never come here. */
  onEvent(event: WatchEvent): void;
  /** A service PING arrived (and was answered). */
  onPing(): void;
  /** The stream is over and every event it carried was handed to `onEvent`. Called exactly once, unless `cancel()`. */
  onEnd(error: WatchError): void;
}

/** Options of {@link WatchStream}. */
export interface WatchStreamOptions {
  client: WatchClient;
  topic: string;
  tenantId: string;
  log: Log;
  callbacks: WatchStreamCallbacks;
  /** New tokens, sent in-stream as they come (from `open` until the stream ends). */
  tokens: TokenFeed;
  /** The watch's agent status, sent once the subscription is accepted and whenever it changes. */
  agentStatus: AgentStatusFeed;
}

/**
 * One `subscribe` call (docs/wire.md#stream-conversation): opens it with the call metadata and the first request, sends
 * in-stream token refreshes and agent status (it follows both feeds itself while open), answers the service's PING
 * events, decodes resource events, and reports one final outcome. It knows nothing of positions or reconnects: that is
 * the manager's.
 */
export class WatchStream {
  private call: grpc.ClientDuplexStream<WireRequest, DecodedEvent> | undefined;
  /** Whether the service accepted the subscription (stream-lifecycle.ts). */
  private readonly life: StateMachine<StreamLife>;
  /** How the call ends (stream-lifecycle.ts). */
  private readonly end: StateMachine<StreamEnd>;
  /** The outcome to report: the service's final status, or our own protocol failure. */
  private finalError: WatchError | undefined;
  /** The token the service holds for this stream: the one it was opened with, or the last one sent in-stream. */
  private token = '';
  /** Removes this stream from the feeds it follows. */
  private unfollow: Array<() => void> = [];
  constructor(private readonly options: WatchStreamOptions) {
    this.life = new StateMachine<StreamLife>(`stream of ${options.topic}`, 'unknown', STREAM_LIFE);
    this.end = new StateMachine<StreamEnd>(`stream of ${options.topic}`, 'open', STREAM_END);
  }

  /** Opens the call with `token` and sends the first request (selfLink, token, capability `ping`). */
  open(token: string): void {
    const { client, topic, tenantId } = this.options;
    // Both values were checked where they entered (the options, the token refresher); grpc-js would throw on a bad
    // one, with the value in its message. Never reached with an unchecked value: a bug ends the stream typed instead.
    if (unsafeHeaderChar(token, false) !== undefined || unsafeHeaderChar(tenantId, true) !== undefined) {
      this.finalError = new WatchError('INTERNAL', `watch ${topic}: a metadata value reached the stream unchecked`);
      this.end.to('failing');
      queueMicrotask(() => {
        if (this.end.is('failing')) this.finish();
      });
      return;
    }
    this.token = token;
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${token}`);
    metadata.set('x-axway-tenant-id', tenantId);
    const call = client.subscribe(metadata);
    this.call = call;
    // An 'error' listener must exist before anything can fail: grpc-js emits 'error' for every non-OK status and an
    // unhandled one would crash the process (docs/facts.md#grpc-js-call-errors). The outcome itself is read from
    // 'status'.
    call.on('error', () => undefined);
    call.on('metadata', () => this.markAlive());
    call.on('data', (message: DecodedEvent) => this.receive(message));
    // The outcome is reported once it is known and nothing the service sent before it is left unread: grpc-js emits
    // 'status' while messages may still wait in a paused stream's buffer, and those must not be dropped.
    call.on('end', () => {
      if (this.end.is('open')) this.end.to('read-ended');
      else if (this.end.is('draining', 'failing')) this.finish();
    });
    call.on('status', (status: grpc.StatusObject) => {
      this.finalError ??= fromGrpcStatus(status, topic);
      // While paused, 'end' comes once the owner resumes and has read the rest.
      if (this.end.is('open')) this.end.to('draining');
      else if (this.end.is('read-ended', 'failing')) this.finish();
    });
    this.write({ selfLink: topic, token: `Bearer ${token}`, capabilities: ['ping'] });
    const { tokens } = this.options;
    this.unfollow.push(tokens.follow((next) => this.sendToken(next)));
    // A refresh that came while the owner was getting the token for this stream went to no stream: send it now.
    const latest = tokens.latest;
    if (latest !== undefined) this.sendToken(latest);
  }

  /** Sends a fresh token on the open stream, so that the service does not end it at the old token's expiry. */
  private sendToken(token: string): boolean {
    if (token === this.token) return true; // the stream holds it already (opened with it, or sent before)
    this.token = token;
    // requestType left unset, as the reference SDK sends it (docs/wire.md#token-refresh).
    return this.write({ selfLink: this.options.topic, token: `Bearer ${token}` });
  }

  /** Sends an `AGENT_STATUS` request with the newest token (called once the stream is accepted, see accepted()). */
  private sendAgentStatus(status: AgentStatus): boolean {
    const token = this.options.tokens.latest ?? this.token;
    const agentStatus: NonNullable<WireRequest['agentStatus']> = { state: status.state, message: status.message };
    if (status.context !== undefined) {
      agentStatus.context = {
        environmentName: status.context.environmentName ?? '',
        agentName: status.context.agentName ?? '',
      };
    }
    return this.write({
      selfLink: this.options.topic,
      token: `Bearer ${token}`,
      requestType: 'AGENT_STATUS',
      agentStatus,
    });
  }

  /** Stops reading: the service's writes back up through HTTP/2 flow control. */
  pause(): void {
    this.call?.pause();
  }

  resume(): void {
    this.call?.resume();
  }

  /** Whether the service accepted the subscription. */
  get isReady(): boolean {
    return this.life.is('accepted', 'alive');
  }

  /** Cancels the call (never a half-close, which leaks the stream: etcd3 #62). No `onEnd` follows. Idempotent. */
  cancel(): void {
    if (this.end.is('finished', 'cancelled')) return;
    this.end.to('cancelled');
    this.stopFollowing();
    this.call?.cancel();
  }

  /** Ends the stream from our side because of `error` (a protocol breach); `onEnd(error)` follows. */
  fail(error: WatchError): void {
    if (this.end.is('finished', 'cancelled')) return;
    this.finalError = error;
    this.end.to('failing');
    this.call?.cancel();
  }

  private write(request: WireRequest): boolean {
    const call = this.call;
    if (call === undefined || this.end.is('finished', 'cancelled') || call.writableEnded || call.destroyed)
      return false;
    call.write(request);
    return true;
  }

  /**
   * Counts the subscription as accepted although the service sent nothing yet: the protocol has no acknowledgement,
   * so the owner decides when a quiet stream that was not refused is live.
   */
  accept(): void {
    this.markReady();
  }

  /** Whether the stream has shown a sign of life (headers or a message), as opposed to a quiet `accept()`. */
  get hasShownLife(): boolean {
    return this.life.is('alive');
  }

  private markAlive(): void {
    if (this.life.state === 'alive' || this.end.state === 'cancelled') return;
    const wasReady = this.life.is('accepted');
    this.life.to('alive');
    if (!wasReady) this.accepted();
    this.options.callbacks.onAlive();
  }

  private markReady(): void {
    if (this.life.is('accepted', 'alive') || this.end.is('cancelled')) return;
    this.life.to('accepted');
    this.accepted();
  }

  /** The subscription was accepted: the agent status goes out now and with every change. */
  private accepted(): void {
    const { agentStatus, callbacks } = this.options;
    if (!this.end.is('finished')) {
      this.unfollow.push(agentStatus.follow((status) => this.sendAgentStatus(status)));
      const status = agentStatus.latest;
      if (status !== undefined) this.sendAgentStatus(status);
    }
    callbacks.onReady();
  }

  private stopFollowing(): void {
    for (const remove of this.unfollow) remove();
    this.unfollow = [];
  }

  private receive(message: DecodedEvent): void {
    // Messages read after the final status are still events the service sent (grpc-js reports the status before a
    // paused stream's buffer is read); only our own cancel or a protocol failure voids them.
    // Per message: plain comparisons, no argument array.
    const end = this.end.state;
    // After 'finished' nothing is left to read: only a failure's cancel can leave messages behind.
    if (end === 'cancelled' || end === 'failing' || end === 'finished') return;
    this.markAlive();
    if (message.type === WIRE_PING) {
      // Liveness probe of the service (docs/wire.md#pings): answer with its id at once; never a user event.
      if (this.finalError === undefined)
        this.write({
          selfLink: this.options.topic,
          token: '',
          requestType: 'PING_RESPONSE',
          pingResponse: { id: message.id },
        });
      this.options.log.debug('ping answered', { topic: this.options.topic, id: message.id });
      this.options.callbacks.onPing();
      return;
    }
    let event: WatchEvent;
    try {
      event = fromWireEvent(message, this.options.topic);
    } catch (err) {
      this.fail(toWatchError(err, 'PROTOCOL', `watch ${this.options.topic}`));
      return;
    }
    this.options.callbacks.onEvent(event);
  }

  /** Reports the outcome, once. */
  private finish(): void {
    this.end.to('finished');
    this.stopFollowing();
    this.options.callbacks.onEnd(
      this.finalError ?? new WatchError('INTERNAL', `stream of ${this.options.topic}: ended without an outcome`),
    );
  }
}
