import { describe, it } from 'node:test';
import '../support/harness';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as protobuf from 'protobufjs';
import { InterningReader } from '../../src/transport/interning-reader';

/** `values` as consecutive length-delimited fields, as a string field is on the wire. */
function encoded(values: readonly Uint8Array[]): Buffer {
  const writer = protobuf.Writer.create();
  for (const value of values) writer.bytes(value);
  return Buffer.from(writer.finish());
}

/** Every string of `bytes` as `reader` reads them, with the position after each. */
function readAll(reader: protobuf.Reader): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  while (reader.pos < reader.len) out.push([reader.string(), reader.pos]);
  return out;
}

describe('InterningReader', () => {
  it('property: reads every string exactly as protobufjs does, short or long, valid UTF-8 or not, repeated or colliding (fast-check)', () => {
    // Few byte values and short lengths: many repeats, same lengths with other bytes, hash collisions; 0x80-0xff
    // make invalid and multi-byte UTF-8.
    const bytes = fc
      .uint8Array({ maxLength: 40 })
      .map((b) => b.map((x) => [0x61, 0x62, 0x00, 0xc3, 0xa9, 0xff, x][x % 7] as number));
    fc.assert(
      fc.property(fc.array(bytes, { maxLength: 30 }), (values) => {
        const buffer = encoded(values);
        const ours = readAll(new InterningReader(buffer));
        assert.deepEqual(ours, readAll(new protobuf.BufferReader(buffer)));
        assert.deepEqual(
          ours.map(([s]) => s),
          values.map((v) => Buffer.from(v).toString('utf8')),
        );
      }),
      { numRuns: 2000 },
    );
  });

  it('a length past the end reads what is there, as protobufjs does', () => {
    const buffer = Buffer.from([10, 0x61, 0x62, 0x63]); // claims 10 bytes, 3 follow
    const ours = new InterningReader(buffer);
    const theirs = new protobuf.BufferReader(buffer);
    assert.equal(ours.string(), theirs.string());
    assert.equal(ours.pos, theirs.pos);
  });

  it('a slot taken by another string of the same length gives the new one, and the old one back after', () => {
    const values = ['kind-a', 'kind-b', 'kind-a', 'é', '\u00e9', 'kind-b'].map((s) => Buffer.from(s));
    assert.deepEqual(
      readAll(new InterningReader(encoded(values))).map(([s]) => s),
      ['kind-a', 'kind-b', 'kind-a', 'é', 'é', 'kind-b'],
    );
  });
});
