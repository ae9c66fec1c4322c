/**
 * A metrics backend is the application's code (or a library's) running inside delivery: whatever it throws, or a
 * promise it returns rejects with, must never stop a watch, lose an event or crash the process. Each call is fenced;
 * the first failure of each kind is logged once.
 */
import { WatchError, errorMessage } from '../core/errors';
import type { Log } from '../logging/logger';
import { isThenable } from '../core/thenable';
import type { WatchMetrics } from '../core/types';
import type { TelemetryLink, TopicTelemetry, WatchTelemetry } from './watch-telemetry';

/** Attaches a manager to `telemetry` and returns its link with every call fenced. */
export function attachTelemetry(
  telemetry: WatchTelemetry,
  read: () => readonly WatchMetrics[],
  log: Log,
): TelemetryLink {
  let link: unknown;
  try {
    link = telemetry.attach(read);
  } catch (err) {
    throw new WatchError('INVALID_CONFIG', `invalid option 'telemetry': attach() failed: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  if (!isLink(link))
    throw new WatchError(
      'INVALID_CONFIG',
      "invalid option 'telemetry': attach() must return a TelemetryLink (topic(), retire(), close())",
    );
  const inner = link;
  const failed = (what: string, err: unknown): void =>
    log.warnOnce(`telemetry:${what}`, `the telemetry backend failed in ${what}(); its figures may be incomplete`, {
      error: errorMessage(err),
    });
  /** Runs one call into the backend: a throw or a rejected promise is logged, never passed on. */
  const fenced = (what: string, call: () => unknown): void => {
    try {
      const result = call();
      if (isThenable(result)) result.then(undefined, (err: unknown) => failed(what, err));
    } catch (err) {
      failed(what, err);
    }
  };
  return {
    topic(topic: string): TopicTelemetry {
      let durations: TopicTelemetry | undefined;
      fenced('topic', () => {
        const made: unknown = inner.topic(topic);
        if (isTopicTelemetry(made)) durations = made;
        else throw new Error('topic() did not return { handled(), caughtUp() }');
      });
      if (durations === undefined) return NOTHING;
      const backend = durations;
      return {
        // Per event: no closure, no allocation unless the backend answered with a promise.
        handled(durationMs, failedRun) {
          try {
            const result: unknown = backend.handled(durationMs, failedRun);
            if (result !== undefined && isThenable(result))
              result.then(undefined, (err: unknown) => failed('handled', err));
          } catch (err) {
            failed('handled', err);
          }
        },
        caughtUp: (durationMs) => fenced('caughtUp', () => backend.caughtUp(durationMs)),
      };
    },
    retire: (last) => fenced('retire', () => inner.retire(last)),
    close: () => fenced('close', () => inner.close()),
  };
}

function isLink(value: unknown): value is TelemetryLink {
  if (typeof value !== 'object' || value === null) return false;
  const link = value as Partial<Record<keyof TelemetryLink, unknown>>;
  return typeof link.topic === 'function' && typeof link.retire === 'function' && typeof link.close === 'function';
}

function isTopicTelemetry(value: unknown): value is TopicTelemetry {
  if (typeof value !== 'object' || value === null) return false;
  const t = value as Partial<Record<keyof TopicTelemetry, unknown>>;
  return typeof t.handled === 'function' && typeof t.caughtUp === 'function';
}

const NOTHING: TopicTelemetry = { handled: () => undefined, caughtUp: () => undefined };
