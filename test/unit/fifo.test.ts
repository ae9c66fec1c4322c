import { describe, it } from 'node:test';
import '../support/harness';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Fifo } from '../../src/delivery/fifo';

/** The size of the queue's array (what it costs in memory). */
const held = (fifo: Fifo<unknown>): number => (fifo as unknown as { items: unknown[] }).items.length;

describe('Fifo: the queue of the intake, the watermark and the iterator', () => {
  it('hands entries out in the order they came, peek and at leave them in place', () => {
    const fifo = new Fifo<string>();
    assert.equal(fifo.peek(), undefined);
    assert.equal(fifo.shift(), undefined, 'an empty queue gives nothing');
    fifo.push('a');
    fifo.push('b');
    fifo.push('c');
    assert.equal(fifo.size, 3);
    assert.equal(fifo.peek(), 'a');
    assert.deepEqual(
      [fifo.at(0), fifo.at(1), fifo.at(2), fifo.at(3), fifo.at(-1)],
      ['a', 'b', 'c', undefined, undefined],
    );
    assert.equal(fifo.at(16), undefined, 'past the end, however far (not wrapped round to the front)');
    assert.equal(fifo.shift(), 'a');
    assert.deepEqual([fifo.peek(), fifo.at(1), fifo.size], ['b', 'c', 2], 'at() counts from the front');
    fifo.clear();
    assert.deepEqual([fifo.size, fifo.peek()], [0, undefined]);
  });

  it('never refilled to empty, its array stays within twice what is queued; the array of a burst dropped once empty', () => {
    const fifo = new Fifo<number>();
    let next = 0;
    let expected = 0;
    for (let i = 0; i < 100; i++) fifo.push(next++);
    let largest = 0;
    for (let round = 0; round < 10_000; round++) {
      assert.equal(fifo.shift(), expected++);
      fifo.push(next++);
      largest = Math.max(largest, held(fifo));
    }
    assert.ok(largest <= 2 * 100, `at most ${largest} entries held for 100 queued`);
    for (let i = 0; i < 5_000; i++) fifo.push(next++);
    while (fifo.size > 0) assert.equal(fifo.shift(), expected++);
    assert.ok(held(fifo) <= 1_024, `an empty queue holds ${held(fifo)} entries after a burst of 5,000`);
  });

  it('property: behaves as an array with push and shift, whatever the mix of operations (fast-check)', () => {
    const op = fc.oneof(
      fc.record({ push: fc.integer({ min: 1, max: 50 }) }),
      fc.record({ shift: fc.integer({ min: 1, max: 50 }) }),
      fc.record({ clear: fc.constant(true) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const fifo = new Fifo<number>();
        const model: number[] = [];
        let next = 0;
        let peak = 0;
        for (const o of ops) {
          if ('push' in o) {
            for (let i = 0; i < o.push; i++) {
              fifo.push(next);
              model.push(next++);
            }
          } else if ('shift' in o) {
            for (let i = 0; i < o.shift; i++) assert.equal(fifo.shift(), model.shift());
          } else {
            fifo.clear();
            model.length = 0;
          }
          assert.equal(fifo.size, model.length);
          assert.equal(fifo.peek(), model[0]);
          const probe = model.length >> 1;
          assert.equal(fifo.at(probe), model[probe]);
          peak = Math.max(peak, model.length);
          assert.ok(held(fifo) <= Math.max(16, 2 * peak), 'the array grows with what is queued, no more');
          const kept = (fifo as unknown as { items: unknown[] }).items.filter((x) => x !== undefined).length;
          assert.equal(kept, model.length, 'an entry taken is let go');
        }
      }),
      { numRuns: 300 },
    );
  });
});
