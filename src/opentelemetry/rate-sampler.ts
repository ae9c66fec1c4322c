/**
 * Which handler runs go into the duration histogram. Each record costs the OpenTelemetry SDK a hash of its
 * attributes (≈1–2 µs): at tens of thousands of events per second that is a third of the event's own cost. Up to
 * `maxPerSecond` runs per second every run is taken; above that every Nth, N chosen per 100 ms window from the rate
 * of the window before, so the histogram stays a uniform sample of the runs (its quantiles and mean hold, its count
 * is the sample's: count events with `messaging.client.consumed.messages`).
 */
export class RateSampler {
  private stride = 1;
  private left = 1;
  private windowStart: number;
  private inWindow = 0;
  private readonly perWindow: number;

  /** `now`: a monotonic clock in ms. */
  constructor(
    maxPerSecond: number,
    private readonly now: () => number,
  ) {
    this.perWindow = maxPerSecond / (1_000 / WINDOW_MS);
    this.windowStart = now();
  }

  /** Whether this run is recorded. */
  take(): boolean {
    const now = this.now();
    const elapsed = now - this.windowStart;
    if (elapsed >= WINDOW_MS) {
      // After a quiet spell (no run for a whole window) a burst starts afresh: its first runs are taken.
      const rate = elapsed >= 2 * WINDOW_MS ? 0 : (this.inWindow * WINDOW_MS) / elapsed;
      this.stride = Math.max(1, Math.ceil(rate / this.perWindow));
      this.left = Math.min(this.left, this.stride);
      this.windowStart = now;
      this.inWindow = 0;
    }
    this.inWindow += 1;
    if (--this.left > 0) return false;
    this.left = this.stride;
    return true;
  }
}

const WINDOW_MS = 100;
