/**
 * Where the acknowledged position of each topic is kept (the reference SDK's `GetSequence`/`SetSequence`, per
 * topic). A position is the sequence id of the last event whose handler finished; delivery resumes after it.
 * Either method may be synchronous or return a promise. A store proves it keeps this contract by passing
 * `sequenceProviderContract` of `watch-manager/testing`, as the built-in stores do.
 */
export interface SequenceProvider {
  /** The stored position of `topic`, or undefined when none is stored. */
  getSequence(topic: string): number | undefined | Promise<number | undefined>;
  /**
   * Stores `sequenceId` as the position of `topic`; a returned promise resolves when it is durable, and rejects
   * when it could not be stored (never resolves as saved). Positions only move forward: a value not above the
   * stored one is ignored (the SDK only sends larger ones, but writes in flight together may finish in any order).
   */
  setSequence(topic: string, sequenceId: number): void | Promise<void>;
  /**
   * Stores `sequenceId` as the position of `topic` even when it is below the stored one; a returned promise resolves
   * when it is durable, and rejects when it could not be stored. Called only when the topic's sequence restarted (the
   * topic was recreated: its new ids start again below the old position), after every `setSequence` of the old
   * sequence settled and before any of the new one; later `setSequence` calls move forward from it. Optional, but a
   * store without it keeps the old sequence's position until the new sequence passes it: a restart after the new
   * sequence passed it while nobody watched resumes there and never delivers the new events up to it (the SDK warns
   * once per topic).
   */
  resetSequence?(topic: string, sequenceId: number): void | Promise<void>;
  /** Releases what the provider holds (a lock, connections); called by the manager's `close()`. Optional. */
  close?(): void | Promise<void>;
}
