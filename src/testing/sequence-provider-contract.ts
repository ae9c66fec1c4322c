import assert from 'node:assert/strict';
import type { SequenceProvider } from '../state/sequence-provider';

/** The store under test, as {@link sequenceProviderContract} makes and remakes it. */
export interface SequenceProviderSubject {
  /** A new store with nothing stored, over storage of its own. Called once per check. */
  create(): SequenceProvider | Promise<SequenceProvider>;
  /**
   * A second store over the same storage as `previous` (which the check has closed first), as a restarted process
   * would open it: proves that a position whose `setSequence` resolved survives. Leave it out for a store that
   * keeps nothing across restarts (such as `MemorySequenceStore`); the durability check is then left out.
   */
  reopen?(previous: SequenceProvider): SequenceProvider | Promise<SequenceProvider>;
  /**
   * A store whose storage cannot take a write (a read-only directory, a dropped connection): proves that a failed
   * write is reported, never resolved as saved. Leave it out for a store that cannot fail.
   */
  broken?(): SequenceProvider | Promise<SequenceProvider>;
}

/** One check of the contract: give it to any test runner (`it(check.name, check.run)`). */
export interface ContractCheck {
  /** What the check proves, as a test name. */
  name: string;
  /** Runs the check; rejects with an assertion error naming what the store got wrong. */
  run: () => Promise<void>;
}

const TOPIC = '/management/v1alpha1/watchtopics/contract';

/**
 * The contract every {@link SequenceProvider} must keep, as checks a third-party store runs to prove itself
 * (monotonic, durable, concurrent topics, failure reporting, and `resetSequence` when the store has it), the same
 * checks the built-in stores pass. Runner
 * neutral: each check is a name and a function.
 *
 * ```ts
 * import { it } from 'node:test';
 * for (const check of sequenceProviderContract({ create: () => new RedisSequenceStore(…) })) it(check.name, check.run);
 * ```
 */
export function sequenceProviderContract(subject: SequenceProviderSubject): ContractCheck[] {
  /** Runs `body` on a new store and closes the store whatever happened. */
  const withStore =
    (body: (store: SequenceProvider) => Promise<void>): (() => Promise<void>) =>
    async () => {
      const store = await subject.create();
      try {
        await body(store);
      } finally {
        await store.close?.();
      }
    };
  const checks: ContractCheck[] = [
    {
      name: 'a topic never stored has no position (undefined, not 0)',
      run: withStore(async (store) => {
        assert.equal(await store.getSequence(TOPIC), undefined);
      }),
    },
    {
      name: 'a position stored is read back',
      run: withStore(async (store) => {
        await store.setSequence(TOPIC, 5);
        assert.equal(await store.getSequence(TOPIC), 5);
        await store.setSequence(TOPIC, 9_007_199_254_740_991);
        assert.equal(await store.getSequence(TOPIC), Number.MAX_SAFE_INTEGER, 'the largest safe sequence id');
      }),
    },
    {
      name: 'positions only move forward: a smaller or equal one (a late write) never replaces a larger one',
      run: withStore(async (store) => {
        await store.setSequence(TOPIC, 10);
        await store.setSequence(TOPIC, 7);
        assert.equal(await store.getSequence(TOPIC), 10, 'a smaller position replaced a larger one');
        await store.setSequence(TOPIC, 10);
        assert.equal(await store.getSequence(TOPIC), 10);
      }),
    },
    {
      name: 'writes in flight together on one topic: the largest wins, whatever order they finish in',
      run: withStore(async (store) => {
        const ids = Array.from({ length: 50 }, (_, i) => i + 1);
        await Promise.all(ids.map((id) => Promise.resolve(store.setSequence(TOPIC, id))));
        assert.equal(await store.getSequence(TOPIC), 50);
      }),
    },
    {
      name: 'topics are independent: many written concurrently each keep their own position',
      run: withStore(async (store) => {
        const topics = Array.from({ length: 20 }, (_, i) => `${TOPIC}-${i}`);
        await Promise.all(
          topics.flatMap((topic, i) => [
            Promise.resolve(store.setSequence(topic, 100 + i)),
            Promise.resolve(store.setSequence(topic, 50 + i)),
          ]),
        );
        for (const [i, topic] of topics.entries()) assert.equal(await store.getSequence(topic), 100 + i, topic);
        assert.equal(await store.getSequence(`${TOPIC}-unknown`), undefined);
      }),
    },
    {
      name: 'resetSequence, when the store has it: moves a position back (below the stored one), and later positions move forward from there',
      run: withStore(async (store) => {
        if (store.resetSequence === undefined) return;
        await store.setSequence(TOPIC, 1_000);
        await store.setSequence(`${TOPIC}-other`, 1_000);
        await store.resetSequence(TOPIC, 5);
        assert.equal(await store.getSequence(TOPIC), 5, 'the reset did not move the position back');
        assert.equal(await store.getSequence(`${TOPIC}-other`), 1_000, 'a reset moved another topic');
        await store.setSequence(TOPIC, 4);
        assert.equal(await store.getSequence(TOPIC), 5, 'after a reset, a smaller position replaced a larger one');
        await store.setSequence(TOPIC, 6);
        assert.equal(await store.getSequence(TOPIC), 6, 'after a reset, positions no longer move forward');
        await store.resetSequence(`${TOPIC}-never`, 3);
        assert.equal(await store.getSequence(`${TOPIC}-never`), 3, 'a reset of a topic never stored');
      }),
    },
    {
      name: 'close() settles, and a second close() too',
      run: async () => {
        const store = await subject.create();
        await store.setSequence(TOPIC, 3);
        await store.close?.();
        await store.close?.();
      },
    },
  ];
  const reopen = subject.reopen?.bind(subject);
  if (reopen !== undefined) {
    checks.push({
      name: 'durable: every position whose write resolved is read back after a restart (a new instance)',
      run: async () => {
        const first = await subject.create();
        const topics = Array.from({ length: 5 }, (_, i) => `${TOPIC}-durable-${i}`);
        try {
          await Promise.all(topics.map((topic, i) => Promise.resolve(first.setSequence(topic, 1_000 + i))));
        } finally {
          await first.close?.(); // also when a write failed: a store may hold a lock the reopen needs
        }
        const second = await reopen(first);
        try {
          for (const [i, topic] of topics.entries())
            assert.equal(await second.getSequence(topic), 1_000 + i, `${topic} after a restart`);
        } finally {
          await second.close?.();
        }
      },
    });
  }
  if (reopen !== undefined) {
    checks.push({
      name: 'resetSequence, when the store has it: durable, the position moved back is read back after a restart',
      run: async () => {
        const first = await subject.create();
        const reset = first.resetSequence?.bind(first);
        const topic = `${TOPIC}-reset-durable`;
        try {
          if (reset === undefined) return;
          await first.setSequence(topic, 1_000);
          await reset(topic, 5);
        } finally {
          await first.close?.();
        }
        const second = await reopen(first);
        try {
          assert.equal(await second.getSequence(topic), 5, `${topic} after a restart`);
        } finally {
          await second.close?.();
        }
      },
    });
  }
  const broken = subject.broken?.bind(subject);
  if (broken !== undefined) {
    checks.push({
      name: 'a write the storage cannot take rejects with an Error (never resolves as saved), and is not read back',
      run: async () => {
        const store = await broken();
        try {
          await assert.rejects(
            Promise.resolve().then(() => store.setSequence(TOPIC, 42)),
            Error,
          );
          // A second try fails as well: a store must not remember the failed value as written.
          await assert.rejects(
            Promise.resolve().then(() => store.setSequence(TOPIC, 42)),
            Error,
          );
          let read: number | undefined;
          try {
            read = await store.getSequence(TOPIC);
          } catch {
            read = undefined; // a store that cannot read either says so: fine
          }
          assert.notEqual(read, 42, 'the failed write is read back as if stored');
          const reset = store.resetSequence?.bind(store);
          if (reset !== undefined) {
            await assert.rejects(
              Promise.resolve().then(() => reset(TOPIC, 3)),
              Error,
              'a reset the storage cannot take resolved',
            );
            try {
              read = await store.getSequence(TOPIC);
            } catch {
              read = undefined;
            }
            assert.notEqual(read, 3, 'the failed reset is read back as if stored');
          }
        } finally {
          await Promise.resolve(store.close?.()).catch(() => undefined);
        }
      },
    });
  }
  return checks;
}
