import type { Clock, Timer } from '../core/clock';

/** Options of {@link StallWatchdog}. */
export interface StallWatchdogOptions {
  clock: Clock;
  /** A fixed timeout, or undefined to follow the service's ping interval (see {@link StallWatchdog}). */
  timeoutMs: number | undefined;
  /** The stream said nothing for `silentMs`: called once, then the watchdog stops. */
  onStall: (silentMs: number) => void;
}

/** With the timeout derived from pings: this many times the longest gap seen between them. */
const PING_GAPS = 3;
/** ...and never less than this, so that a service pinging every few ms cannot make an event-loop pause a stall. */
const MIN_DERIVED_MS = 1_000;

/**
 * Notices a stream that stays open but stops delivering (kubernetes-client/javascript #596, #364: the top complaint
 * against watch clients): HTTP/2 keepalive only proves the connection, not that the service still writes to this
 * stream. Any event or service PING is a sign; with no sign for the timeout the stream is stalled. The timeout is
 * fixed, or derived from the service's pings (nats.js's idle heartbeat monitor does the same with its heartbeats):
 * {@link PING_GAPS} times the longest gap seen between them, counted from the first ping on (the first gap from the
 * start); a service that never pings is left to keepalive. While the SDK itself stopped reading (backpressure) no
 * sign can arrive: {@link suspend} stops the count, {@link resume} starts it afresh.
 */
export class StallWatchdog {
  private timer: Timer | undefined;
  private lastSign: number;
  private pingBase: number;
  private longestGap = 0;
  private suspended = false;
  private stopped = false;

  constructor(private readonly options: StallWatchdogOptions) {
    this.lastSign = this.pingBase = options.clock.now();
    this.arm();
  }

  /** An event arrived. */
  event(): void {
    // Called per event: the clock is read only while a timer is armed, the one time the last sign is read later.
    // Without one (no timeout known yet, suspended, stopped) whatever re-arms it sets the last sign itself.
    if (this.timer !== undefined) this.lastSign = this.options.clock.now();
  }

  /** A service PING arrived: a sign, and a measure of the service's ping interval. */
  ping(): void {
    const now = this.options.clock.now();
    this.longestGap = Math.max(this.longestGap, now - this.pingBase);
    this.pingBase = this.lastSign = now;
    this.arm();
  }

  /** The SDK stopped reading the stream: nothing can arrive, so silence does not count. */
  suspend(): void {
    this.suspended = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Reading again: the count starts afresh. */
  resume(): void {
    if (!this.suspended) return;
    this.suspended = false;
    this.lastSign = this.pingBase = this.options.clock.now();
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** The timeout in force, or undefined while it cannot be known yet (no ping seen, none fixed). */
  get timeoutMs(): number | undefined {
    if (this.options.timeoutMs !== undefined) return this.options.timeoutMs;
    return this.longestGap > 0 ? Math.max(MIN_DERIVED_MS, PING_GAPS * this.longestGap) : undefined;
  }

  private arm(): void {
    const timeout = this.timeoutMs;
    if (this.timer !== undefined || this.stopped || this.suspended || timeout === undefined) return;
    // One timer per timeout, not one per event: when it fires it checks the last sign and re-arms for the rest.
    this.timer = this.options.clock.setTimeout(
      () => this.check(),
      Math.max(0, this.lastSign + timeout - this.options.clock.now()),
    );
  }

  private check(): void {
    this.timer = undefined;
    const timeout = this.timeoutMs;
    if (this.stopped || this.suspended || timeout === undefined) return;
    const silent = this.options.clock.now() - this.lastSign;
    if (silent < timeout) {
      this.arm();
      return;
    }
    this.stop();
    this.options.onStall(silent);
  }
}
