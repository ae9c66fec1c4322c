import type { CoordinatorTrouble } from '../state/coordinator';
import type { WatchStatus } from '../core/types';

/** One watch in a {@link HealthReport}. */
export interface WatchHealth {
  /** The watch's id. */
  id: string;
  /** Its topic. */
  topic: string;
  /** Its state (see {@link WatchStatus.state}). */
  state: WatchStatus['state'];
  /** False when it stopped for good (a permanent error): nothing will bring it back. */
  healthy: boolean;
  /**
   * The same value as {@link WatchHealth.healthy}.
   *
   * @deprecated Since 0.2: use `healthy` (`live` means "caught up" in `status()`). Removed in 0.3.
   */
  live: boolean;
  /**
   * True when it delivers live events (caught up), or, with a coordinator, stands by while another member runs it
   * (not when the topic runs nowhere: see {@link WatchStatus.stalled}).
   */
  ready: boolean;
  /** Why it is not healthy or not ready, when it is not. */
  reasons: string[];
}

/** What {@link WatchManager.health} answers: the signals of Kubernetes' liveness and readiness probes. */
export interface HealthReport {
  /**
   * Not stuck: no watch stopped for good, the coordinator (if any) not closed, and the event loop turns. A probe that
   * fails on it (Kubernetes' liveness probe, `GET /healthz`) should restart the process.
   */
  healthy: boolean;
  /**
   * The same value as {@link HealthReport.healthy}.
   *
   * @deprecated Since 0.2: use `healthy` (`live` means "caught up" in `status()`). Removed in 0.3.
   */
  live: boolean;
  /**
   * Every watch caught up and live (a standby counts as ready while another member runs its topic), and the
   * coordinator, if any, renewing and claiming: traffic may be sent. Never ready without a watch.
   */
  ready: boolean;
  /** Each registered watch. */
  watches: WatchHealth[];
  /** Why the manager is not healthy or not ready, one line each (no secrets: codes, topics and states only). */
  reasons: string[];
}

/** The event loop's longest stall since the last report, in ms, and the bound above which the process is stuck. */
export interface LoopDelay {
  maxMs: number;
  limitMs: number;
}

/**
 * Judges watches' statuses (and the event loop) as probes see them. `trouble`: what keeps the member's coordinator
 * from renewing or claiming; its standby watches wait for nothing then, so the member is not ready (not healthy
 * either when it never recovers).
 */
export function healthReport(
  statuses: readonly WatchStatus[],
  loop: LoopDelay | undefined,
  trouble?: CoordinatorTrouble,
): HealthReport {
  const watches = statuses.map(watchHealth);
  const reasons = watches.flatMap((w) => w.reasons.map((r) => `${w.id} ${w.topic}: ${r}`));
  let loopOk = true;
  if (loop !== undefined && loop.maxMs > loop.limitMs) {
    loopOk = false;
    reasons.push(`the event loop was blocked for ${Math.round(loop.maxMs)} ms (more than ${loop.limitMs} ms)`);
  }
  if (watches.length === 0) reasons.push('no watch is registered');
  if (trouble !== undefined) reasons.push(`coordinator: ${trouble.reason}`);
  const healthy = loopOk && trouble?.final !== true && watches.every((w) => w.healthy);
  const ready = healthy && trouble === undefined && watches.length > 0 && watches.every((w) => w.ready);
  return { healthy, live: healthy, ready, watches, reasons };
}

function watchHealth(status: WatchStatus): WatchHealth {
  const reasons: string[] = [];
  const { id, topic, state } = status;
  // The deprecated `live` is the same value as `healthy`, until 0.3.
  const judged = (healthy: boolean, ready: boolean): WatchHealth => ({
    id,
    topic,
    state,
    healthy,
    live: healthy,
    ready,
    reasons,
  });
  const code = status.lastErrorCode === undefined ? '' : ` (${status.lastErrorCode})`;
  switch (status.state) {
    case 'closed':
      reasons.push(`stopped for good${code}`);
      return judged(false, false);
    case 'standby':
      // Ready while another member runs the topic; not when none does.
      if (status.stalled !== undefined) reasons.push(`standing by, and the topic runs nowhere: ${status.stalled}`);
      return judged(true, status.stalled === undefined);
    case 'subscribed':
      // Subscribed but not caught up: with the last error, if any (a history API that cannot be reached shows here).
      if (!status.live) {
        const last = status.lastErrorCode === undefined ? '' : ` (last error: ${status.lastErrorCode})`;
        reasons.push(`catching up on missed events${last}`);
      }
      return judged(true, status.live);
    case 'connecting':
      reasons.push('connecting');
      return judged(true, false);
    case 'reconnecting':
      reasons.push(`reconnecting${code}`);
      return judged(true, false);
  }
}
