import { WatchError } from '../errors';
import type { TopicLease } from './coordinator';
import type { SequenceProvider } from './sequence-provider';

/**
 * The positions of a watch that runs under a lease: read from the lease (the position stored when it was won),
 * written under its fence. A write the fence refuses is a `LEASE_LOST`: the lease has ended, and nothing was stored.
 */
export class LeasePositions implements SequenceProvider {
  constructor(private readonly lease: TopicLease) {}

  getSequence(topic: string): number | undefined {
    this.check(topic);
    return this.lease.position;
  }

  async setSequence(topic: string, sequenceId: number): Promise<void> {
    this.check(topic);
    // A lease already ended was reported once, where it ended; the write is not tried (it would store nothing).
    if (this.lease.signal.aborted) return;
    if (await this.lease.writePosition(sequenceId)) return;
    throw new WatchError(
      'LEASE_LOST',
      `the position ${sequenceId} of ${topic} was not stored: ${this.lease.owner} no longer holds its lease (epoch ${this.lease.epoch})`,
    );
  }

  private check(topic: string): void {
    if (topic !== this.lease.topic)
      throw new WatchError('INTERNAL', `the lease of ${this.lease.topic} was asked for the position of ${topic}`);
  }
}
