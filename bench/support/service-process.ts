// The fake watch service in a process of its own, so that a benchmark's client is measured alone. Publishes
// WM_EVENTS events to one topic, then prints one JSON line {target, historyUrl, tenantId, token, topic} on stdout
// and serves until stdin closes.
import { FakeWatchService } from '../../src/testing';

const TOPIC = '/management/v1alpha1/watchtopics/bench';

async function main(): Promise<void> {
  const events = Number(process.env.WM_EVENTS ?? '0');
  const service = await FakeWatchService.start({ topics: [TOPIC], pingIntervalMs: false });
  for (let i = 0; i < events; i++) service.publish(TOPIC);
  const token = await service.issueToken({ ttlMs: 3_600_000 });
  process.stdout.write(`${JSON.stringify({ target: service.target, historyUrl: service.historyUrl, tenantId: service.tenantId, token, topic: TOPIC })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => void service.stop().then(() => process.exit(0)));
}

void main();
