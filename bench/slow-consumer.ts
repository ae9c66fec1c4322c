// A slow consumer against a large backlog: the service (its own process) has 2,000,000 events queued for one topic
// and feeds them as fast as the stream takes them; the consumer needs 1 ms per event for 30 s. Prints RSS every 5 s
// and the growth over the first sample, for the handler API and the for-await API (each a fresh process).
//   node --import tsx bench/slow-consumer.ts [--events 2000000] [--seconds 30]
import { execFile } from 'node:child_process';
import path from 'node:path';
import { numberArg, startServiceProcess } from './support/stats';

const EVENTS = numberArg('--events', 2_000_000);
const SECONDS = numberArg('--seconds', 30);

interface Result {
  mode: string;
  samples: Array<{ t: number; rssMiB: number; handled: number }>;
}

async function run(mode: 'handler' | 'iterator'): Promise<Result> {
  process.env.WM_FEED = String(EVENTS);
  const { info, stop } = await startServiceProcess(0);
  delete process.env.WM_FEED;
  try {
    return await new Promise<Result>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', path.join(__dirname, 'support', 'slow-consumer-run.ts'), mode],
        {
          env: { ...process.env, WM_SERVICE: JSON.stringify(info), WM_SECONDS: String(SECONDS) },
          timeout: (SECONDS + 120) * 1000,
        },
        (err, stdout) => {
          if (err !== null) reject(new Error(`the slow consumer failed: ${err.message}`));
          else resolve(JSON.parse(stdout.trim().split('\n').at(-1) as string) as Result);
        },
      );
    });
  } finally {
    stop();
  }
}

async function main(): Promise<void> {
  const growth: Record<string, number> = {};
  for (const mode of ['handler', 'iterator'] as const) {
    process.stdout.write(`${mode}: ${EVENTS} events queued, 1 ms per event, ${SECONDS} s\n`);
    const { samples } = await run(mode);
    for (const s of samples)
      process.stdout.write(`  t=${String(s.t).padStart(2)}s rss=${s.rssMiB.toFixed(1)} MiB handled=${s.handled}\n`);
    const first = samples[0]?.rssMiB ?? 0;
    growth[mode] = Math.max(...samples.map((s) => s.rssMiB)) - first;
    process.stdout.write(
      `  growth over the first sample: ${growth[mode].toFixed(1)} MiB (backlog left: ${EVENTS - (samples.at(-1)?.handled ?? 0)} events)\n`,
    );
  }
  const worst = Math.max(growth.handler ?? 0, growth.iterator ?? 0);
  process.stdout.write(
    `BENCH slow-consumer rss_growth_mib=${worst.toFixed(1)} handler_growth_mib=${(growth.handler ?? 0).toFixed(1)} iterator_growth_mib=${(growth.iterator ?? 0).toFixed(1)} limit_mib=64\n`,
  );
}

void main();
