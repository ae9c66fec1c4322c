import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assignTopics } from '../../src/state/rendezvous';
import { scanForSecrets } from '../support/harness';

scanForSecrets();

const topics = (n: number): string[] => Array.from({ length: n }, (_, i) => `/management/v1alpha1/watchtopics/t${i}`);
const loads = (owners: Map<string, string>): number[] => {
  const count = new Map<string, number>();
  for (const m of owners.values()) count.set(m, (count.get(m) ?? 0) + 1);
  return [...count.values()].sort((a, b) => a - b);
};

describe('rendezvous assignment of topics to members', () => {
  it('every topic has one owner, loads within one of each other, whatever T and N', () => {
    for (const n of [1, 2, 3, 4, 7]) {
      for (const t of [0, 1, 5, 30, 31, 100]) {
        const members = Array.from({ length: n }, (_, i) => `member-${i}`);
        const owners = assignTopics(topics(t), members);
        assert.equal(owners.size, t);
        const l = loads(owners);
        if (l.length > 0) assert.ok((l.at(-1) as number) - (l[0] as number) <= 1, `T=${t} N=${n}: ${l.join(',')}`);
        assert.ok(l.every((x) => x <= Math.ceil(t / n) + 1));
      }
    }
  });

  it('is the same on every member: order of the inputs does not matter', () => {
    const a = assignTopics(topics(30), ['x', 'y', 'z']);
    const b = assignTopics([...topics(30)].reverse(), ['z', 'x', 'y']);
    assert.deepEqual([...a.entries()].sort(), [...b.entries()].sort());
  });

  it('a member leaving moves few topics besides its own', () => {
    const before = assignTopics(topics(30), ['x', 'y', 'z']);
    const after = assignTopics(topics(30), ['x', 'y']);
    const moved = [...before.entries()].filter(([t, m]) => m !== 'z' && after.get(t) !== m).length;
    assert.ok(moved <= 5, `topics of the members that stayed that moved: ${moved}`);
  });
});
