// Reconnect time after a stream abort: the service, in its own process, publishes 500 events a second and ends
// every stream (UNAVAILABLE) ABORTS times, 1.5 s apart; the SDK, with its default reconnect policy (first delay
// drawn from 0–500 ms, full jitter) and resetAfterMs lowered to 1 s so that each abort meets a healthy stream as in
// production, resumes. Per abort: time until subscribed again, and until the first event sent after the abort is
// handled (resume from the position, catch-up, hand-off). Prints medians, p90 and max.
//   node --import tsx bench/reconnect.ts [--aborts 12]
import { WatchManager } from '../src';
import { median, numberArg, range, startServiceProcess } from './support/stats';

const ABORTS = numberArg('--aborts', 12);
const quiet = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined } as never;
// CLOCK_MONOTONIC, shared with the service process (see bench/support/service-process.ts).
const nowMicros = (): number => Number(process.hrtime.bigint() / 1000n);
const p90 = (xs: readonly number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.9))] as number;

async function main(): Promise<void> {
  const { info, child, stop } = await startServiceProcess(0);
  const manager = new WatchManager({
    target: info.target,
    historyUrl: info.historyUrl,
    tenantId: info.tenantId,
    getToken: () => info.token,
    tls: false,
    logger: quiet,
    reconnect: { resetAfterMs: 1_000 },
  });
  let abortedAt = 0;
  let subscribedAt = 0;
  let firstAt = 0;
  manager.on('state', (change) => {
    if (change.to === 'subscribed' && abortedAt > 0 && subscribedAt === 0) subscribedAt = nowMicros();
  });
  let delivered = 0;
  let lastSeq = 0;
  let inOrder = true;
  await manager.registerWatch(info.topic, {
    onEvent: (event) => {
      delivered += 1;
      if (event.sequenceId <= lastSeq) inOrder = false;
      lastSeq = event.sequenceId;
      if (abortedAt > 0 && firstAt === 0 && Number(event.payload.attributes.sentAt) > abortedAt) firstAt = nowMicros();
    },
  });
  const lines: string[] = [];
  child.stdout?.on('data', (d: Buffer) => lines.push(...String(d).trim().split('\n')));
  child.stdin?.write(`rate 500 ${Math.ceil(ABORTS * 1.5) + 5}\n`);
  const toSubscribed: number[] = [];
  const toEvent: number[] = [];
  for (let i = 0; i < ABORTS; i++) {
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    abortedAt = 0;
    subscribedAt = 0;
    firstAt = 0;
    const before = lines.length;
    child.stdin?.write('abort\n');
    while (!lines.slice(before).some((l) => l.startsWith('aborted ')))
      await new Promise((resolve) => setTimeout(resolve, 1));
    abortedAt = Number(
      lines
        .slice(before)
        .find((l) => l.startsWith('aborted '))
        ?.split(' ')[1],
    );
    const deadline = Date.now() + 10_000;
    while ((subscribedAt === 0 || firstAt === 0) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 1));
    if (firstAt === 0) throw new Error(`abort ${i + 1}: no event after 10 s`);
    toSubscribed.push((subscribedAt - abortedAt) / 1000);
    toEvent.push((firstAt - abortedAt) / 1000);
    process.stdout.write(
      `abort ${i + 1}: subscribed again after ${toSubscribed.at(-1)?.toFixed(1)} ms, first new event handled after ${toEvent.at(-1)?.toFixed(1)} ms\n`,
    );
  }
  await manager.close();
  stop();
  if (!inOrder) throw new Error('events out of order or repeated');
  process.stdout.write(`${delivered} events handled in order, none repeated\n`);
  process.stdout.write(
    `subscribed again: median ${median(toSubscribed).toFixed(0)} ms, p90 ${p90(toSubscribed).toFixed(0)}, range ${range(toSubscribed)}; first new event: median ${median(toEvent).toFixed(0)} ms, p90 ${p90(toEvent).toFixed(0)}, range ${range(toEvent)}\n`,
  );
  process.stdout.write(
    `BENCH reconnect aborts=${ABORTS} resubscribed_ms_median=${median(toSubscribed).toFixed(0)} resubscribed_ms_p90=${p90(toSubscribed).toFixed(0)} first_event_ms_median=${median(toEvent).toFixed(0)} first_event_ms_range=${range(toEvent)} first_event_ms_p90=${p90(toEvent).toFixed(0)}\n`,
  );
}

void main();
