import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { sleep, type Clock } from '../core/clock';
import { WatchError, errorMessage } from '../core/errors';
import { duration } from '../core/option-checks';
import type { WatchStatus } from '../core/types';
import type { Coordinator, CoordinatorTrouble } from '../state/coordinator';
import { healthReport, type HealthReport } from '../health/health-report';

/** An event loop blocked longer than this between two health reports means the process is stuck (not healthy). */
const STUCK_LOOP_MS = 5_000;

/** What a manager's health is read from. */
export interface HealthSources {
  /** The status of every watch, now. */
  statuses: () => WatchStatus[];
  coordinator: Coordinator | undefined;
  clock: Clock;
  /** How long `ready()` waits unless told. */
  connectTimeoutMs: number;
  isClosed: () => boolean;
}

/** The health of one manager: its reports (healthy, ready, why not) and the wait until it is ready. */
export class ManagerHealth {
  /** The event loop's delays, measured from the first report on. */
  private loop: IntervalHistogram | undefined;

  constructor(private readonly sources: HealthSources) {}

  /** See `WatchManager.health()`. */
  report(): HealthReport {
    if (this.loop === undefined && !this.sources.isClosed()) {
      this.loop = monitorEventLoopDelay({ resolution: 20 });
      this.loop.enable();
    }
    const maxMs = this.loop === undefined ? 0 : this.loop.max / 1e6;
    this.loop?.reset();
    return healthReport(this.sources.statuses(), { maxMs, limitMs: STUCK_LOOP_MS }, this.coordinatorTrouble());
  }

  /** See `WatchManager.ready()`. */
  async ready(options: { timeoutMs?: number; signal?: AbortSignal }): Promise<void> {
    if (typeof options !== 'object' || options === null)
      throw new WatchError('INVALID_CONFIG', "invalid argument 'options': must be an object");
    const { clock, connectTimeoutMs, isClosed } = this.sources;
    const timeoutMs = duration(options.timeoutMs, 'options.timeoutMs', connectTimeoutMs, 0, undefined, 'argument');
    const deadline = clock.now() + timeoutMs;
    for (;;) {
      if (isClosed() || options.signal?.aborted === true)
        throw new WatchError('CLOSED', isClosed() ? 'the watch manager is closed' : 'ready() was aborted');
      const statuses = this.sources.statuses();
      const trouble = this.coordinatorTrouble();
      const report = healthReport(statuses, undefined, trouble);
      if (report.ready) return;
      // Nothing brings such a coordinator back: no use waiting out the timeout.
      if (trouble?.final === true) throw new WatchError('CLOSED', `${trouble.reason}: it will not be ready`);
      const stopped = statuses.find((w) => w.state === 'closed');
      if (stopped !== undefined)
        throw new WatchError(
          stopped.lastErrorCode ?? 'CLOSED',
          `watch ${stopped.topic} stopped for good: it will not be ready`,
        );
      if (clock.now() >= deadline)
        throw new WatchError('NOT_READY', `not ready within ${timeoutMs} ms: ${report.reasons.join('; ')}`);
      await sleep(clock, Math.min(50, Math.max(1, deadline - clock.now())), options.signal);
    }
  }

  /** Stops measuring the event loop. */
  close(): void {
    this.loop?.disable();
  }

  /** What keeps the coordinator from renewing or claiming, if anything (its own `trouble()`, optional). */
  private coordinatorTrouble(): CoordinatorTrouble | undefined {
    const { coordinator } = this.sources;
    if (coordinator?.trouble === undefined) return undefined;
    try {
      return coordinator.trouble();
    } catch (err) {
      // An application's coordinator that cannot say is not taken as healthy.
      return { reason: `its trouble() threw: ${errorMessage(err)}`, final: false };
    }
  }
}
