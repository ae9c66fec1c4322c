/**
 * Callers parked until something they wait for happened (room in a queue, a write that landed, a free slot), let go
 * all at once: each checks its condition again when it resumes.
 */
export class Waiters {
  private readonly parked: Array<() => void> = [];

  /** Whether anyone waits. */
  get waiting(): boolean {
    return this.parked.length > 0;
  }

  /** Resolves at the next {@link releaseAll}. */
  wait(): Promise<void> {
    return new Promise((resolve) => this.parked.push(resolve));
  }

  /** Lets every parked caller go on (in a later microtask: none runs inside this call). */
  releaseAll(): void {
    if (this.parked.length === 0) return;
    for (const resolve of this.parked) resolve();
    this.parked.length = 0;
  }
}
