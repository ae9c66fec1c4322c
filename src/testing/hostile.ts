/**
 * Ways the fake watch service misbehaves on purpose, as a real service, a newer version of it or a gateway in
 * front of it might, while staying within what a client must survive. Set with
 * {@link FakeWatchService.setHostile} (which replaces the whole set; `{}` clears it). Every switch is off by default;
 * every behaviour is deterministic (only `pageOrder: 'shuffle'` draws from the service's seeded random).
 */
export interface HostileBehaviour {
  /**
   * History: the server clamps `pageSize` to this, on ascending catch-up queries and on the DESC "newest" query
   * alike. Page p (1-based) covers items (p-1)·pageCap … p·pageCap-1 of the query's result, so a client that takes
   * a page shorter than it asked for as the last (as the reference SDK does, docs/wire.md#pages-and-page-caps) stops
   * early.
   * @default no cap (the client's pageSize, up to 1000)
   */
  pageCap?: number;
  /**
   * History: the server pages by the `pageSize` asked (page p starts at item (p-1)·pageSize) but truncates each
   * answer to `pageLimit` events, so the events between the limit and the next page's start are on no page of that
   * numbering (a gateway that truncates large answers). Ascending catch-up queries only.
   * @default no limit
   */
  pageLimit?: number;
  /**
   * History: how the server orders an ascending query (`sort=sequenceID,ASC`, the default). `'desc'`: it ignores
   * the sort, orders the query's whole result newest first, then pages it (page 1 = the newest pageSize events above
   * N). `'shuffle'`: each page holds the events `'asc'` would give, in an order drawn from the service's seeded
   * random, never left ascending when the page has two events or more. The DESC "newest" query is not affected.
   * @default 'asc'
   */
  pageOrder?: 'asc' | 'desc' | 'shuffle';
  /**
   * History: every catch-up request (one with a `query=sequenceID>N` parameter) is answered `410 Gone`, counted in
   * `historyCounters.gone`.
   * @default off (only purged positions are gone)
   */
  gone?: {
    /**
     * The `X-Axway-Max-Sequence-Id` header of the answer: this string verbatim (`'0'`, `'abc'`, `'-5'`…); `null`
     * leaves the header out; `'asked'` sends N itself (a newest id not above the asked position).
     */
    maxSequenceId: string | null;
  };
  /**
   * History: the next `count` requests (the token endpoint's excepted) are answered `status` with a `Retry-After`
   * header, before anything else (a gateway in front of the service), counted in `historyCounters.throttled`, not in
   * `failuresInjected`.
   * @default off
   */
  retryAfter?: {
    /** The status of a throttled answer. */
    status: 429 | 503;
    /** The `Retry-After` header, verbatim: seconds (`'30'`) or an HTTP date. */
    header: string;
    /** How many requests are throttled, from the `setHostile` call on. @default unlimited */
    count?: number;
  };
  /**
   * Stream: after every Nth live event a stream sends, it sends the one before the Nth again (a legal repeat of an
   * id already sent). N=3 on events 1..6 sends 1,2,3,2,4,5,6,5. At least 2. Counted in `counters.repeated`.
   * @default off
   */
  repeatEvery?: number;
  /**
   * Stream: out-of-order ids. In every run of `every` live events, the first `hold` of the run are held back and
   * sent right after the run's next event: `{ hold: 2, every: 4 }` on 3..10 sends 5,3,4,6,9,7,8,10. Events still
   * held when the stream ends are lost for that stream (history has them); the next `setHostile` call sends them at
   * once, in order. Held events sent late are counted in `counters.reordered`.
   * @default off
   */
  reorder?: {
    /** How many events at the start of each run are held back (1 or more). */
    hold: number;
    /** The length of a run (more than `hold`). */
    every: number;
  };
  /**
   * Stream and history: every event whose sequence id is a multiple of N is rendered with a type this contract does
   * not know: `Event.Type` 42 on the stream, `'ResourceArchived'` in history. The event stays as it is in the
   * topic's log. Stream messages so rendered are counted in `counters.unknownTypes`.
   * @default off
   */
  unknownTypeEvery?: number;
  /**
   * Stream: every stream stops sending anything, live events and PINGs alike: they are dropped (unlike `pause()`, which
   * holds them); dropped events are counted in `counters.dropped`. Streams and their HTTP/2 connections stay open and
   * healthy (grpc-js still answers keepalive pings); events still reach history. Turning it off sends new events again;
   * dropped ones are not re-sent.
   * @default false
   */
  silent?: boolean;
  /**
   * Stream: each stream is ended with UNAVAILABLE (details `'max connection age'`) right after it has sent N events
   * (every non-PING message, as `counters.eventsSent` counts them) since it started or since the last `setHostile`
   * call, whichever is later: a load balancer's maximum connection age. Counted in `counters.abortedAfterEvents`.
   * @default off
   */
  abortAfterEvents?: number;
  /**
   * Stream: the next N `subscribe` calls (from the `setHostile` call on) are ended with UNAVAILABLE before any sign
   * of life, as a service restarting behind its load balancer refuses them: attempts that make no progress, which a
   * client's backoff must escalate on. Counted in `counters.refusedSubscriptions`.
   * @default off
   */
  refuseSubscriptions?: number;
}

/**
 * Checks a behaviour's values (a mistyped switch would otherwise make a test pass for the wrong reason) and returns
 * a copy, so that the caller changing its object later changes nothing.
 */
export function checkHostile(behaviour: HostileBehaviour): HostileBehaviour {
  const { pageCap, pageOrder, gone, retryAfter, repeatEvery, reorder, unknownTypeEvery, abortAfterEvents } = behaviour;
  whole('pageCap', pageCap, 1);
  whole('pageLimit', behaviour.pageLimit, 1);
  if (pageOrder !== undefined && !['asc', 'desc', 'shuffle'].includes(pageOrder))
    refuse('pageOrder', pageOrder, "'asc', 'desc' or 'shuffle'");
  if (gone !== undefined && gone.maxSequenceId !== null && typeof gone.maxSequenceId !== 'string')
    refuse('gone.maxSequenceId', gone.maxSequenceId, 'a string or null');
  if (retryAfter !== undefined) {
    if (retryAfter.status !== 429 && retryAfter.status !== 503)
      refuse('retryAfter.status', retryAfter.status, '429 or 503');
    if (typeof retryAfter.header !== 'string' || /[\r\n]/.test(retryAfter.header))
      refuse('retryAfter.header', retryAfter.header, 'a one-line string');
    whole('retryAfter.count', retryAfter.count, 0);
  }
  whole('repeatEvery', repeatEvery, 2);
  if (reorder !== undefined) {
    whole('reorder.hold', reorder.hold, 1);
    whole('reorder.every', reorder.every, reorder.hold + 1);
  }
  whole('unknownTypeEvery', unknownTypeEvery, 1);
  whole('abortAfterEvents', abortAfterEvents, 1);
  whole('refuseSubscriptions', behaviour.refuseSubscriptions, 0);
  return structuredClone(behaviour);
}

function whole(field: string, value: number | undefined, min: number): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= min))
    refuse(field, value, `a whole number >= ${min}`);
}

function refuse(field: string, value: unknown, expected: string): never {
  throw new RangeError(`fake watch service: setHostile: ${field} must be ${expected}, got ${JSON.stringify(value)}`);
}

/** `pageCap`: the page size the server really uses. */
export function cappedPageSize(behaviour: HostileBehaviour, pageSize: number): number {
  return behaviour.pageCap === undefined ? pageSize : Math.min(pageSize, behaviour.pageCap);
}

/** `pageOrder: 'shuffle'`: an ascending page in a random order that is never ascending (for two events or more). */
export function shuffledPage<T>(page: readonly T[], random: () => number): T[] {
  const out = [...page];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  // A fair shuffle sometimes gives the page back as it was; a test of a client's ordering needs it out of order.
  if (out.length >= 2 && out.every((item, i) => item === page[i])) out.reverse();
  return out;
}

/** `gone`: the `X-Axway-Max-Sequence-Id` header of a forced `410` to a catch-up after `after`, or none. */
export function goneHeader(gone: NonNullable<HostileBehaviour['gone']>, after: number): string | undefined {
  if (gone.maxSequenceId === null) return undefined;
  return gone.maxSequenceId === 'asked' ? String(after) : gone.maxSequenceId;
}

/** `unknownTypeEvery`: whether the event at `sequenceId` is rendered with a type the contract does not know. */
export function hasUnknownType(behaviour: HostileBehaviour, sequenceId: number): boolean {
  return behaviour.unknownTypeEvery !== undefined && sequenceId % behaviour.unknownTypeEvery === 0;
}

/** One message a stream sends, and why it is sent there (for the counters). */
export interface Shaped<T> {
  /** The message. */
  item: T;
  /** `'repeat'`: a repeat of an event already sent; `'reordered'`: held back, sent after a later one. */
  note?: 'repeat' | 'reordered';
}

/** `reorder`: holds the first `hold` events of each run of `every` and sends them after the run's next event. */
class Reorder<T> {
  private held: T[] = [];
  private position = 0;

  constructor(
    private readonly hold: number,
    private readonly every: number,
  ) {}

  next(shaped: Shaped<T>): Array<Shaped<T>> {
    const index = this.position;
    this.position = (this.position + 1) % this.every;
    if (index < this.hold) {
      this.held.push(shaped.item);
      return [];
    }
    const out: Array<Shaped<T>> = [shaped, ...this.held.map((item) => ({ item, note: 'reordered' as const }))];
    this.held = [];
    return out;
  }

  release(): T[] {
    const held = this.held;
    this.held = [];
    return held;
  }
}

/** `repeatEvery`: after every Nth event, the one before it again. */
class Repeat<T> {
  private count = 0;
  private previous: T | undefined;

  constructor(private readonly every: number) {}

  next(shaped: Shaped<T>): Array<Shaped<T>> {
    const before = this.previous;
    this.previous = shaped.item;
    this.count += 1;
    if (this.count % this.every !== 0 || before === undefined) return [shaped];
    return [shaped, { item: before, note: 'repeat' }];
  }
}

/**
 * The order in which one stream sends its live events under `reorder` and `repeatEvery` (reorder first, then the
 * repeats of what comes out of it). Per-stream state, started afresh with each stream and each `setHostile` call.
 */
export class LiveShaper<T> {
  private constructor(
    private readonly reorder: Reorder<T> | undefined,
    private readonly repeat: Repeat<T> | undefined,
  ) {}

  /** The shaper `behaviour` asks for, or undefined when it asks for none (a stream then sends events as they come). */
  static for<T>(behaviour: HostileBehaviour): LiveShaper<T> | undefined {
    const { reorder, repeatEvery } = behaviour;
    if (reorder === undefined && repeatEvery === undefined) return undefined;
    return new LiveShaper<T>(
      reorder === undefined ? undefined : new Reorder<T>(reorder.hold, reorder.every),
      repeatEvery === undefined ? undefined : new Repeat<T>(repeatEvery),
    );
  }

  /** What to send, in order, now that `item` is to be sent (possibly nothing yet). */
  next(item: T): Array<Shaped<T>> {
    let out: Array<Shaped<T>> = [{ item }];
    const { reorder, repeat } = this;
    if (reorder !== undefined) out = out.flatMap((s) => reorder.next(s));
    if (repeat !== undefined) out = out.flatMap((s) => repeat.next(s));
    return out;
  }

  /** The events held back, in their original order, forgotten here. */
  release(): T[] {
    return this.reorder?.release() ?? [];
  }
}
