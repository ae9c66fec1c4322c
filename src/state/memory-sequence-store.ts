import type { SequenceProvider } from './sequence-provider';

/** Keeps positions in memory: a restart starts over from `from`. The default provider. */
export class MemorySequenceStore implements SequenceProvider {
  private readonly positions = new Map<string, number>();

  getSequence(topic: string): number | undefined {
    return this.positions.get(topic);
  }

  setSequence(topic: string, sequenceId: number): void {
    if (sequenceId > (this.positions.get(topic) ?? 0)) this.positions.set(topic, sequenceId);
  }

  resetSequence(topic: string, sequenceId: number): void {
    this.positions.set(topic, sequenceId);
  }
}
