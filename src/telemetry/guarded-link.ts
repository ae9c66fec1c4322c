/**
 * A metrics backend is the application's code (or a library's) running inside delivery: whatever it throws must
 * never stop a watch or lose an event. Each call is fenced; the first failure of each kind is logged once.
 */
import { WatchError, errorMessage } from '../errors';
import type { Log } from '../logging/logger';
import type { WatchMetrics } from '../types';
import type { TelemetryLink, TopicTelemetry, WatchTelemetry } from './watch-telemetry';

/** Attaches a manager to `telemetry` and returns its link with every call fenced. */
export function attachTelemetry(
  telemetry: WatchTelemetry,
  read: () => readonly WatchMetrics[],
  log: Log,
): TelemetryLink {
  let link: TelemetryLink;
  try {
    link = telemetry.attach(read);
  } catch (err) {
    throw new WatchError('INVALID_CONFIG', `invalid option 'telemetry': attach() failed: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  const failed = (what: string, err: unknown): void =>
    log.warnOnce(`telemetry:${what}`, `the telemetry backend failed in ${what}(); its figures may be incomplete`, {
      error: errorMessage(err),
    });
  return {
    topic(topic: string): TopicTelemetry {
      let inner: TopicTelemetry;
      try {
        inner = link.topic(topic);
      } catch (err) {
        failed('topic', err);
        return NOTHING;
      }
      return {
        handled(durationMs, failedAttempt) {
          try {
            inner.handled(durationMs, failedAttempt);
          } catch (err) {
            failed('handled', err);
          }
        },
        caughtUp(durationMs) {
          try {
            inner.caughtUp(durationMs);
          } catch (err) {
            failed('caughtUp', err);
          }
        },
      };
    },
    retire(last) {
      try {
        link.retire(last);
      } catch (err) {
        failed('retire', err);
      }
    },
    close() {
      try {
        link.close();
      } catch (err) {
        failed('close', err);
      }
    },
  };
}

const NOTHING: TopicTelemetry = { handled: () => undefined, caughtUp: () => undefined };
