import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource, ResourceCache, ResourceChange } from 'watch-manager';
import { scanForSecrets } from '../support/harness';

scanForSecrets();

// Checked by `npm run typecheck` (tsc compiles test/): a change is keyed on its `type`, so a listener reads
// `change.after` of a CREATED without `!`, and reading the `after` of a DELETED does not compile (each
// `@ts-expect-error` fails the typecheck if the line below it compiles). Nothing here runs against a service.

/** Compiles only when `T` is exactly `U` (both ways assignable, `any` excluded). */
type Equal<T, U> = (<V>() => V extends T ? 1 : 2) extends <V>() => V extends U ? 1 : 2 ? true : false;
const expectType = <T extends true>(): T => true as T;

declare const cache: ResourceCache;

// Defined, never called: only their types matter.
export const checks = {
  listenerNarrowsOnType(): void {
    cache.on('change', (change) => {
      if (change.type === 'CREATED') {
        // No `!`: a CREATED change holds what was created.
        const id: string = change.after.metadata.id;
        expectType<Equal<typeof change.before, undefined>>();
        void id;
      }
      if (change.type === 'UPDATED') {
        const versions: Array<string | undefined> = [
          change.before.metadata.resourceVersion,
          change.after.metadata.resourceVersion,
        ];
        void versions;
      }
      if (change.type === 'DELETED') {
        const gone: Resource = change.before;
        expectType<Equal<typeof change.after, undefined>>();
        // @ts-expect-error -- a DELETED change holds nothing after
        void change.after.metadata;
        void gone;
      }
    });
  },

  async iteratorNarrowsOnType(): Promise<void> {
    for await (const change of cache.changes()) {
      switch (change.type) {
        case 'CREATED':
        case 'UPDATED':
          void change.after.name;
          break;
        case 'DELETED':
          void change.before.name;
          break;
        default: {
          // Every type is handled above: nothing is left.
          const none: never = change;
          void none;
        }
      }
    }
  },

  notNarrowedWithoutACheck(change: ResourceChange): void {
    expectType<Equal<typeof change.after, Resource | undefined>>();
    // @ts-expect-error -- without a check of `type`, `after` may be undefined
    void change.after.metadata;
  },
};

describe('the ResourceChange type', () => {
  it('narrows before and after on type (checked by the typecheck)', () => {
    assert.equal(typeof checks.listenerNarrowsOnType, 'function');
  });
});
