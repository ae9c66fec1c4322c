import { describe, it } from 'node:test';
import '../support/harness';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SequenceHoles } from '../../src/delivery/sequence-holes';

describe('SequenceHoles: a repeat told from an id that arrives out of order', () => {
  it('the ids skipped between two handed over are missing; those handed over, the start and beyond the top are not', () => {
    const seen = new SequenceHoles();
    seen.reset(10);
    seen.advance(11);
    seen.advance(14);
    seen.advance(20);
    assert.equal(seen.highest, 20);
    const missing = [...Array(25).keys()].filter((seq) => seen.missing(seq));
    assert.deepEqual(missing, [12, 13, 15, 16, 17, 18, 19]);
  });

  it('an id filled is handed over: a second copy of it is a repeat, its neighbours stay missing', () => {
    const seen = new SequenceHoles();
    seen.advance(1);
    seen.advance(10);
    seen.fill(5);
    assert.equal(seen.missing(5), false);
    assert.deepEqual(
      [2, 3, 4, 6, 7, 8, 9].map((seq) => seen.missing(seq)),
      [true, true, true, true, true, true, true],
    );
    seen.fill(2);
    seen.fill(9);
    assert.deepEqual(
      [2, 3, 8, 9].map((seq) => seen.missing(seq)),
      [false, true, true, false],
      'filled at the edges of a hole',
    );
    seen.fill(5);
    assert.equal(seen.highest, 10, 'filling never moves the top');
  });

  it('reset forgets every hole: nothing at or below the new start is missing', () => {
    const seen = new SequenceHoles();
    seen.advance(5);
    seen.advance(50);
    seen.reset(30);
    assert.equal(seen.highest, 30);
    assert.equal(seen.missing(10), false);
    assert.equal(seen.missing(40), false, 'above the top: not handed over, but not a hole either');
    seen.advance(33);
    assert.deepEqual([seen.missing(31), seen.missing(32), seen.missing(30)], [true, true, false]);
  });

  it('remembers the most recent holes only: far older ones count as handed over, however many gaps', () => {
    const seen = new SequenceHoles();
    const holes = 20_000;
    for (let i = 1; i <= holes; i++) seen.advance(i * 2); // 1, 3, 5, ... are never handed over
    assert.equal(seen.missing(1), false, 'the oldest hole is forgotten (bounded memory)');
    assert.equal(seen.missing(holes * 2 - 1), true, 'the newest is kept');
    assert.equal(seen.missing(holes * 2 - 2_001), true, 'and a thousand before it');
    const kept = (seen as unknown as { holes: unknown[] }).holes.length;
    assert.ok(kept < holes / 2, `${kept} holes kept of ${holes}`);
  });

  it('property: missing is true exactly for the ids skipped and not filled since (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.record({ gap: fc.integer({ min: 1, max: 6 }) }), fc.record({ fill: fc.nat() })), {
          maxLength: 200,
        }),
        (ops) => {
          const seen = new SequenceHoles();
          const skipped = new Set<number>();
          let top = 0;
          for (const op of ops) {
            if ('gap' in op) {
              for (let seq = top + 1; seq < top + op.gap; seq++) skipped.add(seq);
              top += op.gap;
              seen.advance(top);
            } else if (skipped.size > 0) {
              const seq = [...skipped][op.fill % skipped.size] as number;
              seen.fill(seq);
              skipped.delete(seq);
            }
            assert.equal(seen.highest, top);
            for (let seq = 0; seq <= top + 1; seq++) assert.equal(seen.missing(seq), skipped.has(seq), `id ${seq}`);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
