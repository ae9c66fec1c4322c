import { isThenable } from '../core/thenable';
import type { WatchEvent } from '../core/types';
import type { EventContext, KindHandlers, RoutedHandlers, WatchHandlers } from './watch-handlers';

/**
 * Handlers per kind (`WatchHandlers.kinds`): which handler takes an event, and the one `onEvent` delivery runs for
 * it, the kind's handler then the every-kind `onEvent`, as one attempt (a failure of either retries both).
 */
export class KindDispatch {
  private readonly kinds: ReadonlyMap<string, KindHandlers>;

  constructor(private readonly handlers: WatchHandlers) {
    // A Map, not the object: a kind named `constructor` or `__proto__` must find nothing it was not given.
    this.kinds = new Map(Object.entries(handlers.kinds ?? {}));
  }

  /** Whether an every-kind `onEvent` runs (then every event is taken). */
  get everyKind(): boolean {
    return this.handlers.onEvent !== undefined;
  }

  /** The kind's handlers that take `event` (listed for its kind, and its `shouldHandle` absent or true), if any. */
  taker(event: WatchEvent): KindHandlers | undefined {
    const kind = this.kinds.get(event.payload.kind);
    if (kind === undefined) return undefined;
    return kind.shouldHandle === undefined || kind.shouldHandle(event) ? kind : undefined;
  }

  /** Whether any handler takes `event`: one that none takes is acknowledged untouched (`filtered`). */
  takes(event: WatchEvent): boolean {
    return this.handlers.onEvent !== undefined || this.taker(event) !== undefined;
  }

  /** The handlers with `onEvent` dispatching per kind; the other handlers as given. */
  routed(): RoutedHandlers {
    return { ...this.handlers, onEvent: (event, ctx) => this.run(event, ctx) };
  }

  private run(event: WatchEvent, ctx: EventContext): void | Promise<void> {
    const { handlers } = this;
    const kind = this.taker(event);
    // Called as methods: a handler written with `this` finds its own object.
    if (kind === undefined) return handlers.onEvent?.(event, ctx);
    if (handlers.onEvent === undefined) return kind.onEvent(event, ctx);
    const first = kind.onEvent(event, ctx);
    // A synchronous kind handler costs no promise: the every-kind handler follows at once.
    if (!isThenable(first)) return handlers.onEvent(event, ctx);
    return Promise.resolve(first).then(() => handlers.onEvent?.(event, ctx));
  }
}
