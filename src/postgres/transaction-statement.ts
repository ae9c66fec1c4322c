/**
 * The statement a text starts with, when it is one that ends or changes a transaction (`COMMIT`, `SET TRANSACTION`…):
 * its leading words as written in upper case, or undefined for any other statement. What a transactional handler may
 * not run through `ctx.client`: the SDK begins, commits and rolls back its transaction itself.
 *
 * Only the first statement is looked at: the guard sends every text through the extended query protocol, in which
 * PostgreSQL refuses a text of several statements (`INSERT …; COMMIT` fails with 42601 and runs nothing). Leading
 * white space, comments (`--` and nested block comments), semicolons (empty statements, which PostgreSQL drops: `;
 * COMMIT` is a COMMIT) and parentheses are skipped; keywords are matched in any case. A word in double quotes is an
 * identifier, never a keyword. A `DO` block or a procedure that commits needs no check here: PostgreSQL refuses it
 * inside a transaction block (2D000 invalid transaction termination).
 */
export function transactionStatement(text: string): string | undefined {
  const words = leadingWords(text, 4).map((w) => w.toUpperCase());
  const [first, second] = words;
  if (first === undefined) return undefined;
  if (ENDS.has(first)) return second === 'TO' || second === 'PREPARED' ? `${first} ${second}` : first;
  // PREPARE TRANSACTION ends the transaction (even when prepared transactions are disabled and it fails).
  if (first === 'PREPARE' && second === 'TRANSACTION') return 'PREPARE TRANSACTION';
  if (first !== 'SET' && first !== 'RESET') return undefined;
  // SET [SESSION | LOCAL] TRANSACTION …, SET [SESSION | LOCAL] SESSION CHARACTERISTICS AS TRANSACTION …, and the
  // settings behind both, quoted or not (transaction_isolation, transaction_read_only, default_transaction_*…).
  const at = second === 'SESSION' || second === 'LOCAL' ? 2 : 1;
  const name = words[at]?.replace(/^"(.*)"$/, '$1');
  if (name === undefined) return undefined;
  const characteristics = name === 'CHARACTERISTICS' || (name === 'SESSION' && words[at + 1] === 'CHARACTERISTICS');
  if (name === 'TRANSACTION' || characteristics || /^(DEFAULT_)?TRANSACTION_/.test(name))
    return words.slice(0, at + 1).join(' ');
  return undefined;
}

/**
 * Statements that end a transaction or open or end one of its savepoints, by their first word (`START` only begins
 * `START TRANSACTION`, `RELEASE` only `RELEASE SAVEPOINT`, `END` and `ABORT` are COMMIT and ROLLBACK; `ROLLBACK
 * PREPARED` and `COMMIT PREPARED` are refused with them).
 */
const ENDS = new Set(['BEGIN', 'START', 'COMMIT', 'END', 'ROLLBACK', 'ABORT', 'SAVEPOINT', 'RELEASE']);

const SPACE = new Set([' ', '\t', '\n', '\r', '\f', '\v']);
const WORD_START = /[A-Za-z_\u0080-\uffff]/;
const WORD_PART = /[A-Za-z0-9_$\u0080-\uffff]/;

/**
 * Up to `max` words at the start of `text`, as written (a quoted identifier without its quotes, and marked so that it
 * never equals a keyword). Anything else (a number, an operator, a string) ends the list.
 */
function leadingWords(text: string, max: number): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < text.length && words.length < max) {
    const c = text.charAt(i);
    if (SPACE.has(c) || (words.length === 0 && (c === ';' || c === '('))) {
      i += 1;
    } else if (c === '-' && text.charAt(i + 1) === '-') {
      const eol = text.slice(i).search(/[\n\r]/);
      i = eol < 0 ? text.length : i + eol;
    } else if (c === '/' && text.charAt(i + 1) === '*') {
      i = afterBlockComment(text, i);
    } else if (c === '"') {
      const close = text.indexOf('"', i + 1);
      if (close < 0) break;
      words.push(`"${text.slice(i + 1, close)}"`); // quoted: an identifier, never a keyword
      i = close + 1;
    } else if (WORD_START.test(c)) {
      let end = i + 1;
      while (end < text.length && WORD_PART.test(text.charAt(end))) end += 1;
      words.push(text.slice(i, end));
      i = end;
    } else {
      break;
    }
  }
  return words;
}

/** The index after the block comment starting at `start`; block comments nest in PostgreSQL. */
function afterBlockComment(text: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < text.length) {
    if (text.startsWith('/*', i)) {
      depth += 1;
      i += 2;
    } else if (text.startsWith('*/', i)) {
      depth -= 1;
      i += 2;
      if (depth === 0) return i;
    } else {
      i += 1;
    }
  }
  return text.length;
}
