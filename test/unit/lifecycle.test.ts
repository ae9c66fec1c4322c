import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WatchError } from 'watch-manager';
import { StateMachine, type TransitionTable } from '../../src/core/state-machine';
import { PUBLIC_STATE, WATCH_TRANSITIONS, type WatchPhase } from '../../src/engine/watch-lifecycle';
import { STREAM_END, STREAM_LIFE } from '../../src/transport/stream-lifecycle';
import { LEASE_TRANSITIONS, type LeasePhase } from '../../src/engine/lease-lifecycle';
import { scanForSecrets } from '../support/harness';

scanForSecrets();

const PHASES = Object.keys(WATCH_TRANSITIONS) as WatchPhase[];

/** Moves `machine` to `next` and records the move made as `from>to`; a refused move records nothing. */
function move<S extends string>(machine: StateMachine<S>, next: S, moves: string[]): S {
  const left = machine.to(next);
  moves.push(`${left}>${machine.state}`);
  return left;
}

describe('the lifecycle of a watch: one transition table', () => {
  it('every legal move of the table is made, and reported once', () => {
    let walked = 0;
    for (const from of PHASES) {
      for (const to of WATCH_TRANSITIONS[from]) {
        const moves: string[] = [];
        const machine = new StateMachine<WatchPhase>('watch /t', from, WATCH_TRANSITIONS);
        assert.equal(move(machine, to, moves), from, `${from} → ${to} returns the state left`);
        assert.equal(machine.state, to);
        assert.ok(machine.hasBeen(from) && machine.hasBeen(to));
        assert.deepEqual(moves, [`${from}>${to}`]);
        walked += 1;
      }
    }
    assert.equal(walked, 14, 'the table has 14 legal moves; a new one needs its test here');
  });

  it('every move the table does not list throws WatchError INTERNAL and changes nothing', () => {
    let refused = 0;
    for (const from of PHASES) {
      for (const to of PHASES.filter((p) => !WATCH_TRANSITIONS[from].includes(p))) {
        const moves: string[] = [];
        const machine = new StateMachine<WatchPhase>('watch /t', from, WATCH_TRANSITIONS);
        assert.throws(
          () => move(machine, to, moves),
          (err: unknown) =>
            err instanceof WatchError &&
            err.code === 'INTERNAL' &&
            err.message.includes(`illegal state change ${from} → ${to}`) &&
            err.message.startsWith('watch /t'),
        );
        assert.equal(machine.state, from);
        if (to !== from) assert.equal(machine.hasBeen(to), false);
        assert.deepEqual(moves, []);
        refused += 1;
      }
    }
    assert.equal(refused, PHASES.length * PHASES.length - 14);
  });

  it('closed is final and every phase can close; the first subscription is only reached by connecting', () => {
    assert.deepEqual(WATCH_TRANSITIONS.closed, []);
    for (const phase of PHASES.filter((p) => p !== 'closed'))
      assert.ok(WATCH_TRANSITIONS[phase].includes('closed'), phase);
    const intoSubscribed = PHASES.filter((p) => WATCH_TRANSITIONS[p].includes('subscribed'));
    assert.deepEqual(intoSubscribed.sort(), ['connecting', 'reconnecting']);
  });

  it('each phase has a public state; the public states a user sees are those of WatchStatus', () => {
    assert.deepEqual(Object.keys(PUBLIC_STATE).sort(), [...PHASES].sort());
    assert.deepEqual([...new Set(Object.values(PUBLIC_STATE))].sort(), [
      'closed',
      'connecting',
      'reconnecting',
      'subscribed',
    ]);
  });

  it('a life as the engine lives it: first attempts, a subscription, a loss, a failed retry, back, closed', () => {
    const seen: WatchPhase[] = [];
    const machine = new StateMachine<WatchPhase>('watch /t', 'idle', WATCH_TRANSITIONS);
    const to = (step: WatchPhase): void => {
      machine.to(step);
      seen.push(machine.state);
    };
    for (const step of ['positioning', 'connecting', 'retrying', 'connecting', 'subscribed'] as const) to(step);
    assert.equal(machine.hasBeen('subscribed'), true);
    for (const step of ['reconnecting', 'reconnecting', 'subscribed', 'closed'] as const) to(step);
    assert.deepEqual(seen, [
      'positioning',
      'connecting',
      'retrying',
      'connecting',
      'subscribed',
      'reconnecting',
      'reconnecting',
      'subscribed',
      'closed',
    ]);
    assert.deepEqual(
      seen.map((p) => PUBLIC_STATE[p]),
      [
        'connecting',
        'connecting',
        'reconnecting',
        'connecting',
        'subscribed',
        'reconnecting',
        'reconnecting',
        'subscribed',
        'closed',
      ],
    );
  });

  it('a machine of another table refuses what its table does not list', () => {
    type Door = 'open' | 'shut';
    const table: TransitionTable<Door> = { open: ['shut'], shut: [] };
    const door = new StateMachine<Door>('door', 'open', table);
    door.to('shut');
    assert.throws(() => door.to('open'), { code: 'INTERNAL' });
    assert.ok(door.is('shut') && !door.can('open'));
  });
});

describe('the lifecycle of one subscribe call: two transition tables', () => {
  const walk = <S extends string>(table: TransitionTable<S>): { legal: number; illegal: number } => {
    const states = Object.keys(table) as S[];
    let legal = 0;
    let illegal = 0;
    for (const from of states) {
      for (const to of states) {
        const machine = new StateMachine<S>('stream of /t', from, table);
        if (table[from].includes(to)) {
          machine.to(to);
          assert.equal(machine.state, to);
          legal += 1;
        } else {
          assert.throws(() => machine.to(to), { code: 'INTERNAL' });
          assert.equal(machine.state, from);
          illegal += 1;
        }
      }
    }
    return { legal, illegal };
  };

  it('life only moves forward: unknown → accepted → alive, or unknown → alive', () => {
    assert.deepEqual(walk(STREAM_LIFE), { legal: 3, illegal: 6 });
  });

  it('the end: open → read-ended | draining | failing → finished; cancelled from any state but the final ones', () => {
    assert.deepEqual(walk(STREAM_END), { legal: 13, illegal: 23 });
    assert.deepEqual(STREAM_END.finished, []);
    assert.deepEqual(STREAM_END.cancelled, []);
    for (const state of ['open', 'read-ended', 'draining', 'failing'] as const)
      assert.ok(STREAM_END[state].includes('cancelled'), state);
  });
});

describe('the lease phases of a coordinated watch: one transition table', () => {
  const LEASE_PHASES = Object.keys(LEASE_TRANSITIONS) as LeasePhase[];
  it('every legal move is made; every other move throws INTERNAL', () => {
    const legal: string[] = [];
    for (const from of LEASE_PHASES) {
      for (const to of LEASE_PHASES) {
        const machine = new StateMachine<LeasePhase>('watch /t', from, LEASE_TRANSITIONS);
        if (LEASE_TRANSITIONS[from].includes(to)) {
          machine.to(to);
          legal.push(`${from}>${to}`);
        } else
          assert.throws(
            () => machine.to(to),
            (err: unknown) => err instanceof WatchError && err.code === 'INTERNAL',
          );
      }
    }
    // A lease is won only standing by (a new one waits until the last engine stopped), and closed is final.
    assert.deepEqual(
      legal.filter((m) => m.endsWith('>active')),
      ['standby>active'],
    );
    assert.deepEqual(LEASE_TRANSITIONS.closed, []);
    assert.equal(legal.length, 10, 'the table has 10 legal moves; a new one needs its test here');
  });
});
