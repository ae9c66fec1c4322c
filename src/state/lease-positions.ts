import { WatchError } from '../core/errors';
import type { TopicLease } from './coordinator';
import type { SequenceProvider } from './sequence-provider';

/**
 * The positions of a watch that runs under a lease: read from the lease (the position stored when it was won),
 * written under its fence. A write the fence refuses is a `LEASE_LOST`: the lease has ended, and nothing was stored.
 */
export class LeasePositions implements SequenceProvider {
  /** Present when the lease can move its position back (see {@link TopicLease.resetPosition}). */
  readonly resetSequence?: (topic: string, position: number) => Promise<void>;

  constructor(private readonly lease: TopicLease) {
    const reset = lease.resetPosition?.bind(lease);
    if (reset !== undefined) this.resetSequence = (topic, position) => this.write(topic, position, reset);
  }

  getSequence(topic: string): number | undefined {
    this.check(topic);
    return this.lease.position;
  }

  setSequence(topic: string, position: number): Promise<void> {
    return this.write(topic, position, (p) => this.lease.writePosition(p));
  }

  /** Writes with `store` (forward, or a reset) under the fence; a fenced-off write is `LEASE_LOST`. */
  private async write(topic: string, position: number, store: (position: number) => Promise<boolean>): Promise<void> {
    this.check(topic);
    // A lease already ended was reported once, where it ended; the write is not tried (it would store nothing). Its
    // holder stops: nothing it handles from here on is stored, so whoever runs the topic next resumes from the
    // position the lease row holds.
    if (this.lease.signal.aborted) return;
    if (await store(position)) return;
    throw new WatchError(
      'LEASE_LOST',
      `the position ${position} of ${topic} was not stored: ${this.lease.owner} no longer holds its lease (epoch ${this.lease.epoch})`,
    );
  }

  private check(topic: string): void {
    if (topic !== this.lease.topic)
      throw new WatchError('INTERNAL', `the lease of ${this.lease.topic} was asked for the position of ${topic}`);
  }
}
