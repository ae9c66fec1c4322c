import { withDeadline, type Clock, type Timer } from '../core/clock';
import { isThenable } from '../core/thenable';
import { WatchError, toWatchError } from '../core/errors';
import { Waiters } from '../core/waiters';
import type { SequenceProvider } from './sequence-provider';

/** When positions are written: after `everyAcks` acknowledgements, or `intervalMs` after the first unsaved one. */
export interface PositionFlushPolicy {
  everyAcks: number;
  intervalMs: number;
  clock: Clock | undefined;
  /** Deadline of one write (with `clock`): a store that never settles is reported as `STATE_IO`, not waited for. */
  timeoutMs?: number;
}

/** What a {@link PositionKeeper} writes, where, and whom it tells when a write fails. */
export interface PositionKeeperOptions {
  /** The store. */
  provider: SequenceProvider;
  /** The topic whose position this keeper writes. */
  topic: string;
  /** How many acknowledgements may wait unwritten before delivery waits for the store. */
  maxUnsaved: number;
  /** Told about every failed write (a position the application believes stored is not). */
  onError: (error: WatchError) => void;
  /** When to write. @default after every acknowledgement, without a deadline */
  flush?: PositionFlushPolicy;
  /** Told when a reset finds a provider without `resetSequence`: the stored position stays where it is. */
  onNoReset?: (stored: number, target: number) => void;
}

/**
 * Writes one topic's acknowledged position to its {@link SequenceProvider}, behind delivery: at most one write in
 * flight, and positions acknowledged meanwhile are carried by the next one (coalesced), so a slow store costs one
 * write per batch, not per event. How far the store may lag is bounded (`maxUnsaved` acknowledgements): delivery
 * waits beyond it, so a crash repeats at most that many events, never skips one.
 */
export class PositionKeeper {
  private recorded = 0;
  private written = 0;
  private acks = 0;
  private savedAcks = 0;
  private writing: Promise<void> | undefined;
  /** Delivery waiting in {@link withinBound}. */
  private readonly waiters = new Waiters();
  /** Writes given up on at their deadline that have not settled yet: one may still land (see {@link reset}). */
  private readonly abandoned = new Set<Promise<void>>();

  private timer: Timer | undefined;
  private closed = false;

  private readonly provider: SequenceProvider;
  private readonly topic: string;
  private readonly maxUnsaved: number;
  private readonly onError: (error: WatchError) => void;
  private readonly policy: PositionFlushPolicy;
  private readonly onNoReset: ((stored: number, target: number) => void) | undefined;

  constructor(options: PositionKeeperOptions) {
    this.provider = options.provider;
    this.topic = options.topic;
    this.maxUnsaved = options.maxUnsaved;
    this.onError = options.onError;
    this.policy = options.flush ?? { everyAcks: 1, intervalMs: 0, clock: undefined };
    this.onNoReset = options.onNoReset;
  }

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
      throw new WatchError(
        'STATE_CORRUPT',
        `the sequence provider returned ${String(value)} for ${this.topic}; expected a whole number >= 0`,
      );
    }
    this.recorded = this.written = value;
    return value;
  }

  /** Notes a new acknowledged position and starts writing it if no write is running. */
  record(position: number): void {
    if (this.closed || position <= this.recorded) return;
    this.recorded = position;
    this.acks += 1;
    if (this.writing !== undefined) return;
    if (this.acks - this.savedAcks >= this.policy.everyAcks) this.startWrite();
    else this.arm();
  }

  /** Writes the unsaved position after `intervalMs` if `everyAcks` is not reached before. */
  private arm(): void {
    const { clock, intervalMs } = this.policy;
    if (this.timer !== undefined || clock === undefined || this.closed) return;
    this.timer = clock.setTimeout(() => {
      this.timer = undefined;
      if (this.writing === undefined && this.written < this.recorded) this.startWrite();
    }, intervalMs);
  }

  private startWrite(): void {
    this.timer?.cancel();
    this.timer = undefined;
    const position = this.recorded;
    // A synchronous store (the default in-memory one) is written at once, without a promise per event.
    let result: void | Promise<void>;
    try {
      result = this.provider.setSequence(this.topic, position);
    } catch (err) {
      this.onError(toWatchError(err, 'STATE_IO', `storing the position of ${this.topic}`));
      this.savedAcks = this.acks;
      return;
    }
    if (!isThenable(result)) {
      this.written = position;
      this.savedAcks = this.acks;
      return;
    }
    this.writing = this.drain(this.bounded(result), position);
  }

  /** A write with the policy's deadline: a `setSequence` that never settles must not stall delivery silently. */
  private bounded(write: Promise<void>): Promise<void> {
    const { clock, timeoutMs } = this.policy;
    if (clock === undefined || timeoutMs === undefined) return write;
    return withDeadline(write, {
      clock,
      ms: timeoutMs,
      onTimeout: () => {
        this.abandoned.add(write);
        const settled = (): void => void this.abandoned.delete(write);
        write.then(settled, settled);
        return new WatchError(
          'STATE_IO',
          `storing the position of ${this.topic}: setSequence did not settle within ${timeoutMs} ms`,
        );
      },
    });
  }

  /** Resolves when at most `maxUnsaved` acknowledgements wait to be written (at once when the store keeps up). */
  withinBound(): Promise<void> | undefined {
    if (this.acks - this.savedAcks <= this.maxUnsaved) return undefined;
    if (this.writing === undefined) this.startWrite(); // do not wait for the batch or the timer: delivery waits
    if (this.acks - this.savedAcks <= this.maxUnsaved) return undefined;
    return this.waiters.wait();
  }

  /**
   * Moves the stored position back to `position` (the topic's sequence restarted: its new ids are below the old
   * position). Ordered after every write: the one in flight, and the positions it carries on with, land first; what
   * is recorded and not yet written belongs to the old sequence and is dropped; positions recorded while the reset
   * runs wait for it. Resolves true once durable, false when the provider has no `resetSequence` (the position stays:
   * see `onNoReset`); rejects (typed, `STATE_IO` unless the store typed it, nothing reported here) when it was not
   * stored: the caller must not go on as if it were.
   */
  async reset(position: number): Promise<boolean> {
    const { clock, timeoutMs } = this.policy;
    for (;;) {
      if (this.writing !== undefined) {
        await this.writing;
        continue;
      }
      // A write given up on at its deadline may still land, and move the position forward again after the reset.
      if (this.abandoned.size === 0 || clock === undefined || timeoutMs === undefined) break;
      await withDeadline(Promise.allSettled([...this.abandoned]), {
        clock,
        ms: timeoutMs,
        onTimeout: () =>
          new WatchError(
            'STATE_IO',
            `moving the position of ${this.topic} back to ${position}: an earlier write, given up on after ${timeoutMs} ms, has not settled yet (it could land after the reset)`,
          ),
      });
    }
    this.disarm(); // the old sequence's unwritten position is never written now
    if (this.closed) throw new WatchError('CLOSED', `the position of ${this.topic} was not moved back: closed`);
    const provider = this.provider;
    if (provider.resetSequence === undefined) {
      this.onNoReset?.(this.recorded, position);
      return false;
    }
    const run = (async () => {
      const result = provider.resetSequence?.(this.topic, position);
      if (isThenable(result)) await this.bounded(result);
    })();
    // Held as the write in flight: record() coalesces behind it, flush() and close() wait for it.
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.writing = settled;
    try {
      await run;
    } catch (err) {
      throw toWatchError(err, 'STATE_IO', `moving the position of ${this.topic} back to ${position}`);
    } finally {
      if (this.writing === settled) this.writing = undefined;
    }
    this.recorded = this.written = position;
    this.savedAcks = this.acks;
    this.waiters.releaseAll();
    return true;
  }

  /** Resolves once the last recorded position is written (or its write failed and was reported). */
  async flush(): Promise<void> {
    this.disarm();
    // A few rounds at most: a store that keeps failing is reported by each write, not retried forever here.
    for (let tries = 0; tries < 3 && (this.writing !== undefined || this.written < this.recorded); tries++) {
      if (this.writing === undefined) this.startWrite();
      while (this.writing !== undefined) await this.writing;
    }
    this.disarm(); // a write that ended short of a batch may have armed it
  }

  /** Writes what is unsaved and takes nothing more (the watch is closing): no write, no timer after it. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    this.disarm();
  }

  private disarm(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private async drain(first: Promise<void>, firstTarget: number): Promise<void> {
    let pending: Promise<void> | void = first;
    let target = firstTarget;
    let acks = this.acks;
    try {
      for (;;) {
        try {
          await pending;
        } catch (err) {
          // Delivery goes on (the position only lags: a restart repeats, never skips); the application is told,
          // and the next acknowledgement tries again.
          this.onError(toWatchError(err, 'STATE_IO', `storing the position of ${this.topic}`));
          this.savedAcks = this.acks;
          return;
        }
        this.written = target;
        this.savedAcks = acks;
        if (this.acks - this.savedAcks <= this.maxUnsaved) this.waiters.releaseAll();
        if (this.written >= this.recorded) return;
        if (this.acks - this.savedAcks < this.policy.everyAcks) {
          this.arm(); // not enough for a batch yet: the timer writes the rest
          return;
        }
        target = this.recorded;
        acks = this.acks;
        try {
          const next = this.provider.setSequence(this.topic, target);
          pending = isThenable(next) ? this.bounded(next) : next;
        } catch (err) {
          pending = Promise.reject(err);
        }
      }
    } finally {
      this.writing = undefined;
      this.waiters.releaseAll();
    }
  }
}
