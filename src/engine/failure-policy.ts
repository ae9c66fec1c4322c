import { WatchError } from '../core/errors';

/**
 * What follows a failure of a watch: try again, or stop for good with the error as the reason. Pure functions of the
 * error and the watch's situation (retry as policy, as Temporal's grpc-retry keeps it); whether an error may pass
 * belongs to the error itself (`WatchError.retryable`, errors.ts), as etcd3's `isRecoverableError` keeps it.
 */
export type Verdict = 'retry' | 'stop';

/** Retry or stop for good. `started`: the watch's start resolved, so its caller no longer waits on this failure. */
export function verdictOn(error: WatchError, situation: { started: boolean }): Verdict {
  if (!error.retryable) return 'stop';
  // A proxy that could not be reached even once is a wrong address far more often than an outage: the start fails at
  // once instead of retrying until connectTimeoutMs. Once a watch ran, a proxy outage is retried.
  if (!situation.started && error.code === 'PROXY_UNREACHABLE') return 'stop';
  return 'retry';
}

/** A stream's own end, read: the error it stands for, and what the next attempt must do about it. */
export interface StreamEnd {
  error: WatchError;
  /** The next attempt takes a fresh token (the held one was refused). */
  freshToken: boolean;
  /** Ask why first (a proxy's refusal reads as a bare UNAVAILABLE before any sign of life). */
  diagnose: boolean;
}

/** Reads how the stream of `topic` ended: `subscribed`, `shownLife` and `tokenWasFresh` are its own. */
export function readStreamEnd(
  topic: string,
  error: WatchError,
  stream: { subscribed: boolean; shownLife: boolean; tokenWasFresh: boolean },
): StreamEnd {
  if (error.code === 'UNAUTHENTICATED' && (stream.subscribed || !stream.tokenWasFresh)) {
    // A token the service took before (or one from our cache) is refused: it expired or was revoked. Try once more
    // with a fresh one; a fresh token refused before any sign of life is a permanent refusal.
    const expired = new WatchError(
      'TOKEN_EXPIRED',
      `watch ${topic}: the service ended the stream for its token (${error.message})`,
      { cause: error, grpcCode: error.grpcCode },
    );
    return { error: expired, freshToken: true, diagnose: false };
  }
  return { error, freshToken: false, diagnose: error.code === 'CONNECTION_LOST' && !stream.shownLife };
}

/** What a watch knows of the attempt that failed, for its backoff. */
export interface FailedAttempt {
  /** It moved the watch forward: its connection went live, or its catch-up replayed events. */
  progressed: boolean;
  /** How long its connection had been subscribed, ms; undefined when it never was. */
  subscribedMs: number | undefined;
}

/**
 * Whether the reconnect backoff starts over. Only attempts that moved nothing forward escalate it: a service that
 * ends each healthy stream after a while (a maximum connection age) must not push the delays towards the cap.
 */
export function backoffStartsOver(attempt: FailedAttempt, resetAfterMs: number): boolean {
  return attempt.progressed || (attempt.subscribedMs !== undefined && attempt.subscribedMs >= resetAfterMs);
}

/** The wait before the next attempt: the backoff's, or at least the pause the server asked for (Retry-After). */
export function retryDelayMs(backoffMs: number, error: WatchError): number {
  return Math.max(backoffMs, error.retryAfterMs ?? 0);
}
