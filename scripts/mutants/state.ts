/**
 * The mutants of the code in src/state/: durable writes, the position flush bound, file stores, lease positions.
 */
import type { Mutant } from './mutant';
import { CLOSE, COORDINATED_WATCH, CRASH, DEAD_LETTER, RESTART, STATE, STORE } from './tests';

export const stateMutants: Mutant[] = [
  // ── Durable write order (durable-file.ts) ────────────────────────────────────────────────────────────────────
  {
    // The temp file is renamed over the target without fsync: a power loss can leave an empty position file.
    name: 'durable-temp-fsync',
    find: 'await handle.sync();\n    await handle.close();',
    replace: 'await handle.close();',
    tests: [STORE, STATE, DEAD_LETTER],
  },
  {
    // The rename is not made durable: after a power loss the old file (or no entry) is back.
    name: 'durable-directory-fsync',
    find: 'await syncDirectory(path.dirname(file), io);',
    replace: '',
    tests: [STORE, STATE, DEAD_LETTER],
  },
  {
    name: 'durable-file-mode',
    find: "(temp, 'wx', 0o600)",
    replace: "(temp, 'wx', 0o644)",
    tests: [STORE, STATE],
  },
  {
    // A write that fails before the rename leaves its temp file behind.
    name: 'durable-temp-cleanup',
    find: 'await io.rm(temp, { force: true }).catch(() => undefined);',
    replace: '',
    tests: [STORE, STATE, DEAD_LETTER],
  },

  // ── Position flush bound and batching (position-keeper.ts) ───────────────────────────────────────────────────
  {
    // A batch is written one acknowledgement late.
    name: 'position-batch-size',
    find: 'if (this.acks - this.savedAcks >= this.policy.everyAcks) this.startWrite();',
    replace: 'if (this.acks - this.savedAcks > this.policy.everyAcks) this.startWrite();',
    tests: [STORE],
  },
  {
    // The maxUnsavedAcks bound is not enforced: delivery never waits for a store that falls behind.
    name: 'position-unsaved-bound',
    find: 'this.maxUnsaved) return undefined;\n    return this.waiters.wait();',
    replace: 'this.maxUnsaved) return undefined;\n    return undefined;',
    tests: [STORE, CRASH, STATE],
  },
  {
    // The interval timer never writes the rest of a batch.
    name: 'position-interval-write',
    find: 'if (this.writing === undefined && this.written < this.recorded) this.startWrite();',
    replace: 'if (this.writing === undefined && this.written > this.recorded) this.startWrite();',
    tests: [STORE],
  },

  // ── Issue 20: items 11, 12 and 14 ──────────────────────────────────────────────────────────────────────────
  {
    // item 14: a write under a lease already lost is tried, and its refusal told as a second LEASE_LOST
    name: 'lease-positions-write-after-loss',
    find: '    if (this.lease.signal.aborted) return;',
    replace: '',
    tests: [COORDINATED_WATCH],
  },
  {
    // item 14: a fresh lock whose note names this process's pid (a container restarted as pid 1) refused at once
    name: 'file-lock-own-pid-alive',
    find: '  if (holder.pid === process.pid) return true;',
    replace: '',
    tests: [STATE],
  },

  // ── issue 20 #1: a restarted sequence moves the stored position back ──────────────────────────────────────
  {
    // The reset goes out while the write in flight (of the old sequence) has not landed.
    name: 'restart-reset-before-write-in-flight',
    find: '        await this.writing;\n        continue;',
    replace: '        await this.writing;\n        break;',
    tests: [RESTART],
  },
  {
    // The reset goes out while a write given up on at its deadline may still land after it.
    name: 'restart-reset-before-abandoned-write',
    find: 'if (this.abandoned.size === 0 || clock === undefined',
    replace: 'if (this.abandoned.size >= 0 || clock === undefined',
    tests: [RESTART],
  },
  {
    // After a reset the keeper still holds the old position: the new sequence's positions are never written.
    name: 'restart-keeper-recorded-after-reset',
    find: '    this.recorded = this.written = position;\n    this.savedAcks = this.acks;\n    this.waiters.releaseAll();\n    return true;',
    replace:
      '    this.written = position;\n    this.savedAcks = this.acks;\n    this.waiters.releaseAll();\n    return true;',
    tests: [RESTART],
  },
  {
    // An old position whose write failed (pending) follows the reset in the next write of the file.
    name: 'restart-file-pending-old-position',
    find: '    this.wanted.delete(topic);\n    this.resets.set(topic, sequenceId);',
    replace: '    this.resets.set(topic, sequenceId);',
    tests: [RESTART],
  },
  {
    // A position above a pending reset but below the durable one is ignored (and the reset not written with it).
    name: 'restart-file-set-above-pending-reset',
    find: 'if (sequenceId <= (this.resets.get(topic) ?? durable.get(topic) ?? 0)) return;',
    replace: 'if (sequenceId <= (durable.get(topic) ?? 0)) return;',
    tests: [RESTART],
  },
  {
    // A lease that can reset gives LeasePositions no resetSequence: the lease row keeps the old position.
    name: 'restart-lease-positions-no-reset',
    find: 'if (reset !== undefined) this.resetSequence',
    replace: 'if (reset === undefined) this.resetSequence',
    tests: [RESTART],
  },
  {
    // signal-exit's listeners left after an application's process.once('SIGTERM'): it kills the process at the signal.
    name: 'lock-signal-listeners-last',
    find: 'process.prependListener(signal, listener);',
    replace: 'process.addListener(signal, listener);',
    tests: [CLOSE],
  },
];
