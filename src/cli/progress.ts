import { Format, SingleBar } from 'cli-progress';
import type { Clock, Timer } from '../core/clock';
import type { WatchManager } from '../engine/watch-manager';

// "A catch-up of more than a few hundred events": below this the bar would only flicker.
const SHOW_AFTER_EVENTS = 300;
const POLL_MS = 200;

/** What the bar shows, summed over the topics catching up now. */
interface Progress {
  done: number;
  /** done + what is left, when every topic catching up knows the live event it catches up to. */
  total: number | undefined;
}

function progressOf(manager: WatchManager): Progress | undefined {
  let done = 0;
  let left = 0;
  let known = true;
  let active = false;
  for (const m of manager.metrics().watches) {
    if (!m.catchUp.active) continue;
    active = true;
    done += m.catchUp.replayed;
    if (m.catchUp.targetSequenceId === undefined) known = false;
    // Sequence ids need not be consecutive: this bounds what is left from above.
    else left += Math.max(0, m.catchUp.targetSequenceId - 1 - m.acknowledgedSequenceId);
  }
  return active ? { done, total: known ? done + left : undefined } : undefined;
}

/**
 * The catch-up progress bar of `watch-tail` (docs/cli.md#output-records): on stderr, only when it is a terminal (and
 * stdout is not) that can redraw a line, only for a catch-up of more than a few hundred events; events done / total
 * when known, rate, ETA. It never writes to stdout. It draws without colour, so `NO_COLOR` leaves it as it is.
 */
export class CatchUpProgress {
  private bar: SingleBar | undefined;
  private timer: Timer | undefined;
  private startedAt = 0;

  constructor(
    private readonly manager: WatchManager,
    private readonly stream: NodeJS.WritableStream & { isTTY?: boolean },
    private readonly clock: Clock,
  ) {}

  /**
   * Draws only when stderr is a terminal and stdout is not (output to a file or pipe): on a terminal the events
   * scroll by themselves and would overwrite the bar. Not on a `TERM=dumb` terminal either: the bar redraws its line
   * with cursor and erase sequences, which such a terminal prints as text.
   */
  start(stdoutIsTerminal: boolean, env: NodeJS.ProcessEnv): void {
    if (this.stream.isTTY !== true || stdoutIsTerminal || env.TERM === 'dumb') return;
    this.startedAt = this.clock.now();
    this.poll();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.bar?.stop();
    this.bar = undefined;
  }

  private poll(): void {
    const progress = progressOf(this.manager);
    if (progress === undefined) {
      this.bar?.stop(); // caught up: the bar clears itself
      this.bar = undefined;
      this.startedAt = this.clock.now();
    } else if (this.bar !== undefined || progress.done >= SHOW_AFTER_EVENTS) {
      this.draw(progress);
    }
    this.timer = this.clock.setTimeout(() => this.poll(), POLL_MS);
  }

  private draw({ done, total }: Progress): void {
    const seconds = Math.max(0.001, (this.clock.now() - this.startedAt) / 1000);
    const rate = done / seconds;
    const payload = {
      rate: Math.round(rate),
      known: total !== undefined,
      eta: total === undefined || rate === 0 ? undefined : Math.ceil((total - done) / rate),
    };
    if (this.bar === undefined) {
      this.bar = new SingleBar({
        stream: this.stream,
        clearOnComplete: true,
        hideCursor: false, // an exit at the second signal must not leave the user's cursor hidden
        format: (options, params, p: typeof payload) => {
          const counts = p.known ? `${params.value}/${params.total} events` : `${params.value} events`;
          const bar = p.known ? `${Format.BarFormat(params.progress, options)} ` : '';
          return `catch-up ${bar}${counts} · ${p.rate}/s${p.eta === undefined ? '' : ` · ETA ${p.eta}s`}`;
        },
      });
      this.bar.start(total ?? done, done, payload);
    }
    this.bar.setTotal(total ?? done);
    this.bar.update(done, payload);
  }
}
