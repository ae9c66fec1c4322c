import assert from 'node:assert/strict';
import type { Resource } from '../core/resource';
import type { ResourceStore, StoredCache, StoredChange } from '../state/resource-store';
import type { ContractCheck } from './sequence-provider-contract';

/** Options of {@link resourceStoreContract}. */
export interface ResourceStoreContractOptions {
  /**
   * A second store over the same storage as `previous` (which the check has closed first), as a restarted process
   * would open it: proves that what a resolved write stored is loaded again. Leave it out for a store that keeps
   * nothing across restarts (such as `MemoryResourceStore`); the checks of a restart are then left out.
   */
  reopen?(previous: ResourceStore): ResourceStore | Promise<ResourceStore>;
}

const TOPIC = '/management/v1alpha1/watchtopics/contract';
const OTHER = '/management/v1alpha1/watchtopics/contract-other';

/** A resource of the contract's checks: `spec.value` tells its version apart. */
function resource(name: string, value: unknown = 1, kind = 'APIService'): Resource {
  const plural = `${kind.toLowerCase()}s`;
  return {
    group: 'management',
    apiVersion: 'v1alpha1',
    kind,
    name,
    metadata: {
      id: `id-${kind}-${name}`,
      selfLink: `/management/v1alpha1/environments/env/${plural}/${name}`,
      scope: { id: 'id-env', kind: 'Environment', name: 'env', selfLink: '/management/v1alpha1/environments/env' },
      resourceVersion: String(value),
    },
    spec: { value },
  };
}

/** Resources no line-based or text-based store may garble: line breaks, separators, quotes, non-BMP characters. */
function awkward(): Resource[] {
  const text = 'line\nbreak\r\n\u2028\u2029 tab\t "quoted" \\ back, 😀 é 中文';
  return [
    { ...resource('awkward-1', text), title: text, attributes: { [text]: text }, 'x-agent-details': { text } },
    { ...resource('awkward-2', { nested: [1, 2.5, -3, null, true, { deep: [[]] }], big: 'x'.repeat(70_000) }) },
  ];
}

/** What a store loaded, in an order-independent shape: position and resources by self link. */
function shape(cache: StoredCache | undefined): { position: number; resources: Record<string, Resource> } | undefined {
  if (cache === undefined) return undefined;
  assert.ok(Array.isArray(cache.resources), 'load() gave no resources array');
  const resources: Record<string, Resource> = {};
  for (const r of cache.resources) {
    const link = r.metadata.selfLink;
    assert.ok(!(link in resources), `load() gave ${link} twice`);
    resources[link] = r;
  }
  return { position: cache.position, resources };
}

function expected(position: number, resources: readonly Resource[]): ReturnType<typeof shape> {
  return shape({ position, resources: [...resources] });
}

/**
 * The contract every {@link ResourceStore} must keep (what the resource cache relies on), as checks a third-party
 * store runs to prove itself, the same checks the built-in stores pass: nothing stored loads as undefined; `replace`
 * then `load` gives exactly what was given; `apply` puts, deletes and moves the position, in order, an empty one
 * too; topics apart; `drop`; `close`; and with `reopen`, what a new instance over the same storage loads. Runner
 * neutral: each check is a name (prefixed with `name`) and a function.
 *
 * ```ts
 * import { it } from 'node:test';
 * const make = () => new RedisResourceStore(…);
 * for (const check of resourceStoreContract('RedisResourceStore', make)) it(check.name, check.run);
 * ```
 */
export function resourceStoreContract(
  name: string,
  make: () => ResourceStore | Promise<ResourceStore>,
  options: ResourceStoreContractOptions = {},
): ContractCheck[] {
  /** Runs `body` on a new store and closes the store whatever happened. */
  const withStore =
    (body: (store: ResourceStore) => Promise<void>): (() => Promise<void>) =>
    async () => {
      const store = await make();
      try {
        await body(store);
      } finally {
        await store.close?.();
      }
    };
  const checks: ContractCheck[] = [
    {
      name: 'a topic never stored loads as undefined (not an empty cache)',
      run: withStore(async (store) => {
        assert.equal(await store.load(TOPIC), undefined);
      }),
    },
    {
      name: 'replace then load gives exactly the resources and the position given, every field',
      run: withStore(async (store) => {
        const given = [resource('a'), resource('b', 2), resource('c', 3, 'Environment'), ...awkward()];
        await store.replace(TOPIC, given, 42);
        assert.deepEqual(shape(await store.load(TOPIC)), expected(42, given));
        assert.deepEqual(shape(await store.load(TOPIC)), expected(42, given), 'a second load differs');
      }),
    },
    {
      name: 'replace replaces everything: resources left out are gone, the position may move back, an empty replace empties',
      run: withStore(async (store) => {
        await store.replace(TOPIC, [resource('a'), resource('b'), resource('c')], 100);
        await store.apply(TOPIC, [{ op: 'put', resource: resource('d') }], 101);
        await store.replace(TOPIC, [resource('b', 2), resource('e')], 7);
        assert.deepEqual(shape(await store.load(TOPIC)), expected(7, [resource('b', 2), resource('e')]));
        await store.replace(TOPIC, [], 0);
        assert.deepEqual(shape(await store.load(TOPIC)), expected(0, []), 'an empty replace at position 0');
        await store.replace(TOPIC, [resource('a')], Number.MAX_SAFE_INTEGER);
        assert.deepEqual(shape(await store.load(TOPIC)), expected(Number.MAX_SAFE_INTEGER, [resource('a')]));
      }),
    },
    {
      name: 'apply puts (new and replacing), deletes (present and absent) in order, and moves the position',
      run: withStore(async (store) => {
        await store.replace(TOPIC, [resource('a'), resource('b'), resource('c')], 10);
        await store.apply(TOPIC, [{ op: 'put', resource: resource('d') }], 11);
        assert.deepEqual(
          shape(await store.load(TOPIC)),
          expected(11, [resource('a'), resource('b'), resource('c'), resource('d')]),
        );
        const changes: StoredChange[] = [
          { op: 'put', resource: resource('a', 2) },
          { op: 'delete', selfLink: resource('b').metadata.selfLink },
          { op: 'delete', selfLink: resource('never').metadata.selfLink },
          { op: 'put', resource: resource('e') },
          { op: 'delete', selfLink: resource('e').metadata.selfLink }, // put then delete: gone
          { op: 'delete', selfLink: resource('c').metadata.selfLink },
          { op: 'put', resource: resource('c', 5) }, // delete then put: there, the later version
          { op: 'put', resource: resource('d', 2) },
          { op: 'put', resource: resource('d', 3) }, // the last put of a self link wins
          ...awkward().map((r): StoredChange => ({ op: 'put', resource: r })),
        ];
        await store.apply(TOPIC, changes, 15);
        assert.deepEqual(
          shape(await store.load(TOPIC)),
          expected(15, [resource('a', 2), resource('c', 5), resource('d', 3), ...awkward()]),
        );
        for (let position = 16; position <= 40; position++)
          await store.apply(TOPIC, [{ op: 'put', resource: resource('a', position) }], position);
        assert.deepEqual(
          shape(await store.load(TOPIC)),
          expected(40, [resource('a', 40), resource('c', 5), resource('d', 3), ...awkward()]),
          'after many applies',
        );
      }),
    },
    {
      name: 'an empty apply moves the position and changes nothing else',
      run: withStore(async (store) => {
        await store.replace(TOPIC, [resource('a')], 5);
        await store.apply(TOPIC, [], 9);
        assert.deepEqual(shape(await store.load(TOPIC)), expected(9, [resource('a')]));
        await store.apply(TOPIC, [{ op: 'delete', selfLink: resource('absent').metadata.selfLink }], 12);
        assert.deepEqual(shape(await store.load(TOPIC)), expected(12, [resource('a')]), 'a delete of nothing');
      }),
    },
    {
      name: 'topics are apart: writes to one, concurrent with writes to another, never show in the other',
      run: withStore(async (store) => {
        const topics = Array.from({ length: 8 }, (_, i) => `${TOPIC}-${i}`);
        await Promise.all(topics.map((topic, i) => store.replace(topic, [resource(`only-${i}`)], 100 + i)));
        await Promise.all(
          topics.map(async (topic, i) => {
            for (let k = 1; k <= 5; k++)
              await store.apply(topic, [{ op: 'put', resource: resource(`only-${i}`, k) }], 100 + i + k);
          }),
        );
        for (const [i, topic] of topics.entries())
          assert.deepEqual(shape(await store.load(topic)), expected(105 + i, [resource(`only-${i}`, 5)]), topic);
        assert.equal(await store.load(OTHER), undefined, 'a topic never written');
      }),
    },
    {
      name: 'drop, when the store has it: the topic loads as undefined, other topics stay, and it can be stored again',
      run: withStore(async (store) => {
        if (store.drop === undefined) return;
        await store.replace(TOPIC, [resource('a')], 3);
        await store.apply(TOPIC, [{ op: 'put', resource: resource('b') }], 4);
        await store.replace(OTHER, [resource('z')], 8);
        await store.drop(TOPIC);
        assert.equal(await store.load(TOPIC), undefined, 'a dropped topic still loads');
        assert.deepEqual(shape(await store.load(OTHER)), expected(8, [resource('z')]), 'a drop touched another topic');
        await store.drop(`${TOPIC}-never`);
        await store.replace(TOPIC, [resource('c')], 1);
        assert.deepEqual(shape(await store.load(TOPIC)), expected(1, [resource('c')]), 'stored again after a drop');
      }),
    },
    {
      name: 'close() settles, and a second close() too',
      run: async () => {
        const store = await make();
        await store.replace(TOPIC, [resource('a')], 3);
        await store.close?.();
        await store.close?.();
      },
    },
  ];
  const reopen = options.reopen?.bind(options);
  if (reopen !== undefined) {
    checks.push({
      name: 'durable: a new instance over the same storage loads what every resolved write stored, per topic',
      run: async () => {
        const first = await make();
        try {
          await first.replace(TOPIC, [resource('a'), resource('b'), ...awkward()], 10);
          await first.apply(
            TOPIC,
            [
              { op: 'put', resource: resource('a', 2) },
              { op: 'delete', selfLink: resource('b').metadata.selfLink },
            ],
            11,
          );
          await first.apply(TOPIC, [], 12);
          await first.replace(OTHER, [resource('z')], 50);
          await first.replace(`${TOPIC}-dropped`, [resource('y')], 5);
          await first.drop?.(`${TOPIC}-dropped`);
        } finally {
          await first.close?.(); // also when a write failed: a store may hold a lock the reopen needs
        }
        const second = await reopen(first);
        try {
          assert.deepEqual(shape(await second.load(TOPIC)), expected(12, [resource('a', 2), ...awkward()]));
          assert.deepEqual(shape(await second.load(OTHER)), expected(50, [resource('z')]));
          if (first.drop !== undefined) assert.equal(await second.load(`${TOPIC}-dropped`), undefined, 'dropped');
          // The reopened store writes on top of what it found, and a third instance sees both.
          await second.apply(TOPIC, [{ op: 'put', resource: resource('c') }], 13);
        } finally {
          await second.close?.();
        }
        const third = await reopen(second);
        try {
          assert.deepEqual(
            shape(await third.load(TOPIC)),
            expected(13, [resource('a', 2), resource('c'), ...awkward()]),
            'a write after a restart',
          );
        } finally {
          await third.close?.();
        }
      },
    });
    checks.push({
      name: 'durable: a replace to a lower position after many applies is what a new instance loads',
      run: async () => {
        const first = await make();
        try {
          await first.replace(TOPIC, [resource('a')], 1_000);
          for (let position = 1_001; position <= 1_020; position++)
            await first.apply(TOPIC, [{ op: 'put', resource: resource(`n${position}`) }], position);
          await first.replace(TOPIC, [resource('fresh')], 3);
        } finally {
          await first.close?.();
        }
        const second = await reopen(first);
        try {
          assert.deepEqual(shape(await second.load(TOPIC)), expected(3, [resource('fresh')]));
        } finally {
          await second.close?.();
        }
      },
    });
  }
  return checks.map((check) => ({ name: `${name}: ${check.name}`, run: check.run }));
}
