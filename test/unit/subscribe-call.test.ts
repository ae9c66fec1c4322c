import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { until } from '../support/harness';
import { WatchClient } from '../../src/transport/grpc-channel';
import { decodeEvent, watchProto, type DecodedEvent } from '../../src/transport/proto';
import { toWireEvent } from '../../src/testing/wire-render';
import { TopicLog } from '../../src/testing/topic-log';

// SubscribeCall against grpc-js's own client stream, on a raw HTTP/2 server that can send what no grpc-js server
// would: a message that does not decode. Both must tell the same: the messages before it, then one final status.

const TOPIC = '/management/v1alpha1/watchtopics/raw';
const method = watchProto().central.events.v1.watch.service.subscribe;

/** One gRPC frame of `message`. */
function frame(message: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

let server: http2.Http2Server | undefined;
let client: WatchClient | undefined;
const sessions = new Set<http2.ServerHttp2Session>();
afterEach(async () => {
  client?.close();
  client = undefined;
  // A failed test may leave a call open: its session would hold close() up.
  for (const session of sessions) session.destroy();
  sessions.clear();
  const closing = server;
  server = undefined;
  await new Promise<void>((resolve) => (closing === undefined ? resolve() : closing.close(() => resolve())));
});

/**
 * A server answering every subscribe with `events` good events, then bytes that are no Event, then nothing; or, with
 * `ok`, an OK status right behind them (in the same flush: the status is there before the bad message is read).
 */
async function serve(events: number, ok = false): Promise<string> {
  const log = new TopicLog(TOPIC, 'wt', 'org', () => 0);
  const good = Array.from({ length: events }, () => frame(method.responseSerialize(toWireEvent(log.append()))));
  // Field 15 (unknown, so skipped by its wire type) with wire type 7, which protobuf does not have: refused.
  const bad = frame(Buffer.from([(15 << 3) | 7]));
  server = http2.createServer();
  server.on('session', (session) => sessions.add(session));
  server.on('stream', (stream) => {
    stream.on('error', () => undefined);
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: ok });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': '' }));
    stream.once('data', () => {
      if (ok) stream.end(Buffer.concat([...good, bad]));
      else stream.write(Buffer.concat([...good, bad]));
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** What a call told, in order. */
interface Told {
  log: string[];
  statuses: grpc.StatusObject[];
}

function observe(call: NodeJS.EventEmitter, told: Told): void {
  call.on('data', (m: DecodedEvent) => told.log.push(`data ${m.id}`));
  call.on('status', (s: grpc.StatusObject) => {
    told.statuses.push(s);
    told.log.push(`status ${s.code}`);
  });
  call.on('end', () => told.log.push('end'));
}

describe('SubscribeCall', () => {
  for (const ok of [false, true])
    it(`a message that does not decode${ok ? ', an OK status behind it' : ''}: the messages before it, then INTERNAL once, as grpc-js’s own client stream tells it`, async () => {
      const target = await serve(3, ok);
      client = new WatchClient(target, grpc.credentials.createInsecure());
      const request = { selfLink: TOPIC, token: 'Bearer t', capabilities: ['ping'] };

      const ours: Told = { log: [], statuses: [] };
      const call = client.subscribe(new grpc.Metadata());
      observe(call, ours);
      call.write(request);

      const theirs: Told = { log: [], statuses: [] };
      const stream = client.makeBidiStreamRequest(
        method.path,
        method.requestSerialize,
        decodeEvent,
        new grpc.Metadata(),
      );
      stream.on('error', () => undefined);
      observe(stream, theirs);
      stream.write(request);

      await until('both ended', () => ours.log.includes('end') && theirs.log.includes('end'));
      assert.equal(ours.statuses.length, 1);
      assert.equal(ours.statuses[0]?.code, grpc.status.INTERNAL);
      assert.match(ours.statuses[0]?.details ?? '', /^Response message parsing error: /);
      assert.equal(ours.statuses[0]?.details, theirs.statuses[0]?.details);
      assert.deepEqual(ours.log, [
        'data evt-wt-1',
        'data evt-wt-2',
        'data evt-wt-3',
        `status ${grpc.status.INTERNAL}`,
        'end',
      ]);
      assert.deepEqual(ours.log, theirs.log);
    });
});
