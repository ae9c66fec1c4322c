/**
 * The mutants of the resource cache's file store (src/state/file-resource-store.ts): which log follows which
 * snapshot, torn tails, checksums, compaction.
 */
import type { Mutant } from './mutant';
import { FILE_RESOURCE_STORE } from './tests';

export const resourceStoreMutants: Mutant[] = [
  {
    // A log of an older snapshot (a crash between a new snapshot and its new log) is applied on top of the new one.
    name: 'file-store-log-of-older-snapshot',
    find: 'if (header.generation !== generation) return undefined;',
    replace: '',
    tests: [FILE_RESOURCE_STORE],
  },
  {
    // A torn last record without its newline (a crash mid-append) is taken for corruption: the store cannot load.
    name: 'file-store-torn-tail-without-newline',
    find: 'if (next === -1 || next === data.length - 1) break;',
    replace: 'if (next === -1 && next === data.length - 1) break;',
    tests: [FILE_RESOURCE_STORE],
  },
  {
    // A torn tail is dropped at load but left in the file: the next append follows garbage, a later load fails.
    name: 'file-store-torn-tail-kept',
    find: 'if (parsed.validLength < (log as Buffer).length) await cutTornTail(logFile, parsed.validLength);',
    replace: 'if (parsed.validLength > (log as Buffer).length) await cutTornTail(logFile, parsed.validLength);',
    tests: [FILE_RESOURCE_STORE],
  },
  {
    // The log is folded into a new snapshot while it is small: every change rewrites the whole cache.
    name: 'file-store-compaction-threshold',
    find: 'if (open.recordBytes > (this.compactAfterBytes',
    replace: 'if (open.recordBytes < (this.compactAfterBytes',
    tests: [FILE_RESOURCE_STORE],
  },
  {
    // A record whose bytes changed but still parse is applied as written.
    name: 'file-store-record-checksum',
    find: "if (line.toString('latin1', first + 1, second) !== checksum(payload).slice(0, 16)) return undefined;",
    replace: '',
    tests: [FILE_RESOURCE_STORE],
  },
  {
    // A snapshot whose bytes changed is loaded as if whole.
    name: 'file-store-snapshot-checksum',
    find: "if (header.checksum !== `sha256:${checksum(body)}`) throw corrupt(file, 'fails its checksum');",
    replace: '',
    tests: [FILE_RESOURCE_STORE],
  },
  {
    // The log's records change the resources but not the position: resources of one position with another.
    name: 'file-store-record-position',
    find: 'applyChanges(resources, record.changes);\n        position = record.position;',
    replace: 'applyChanges(resources, record.changes);',
    tests: [FILE_RESOURCE_STORE],
  },
];
