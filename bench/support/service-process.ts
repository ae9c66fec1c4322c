// The fake watch service in a process of its own, so that a benchmark's client is measured alone. Publishes
// WM_EVENTS events to one topic, then prints one JSON line {target, historyUrl, tenantId, token, topic} on stdout
// and serves until stdin closes. With WM_FEED=N it then feeds N more events to the first subscriber, no faster
// than its stream takes them (history keeps only the last WM_RETAIN, default 10000, so memory stays flat).
import { FakeWatchService } from '../../src/testing';

const TOPIC = '/management/v1alpha1/watchtopics/bench';

async function main(): Promise<void> {
  const events = Number(process.env.WM_EVENTS ?? '0');
  // WM_TOPICS=N adds N more topics, TOPIC-0 … TOPIC-(N-1), for many-watch benchmarks.
  const extra = Array.from({ length: Number(process.env.WM_TOPICS ?? '0') }, (_, i) => `${TOPIC}-${i}`);
  const service = await FakeWatchService.start({ topics: [TOPIC, ...extra], pingIntervalMs: false });
  for (let i = 0; i < events; i++) service.publish(TOPIC);
  const token = await service.issueToken({ ttlMs: 3_600_000 });
  process.stdout.write(`${JSON.stringify({ target: service.target, historyUrl: service.historyUrl, tenantId: service.tenantId, token, topic: TOPIC })}\n`);
  const feed = Number(process.env.WM_FEED ?? '0');
  if (feed > 0) {
    const log = service.topic(TOPIC);
    if (log !== undefined) log.retain = Number(process.env.WM_RETAIN ?? '10000');
    void (async () => {
      await service.waitFor(() => service.activeStreams > 0, 600_000, 'a subscriber');
      await service.feed(TOPIC, feed);
    })();
  }
  process.stdin.resume();
  process.stdin.on('end', () => void service.stop().then(() => process.exit(0)));
}

void main();
