// The fake watch service in a process of its own, so that a benchmark's client is measured alone. Publishes
// WM_EVENTS events to one topic, then prints one JSON line {target, historyUrl, tenantId, token, topic} on stdout
// and serves until stdin closes. With WM_FEED=N it then feeds N more events to the first subscriber, no faster
// than its stream takes them (history keeps only the last WM_RETAIN, default 10000, so memory stays flat).
// Commands on stdin, one per line: `rate N S` publishes N events a second for S seconds, each carrying its send time
// (attribute sentAt: µs of CLOCK_MONOTONIC, process.hrtime, which every process on the machine shares, unlike
// performance.timeOrigin, sampled per process); `abort` ends every stream (UNAVAILABLE) and answers `aborted <µs>`.
import { FakeWatchService } from '../../src/testing';

const TOPIC = '/management/v1alpha1/watchtopics/bench';

async function main(): Promise<void> {
  const events = Number(process.env.WM_EVENTS ?? '0');
  // WM_TOPICS=N adds N more topics, TOPIC-0 … TOPIC-(N-1), for many-watch benchmarks.
  const extra = Array.from({ length: Number(process.env.WM_TOPICS ?? '0') }, (_, i) => `${TOPIC}-${i}`);
  // No resource API: these benches read events only, and keeping resources would add its work to every publish.
  const service = await FakeWatchService.start({
    topics: [TOPIC, ...extra],
    pingIntervalMs: false,
    resourceApi: false,
  });
  for (let i = 0; i < events; i++) service.publish(TOPIC);
  const token = await service.issueToken({ ttlMs: 3_600_000 });
  process.stdout.write(
    `${JSON.stringify({ target: service.target, historyUrl: service.historyUrl, tenantId: service.tenantId, token, topic: TOPIC })}\n`,
  );
  const feed = Number(process.env.WM_FEED ?? '0');
  if (feed > 0) {
    const log = service.topic(TOPIC);
    if (log !== undefined) log.retain = Number(process.env.WM_RETAIN ?? '10000');
    void (async () => {
      await service.waitFor(() => service.activeStreams > 0, 600_000, 'a subscriber');
      await service.feed(TOPIC, feed);
    })();
  }
  const nowMicros = (): number => Number(process.hrtime.bigint() / 1000n);
  let buffered = '';
  process.stdin.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const [command, a, b] = buffered.slice(0, nl).trim().split(/\s+/);
      buffered = buffered.slice(nl + 1);
      if (command === 'abort') {
        const at = nowMicros();
        service.abortStreams();
        process.stdout.write(`aborted ${at}\n`);
      } else if (command === 'rate') {
        publishAtRate(Number(a), Number(b));
      }
    }
  });
  // A steady rate: each tick publishes what the elapsed time calls for, so timer jitter does not change the rate.
  const publishAtRate = (perSecond: number, seconds: number): void => {
    const started = performance.now();
    let sent = 0;
    const total = perSecond * seconds;
    const tick = (): void => {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * perSecond));
      for (; sent < due; sent++) service.publish(TOPIC, { attributes: { sentAt: String(nowMicros()) } });
      if (sent < total) setTimeout(tick, 1);
      else process.stdout.write('rate done\n');
    };
    tick();
  };
  process.stdin.on('end', () => void service.stop().then(() => process.exit(0)));
}

void main();
