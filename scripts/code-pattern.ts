/**
 * A mutant's `find`, read as a code pattern rather than as exact text, so that formatting a file, re-wrapping a line
 * or moving a file to another folder does not make the mutant stale.
 *
 * - Whitespace does not count: any run of spaces and newlines equals any other, or none, except between two word
 *   characters (`return x` is not `returnx`). A comma right before a closing bracket does not count either (Prettier
 *   adds one when it wraps a call or a literal over several lines).
 * - A match never starts or ends inside a word: `seq <= x` does not match in `lastSeq <= x`.
 * - The file is not named: the pattern is looked for in every file given (all of src/), and must occur exactly once
 *   in all of them together; zero or several places make the mutant stale, and the places are named.
 *
 * The mutation itself is applied as an edit of the code's own characters: `find` and `replace` share a prefix and a
 * suffix, and only the part between them is replaced, so the code around it keeps its formatting.
 */

/** A text with whitespace squeezed out, and for each character left, where it stood in the text. */
interface Squeezed {
  text: string;
  /** `origin[i]` is the index in the original text of `text[i]`. */
  origin: number[];
}

const WORD = /[\w$]/;
const CLOSING = new Set([')', ']', '}']);

function isWord(char: string | undefined): boolean {
  return char !== undefined && WORD.test(char);
}

/** The text as the pattern sees it: see the rules above. */
function squeeze(raw: string): Squeezed {
  const text: string[] = [];
  const origin: number[] = [];
  let i = 0;
  while (i < raw.length) {
    const char = raw[i] as string;
    if (/\s/.test(char)) {
      const start = i;
      while (i < raw.length && /\s/.test(raw[i] as string)) i += 1;
      // One space is kept where two words would otherwise run together.
      if (isWord(text[text.length - 1]) && isWord(raw[i])) {
        text.push(' ');
        origin.push(start);
      }
      continue;
    }
    if (CLOSING.has(char) && text[text.length - 1] === ',') {
      text.pop();
      origin.pop();
    }
    text.push(char);
    origin.push(i);
    i += 1;
  }
  return { text: text.join(''), origin };
}

/** A source file the pattern is looked for in. */
export interface Source {
  /** Repo-relative path, for messages. */
  file: string;
  text: string;
}

/** Where a pattern was found, and the file's text with the mutation applied. */
export interface Found {
  kind: 'found';
  file: string;
  /** 1-based line of the match's first character. */
  line: number;
  /** The whole file, mutated. */
  mutated: string;
}

/** A pattern found nowhere or in several places: the mutant is stale. */
interface Stale {
  kind: 'stale';
  /** The places it was found (`file:line`), empty when none. */
  places: string[];
}

/** Why a pattern can never be a mutant, whatever the code: an error of the mutant's definition. */
export function patternProblem(find: string, replace: string): string | undefined {
  const pattern = squeeze(find).text;
  if (pattern === '' || pattern === ',') return 'find has no code in it';
  if (pattern === squeeze(replace).text) return 'replace differs from find only in whitespace: nothing is mutated';
  return undefined;
}

/**
 * The squeezed pattern, split off a trailing comma: the code's comma is squeezed away before a closing bracket, so a
 * pattern ending in `,` matches where the code goes on with a comma or a closing bracket.
 */
function patternOf(find: string): { core: string; comma: boolean } {
  const text = squeeze(find).text;
  return text.endsWith(',') ? { core: text.slice(0, -1), comma: true } : { core: text, comma: false };
}

function lineAt(text: string, index: number): number {
  let line = 1;
  for (let at = text.indexOf('\n'); at !== -1 && at < index; at = text.indexOf('\n', at + 1)) line += 1;
  return line;
}

/** Every start index of the pattern in `code` (squeezed), overlapping ones included, that does not cut a word. */
function matches(code: string, { core, comma }: { core: string; comma: boolean }): number[] {
  const found: number[] = [];
  for (let at = code.indexOf(core); at !== -1; at = code.indexOf(core, at + 1)) {
    const next = code[at + core.length];
    const cutsStart = isWord(core[0]) && isWord(code[at - 1]);
    const cutsEnd = comma ? next !== ',' && !CLOSING.has(next ?? '') : isWord(core[core.length - 1]) && isWord(next);
    if (!cutsStart && !cutsEnd) found.push(at);
  }
  return found;
}

/**
 * Finds `find` in `sources` and applies `replace` there. The caller has checked `patternProblem` first.
 */
export function locate(find: string, replace: string, sources: readonly Source[]): Found | Stale {
  const pattern = patternOf(find);
  const hits: Array<{ source: Source; squeezed: Squeezed; at: number }> = [];
  for (const source of sources) {
    const squeezed = squeeze(source.text);
    for (const at of matches(squeezed.text, pattern)) hits.push({ source, squeezed, at });
  }
  const places = hits.map((h) => `${h.source.file}:${lineAt(h.source.text, h.squeezed.origin[h.at] as number)}`);
  if (hits.length !== 1) return { kind: 'stale', places };
  const { source, squeezed, at } = hits[0] as (typeof hits)[number];
  return {
    kind: 'found',
    file: source.file,
    line: lineAt(source.text, squeezed.origin[at] as number),
    mutated: applyEdit(source.text, squeezed, at, find, replace),
  };
}

/**
 * Replaces, in the code, the characters that `find` and `replace` do not share. The part of `find` between the
 * common prefix and suffix (the cut) is mapped onto the code through the squeezed texts: the code characters of the
 * pattern, in order, are the code's characters at the same squeezed positions. The code keeps its own whitespace,
 * except where the cut begins or ends with whitespace in `find` (a statement removed with its line break): the
 * code's whitespace there goes too. An insertion goes next to the code character it touches in `find`:
 * `epoch = $3` → `epoch >= $3` puts `>` right before the code's `=`, whatever whitespace stands before it.
 */
function applyEdit(code: string, squeezed: Squeezed, at: number, find: string, replace: string): string {
  let prefix = 0;
  while (prefix < find.length && prefix < replace.length && find[prefix] === replace[prefix]) prefix += 1;
  let suffix = 0;
  while (
    suffix < find.length - prefix &&
    suffix < replace.length - prefix &&
    find[find.length - 1 - suffix] === replace[replace.length - 1 - suffix]
  )
    suffix += 1;
  const cutFrom = prefix;
  const cutTo = find.length - suffix;
  const inserted = replace.slice(prefix, replace.length - suffix);

  // The pattern's squeezed characters that have a code character: a trailing comma only where the code has one (not
  // where it was squeezed away before a bracket).
  const pattern = squeeze(find);
  const { core } = patternOf(find);
  const known = squeezed.text[at + core.length] === ',' ? pattern.origin.length : core.length;
  const origin = (k: number): number => pattern.origin[k] as number;
  const codeIndex = (k: number): number => squeezed.origin[at + k] as number;
  /** The code position right before the first code character of find at or after `raw`. */
  const beforeNext = (raw: number): number => {
    for (let k = 0; k < known; k++) if (origin(k) >= raw) return codeIndex(k);
    return codeIndex(known - 1) + 1;
  };
  /** The code position right after the last code character of find before `raw`. */
  const afterPrevious = (raw: number): number => {
    for (let k = known - 1; k >= 0; k--) if (origin(k) < raw) return codeIndex(k) + 1;
    return codeIndex(0);
  };
  const isSpace = (char: string | undefined): boolean => char !== undefined && /\s/.test(char);
  const cut: number[] = [];
  for (let k = 0; k < known; k++) if (origin(k) >= cutFrom && origin(k) < cutTo) cut.push(k);
  if (cut.length === 0) {
    const insertAt = cutFrom === 0 || isSpace(find[cutFrom - 1]) ? beforeNext(cutFrom) : afterPrevious(cutFrom);
    return code.slice(0, insertAt) + inserted + code.slice(insertAt);
  }
  const start = isSpace(find[cutFrom]) ? afterPrevious(cutFrom) : codeIndex(cut[0] as number);
  const end = isSpace(find[cutTo - 1]) ? beforeNext(cutTo) : codeIndex(cut[cut.length - 1] as number) + 1;
  return code.slice(0, start) + inserted + code.slice(end);
}
