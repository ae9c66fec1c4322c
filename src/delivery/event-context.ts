import type { EventContext, TransactionClient } from './watch-handlers';

/** The `ctx` of one event (see {@link EventContext}): fields only, so that a spread copy keeps every one. */
export class HandlerContext implements EventContext {
  readonly idempotencyKey: string;

  constructor(
    readonly topic: string,
    readonly sequenceId: number,
    readonly fencingToken: number | undefined,
    readonly signal: AbortSignal,
    readonly client: TransactionClient | undefined = undefined,
  ) {
    this.idempotencyKey = `${topic}:${sequenceId}`;
  }
}
