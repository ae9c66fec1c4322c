/**
 * One mutant of `npm run mutate` (scripts/mutate.ts): a one-token bug at a decision point the SDK's guarantee rests
 * on. Each is a bug someone could plausibly write, and one a good test suite must catch.
 *
 * Rules: `find` is a code pattern that occurs exactly once in all of src/ (see scripts/code-pattern.ts: whitespace
 * and line breaks do not count, the file is found by the search, so formatting or moving code leaves the mutant
 * valid; a pattern found nowhere or in several places makes the mutant stale and the run fails, naming the places);
 * `replace` is the same snippet with ONE token changed (an operator, a constant, a boolean, a dropped `!`, a removed
 * call or statement); `tests` are the 1–4 test files that exercise the code, all importing `../src` (the scratch copy
 * has no `dist/`). `equivalent` says why a mutant cannot change behaviour; it is then left out of the kill rate (it
 * still runs: a kill means the claim is wrong).
 */
export interface Mutant {
  /** Unique, lower-case words joined by '-'; `--only` matches a substring of it. */
  name: string;
  /** A code pattern that occurs exactly once in all of src/ (whitespace-insensitive). */
  find: string;
  /** `find` with one token changed. */
  replace: string;
  /** The related test files, repo-relative (the constants of ./tests.ts). */
  tests: string[];
  /** Why this mutant cannot change behaviour, if so; excluded from the kill rate. */
  equivalent?: string;
}
