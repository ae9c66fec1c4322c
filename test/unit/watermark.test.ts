import { describe, it } from 'node:test';
import '../support/harness';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Watermark } from '../../src/delivery/watermark';

describe('Watermark: the acknowledged position when events are acknowledged out of order', () => {
  it('moves only over a contiguous run of acknowledged ids, which need not be consecutive numbers', () => {
    const mark = new Watermark(10);
    for (const seq of [12, 15, 16, 20]) mark.add(seq);
    assert.deepEqual([mark.position, mark.outstanding], [10, 4]);
    assert.equal(mark.ack(16), false, 'an id behind one not acknowledged does not move it');
    assert.equal(mark.ack(12), true);
    assert.deepEqual([mark.position, mark.outstanding], [12, 3]);
    assert.equal(mark.ack(15), true, 'over 15 and the 16 acknowledged before');
    assert.deepEqual([mark.position, mark.outstanding], [16, 1]);
    assert.equal(mark.ack(20), true);
    assert.deepEqual([mark.position, mark.outstanding], [20, 0]);
  });

  it('an id acknowledged twice, or never added, changes nothing', () => {
    const mark = new Watermark();
    mark.add(1);
    mark.add(2);
    mark.add(3);
    assert.equal(mark.ack(2), false);
    assert.equal(mark.ack(2), false, 'twice');
    assert.equal(mark.ack(7), false, 'never added');
    assert.equal(mark.position, 0);
    assert.equal(mark.ack(1), true);
    assert.equal(mark.position, 2);
    assert.equal(mark.ack(1), false, 'already below the position');
    assert.equal(mark.outstanding, 1);
  });

  it('reset starts over at a position with nothing outstanding', () => {
    const mark = new Watermark(5);
    mark.add(6);
    mark.add(7);
    mark.reset(100);
    assert.deepEqual([mark.position, mark.outstanding], [100, 0]);
    assert.equal(mark.ack(6), false, 'what was outstanding is forgotten');
    mark.add(101);
    assert.equal(mark.ack(101), true);
    assert.equal(mark.position, 101);
  });

  it('property: the position is always the highest id below which every id added is acknowledged (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 300 }),
        fc.array(fc.nat(), { maxLength: 300 }),
        (gaps, picks) => {
          const mark = new Watermark();
          const ids: number[] = [];
          let seq = 0;
          for (const gap of gaps) {
            seq += gap;
            ids.push(seq);
            mark.add(seq);
          }
          const acked = new Set<number>();
          // Acknowledged in a random order: each pick takes one of the ids not yet acknowledged.
          const left = [...ids];
          for (const pick of [...picks, ...ids.map(() => 0)]) {
            if (left.length === 0) break;
            const [id] = left.splice(pick % left.length, 1) as [number];
            acked.add(id);
            const before = mark.position;
            const moved = mark.ack(id);
            let expected = 0;
            for (const i of ids) {
              if (!acked.has(i)) break;
              expected = i;
            }
            assert.equal(mark.position, expected);
            assert.equal(moved, expected !== before);
            assert.equal(mark.outstanding, ids.filter((i) => i > expected).length);
          }
          assert.equal(mark.position, ids.at(-1));
        },
      ),
      { numRuns: 200 },
    );
  });
});
