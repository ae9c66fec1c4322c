/**
 * Runs an async body at most once: every call, including one the body makes itself before its first `await` (a
 * listener it tells that closes the same object again), gets the first call's promise. A `x ??= (async () => …)()`
 * does not: the assignment happens only after the body ran up to its first `await`, so such a call started a second
 * body.
 */
export class Once {
  private done: Promise<void> | undefined;

  run(body: () => Promise<void>): Promise<void> {
    if (this.done !== undefined) return this.done;
    let settle!: { resolve: () => void; reject: (err: unknown) => void };
    this.done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    body().then(settle.resolve, settle.reject);
    return this.done;
  }
}
