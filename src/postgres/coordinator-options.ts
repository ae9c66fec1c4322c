import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { systemClock, type Clock } from '../core/clock';
import { duration, invalid, nonEmptyString } from '../core/option-checks';
import type { PostgresConnectionOptions } from './connection';

/** Options of {@link PostgresCoordinator}. */
export interface PostgresCoordinatorOptions extends PostgresConnectionOptions {
  /** This member's id. @default hostname + a random suffix: a restarted process is a new member */
  memberId?: string;
  /** How long a lease lasts without renewal, judged by the database's clock. @default 15000 */
  leaseMs?: number;
  /** How often leases are renewed and the membership heartbeat is written. @default 2000 */
  renewMs?: number;
  /**
   * A member that could not renew for this long (its own monotonic clock) stops its topics before the lease can run
   * out: leaseMs > renewDeadlineMs > 1.2 x renewMs (client-go's ordering). @default two thirds of leaseMs
   */
  renewDeadlineMs?: number;
  /** Time, injectable for tests. @default the system clock, with performance.now() as the monotonic clock */
  clock?: Clock;
}

/** The defaults of {@link PostgresCoordinatorOptions} that are one value; each field's `@default` says the same. */
export const COORDINATOR_DEFAULTS = {
  leaseMs: 15_000,
  renewMs: 2_000,
} as const satisfies { readonly [K in keyof PostgresCoordinatorOptions]?: unknown };

/** A member's timing, resolved: every lease and round of the coordinator runs by it. */
export interface CoordinatorTiming {
  leaseMs: number;
  renewMs: number;
  renewDeadlineMs: number;
  clock: Clock;
  /** The clock the renew deadline is judged on: a wall clock set back would keep a cut-off member going. */
  monotonic: () => number;
}

/** The coordinator's own options, checked (`INVALID_CONFIG` naming the field); the connection's are apart. */
export function resolveCoordinatorOptions(
  options: PostgresCoordinatorOptions,
): CoordinatorTiming & { memberId: string } {
  const what = 'PostgresCoordinator option';
  if (typeof options !== 'object' || options === null)
    throw invalid('options', 'must be an object', 'PostgresCoordinator argument');
  const leaseMs = duration(options.leaseMs, 'leaseMs', COORDINATOR_DEFAULTS.leaseMs, 100, undefined, what);
  const renewMs = duration(options.renewMs, 'renewMs', COORDINATOR_DEFAULTS.renewMs, 10, undefined, what);
  if (leaseMs <= renewMs) throw invalid('leaseMs', `must be above renewMs (${renewMs})`, what);
  const twoThirds = Math.round((leaseMs * 2) / 3);
  const renewDeadlineMs = duration(options.renewDeadlineMs, 'renewDeadlineMs', twoThirds, 1, undefined, what);
  if (renewDeadlineMs >= leaseMs || renewDeadlineMs <= 1.2 * renewMs)
    throw invalid(
      'renewDeadlineMs',
      `must be below leaseMs (${leaseMs}) and above 1.2 x renewMs (${1.2 * renewMs})`,
      what,
    );
  const memberId =
    options.memberId === undefined
      ? `${hostname()}-${randomBytes(4).toString('hex')}`
      : nonEmptyString(options.memberId, 'memberId', what);
  const clock = options.clock;
  if (clock !== undefined && (typeof clock.now !== 'function' || typeof clock.setTimeout !== 'function'))
    throw invalid('clock', 'must have now() and setTimeout()', what);
  return {
    memberId,
    leaseMs,
    renewMs,
    renewDeadlineMs,
    clock: clock ?? systemClock,
    monotonic: clock === undefined ? () => performance.now() : () => clock.now(),
  };
}
