/**
 * Where the acknowledged position of each topic is kept (the reference SDK's `GetSequence`/`SetSequence`, per
 * topic). A position is the sequence id of the last event whose handler finished; delivery resumes after it.
 * Either method may be synchronous or return a promise. `setSequence` is only ever called with a larger value.
 */
export interface SequenceProvider {
  /** The stored position of `topic`, or undefined when none is stored. */
  getSequence(topic: string): number | undefined | Promise<number | undefined>;
  /** Stores `sequenceId` as the position of `topic`; a returned promise resolves when it is durable. */
  setSequence(topic: string, sequenceId: number): void | Promise<void>;
  /** Releases what the provider holds (a lock, connections); called by the manager's `close()`. Optional. */
  close?(): void | Promise<void>;
}
