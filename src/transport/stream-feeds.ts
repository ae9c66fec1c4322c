import type { AgentStatus } from '../core/types';

// The two feeds an open stream follows for its own life, so that a new value reaches every open stream without
// passing through its owners. One shape for both: `latest` (the value now, if any) and `follow()` (each new one).

/** The tokens an open stream must send (the token refresher): the one held now, and each new one as it comes. */
export interface TokenFeed {
  /** The token held now, if any. */
  readonly latest: string | undefined;
  /** Calls `listener` with every new token; returns its removal. */
  follow(listener: (token: string) => void): () => void;
}

/**
 * The agent status of one watch (`AGENT_STATUS`, docs/wire.md#agent-status): its streams send it once the service
 * accepted them and again whenever it changes, so it is re-sent after every reconnect without anyone relaying it.
 */
export class AgentStatusFeed {
  private status: AgentStatus | undefined;
  private readonly listeners = new Set<(status: AgentStatus) => boolean>();

  /** The status set last, if any. */
  get latest(): AgentStatus | undefined {
    return this.status;
  }

  /** Sets the status; returns whether an open, accepted stream sent it now. */
  set(status: AgentStatus): boolean {
    this.status = status;
    let sent = false;
    for (const listener of [...this.listeners]) if (listener(status)) sent = true;
    return sent;
  }

  /** Calls `listener` with every status set from now on (it returns whether it sent it); returns its removal. */
  follow(listener: (status: AgentStatus) => boolean): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
