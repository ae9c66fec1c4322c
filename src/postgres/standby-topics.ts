import { WatchError } from '../core/errors';
import type { ObservedLease } from '../state/coordinator';
import type { CoordinatorTiming } from './coordinator-options';
import type { Claim, HeldLeases } from './held-leases';
import type { LeaseTable } from './lease-table';

/**
 * The topics claimed here and held elsewhere, or nowhere: who held each when the last round looked (for `status()`
 * of a standby), and since when nobody has (a topic changes hands within a lease and a round or two; one held by
 * nobody for longer is stuck: stalled after 2 x leaseMs, adopted after 3 x).
 */
export class StandbyTopics {
  private seen = new Map<string, ObservedLease>();
  /** Since when (monotonic) each topic has been seen held by no member. */
  private unheldSince = new Map<string, number>();
  private readonly leaseMs: number;
  private readonly monotonic: () => number;

  /** @param fail tells a claim that its topic cannot run on any member (its row is corrupt) */
  constructor(
    private readonly leases: LeaseTable,
    timing: CoordinatorTiming,
    private readonly fail: (claim: Claim, error: WatchError) => void,
  ) {
    this.leaseMs = timing.leaseMs;
    this.monotonic = timing.monotonic;
  }

  /** Who holds the claimed topics not in `held`; a database failure is told to `onDatabaseError`. */
  async observe(claims: Map<string, Claim>, held: HeldLeases, onDatabaseError: (err: unknown) => void): Promise<void> {
    const waiting = [...claims.keys()].filter((t) => !held.has(t));
    if (waiting.length === 0) {
      this.seen = new Map();
      this.unheldSince = new Map();
      return;
    }
    try {
      const holders = await this.leases.holders(waiting);
      const seen = new Map<string, ObservedLease>();
      const now = this.monotonic();
      const unheldSince = new Map<string, number>();
      for (const t of waiting) {
        const h = holders.get(t);
        if (h instanceof WatchError) {
          const onLease = claims.get(t);
          if (onLease !== undefined) this.fail(onLease, h);
          continue;
        }
        seen.set(t, { owner: h?.holder, epoch: h?.epoch ?? 0 });
        if (h?.holder === undefined) unheldSince.set(t, this.unheldSince.get(t) ?? now);
      }
      this.seen = seen;
      this.unheldSince = unheldSince;
    } catch (err) {
      onDatabaseError(err); // status() keeps what it saw last
      // Nobody could take a topic while the database was away: a wait for it counts from the next look.
      this.unheldSince = new Map();
    }
  }

  /** The holder of `topic` as last seen, `stalled` when nobody has held it for more than 2 x leaseMs. */
  observed(topic: string): ObservedLease | undefined {
    const seen = this.seen.get(topic);
    const since = this.unheldSince.get(topic);
    if (seen === undefined || since === undefined) return seen;
    const unheld = this.monotonic() - since;
    if (unheld <= 2 * this.leaseMs) return seen;
    const stalled = `no member has held its lease for ${Math.round(unheld)} ms (more than 2 x leaseMs, ${2 * this.leaseMs} ms)`;
    return { ...seen, stalled };
  }

  /**
   * Whether this member takes `topic` although the hashing names another member: nobody has held it for 3 x leaseMs.
   * Members may claim different topics (a rolling deploy that adds one): hashing may give a topic to a member that
   * does not claim it, and without this it would run nowhere for as long as that member lives.
   */
  adoptable(topic: string): boolean {
    const since = this.unheldSince.get(topic);
    return since !== undefined && this.monotonic() - since > 3 * this.leaseMs;
  }

  /** `topic` is held here from now: a later wait for it starts anew. */
  taken(topic: string): void {
    this.unheldSince.delete(topic);
  }
}
