import type { Clock, Timer } from '../core/clock';
import { WatchError } from '../core/errors';
import type { TopicLease } from '../state/coordinator';
import type { ActiveLease } from './active-lease';
import type { CoordinatorTiming } from './coordinator-options';
import type { LeaseTable } from './lease-table';

/** A claim of a topic, known by the callback its leases are handed to. */
export type Claim = (lease: TopicLease) => void;

interface Held {
  lease: ActiveLease;
  /** The claim it was won for: only that claim's withdrawal gives it back. */
  claim: Claim;
  /**
   * Taken although the hashing named this other member, which left it unheld: not handed back to it (it does not
   * claim the topic), only to another member the hashing names once the members changed.
   */
  adoptedFrom: string | undefined;
  /** Stops the topic `renewDeadlineMs` after the last renewal that succeeded (or the acquisition) was sent. */
  deadline: Timer | undefined;
}

/**
 * The leases this member holds, each renewed every round. One that cannot be renewed in time is dropped at its renew
 * deadline, on this member's own clock however long a round takes: the topic stops here before the lease can run out
 * in the database and another member take it.
 */
export class HeldLeases {
  private readonly held = new Map<string, Held>();
  private readonly leaseMs: number;
  private readonly renewDeadlineMs: number;
  private readonly clock: Clock;
  private readonly monotonic: () => number;

  constructor(
    private readonly leases: LeaseTable,
    private readonly memberId: string,
    timing: CoordinatorTiming,
  ) {
    this.leaseMs = timing.leaseMs;
    this.renewDeadlineMs = timing.renewDeadlineMs;
    this.clock = timing.clock;
    this.monotonic = timing.monotonic;
  }

  has(topic: string): boolean {
    return this.held.has(topic);
  }

  get(topic: string): ActiveLease | undefined {
    return this.held.get(topic)?.lease;
  }

  /** The lease of `topic` if it is held for `claim`. */
  heldFor(topic: string, claim: Claim): ActiveLease | undefined {
    const held = this.held.get(topic);
    return held?.claim === claim ? held.lease : undefined;
  }

  /** The leases held now (topic → epoch). */
  epochs(): Map<string, number> {
    return new Map([...this.held].map(([topic, h]) => [topic, h.lease.epoch]));
  }

  all(): ActiveLease[] {
    return [...this.held.values()].map((h) => h.lease);
  }

  /** Holds `lease`, won for `claim` by an acquisition sent at `sent` (monotonic): its deadline runs from then. */
  add(lease: ActiveLease, claim: Claim, adoptedFrom: string | undefined, sent: number): void {
    const held: Held = { lease, claim, deadline: undefined, adoptedFrom };
    this.held.set(lease.topic, held);
    this.armDeadline(held, sent);
  }

  /** Forgets `lease` (its deadline off); false when it is not the lease held for its topic. */
  remove(lease: ActiveLease): boolean {
    const held = this.held.get(lease.topic);
    if (held?.lease !== lease) return false;
    this.held.delete(lease.topic);
    held.deadline?.cancel();
    return true;
  }

  /** One round's renewals; a database failure is told to `onDatabaseError`, and the lease's deadline decides. */
  async renew(onDatabaseError: (err: unknown) => void): Promise<void> {
    for (const h of [...this.held.values()]) {
      try {
        const sent = this.monotonic();
        if (await this.leases.renew(h.lease.topic, this.memberId, h.lease.epoch, this.leaseMs)) {
          if (this.held.get(h.lease.topic) === h) this.armDeadline(h, sent);
        } else this.drop(h, 'another member holds it now, or it ran out');
      } catch (err) {
        onDatabaseError(err); // retried next round
      }
    }
  }

  /** Asks the holder of each topic the hashing gives another member (`owners`: topic → member) to hand it off. */
  handOff(owners: Map<string, string>): void {
    for (const [topic, h] of this.held) {
      const owner = owners.get(topic);
      if (owner !== undefined && owner !== this.memberId && owner !== h.adoptedFrom) h.lease.askHandOff();
    }
  }

  /** The lease runs from `sent`: without a renewal that succeeds, the topic stops here `renewDeadlineMs` after it. */
  private armDeadline(h: Held, sent: number): void {
    h.deadline?.cancel();
    const left = Math.max(0, this.renewDeadlineMs - (this.monotonic() - sent));
    h.deadline = this.clock.setTimeout(() => {
      if (this.held.get(h.lease.topic) === h) this.drop(h, `could not renew within ${this.renewDeadlineMs} ms`);
    }, left);
  }

  /** The lease is not this member's any more, or may not be: ended here, its row left to the database. */
  private drop(h: Held, why: string): void {
    h.deadline?.cancel();
    if (this.held.get(h.lease.topic) === h) this.held.delete(h.lease.topic);
    h.lease.end(new WatchError('LEASE_LOST', `${this.memberId} lost the lease of ${h.lease.topic}: ${why}`));
  }
}
