import type { Pool } from 'pg';
import { sleep } from '../core/clock';
import { WatchError } from '../core/errors';
import { checkout, sqlState, type Checkout } from './connection';
import type { CoordinatorTiming } from './coordinator-options';

/**
 * SQLSTATE 53300 (too_many_connections): the role (`CONNECTION LIMIT`) or the server (`max_connections`) has no
 * connection left. It passes as others close theirs.
 */
function noRoom(err: unknown): boolean {
  return sqlState(err instanceof WatchError ? err.cause : err) === '53300';
}

/**
 * A connection for a handler's transaction under a lease (`signal` its end). No room (53300) is waited out, a little
 * longer each time, for at most the renew deadline: a lease given up for it would be won again next round and given
 * up again, a step-down (a new stream and catch-up) each round. Nothing of the transaction has run yet, so waiting
 * changes no effect.
 */
export async function transactionConnection(
  pool: Pool,
  action: string,
  signal: AbortSignal,
  timing: Pick<CoordinatorTiming, 'renewMs' | 'renewDeadlineMs' | 'clock' | 'monotonic'>,
): Promise<Checkout> {
  const { renewMs, renewDeadlineMs, clock, monotonic } = timing;
  const started = monotonic();
  for (let attempt = 0; ; attempt++) {
    try {
      return await checkout(pool, action);
    } catch (err) {
      if (!noRoom(err)) throw err;
      const wait = Math.min(renewMs, 10 * 2 ** attempt) * (0.5 + clock.random() / 2);
      if (monotonic() - started + wait > renewDeadlineMs || signal.aborted) throw err;
      if (!(await sleep(clock, wait, signal))) throw err;
    }
  }
}
