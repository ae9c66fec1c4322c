// A watch service for throughput benchmarks, in a process of its own: gRPC framing written directly over
// node:http2 in 32 KiB writes (a grpc-js server writing one message per write() costs ~13 µs/event and would be the
// bottleneck, docs/facts.md#grpc-js-server-cost). Every subscribe gets WM_EVENTS pre-encoded, realistic events, then
// the stream stays open. A tiny HTTP server answers the history API with empty pages. Prints one JSON line of
// ServiceInfo.
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { watchProto } from '../../src/transport/proto';
import { TopicLog } from '../../src/testing/topic-log';
import { toWireEvent } from '../../src/testing/wire-render';

const TOPIC = '/management/v1alpha1/watchtopics/bench';
const EVENTS = Number(process.env.WM_EVENTS ?? '200000');
const CHUNK = 32 * 1024;

function frames(): Buffer[] {
  const method = watchProto().central.events.v1.watch.service.subscribe;
  const log = new TopicLog(TOPIC, 'wt-bench', 'bench-org', () => Date.UTC(2026, 10, 23));
  const chunks: Buffer[] = [];
  let parts: Buffer[] = [];
  let size = 0;
  for (let i = 0; i < EVENTS; i++) {
    const message = method.responseSerialize(toWireEvent(log.append()));
    const header = Buffer.alloc(5);
    header.writeUInt32BE(message.length, 1);
    parts.push(header, message);
    size += 5 + message.length;
    if (size >= CHUNK) {
      chunks.push(Buffer.concat(parts));
      parts = [];
      size = 0;
    }
  }
  if (parts.length > 0) chunks.push(Buffer.concat(parts));
  log.purge();
  return chunks;
}

async function main(): Promise<void> {
  const encoded = frames();
  const bytes = encoded.reduce((n, b) => n + b.length, 0);
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    if (headers[':path'] !== '/central.events.v1.watch/subscribe') {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12' }, { endStream: true });
      return;
    }
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
    let i = 0;
    const pump = (): void => {
      while (i < encoded.length && !stream.destroyed) {
        if (!stream.write(encoded[i++])) return void stream.once('drain', pump);
      }
    };
    stream.once('data', pump); // the first request
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const history = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 });
    res.end('[]');
  });
  await new Promise<void>((resolve) => history.listen(0, '127.0.0.1', resolve));
  process.stdout.write(
    `${JSON.stringify({
      target: `127.0.0.1:${(server.address() as AddressInfo).port}`,
      historyUrl: `http://127.0.0.1:${(history.address() as AddressInfo).port}`,
      tenantId: 'bench',
      token: 'bench-token-not-a-jwt',
      topic: TOPIC,
      events: EVENTS,
      bytesPerEvent: Math.round(bytes / EVENTS),
    })}\n`,
  );
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

void main();
