import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IterateOptions, ResyncNotice, WatchHandlers, WatchLoop, WatchManager, WatchRecord } from 'watch-manager';
import { scanForSecrets } from '../support/harness';

scanForSecrets();

// Checked by `npm run typecheck` (tsc compiles test/): the generic resync types infer what `resync.list` lists, so a
// handler or a loop reads `notice.snapshot` without a cast, and a wrong use does not compile (each
// `@ts-expect-error` fails the typecheck if the line below it compiles). Nothing here runs against a service: the
// functions are only type-checked.

/** Compiles only when `T` is exactly `U` (both ways assignable, `any` excluded). */
type Equal<T, U> = (<V>() => V extends T ? 1 : 2) extends <V>() => V extends U ? 1 : 2 ? true : false;
const expectType = <T extends true>(): T => true as T;

interface Api {
  name: string;
  version: number;
}

declare const manager: WatchManager;
const topic = '/management/v1alpha1/watchtopics/demo';
const apis = (): Api[] => [{ name: 'petstore', version: 2 }];

// Defined, never called: only their types matter.
export const checks = {
  async registerWatchInfersFromList(): Promise<void> {
    await manager.registerWatch(
      topic,
      {
        onEvent: () => undefined,
        onResync: (notice) => {
          expectType<Equal<typeof notice, ResyncNotice<Api>>>();
          // No cast: the snapshot's items are what list() returns.
          const names: string[] | undefined = notice.snapshot?.map((api) => api.name);
          void names;
        },
      },
      { resync: { list: apis } },
    );
  },

  async asyncListTakingTheTopic(): Promise<void> {
    await manager.registerWatch(
      topic,
      {
        onEvent: () => undefined,
        onResync: (notice) => {
          expectType<Equal<typeof notice.snapshot, Api[] | undefined>>();
          void notice.snapshot;
        },
      },
      { resync: { list: async (t: string) => (t === topic ? apis() : []) } },
    );
  },

  async withoutResyncUnknown(): Promise<void> {
    await manager.registerWatch(topic, {
      onEvent: () => undefined,
      onResync: (notice) => {
        expectType<Equal<typeof notice.snapshot, unknown[] | undefined>>();
        void notice.snapshot;
      },
    });
  },

  async handlersDoNotDecideT(): Promise<void> {
    const handlers: WatchHandlers<{ id: string }> = {
      onEvent: () => undefined,
      onResync: (notice) => void notice.snapshot?.map((x) => x.id),
    };
    // @ts-expect-error -- the handlers want { id } items, but list() lists Api
    await manager.registerWatch(topic, handlers, { resync: { list: apis } });
  },

  wrongUseOfTheSnapshot(): WatchHandlers<Api> {
    return {
      onEvent: () => undefined,
      onResync: (notice) => {
        // @ts-expect-error -- an Api has no `kind`
        void notice.snapshot?.[0]?.kind;
      },
    };
  },

  listMustReturnAnArray(): void {
    // @ts-expect-error -- list() returns an array (or a promise of one)
    void manager.watch(topic, { resync: { list: () => 'petstore' } });
  },

  async loopInfersFromList(): Promise<void> {
    const loop = manager.watch(topic, { resync: { list: apis }, concurrency: 4, maxAttempts: 3 });
    expectType<Equal<typeof loop, WatchLoop<Api>>>();
    for await (const record of loop) {
      expectType<Equal<typeof record, WatchRecord<Api>>>();
      if (record.kind === 'resync') {
        const first: Api | undefined = record.notice.snapshot?.[0];
        void first;
      }
      if (record.kind === 'event') record.fail(new Error('not now'));
    }
    const position: number | undefined = loop.acknowledgedSequenceId;
    void position;
    // @ts-expect-error -- the position is read-only
    loop.acknowledgedSequenceId = 3;
  },

  iterateOptionsDefaultUnknown(): void {
    const options: IterateOptions = { resync: { list: () => [1, 2] } };
    expectType<Equal<ReturnType<typeof manager.watch<unknown>>, WatchLoop>>();
    void options;
  },
};

describe('the generic resync types', () => {
  it('infer what resync.list lists (checked by the typecheck)', () => {
    assert.equal(typeof checks.registerWatchInfersFromList, 'function');
  });
});
