import { utimesSync } from 'node:fs';
import path from 'node:path';

/**
 * Ages the lock of a FileResourceStore's directory whose holder was SIGKILLed (it never released it) past any
 * lockStaleMs, like a clock moved on: a crashed holder's lock is taken over only once no one refreshed it for
 * lockStaleMs (at least 2 s), which a test would otherwise sit out in real time at every kill. The takeover still
 * runs in full: the next store finds the lock held, sees its holder's pid gone and takes the stale lock over. Call it
 * only once the holder has exited (a live holder would refresh the lock again).
 */
export function ageKilledHoldersLock(directory: string): void {
  try {
    utimesSync(path.join(directory, 'resources.lock'), 0, 0);
  } catch (err) {
    // Killed before it took the lock: nothing to age.
    if ((err as { code?: string }).code !== 'ENOENT') throw err;
  }
}
