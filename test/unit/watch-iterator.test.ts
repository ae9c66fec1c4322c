import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { WatchEvent } from 'watch-manager';
import type { Acknowledger } from '../../src/delivery/delivery';
import { WatchIterator } from '../../src/delivery/watch-iterator';
import { scanForSecrets } from '../support/harness';

scanForSecrets();

const event = (sequenceId: number): WatchEvent => ({ sequenceId }) as unknown as WatchEvent;

describe('the for await iterator as a sink of delivery', () => {
  it('keeps only the records not yet taken, however long it runs with refills before it runs dry', async () => {
    // Delivery's way with a sink: `slots` records out at most, refilled once half are acknowledged.
    const slots = 100;
    let next = 1;
    let out = 0;
    const iterator = new WatchIterator(true, async () => undefined, undefined);
    const fill = (): void => {
      while (out < slots) {
        out += 1;
        iterator.offer(event(next++), delivery);
      }
    };
    const delivery: Acknowledger = {
      ack: () => {
        out -= 1;
        if (out * 2 <= slots) fill();
      },
      refill: fill,
      reject: () => assert.fail('no record is failed here'),
    };
    fill();
    let largest = 0;
    let seen = 0;
    for await (const record of iterator) {
      assert.equal(record.kind === 'event' && record.event.sequenceId, seen + 1, 'in order, none skipped');
      seen += 1;
      largest = Math.max(largest, (iterator as unknown as { buffer: { items: unknown[] } }).buffer.items.length);
      if (seen === 20_000) break;
    }
    assert.ok(largest <= 2 * slots, `the buffer stays bounded: at most ${largest} entries`);
  });
});
