import * as protobuf from 'protobufjs';

/**
 * A protobufjs reader for the subscribe stream's events that hands out one string per distinct short value. An event
 * carries ~28 strings, most of them short and the same from event to event (kind, group, scope names, selfLinks,
 * type names); protobufjs makes a new string of each through a native call (`utf8Slice`), about a third of a watch's
 * CPU. Here a string of up to {@link MAX_BYTES} bytes is looked up by its bytes first: a hit is the string made
 * before from the same bytes, so the result is exactly what `utf8Slice` returns, for any input, valid UTF-8 or not.
 * ~15 % less decoding time on the bench's events (bench/versus.ts), 4 in 5 strings found.
 */

/** Longer strings are ids, names and bodies, rarely repeated: made as protobufjs makes them. */
const MAX_BYTES = 32;
/** Slots of the table, shared by every stream of the process (a power of two: the hash is masked). */
const SLOTS = 512;

/** Each slot's bytes, MAX_BYTES apart; a slot holds the last string hashed to it. */
const slotBytes = new Uint8Array(SLOTS * MAX_BYTES);
/** Each slot's byte length, -1 while empty. */
const slotLengths = new Int32Array(SLOTS).fill(-1);
const slotStrings = new Array<string>(SLOTS).fill('');

type NodeBuffer = Uint8Array & { utf8Slice(start: number, end: number): string };

/** Reads a length-delimited string as protobufjs's `BufferReader.string` does, through the table when short. */
function internedString(this: protobuf.BufferReader): string {
  const length = this.uint32();
  const buf = this.buf as NodeBuffer;
  const start = this.pos;
  // protobufjs's own bound: a length past the end reads what is there.
  const end = Math.min(start + length, this.len);
  this.pos = end;
  const n = end - start;
  if (n > MAX_BYTES) return buf.utf8Slice(start, end);
  let hash = n;
  for (let i = start; i < end; i++) hash = (Math.imul(hash, 31) + (buf[i] as number)) | 0;
  const slot = hash & (SLOTS - 1);
  const at = slot * MAX_BYTES;
  if (slotLengths[slot] === n) {
    let i = 0;
    while (i < n && slotBytes[at + i] === buf[start + i]) i++;
    if (i === n) return slotStrings[slot] as string;
  }
  const text = buf.utf8Slice(start, end);
  for (let i = 0; i < n; i++) slotBytes[at + i] = buf[start + i] as number;
  slotLengths[slot] = n;
  slotStrings[slot] = text;
  return text;
}

/** The reader's constructor: protobufjs's BufferReader with {@link internedString} as its `string()`. */
interface InterningReaderConstructor {
  new (buffer: Buffer): protobuf.BufferReader;
}

// A prototype of its own rather than `class … extends BufferReader`: the class form made decoding ~1.3x slower in a
// micro-benchmark (Node 20), its constructor call taking the derived-class path.
const BufferReader = protobuf.BufferReader as unknown as (this: protobuf.BufferReader, buffer: Buffer) => void;
function InterningReaderFunction(this: protobuf.BufferReader, buffer: Buffer): void {
  BufferReader.call(this, buffer);
}
const prototype = Object.create(protobuf.BufferReader.prototype) as protobuf.BufferReader;
prototype.constructor = InterningReaderFunction;
prototype.string = internedString;
InterningReaderFunction.prototype = prototype;

/** A reader of one message whose short strings come from the process's table. */
export const InterningReader = InterningReaderFunction as unknown as InterningReaderConstructor;
