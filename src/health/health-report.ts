import type { WatchStatus } from '../types';

/** One watch in a {@link HealthReport}. */
export interface WatchHealth {
  /** The watch's id. */
  id: string;
  /** Its topic. */
  topic: string;
  /** Its state (see {@link WatchStatus.state}). */
  state: WatchStatus['state'];
  /** False when it stopped for good (a permanent error): nothing will bring it back. */
  live: boolean;
  /** True when it delivers live events (caught up), or, with a coordinator, stands by while another member runs it. */
  ready: boolean;
  /** Why it is not live or not ready, when it is not. */
  reasons: string[];
}

/** What {@link WatchManager.health} answers: the signals of Kubernetes' liveness and readiness probes. */
export interface HealthReport {
  /**
   * Not stuck: no watch stopped for good and the event loop turns. A probe that fails on it should restart the
   * process.
   */
  live: boolean;
  /** Every watch caught up and live (a standby counts as ready): traffic may be sent. Never ready without a watch. */
  ready: boolean;
  /** Each registered watch. */
  watches: WatchHealth[];
  /** Why the manager is not live or not ready, one line each (no secrets: codes, topics and states only). */
  reasons: string[];
}

/** The event loop's longest stall since the last report, in ms, and the bound above which the process is stuck. */
export interface LoopDelay {
  maxMs: number;
  limitMs: number;
}

/** Judges watches' statuses (and the event loop) as probes see them. */
export function healthReport(statuses: readonly WatchStatus[], loop: LoopDelay | undefined): HealthReport {
  const watches = statuses.map(watchHealth);
  const reasons = watches.flatMap((w) => w.reasons.map((r) => `${w.id} ${w.topic}: ${r}`));
  let loopOk = true;
  if (loop !== undefined && loop.maxMs > loop.limitMs) {
    loopOk = false;
    reasons.push(`the event loop was blocked for ${Math.round(loop.maxMs)} ms (more than ${loop.limitMs} ms)`);
  }
  if (watches.length === 0) reasons.push('no watch is registered');
  const live = loopOk && watches.every((w) => w.live);
  return { live, ready: live && watches.length > 0 && watches.every((w) => w.ready), watches, reasons };
}

function watchHealth(status: WatchStatus): WatchHealth {
  const reasons: string[] = [];
  const base = { id: status.id, topic: status.topic, state: status.state };
  const code = status.lastErrorCode === undefined ? '' : ` (${status.lastErrorCode})`;
  switch (status.state) {
    case 'closed':
      reasons.push(`stopped for good${code}`);
      return { ...base, live: false, ready: false, reasons };
    case 'standby':
      return { ...base, live: true, ready: true, reasons };
    case 'ready':
      // Subscribed but not caught up: with the last error, if any (a history API that cannot be reached shows here).
      if (!status.live) {
        const last = status.lastErrorCode === undefined ? '' : ` (last error: ${status.lastErrorCode})`;
        reasons.push(`catching up on missed events${last}`);
      }
      return { ...base, live: true, ready: status.live, reasons };
    case 'connecting':
      reasons.push('connecting');
      return { ...base, live: true, ready: false, reasons };
    case 'reconnecting':
      reasons.push(`reconnecting${code}`);
      return { ...base, live: true, ready: false, reasons };
  }
}
