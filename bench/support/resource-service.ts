// The fake watch service with its resource API (docs/resources.md) in a process of its own, for the resource
// benchmarks (initial-sync, fetch, cache-memory, file-store): the client is measured alone and the fake's own cost
// shows apart.
// Creates WM_RESOURCES APIServices in Environment env-1 (one CREATED event each, names svc-0…), each with a spec of
// about WM_SPEC_BYTES bytes of JSON (small keyed objects, see specOf), on one topic whose WatchTopic covers that one
// collection; then prints one JSON line
// (ResourceServiceInfo) on stdout and serves until stdin closes. Commands on stdin, one per line: `cpu` answers
// `cpu <µs>` (this process's CPU time so far: how busy the fake was over a client's run), `counters` answers
// `counters <json>` (the resource API's counters), `delay N` holds every answer of the resource API N ms from now on
// (a network round trip; 0 = none) and answers `delay N`, `update I` publishes an UPDATED of svc-I (a new spec of the
// same size) and answers `update <its sequence id>`.
import { FakeWatchService } from '../../src/testing';
import type { ResourceServiceInfo } from './resource-service-process';

const TOPIC = '/management/v1alpha1/watchtopics/bench-resources';
const COLLECTION = '/management/v1alpha1/environments/env-1/apiservices';

async function main(): Promise<void> {
  const count = Number(process.env.WM_RESOURCES ?? '0');
  const specBytes = Number(process.env.WM_SPEC_BYTES ?? '1024');
  // WM_JSON_BYTES: pad the spec so that each resource's JSON text is about that long instead.
  const jsonBytes = Number(process.env.WM_JSON_BYTES ?? '0');
  const service = await FakeWatchService.start({ topics: [], pingIntervalMs: false });
  service.createTopic(TOPIC, {
    filters: [
      {
        group: 'management',
        kind: 'APIService',
        name: '*',
        scope: { kind: 'Environment', name: 'env-1' },
        type: ['created', 'updated', 'deleted'],
      },
    ],
  });
  const heap0 = process.memoryUsage().heapUsed;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const specSize = jsonBytes > 0 ? jsonBytes - FRAME_BYTES : specBytes;
  for (let i = 0; i < count; i++) {
    service.publish(TOPIC, {
      type: 'CREATED',
      kind: 'APIService',
      name: `svc-${i}`,
      scope: { kind: 'Environment', name: 'env-1' },
      attributes: { team: `team-${i % 7}` },
      spec: specOf(i, specSize),
    });
  }
  let updates = 0;
  const publishMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  let jsonTotal = 0;
  for (const resource of service.coveredResources(TOPIC)) jsonTotal += Buffer.byteLength(JSON.stringify(resource));
  const token = await service.issueToken({ ttlMs: 3_600_000 });
  const info: ResourceServiceInfo = {
    target: service.target,
    historyUrl: service.historyUrl,
    resourceApiUrl: service.resourceApiUrl,
    tenantId: service.tenantId,
    token,
    topic: TOPIC,
    collection: COLLECTION,
    resources: count,
    resourceJsonBytes: count === 0 ? 0 : jsonTotal / count,
    publishMs,
    publishCpuUsPerResource: count === 0 ? 0 : (cpu.user + cpu.system) / count,
    publishHeapMiB: (process.memoryUsage().heapUsed - heap0) / 2 ** 20,
  };
  process.stdout.write(`${JSON.stringify(info)}\n`);
  let buffered = '';
  process.stdin.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const command = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (command === 'cpu') {
        const u = process.cpuUsage();
        process.stdout.write(`cpu ${u.user + u.system}\n`);
      } else if (command.startsWith('delay ')) {
        const ms = Number(command.slice(6));
        service.setResourceFaults(ms > 0 ? { delayMs: ms } : {});
        process.stdout.write(`delay ${ms}\n`);
      } else if (command.startsWith('update ')) {
        const i = Number(command.slice(7));
        updates += 1;
        const spec = { ...specOf(i, specSize), description: `APIService svc-${i}, update ${updates}` };
        const event = service.publish(TOPIC, {
          type: 'UPDATED',
          kind: 'APIService',
          name: `svc-${i}`,
          scope: { kind: 'Environment', name: 'env-1' },
          spec,
        });
        process.stdout.write(`update ${event.sequenceId}\n`);
      } else if (command === 'counters') {
        process.stdout.write(`counters ${JSON.stringify(service.resourceCounters)}\n`);
      }
    }
  });
  process.stdin.on('end', () => void service.stop().then(() => process.exit(0)));
}

/** About what a resource's JSON text holds besides its spec, as the fake renders it (WM_JSON_BYTES subtracts it). */
const FRAME_BYTES = 775;

/**
 * A spec whose JSON text is about `bytes` long, distinct per resource (shared strings would flatter the client's
 * memory figures) and shaped like a real one: many small keyed objects rather than one long string, since each object
 * costs a client its own header and properties.
 */
function specOf(i: number, bytes: number): Record<string, unknown> {
  const spec = { endpoint: `https://svc-${i}.example`, description: `APIService svc-${i}`, parts: [] as object[] };
  let length = JSON.stringify(spec).length;
  for (let j = 0; length < bytes; j++) {
    const part = { key: `p${j}`, value: `${i}-${j}-${'abcdefghijklmnopqrstuvwxyz0123456789'.slice(0, 28)}` };
    spec.parts.push(part);
    length += JSON.stringify(part).length + 1;
  }
  return spec;
}

void main();
