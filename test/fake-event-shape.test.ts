import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WatchManager, type EventContext, type WatchEvent } from 'watch-manager';
import { fakeEvent, fakeEventContext } from 'watch-manager/testing';
import { TOPIC, captureLogger, scanForSecrets, startService, token } from './support/harness';

scanForSecrets();

/** A value's shape: its keys, sorted, down to the leaves' types (an array is a leaf, so is a free-form map). */
function shape(value: unknown, key = ''): unknown {
  if (key === 'attributes') return typeof value;
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof AbortSignal)
    return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, shape((value as Record<string, unknown>)[k], k)]),
  );
}

/** A handler's effect, as text: the fields it reads of the event and of its context. */
const record = (e: WatchEvent, c: EventContext): string =>
  `${c.idempotencyKey} ${e.type} ${e.payload.group}/${e.payload.kind}/${e.payload.name} aborted=${c.signal.aborted}`;

describe('fakeEvent and fakeEventContext stand for what the engine delivers', () => {
  it('a delivered event and its context have the same fields as the fakes, and a handler gives the same result', async () => {
    const service = await startService();
    const jwt = await token(service);
    const delivered: Array<[WatchEvent, EventContext]> = [];
    const handled: string[] = [];
    const manager = new WatchManager({
      target: service.target,
      tenantId: service.tenantId,
      historyUrl: service.historyUrl,
      getToken: () => jwt,
      tls: false,
      logger: captureLogger(),
    });
    try {
      await manager.registerWatch(TOPIC, {
        onEvent: (e, ctx) => {
          handled.push(record(e, ctx));
          delivered.push([e, ctx]);
        },
      });
      service.publish(TOPIC, { type: 'CREATED', kind: 'APIService', name: 'apiservice-1' });
      await service.waitFor(() => delivered.length === 1, 10_000, 'the event');
    } finally {
      await manager.close();
      await service.stop();
    }
    const [event, ctx] = delivered[0] as [WatchEvent, EventContext];
    assert.deepEqual(shape(fakeEvent()), shape(event));
    const fakeCtx = fakeEventContext({ topic: event.topic, sequenceId: event.sequenceId });
    assert.deepEqual(shape(fakeCtx), shape(ctx));
    assert.equal(fakeCtx.idempotencyKey, ctx.idempotencyKey);

    // The handler a test would write: what it does with the fakes is what it did under the engine.
    const fake = fakeEvent({ topic: event.topic, sequenceId: event.sequenceId });
    assert.equal(record(fake, fakeCtx), handled[0]);
  });
});
