import { describe, it } from 'node:test';
import './support/harness';
import assert from 'node:assert/strict';
import { locate, patternProblem, type Source } from '../scripts/code-pattern';

// The mutants of `npm run mutate` name a code pattern, not a file nor an exact text: a refactor that re-wraps a line,
// formats a file or moves it to another folder must leave every mutant valid, and a pattern that no longer says one
// place must say which places it found.

/** A source given to the search; its name carries no `.ts`: it is no file of the repository. */
const src = (file: string, text: string): Source => ({ file, text });

describe('a mutant pattern survives formatting and moves', () => {
  it('matches across any whitespace, and mutates only the characters that differ', () => {
    const code = 'export function f(a: number, b: number): boolean {\n  return (\n    a <=\n    b\n  );\n}\n';
    const at = locate('return (a <= b);', 'return (a < b);', [src('src/x', code)]);
    assert.equal(at.kind, 'found');
    if (at.kind !== 'found') return;
    assert.equal(at.file, 'src/x');
    assert.equal(at.line, 2);
    // The code keeps its own layout: only `=` is gone.
    assert.equal(
      at.mutated,
      'export function f(a: number, b: number): boolean {\n  return (\n    a <\n    b\n  );\n}\n',
    );
  });

  it('finds the file itself, wherever under src/ it now is', () => {
    const sources = [src('src/a', 'const x = 1;\n'), src('src/moved/deep/b', 'if (late && !seen(seq)) go();\n')];
    const at = locate('if (late && !seen(seq))', 'if (late && seen(seq))', sources);
    assert.equal(at.kind === 'found' && at.file, 'src/moved/deep/b');
    assert.equal(at.kind === 'found' && at.mutated, 'if (late && seen(seq)) go();\n');
  });

  it('takes a trailing comma that Prettier adds when it wraps a call', () => {
    const code = 'call(\n  first,\n  second,\n);\n';
    const at = locate('call(first, second)', 'call(second, second)', [src('src/c', code)]);
    assert.equal(at.kind === 'found' && at.mutated, 'call(\n  second,\n  second,\n);\n');
    // A pattern ending in a comma matches where the code's comma was squeezed away before a bracket.
    const options = '  const o = {\n    queryMode: "extended",\n  };\n  // queryMode: "extended" here\n';
    const comma = locate('queryMode: "extended",', 'queryMode: undefined,', [src('src/o', options)]);
    assert.equal(comma.kind === 'found' && comma.line, 2);
    assert.equal(comma.kind === 'found' && comma.mutated, options.replace('"extended",', 'undefined,'));
  });

  it('puts an insertion next to the code it belongs to, whatever whitespace the code has there', () => {
    const sql = 'WHERE epoch   = $3 AND x';
    const at = locate('epoch = $3', 'epoch >= $3', [src('src/q', sql)]);
    assert.equal(at.kind === 'found' && at.mutated, 'WHERE epoch   >= $3 AND x');
    const check = locate('if (bad !== undefined) {', 'if (bad !== undefined && false) {', [
      src('src/t', 'if (bad !== undefined\n) {'),
    ]);
    assert.equal(check.kind === 'found' && check.mutated, 'if (bad !== undefined && false\n) {');
  });

  it('removes a whole statement, leaving the code around it', () => {
    const code = '    after = position;\n    requested = 0;\n    fill();\n';
    const at = locate('requested = 0;\n    fill();', 'fill();', [src('src/r', code)]);
    assert.equal(at.kind === 'found' && at.mutated, '    after = position;\n    fill();\n');
  });

  it('never matches inside a word, and keeps words apart', () => {
    const sources = [
      src('src/w', 'const translate = seq <= high;\nconst late = seq <= high;\nconst lateness = seq <= high2;\n'),
    ];
    const at = locate('late = seq <= high', 'late = seq < high', sources);
    assert.equal(at.kind === 'found' && at.line, 2);
    assert.equal(locate('returnx', 'return x', [src('src/k', 'return x;')]).kind, 'stale');
  });

  it('is stale where it matches no place or several, and names the places', () => {
    const sources = [src('src/a', 'x();\nrequested = 0;\n'), src('src/b/c', '\n\n  requested =\n 0;\n')];
    assert.deepEqual(locate('requested = 0;', 'requested = 1;', sources), {
      kind: 'stale',
      places: ['src/a:2', 'src/b/c:3'],
    });
    assert.deepEqual(locate('nowhere();', 'elsewhere();', sources), { kind: 'stale', places: [] });
  });

  it('refuses a definition that mutates nothing or finds nothing', () => {
    assert.match(patternProblem('a <= b', 'a  <=\n b') ?? '', /only in whitespace/);
    assert.match(patternProblem('  \n', 'x') ?? '', /no code/);
    assert.equal(patternProblem('a <= b', 'a < b'), undefined);
  });
});
