import { WatchError, type Coordinator, type ObservedLease, type TopicLease } from 'watch-manager';

/**
 * A {@link Coordinator} whose leases the test grants, hands off and ends by hand: the public contract filled in
 * memory, for the coordinated watch's decisions that need an exact order of events (a lease lost while the last
 * engine still stops, one turnover after another). Positions are kept per topic as the lease rows of the PostgreSQL
 * coordinator keep them: written only under a lease still held. Members given one `positions` map share them.
 */
export class ScriptedCoordinator implements Coordinator {
  readonly transactional = false;
  /** Every lease granted, in order. */
  readonly leases: ScriptedLease[] = [];
  private readonly claims = new Map<string, (lease: TopicLease) => void>();
  private static epochs = 0;

  constructor(
    readonly memberId = 'scripted',
    readonly positions = new Map<string, number>(),
  ) {}

  async start(): Promise<void> {}

  claim(topic: string, onLease: (lease: TopicLease) => void): () => Promise<void> {
    this.claims.set(topic, onLease);
    return async () => {
      this.claims.delete(topic);
      for (const lease of this.leases) if (lease.topic === topic) await lease.release();
    };
  }

  observed(): ObservedLease | undefined {
    return undefined;
  }

  async close(): Promise<void> {
    for (const lease of this.leases) await lease.release();
  }

  /** Gives this member `topic`'s lease now, with the position stored for it (epochs grow over every member). */
  grant(topic: string): ScriptedLease {
    const onLease = this.claims.get(topic);
    if (onLease === undefined) throw new Error(`${this.memberId} does not claim ${topic}`);
    const lease = new ScriptedLease(topic, ++ScriptedCoordinator.epochs, this.memberId, this.positions);
    this.leases.push(lease);
    onLease(lease);
    return lease;
  }
}

/** One lease of a {@link ScriptedCoordinator}: the test hands it off or ends it. */
export class ScriptedLease implements TopicLease {
  readonly position: number | undefined;
  /** Every position the holder asked to write, stored or not. */
  readonly writes: number[] = [];
  released = false;
  private readonly controller = new AbortController();
  private readonly handOffs: Array<() => void> = [];

  constructor(
    readonly topic: string,
    readonly epoch: number,
    readonly owner: string,
    private readonly positions: Map<string, number>,
  ) {
    this.position = positions.get(topic);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  async writePosition(position: number): Promise<boolean> {
    this.writes.push(position);
    if (this.signal.aborted) return false;
    this.positions.set(this.topic, Math.max(this.positions.get(this.topic) ?? 0, position));
    return true;
  }

  onHandOff(listener: () => void): void {
    this.handOffs.push(listener);
  }

  /** The coordinator wants the topic elsewhere: the holder drains, stores its position and releases. */
  handOff(): void {
    for (const listener of this.handOffs) listener();
  }

  /** The lease is lost (it could not be renewed in time): it ends at once. */
  lose(why: string): void {
    if (!this.signal.aborted) this.controller.abort(new WatchError('LEASE_LOST', `the lease of ${this.topic}: ${why}`));
  }

  async release(): Promise<void> {
    if (this.signal.aborted) return;
    this.released = true;
    this.controller.abort(new WatchError('LEASE_LOST', `the lease of ${this.topic} was released`));
  }
}
