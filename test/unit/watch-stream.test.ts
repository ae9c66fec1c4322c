import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { FakeClock, type FakeWatchService } from 'watch-manager/testing';
import { WatchError } from '../../src/core/errors';
import type { WatchEvent } from '../../src/core/types';
import { createLog } from '../../src/logging/logger';
import { WatchClient } from '../../src/transport/grpc-channel';
import { AgentStatusFeed, type TokenFeed } from '../../src/transport/stream-feeds';
import { WatchStream } from '../../src/transport/watch-stream';
import { captureLogger, recordError, scanForSecrets, startService, token, TOPIC } from '../support/harness';

scanForSecrets();

// One `subscribe` call, over a real grpc-js client and the fake watch service: what WatchStream sends (metadata, the
// first request, token refreshes, agent status, ping answers) is read from the service's counters, what it reports
// from its callbacks.

/** The token feed of a refresher, driven by the test. */
class Tokens implements TokenFeed {
  held: string | undefined;
  readonly listeners = new Set<(token: string) => void>();
  get latest(): string | undefined {
    return this.held;
  }
  follow(listener: (token: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  refresh(next: string): void {
    this.held = next;
    for (const listener of [...this.listeners]) listener(next);
  }
}

/** The client, telling which of its calls received their final status (a listener more changes nothing). */
class ObservedClient extends WatchClient {
  statuses = 0;
  override subscribe(metadata: grpc.Metadata): ReturnType<WatchClient['subscribe']> {
    const call = super.subscribe(metadata);
    call.on('status', () => void (this.statuses += 1));
    return call;
  }
}

/** What the stream reported, in order. */
interface Seen {
  log: string[];
  events: WatchEvent[];
  ends: WatchError[];
}

let service: FakeWatchService | undefined;
let client: ObservedClient | undefined;

afterEach(async () => {
  client?.close();
  client = undefined;
  await service?.stop();
  service = undefined;
});

async function serve(options: Parameters<typeof startService>[0] = {}): Promise<FakeWatchService> {
  service = await startService(options);
  return service;
}

function open(
  svc: FakeWatchService,
  topic = TOPIC,
): { stream: WatchStream; seen: Seen; tokens: Tokens; status: AgentStatusFeed } {
  client ??= new ObservedClient(svc.target, grpc.credentials.createInsecure());
  const seen: Seen = { log: [], events: [], ends: [] };
  const tokens = new Tokens();
  const status = new AgentStatusFeed();
  const stream = new WatchStream({
    client,
    topic,
    tenantId: svc.tenantId,
    log: createLog(captureLogger()),
    tokens,
    agentStatus: status,
    callbacks: {
      onReady: () => void seen.log.push('ready'),
      onAlive: () => void seen.log.push('alive'),
      onEvent: (event) => {
        seen.log.push(`event ${event.sequenceId}`);
        seen.events.push(event);
      },
      onPing: () => void seen.log.push('ping'),
      onEnd: (error) => {
        seen.log.push(`end ${error.code}`);
        seen.ends.push(recordError(error));
      },
    },
  });
  return { stream, seen, tokens, status };
}

describe('WatchStream over a real grpc-js call', () => {
  it('opens with the token and tenant, reports alive and ready once, hands over events in order', async () => {
    const svc = await serve();
    const { stream, seen } = open(svc);
    stream.open(await token(svc));
    await svc.waitFor(() => seen.log.includes('ready'), 10_000, 'ready');
    assert.deepEqual(seen.log, ['ready', 'alive'], 'the headers: accepted, and alive');
    assert.equal(svc.counters.accepted, 1);
    assert.equal(stream.isReady, true);
    assert.equal(stream.hasShownLife, true);
    svc.publishMany(TOPIC, 3);
    await svc.waitFor(() => seen.events.length === 3, 10_000, 'three events');
    assert.deepEqual(
      seen.events.map((e) => [e.sequenceId, e.topic]),
      [
        [1, TOPIC],
        [2, TOPIC],
        [3, TOPIC],
      ],
    );
    assert.deepEqual(seen.log, ['ready', 'alive', 'event 1', 'event 2', 'event 3'], 'ready and alive told once');
    stream.cancel();
    stream.cancel(); // idempotent
    await svc.waitFor(() => svc.activeStreams === 0, 10_000, 'the call cancelled');
    assert.deepEqual(seen.ends, [], 'no onEnd after cancel');
  });

  it('answers each PING at once with its id, and never hands one over as an event', async () => {
    const clock = new FakeClock();
    const svc = await serve({ clock, pingIntervalMs: 1_000 });
    const { stream, seen } = open(svc);
    stream.open(await token(svc));
    await svc.waitFor(() => svc.counters.accepted === 1, 10_000, 'accepted');
    for (const n of [1, 2]) {
      await clock.advance(1_000);
      await svc.waitFor(() => svc.counters.pingResponses === n, 10_000, `ping answer ${n}`);
    }
    assert.equal(svc.counters.pingsSent, 2);
    assert.equal(svc.counters.unknownPingResponses, 0, 'each answer names the ping it answers');
    assert.equal(seen.log.filter((l) => l === 'ping').length, 2);
    assert.deepEqual(seen.events, []);
    stream.cancel();
  });

  it('sends each new token in-stream once, and a token that came while it was opened at once', async () => {
    const svc = await serve();
    const [first, second, third] = [await token(svc), await token(svc), await token(svc)];
    const { stream, tokens } = open(svc);
    tokens.held = second; // refreshed while the owner was opening the stream with `first`
    stream.open(first);
    await svc.waitFor(() => svc.counters.tokenRefreshes === 1, 10_000, 'the held token sent');
    tokens.refresh(second); // the stream holds it already
    tokens.refresh(third);
    await svc.waitFor(() => svc.counters.tokenRefreshes === 2, 10_000, 'the third token sent');
    assert.equal(svc.counters.refreshesRejected, 0);
    // Requests are read in order: a second copy of `second` would have been counted before `third`.
    tokens.refresh(first);
    await svc.waitFor(() => svc.counters.tokenRefreshes === 3, 10_000, 'the first token sent again');
    assert.equal(tokens.listeners.size, 1);
    stream.cancel();
    assert.equal(tokens.listeners.size, 0, 'a cancelled stream follows the feed no more');
  });

  it('sends the agent status only once accepted, then on each change; a quiet stream is accepted by its owner', async () => {
    const svc = await serve({ sendHeaders: false });
    const { stream, seen, status } = open(svc);
    status.set({ state: 'running', message: 'before' });
    stream.open(await token(svc));
    await svc.waitFor(() => svc.counters.accepted === 1, 10_000, 'accepted by the service');
    assert.equal(stream.isReady, false, 'no sign of life yet');
    assert.equal(status.set({ state: 'running', message: 'still before' }), false, 'not sent: not accepted yet');
    stream.accept();
    assert.deepEqual(seen.log, ['ready'], 'ready, not alive');
    assert.equal(stream.isReady, true);
    assert.equal(stream.hasShownLife, false);
    await svc.waitFor(() => svc.counters.agentStatuses.length === 1, 10_000, 'the status sent');
    assert.equal(status.set({ state: 'degraded', message: 'after' }), true, 'sent by the open stream');
    svc.publish(TOPIC);
    await svc.waitFor(() => seen.events.length === 1, 10_000, 'an event');
    assert.deepEqual(seen.log, ['ready', 'alive', 'event 1'], 'alive once the event came; ready not told again');
    status.set({ state: 'stopped', message: 'last' });
    await svc.waitFor(() => svc.counters.agentStatuses.length === 3, 10_000, 'three statuses');
    assert.deepEqual(
      svc.counters.agentStatuses.map((s) => s.message),
      ['still before', 'after', 'last'],
      'the status set last before acceptance, then each change, none twice',
    );
    stream.cancel();
    assert.equal(status.set({ state: 'running', message: 'gone' }), false, 'a cancelled stream sends nothing');
  });

  it('a refused subscription ends once with the code of the service, never ready', async () => {
    const svc = await serve();
    const unknown = open(svc, '/management/v1alpha1/watchtopics/nope');
    unknown.stream.open(await token(svc));
    const refused = open(svc);
    refused.stream.open(await token(svc, { tenantId: 'another-tenant' }));
    await svc.waitFor(() => unknown.seen.ends.length + refused.seen.ends.length === 2, 10_000, 'both ended');
    assert.deepEqual(unknown.seen.log, ['end TOPIC_NOT_FOUND']);
    assert.deepEqual(refused.seen.log, ['end PERMISSION_DENIED']);
    assert.equal(unknown.seen.ends[0]?.retryable, false);
  });

  it('the service ending the stream: every event it sent first, then one onEnd, also when the reader was paused', async () => {
    const svc = await serve();
    const { stream, seen } = open(svc);
    stream.open(await token(svc));
    await svc.waitFor(() => stream.isReady, 10_000, 'ready');
    stream.pause();
    svc.publishMany(TOPIC, 10);
    await svc.waitFor(() => svc.counters.eventsSent === 10, 10_000, 'ten events written');
    assert.equal(svc.abortStreams(), 1);
    // The final status comes while the events still wait in the paused stream's buffer (grpc-js tells it first).
    await svc.waitFor(() => client?.statuses === 1, 10_000, 'the status received');
    assert.equal(seen.ends.length, 0, 'not told while events wait unread');
    stream.resume();
    await svc.waitFor(() => seen.ends.length === 1, 10_000, 'the end');
    assert.equal(seen.events.length, 10, 'nothing the service sent is dropped');
    assert.equal(seen.log.at(-1), 'end CONNECTION_LOST', 'the end after the last event');
    assert.equal(seen.ends[0]?.retryable, true);
    stream.cancel(); // after the end: nothing
    assert.equal(seen.ends.length, 1);
  });

  it('fail(): ends once with the error given, cancels the call, and reads nothing more', async () => {
    const svc = await serve();
    const { stream, seen } = open(svc);
    stream.open(await token(svc));
    await svc.waitFor(() => stream.isReady, 10_000, 'ready');
    const breach = new WatchError('PROTOCOL', 'a breach the owner found');
    stream.fail(breach);
    svc.publish(TOPIC);
    await svc.waitFor(() => seen.ends.length === 1 && svc.activeStreams === 0, 10_000, 'the end');
    assert.equal(seen.ends[0], breach);
    assert.deepEqual(seen.events, []);
    stream.fail(new WatchError('PROTOCOL', 'a second one'));
    assert.equal(seen.ends.length, 1, 'ended once');
  });

  it('an event it cannot decode ends the stream with PROTOCOL', async () => {
    const svc = await serve();
    const { stream, seen } = open(svc);
    stream.open(await token(svc));
    await svc.waitFor(() => stream.isReady, 10_000, 'ready');
    svc.sendRaw(TOPIC, { id: 'broken', type: 'UPDATED', metadata: { watchTopicSelfLink: TOPIC, sequenceID: '0' } });
    await svc.waitFor(() => seen.ends.length === 1, 10_000, 'the end');
    assert.equal(seen.ends[0]?.code, 'PROTOCOL');
    assert.deepEqual(seen.events, []);
  });

  it('a token that metadata cannot carry never reaches grpc-js: INTERNAL, told after open returns', async () => {
    const svc = await serve();
    const { stream, seen } = open(svc);
    stream.open('two\nlines');
    assert.deepEqual(seen.ends, [], 'not from inside open()');
    await Promise.resolve();
    assert.deepEqual(seen.log, ['end INTERNAL']);
    assert.equal(svc.counters.subscribes, 0, 'no call was made');
  });
});
