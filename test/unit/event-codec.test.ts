import { describe, it } from 'node:test';
import '../support/harness';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromWireEvent, parseSequenceId } from '../../src/transport/event-codec';
import { decodeEvent, watchProto, type DecodedEvent } from '../../src/transport/proto';
import { toWireEvent } from '../../src/testing/wire-render';
import type { WatchEvent, WatchEventType } from '../../src/core/types';

describe('event codec', () => {
  it('refuses sequence ids that are not positive safe integers', () => {
    for (const bad of ['0', '-1', '1.5', '9007199254740993', '', 'abc', null]) {
      assert.throws(() => parseSequenceId(bad, 'e'), { code: 'PROTOCOL' });
    }
    assert.equal(parseSequenceId('9007199254740991', 'e'), 9007199254740991);
  });

  const subscribe = watchProto().central.events.v1.watch.service.subscribe;
  const wire = (event: Parameters<typeof subscribe.responseSerialize>[0]): DecodedEvent =>
    decodeEvent(subscribe.responseSerialize(event));

  it('keeps an unknown event type as UNKNOWN with its number; refuses a missing metadata and an unusable int64 sequence id', () => {
    const meta = { watchTopicID: '', watchTopicSelfLink: '/t', sequenceID: '1', subresource: '' };
    assert.throws(() => fromWireEvent(wire({ id: 'e', type: 'CREATED' }), '/t'), /no metadata/);
    // A number the contract does not name, as a newer service would send it (protobufjs writes it as it is).
    const unknown = fromWireEvent(wire({ id: 'e', type: 9 as never, metadata: meta }), '/t');
    assert.equal(unknown.type, 'UNKNOWN');
    assert.equal(unknown.rawType, '9');
    assert.equal(unknown.sequenceId, 1);
    assert.equal(fromWireEvent(wire({ id: 'e', type: 'DELETED', metadata: meta }), '/t').rawType, undefined);
    for (const bad of ['0', '-1', '9007199254740992', '-9223372036854775808', '9223372036854775807']) {
      assert.throws(
        () => fromWireEvent(wire({ id: 'e', type: 'CREATED', metadata: { ...meta, sequenceID: bad } }), '/t'),
        { code: 'PROTOCOL', message: new RegExp(`invalid sequence id ${bad}`) },
      );
    }
    assert.equal(
      fromWireEvent(wire({ id: 'e', type: 'CREATED', metadata: { ...meta, sequenceID: '9007199254740991' } }), '/t')
        .sequenceId,
      9007199254740991,
    );
    assert.equal(
      fromWireEvent(wire({ id: 'e', type: 'CREATED', metadata: { ...meta, sequenceID: '4294967297' } }), '/t')
        .sequenceId,
      4294967297,
    );
  });

  it('fills absent parts of a payload and keeps actionDetails undecoded', () => {
    const meta = {
      watchTopicID: 'w',
      watchTopicSelfLink: '',
      sequenceID: '3',
      subresource: '',
      actionDetails: { type_url: 'type.googleapis.com/x', value: Buffer.from([1, 2, 3]) },
    };
    const event = fromWireEvent(wire({ id: 'e', type: 'TRIGGERACTION', metadata: meta }), '/fallback');
    assert.equal(event.topic, '/fallback');
    assert.deepEqual(event.payload, {
      group: '',
      kind: '',
      name: '',
      metadata: { id: '', scope: null, selfLink: '', references: [] },
      attributes: {},
    });
    assert.deepEqual(event.actionDetails, { typeUrl: 'type.googleapis.com/x', value: new Uint8Array([1, 2, 3]) });
    const bare = fromWireEvent(
      wire({ id: 'e', type: 'CREATED', payload: { kind: 'K' }, metadata: { ...meta, actionDetails: undefined } }),
      '/t',
    );
    assert.deepEqual(bare.payload.metadata, { id: '', scope: null, selfLink: '', references: [] });
    assert.equal(bare.actionDetails, undefined);
  });

  it('property: any event survives encoding by proto-loader and decoding by the SDK unchanged (fast-check)', () => {
    const plain = { noNullPrototype: true };
    const text = fc.string({ maxLength: 12, unit: 'binary' });
    const ref = fc.record(
      {
        id: text,
        kind: text,
        name: text,
        scopeKind: text,
        scopeName: text,
        selfLink: text,
        type: fc.constantFrom('SOFT' as const, 'HARD' as const),
      },
      plain,
    );
    const scope = fc.record({ id: text, kind: text, name: text, selfLink: text }, plain);
    const event = fc.record(
      {
        id: text,
        time: text,
        version: text,
        product: text,
        correlationId: text,
        organizationId: text,
        type: fc.constantFrom<WatchEventType>('CREATED', 'UPDATED', 'DELETED', 'SUBRESOURCEUPDATED', 'TRIGGERACTION'),
        topic: text.map((t) => `/t/${t}`),
        watchTopicId: text,
        sequenceId: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        subresource: text,
        payload: fc.record(
          {
            group: text,
            kind: text,
            name: text,
            metadata: fc.record(
              {
                id: text,
                scope: fc.option(scope, { nil: null }),
                selfLink: text,
                references: fc.array(ref, { maxLength: 3 }),
              },
              plain,
            ),
            attributes: fc.dictionary(text, text, { maxKeys: 4, noNullPrototype: true }),
          },
          plain,
        ),
      },
      plain,
    );
    fc.assert(
      fc.property(event, (e: WatchEvent) => {
        assert.deepEqual({ ...fromWireEvent(wire(toWireEvent(e)), '/other') }, e);
      }),
      { numRuns: 500 },
    );
  });
});
