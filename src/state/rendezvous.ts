import { createHash } from 'node:crypto';

/** A topic's preference for a member: the same on every member, for the same pair. */
function score(topic: string, member: string): bigint {
  return createHash('sha256').update(topic).update('\0').update(member).digest().readBigUInt64BE(0);
}

/**
 * Which member should run which topic: rendezvous (highest random weight) hashing, so that a member joining or
 * leaving moves mostly the topics it gains or loses, balanced: every member gets floor(T / N) or ceil(T / N) topics
 * (well inside the bound of ceil(T / N) + 1). A topic whose first choice is full goes to its next. Every member
 * computes the same answer from the same members and topics. Hashing only steers: the lease rows keep a topic from
 * ever being owned twice.
 */
export function assignTopics(topics: readonly string[], members: readonly string[]): Map<string, string> {
  const owners = new Map<string, string>();
  if (members.length === 0) return owners;
  const base = Math.floor(topics.length / members.length);
  let extra = topics.length % members.length; // members that may hold base + 1
  const load = new Map<string, number>(members.map((m) => [m, 0]));
  const hasRoom = (m: string): boolean => {
    const n = load.get(m) ?? 0;
    return n < base || (n === base && extra > 0);
  };
  // Topics in a fixed order (sorted), each to its most preferred member with room.
  for (const topic of [...topics].sort()) {
    const ranked = [...members].sort((a, b) => {
      const d = score(topic, b) - score(topic, a);
      return d > 0n ? 1 : d < 0n ? -1 : a < b ? -1 : 1;
    });
    const owner = ranked.find(hasRoom) ?? ranked[0];
    if (owner === undefined) continue; // members is not empty: never
    const n = (load.get(owner) ?? 0) + 1;
    if (n === base + 1) extra -= 1;
    load.set(owner, n);
    owners.set(topic, owner);
  }
  return owners;
}
