/** Reconnect and retry delays: capped exponential with full jitter. */
export interface BackoffOptions {
  /** The cap of the first delay. @default 500 */
  initialDelayMs?: number;
  /** The cap no delay exceeds. @default 30000 */
  maxDelayMs?: number;
  /** Growth of the cap per attempt. @default 2 */
  multiplier?: number;
}

/** {@link BackoffOptions} with every default applied. */
export type ResolvedBackoff = Required<BackoffOptions>;

export const DEFAULT_BACKOFF: ResolvedBackoff = { initialDelayMs: 500, maxDelayMs: 30_000, multiplier: 2 };

/**
 * The delay before retry number `attempt` (0-based): uniform in [0, min(max, initial * multiplier^attempt)).
 * Full jitter spreads a fleet of agents that lost the same service apart (client-go's reconnect storms, #1933).
 * A pure function of its inputs, so tests give `random` and get an exact delay.
 */
export function backoffDelay(policy: ResolvedBackoff, attempt: number, random: number): number {
  const cap = Math.min(policy.maxDelayMs, policy.initialDelayMs * Math.pow(policy.multiplier, attempt));
  return Math.floor(cap * random);
}

/** Counts attempts for one retry loop. */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly policy: ResolvedBackoff,
    private readonly random: () => number,
  ) {}

  /** The delay before the next attempt; each call counts one attempt. */
  next(): number {
    const delay = backoffDelay(this.policy, this.attempt, this.random());
    this.attempt = Math.min(this.attempt + 1, 64);
    return delay;
  }

  /** How many delays were handed out since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** Starts over from the first delay, after a healthy period. */
  reset(): void {
    this.attempt = 0;
  }
}
