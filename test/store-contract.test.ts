import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileSequenceStore, MemorySequenceStore, type SequenceProvider } from 'watch-manager';
import { sequenceProviderContract } from 'watch-manager/testing';
import { scanForSecrets } from './support/harness';

scanForSecrets();

// The contract of watch-manager/testing that a third-party store runs to prove itself, run against both built-in
// stores: what it checks is what the SDK relies on (monotonic, durable, concurrent topics, failure reporting).

const dir = (): string => mkdtempSync(path.join(tmpdir(), 'wm-contract-'));
/** Each store's file, so that reopen() finds the same storage. */
const files = new WeakMap<SequenceProvider, string>();

describe('the SequenceProvider contract: MemorySequenceStore', () => {
  for (const check of sequenceProviderContract({ create: () => new MemorySequenceStore() })) it(check.name, check.run);
});

describe('the SequenceProvider contract: FileSequenceStore', () => {
  const checks = sequenceProviderContract({
    create: () => {
      const file = path.join(dir(), 'positions.json');
      const store = new FileSequenceStore(file);
      files.set(store, file);
      return store;
    },
    reopen: (previous) => new FileSequenceStore(files.get(previous) as string),
    broken: async () => {
      // The storage goes away under a store that holds its lock and wrote once: every later write fails (ENOENT)
      // after the lock, where a store that marks a position saved before its write lands would be caught.
      const home = dir();
      const store = new FileSequenceStore(path.join(home, 'positions.json'));
      await store.setSequence('/management/v1alpha1/watchtopics/before', 1);
      rmSync(home, { recursive: true, force: true });
      return store;
    },
  });
  for (const check of checks) it(check.name, check.run);
});

describe('the contract can fail', () => {
  it('a store that forgets, moves back, or resolves a write it could not make fails its checks', async () => {
    const forgetful = (): SequenceProvider => ({ getSequence: () => undefined, setSequence: () => undefined });
    const backwards = (): SequenceProvider => {
      const m = new Map<string, number>();
      return { getSequence: (t) => m.get(t), setSequence: (t, s) => void m.set(t, s) };
    };
    const memory = new Map<string, number>();
    const volatile = (): SequenceProvider => ({
      getSequence: (t) => memory.get(t),
      setSequence: (t, s) => void memory.set(t, Math.max(s, memory.get(t) ?? 0)),
    });
    const failed = async (subject: Parameters<typeof sequenceProviderContract>[0]): Promise<string[]> => {
      const names: string[] = [];
      for (const check of sequenceProviderContract(subject)) await check.run().catch(() => names.push(check.name));
      return names;
    };
    assert.ok((await failed({ create: forgetful })).some((n) => n.startsWith('a position stored is read back')));
    assert.ok((await failed({ create: backwards })).some((n) => n.startsWith('positions only move forward')));
    // A store that resolves a write its storage cannot take (and reads it back) fails the failure check.
    assert.ok((await failed({ create: volatile, broken: volatile })).some((n) => n.startsWith('a write the storage')));
    // A store whose resetSequence keeps positions moving forward only (or leaves them as they are) fails its check.
    const stuck = (): SequenceProvider => {
      const m = new MemorySequenceStore();
      return {
        getSequence: (t) => m.getSequence(t),
        setSequence: (t, s) => m.setSequence(t, s),
        resetSequence: (t, s) => m.setSequence(t, s),
      };
    };
    assert.ok(
      (await failed({ create: stuck })).some((n) => n.startsWith('resetSequence, when the store has it: moves')),
    );
    // A store that loses everything on restart fails the durability check.
    assert.ok((await failed({ create: backwards, reopen: () => backwards() })).some((n) => n.startsWith('durable')));
  });
});
