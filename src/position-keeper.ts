import { WatchError, toWatchError } from './errors';
import type { SequenceProvider } from './sequence-store';

/**
 * Writes one topic's acknowledged position to its {@link SequenceProvider}, behind delivery: at most one write in
 * flight, and a position acknowledged meanwhile is carried by the next one (coalesced), so a slow store never slows
 * delivery and a crash repeats at most the events acknowledged since the last durable write.
 */
export class PositionKeeper {
  private recorded = 0;
  private written = 0;
  private writing: Promise<void> | undefined;

  constructor(
    private readonly provider: SequenceProvider,
    private readonly topic: string,
    private readonly onError: (error: WatchError) => void,
  ) {}

  /** Reads the stored position; a provider failure is `STATE_IO` unless it is typed already. */
  async read(): Promise<number | undefined> {
    let value: number | undefined;
    try {
      value = await this.provider.getSequence(this.topic);
    } catch (err) {
      throw toWatchError(err, 'STATE_IO', `reading the position of ${this.topic}`);
    }
    if (value === undefined || value === null) return undefined;
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new WatchError('STATE_CORRUPT', `the sequence provider returned ${String(value)} for ${this.topic}; expected a whole number >= 0`);
    }
    this.recorded = this.written = value;
    return value;
  }

  /** Notes a new acknowledged position and starts writing it if no write is running. */
  record(sequenceId: number): void {
    if (sequenceId <= this.recorded) return;
    this.recorded = sequenceId;
    this.writing ??= this.drain();
  }

  /** Resolves once the last recorded position is written (or its write failed and was reported). */
  async flush(): Promise<void> {
    while (this.writing !== undefined) await this.writing;
  }

  private async drain(): Promise<void> {
    try {
      while (this.written < this.recorded) {
        const target = this.recorded;
        try {
          await this.provider.setSequence(this.topic, target);
          this.written = target;
        } catch (err) {
          // Delivery goes on (the position only lags: a restart repeats, never skips); the application is told.
          this.onError(toWatchError(err, 'STATE_IO', `storing the position of ${this.topic}`));
          return;
        }
      }
    } finally {
      this.writing = undefined;
    }
  }
}
