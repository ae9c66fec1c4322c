import { WatchError } from '../core/errors';
import type { DecodedEvent, DecodedInt64, DecodedResource } from './proto';
import {
  WATCH_EVENT_TYPES,
  type ResourceInstance,
  type ResourceReference,
  type WatchEvent,
  type WatchEventType,
} from '../core/types';

/**
 * Parses a wire sequence id (int64, carried as a decimal string) into a number, refusing anything that is not a
 * positive safe integer: rounding a position would skip or repeat events.
 */
export function parseSequenceId(value: unknown, where: string): number {
  // int64 strings from the decoder are plain digits; Number() of anything else (signs, exponents, spaces) is caught
  // by the checks below or by the round trip.
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && value.length > 0 && value.length <= 16
        ? Number(value)
        : NaN;
  if (typeof value === 'string' && String(n) !== value)
    throw new WatchError('PROTOCOL', `${where}: invalid sequence id ${JSON.stringify(value)}`);
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new WatchError('PROTOCOL', `${where}: invalid sequence id ${JSON.stringify(value)}`);
  }
  return n;
}

/** Wire `Event.Type` numbers (docs/wire.md#event), in proto order; `PING` (5) is the stream's, never a user event. */
const WIRE_TYPES: readonly WatchEventType[] = ['CREATED', 'UPDATED', 'DELETED', 'SUBRESOURCEUPDATED', 'TRIGGERACTION'];

/** The wire `Event.Type` number of a ping. */
export const WIRE_PING = 5;

const TWO_POW_32 = 4294967296;

/** A decoded int64 as a number, or NaN when it is negative or above 2^53 - 1 (rounding would skip or repeat). */
function int64ToNumber(value: DecodedInt64): number {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : NaN;
  // high carries bits 32..63 as a signed int: 0..0x1fffff keeps the value a safe integer.
  return value.high >= 0 && value.high <= 0x1fffff ? value.high * TWO_POW_32 + (value.low >>> 0) : NaN;
}

/** An int64 as the message of an error shows it, in decimal: a number, or protobufjs's two halves of a Long. */
function int64Text(value: DecodedInt64): string {
  // Two's complement from the halves: exact at any size, where a Number would round.
  return typeof value === 'number' ? String(value) : String((BigInt(value.high) << 32n) + BigInt(value.low >>> 0));
}

function toResource(p: DecodedResource | null): ResourceInstance {
  if (p === null)
    return {
      group: '',
      kind: '',
      name: '',
      metadata: { id: '', scope: null, selfLink: '', references: [] },
      attributes: {},
    };
  const m = p.metadata;
  const s = m === null ? null : m.scope;
  return {
    group: p.group,
    kind: p.kind,
    name: p.name,
    metadata: {
      id: m === null ? '' : m.id,
      scope: s === null ? null : { id: s.id, kind: s.kind, name: s.name, selfLink: s.selfLink },
      selfLink: m === null ? '' : m.selfLink,
      references:
        m === null
          ? []
          : m.references.map((r): ResourceReference => ({
              id: r.id,
              kind: r.kind,
              name: r.name,
              scopeKind: r.scopeKind,
              scopeName: r.scopeName,
              selfLink: r.selfLink,
              type: r.type === 1 ? 'HARD' : 'SOFT',
            })),
    },
    // protobufjs gives every decoded message a map object of its own: handed on, not copied.
    attributes: p.attributes,
  };
}

/**
 * Turns a decoded wire `Event` (not a PING) into the public {@link WatchEvent}, in one pass over protobufjs's
 * decoded message. Throws `PROTOCOL` for an event that cannot be placed in sequence: one without metadata or a
 * usable sequence id. A type this contract does not know is `UNKNOWN`, with the number in `rawType`.
 */
export function fromWireEvent(wire: DecodedEvent, topic: string): WatchEvent {
  const meta = wire.metadata;
  // A number this contract does not name is a type a newer service added: the event still has its place in the
  // sequence, so it is kept as UNKNOWN rather than stopping the watch (delivery skips or hands it over).
  const type = (WIRE_TYPES as ReadonlyArray<WatchEventType | undefined>)[wire.type] ?? 'UNKNOWN';
  const sequenceId = meta === null ? NaN : int64ToNumber(meta.sequenceID);
  if (meta === null || !(sequenceId > 0)) {
    const where = `event ${JSON.stringify(wire.id)} on ${topic}`;
    if (meta === null) throw new WatchError('PROTOCOL', `${where}: no metadata`);
    throw new WatchError('PROTOCOL', `${where}: invalid sequence id ${int64Text(meta.sequenceID)}`);
  }
  const event: WatchEvent = {
    id: wire.id,
    time: wire.time,
    version: wire.version,
    product: wire.product,
    correlationId: wire.correlationId,
    organizationId: wire.organization === null ? '' : wire.organization.id,
    type,
    topic: meta.watchTopicSelfLink === '' ? topic : meta.watchTopicSelfLink,
    watchTopicId: meta.watchTopicID,
    sequenceId,
    subresource: meta.subresource,
    payload: toResource(wire.payload),
  };
  if (type === 'UNKNOWN') event.rawType = String(wire.type);
  const action = meta.actionDetails;
  if (action !== null) event.actionDetails = { typeUrl: action.type_url, value: new Uint8Array(action.value) };
  return event;
}

/**
 * Maps a history type string to ours (docs/wire.md#event-json): drop a leading `Resource`, upper-case the rest
 * (`ResourceCreated` → `CREATED`, `SubResourceUpdated` → `SUBRESOURCEUPDATED`).
 */
function parseHistoryType(value: unknown, where: string): WatchEventType | 'UNKNOWN' {
  if (typeof value !== 'string' || value === '')
    throw new WatchError('PROTOCOL', `${where}: event type ${JSON.stringify(value)} is not a type name`);
  const name = value.replace(/^Resource/, '').toUpperCase();
  // A name this contract does not know is a type a newer service added (see fromWireEvent).
  return WATCH_EVENT_TYPES.has(name) ? (name as WatchEventType) : 'UNKNOWN';
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** The string entries of `value`; the parsed object itself when it holds only strings (the usual case). */
function stringMap(value: unknown): Record<string, string> {
  if (!isObject(value)) return {};
  let clean = true;
  for (const k in value) {
    if (typeof value[k] !== 'string') {
      clean = false;
      break;
    }
  }
  if (clean) return value as Record<string, string>;
  const out: Record<string, string> = {};
  for (const k in value) if (typeof value[k] === 'string') out[k] = value[k];
  return out;
}

function resourceFromJson(payload: unknown): ResourceInstance {
  const p = isObject(payload) ? payload : {};
  const meta = isObject(p.metadata) ? p.metadata : {};
  const scope = isObject(meta.scope) ? meta.scope : null;
  const attributes = stringMap(p.attributes);
  return {
    group: str(p.group),
    kind: str(p.kind),
    name: str(p.name),
    metadata: {
      id: str(meta.id),
      scope:
        scope === null
          ? null
          : { id: str(scope.id), kind: str(scope.kind), name: str(scope.name), selfLink: str(scope.selfLink) },
      selfLink: str(meta.selfLink),
      references: (Array.isArray(meta.references) ? meta.references : [])
        .filter(isObject)
        .map((r): ResourceReference => ({
          id: str(r.id),
          kind: str(r.kind),
          name: str(r.name),
          scopeKind: str(r.scopeKind),
          scopeName: str(r.scopeName),
          selfLink: str(r.selfLink),
          type: r.type === 'HARD' || r.type === 1 ? 'HARD' : 'SOFT',
        })),
    },
    attributes,
  };
}

/**
 * Turns one event of a history page (docs/wire.md#event-json) into a {@link WatchEvent} equal to the one the stream
 * would have carried. Unknown fields are ignored (real payloads carry `spec` and more); an item that cannot be
 * placed in sequence is `PROTOCOL`, naming where it was.
 */
export function fromHistoryEvent(item: unknown, topic: string, where: string): WatchEvent {
  if (!isObject(item)) throw new WatchError('PROTOCOL', `${where}: not an event object`);
  const meta = item.metadata;
  if (!isObject(meta)) throw new WatchError('PROTOCOL', `${where}: event ${JSON.stringify(item.id)} has no metadata`);
  const type = parseHistoryType(item.type, where);
  const event: WatchEvent = {
    id: str(item.id),
    time: str(item.time),
    version: str(item.version),
    product: str(item.product),
    correlationId: str(item.correlationId),
    organizationId: isObject(item.organization) ? str(item.organization.id) : '',
    type,
    topic: str(meta.watchTopicSelfLink) === '' ? topic : str(meta.watchTopicSelfLink),
    watchTopicId: str(meta.watchTopicID),
    sequenceId: parseSequenceId(meta.sequenceID, where),
    subresource: str(meta.subresource),
    payload: resourceFromJson(item.payload),
  };
  if (type === 'UNKNOWN') event.rawType = String(item.type).slice(0, 100);
  return event;
}
