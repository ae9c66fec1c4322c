/**
 * `npm run mutate`: a hand-made mutation test runner.
 *
 *   node --import tsx scripts/mutate.ts [--only <name-substring>]… [--list] [--timeout <seconds>]
 *
 * Each mutant of scripts/mutants/ changes one token at a critical decision point of the SDK; the mutant is killed
 * when the test files named for it fail. A mutant names no file: its `find` is a code pattern looked for in all of
 * src/ (scripts/code-pattern.ts), so that formatting or moving code does not make it stale. Everything happens in
 * ONE scratch copy of the repo under os.tmpdir(): the working tree is only read, never written (another engineer
 * edits it meanwhile), and the scratch copy is removed at the end, also on Ctrl-C. Only Node built-ins are used, so
 * the runner works whatever the project depends on.
 *
 * Exit code: 0 (whatever the kill rate, so that scripts can read the MUTATE line), 1 on a stale mutant or a failing
 * baseline, 2 on a bad argument or a bad mutant definition.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { locate, patternProblem, type Found, type Source } from './code-pattern';
import { mutants, reverts, type Mutant } from './mutants';

// One-token mutants (the kill rate) and the fixes of issue 11 reverted (each must be killed by its test).
const allMutants: readonly Mutant[] = [...mutants, ...reverts];
const isRevert = (m: Mutant): boolean => reverts.includes(m);

/** The repository root: this file lives in <root>/scripts. */
const REPO = path.resolve(__dirname, '..');

/** What the scratch copy holds: enough to run the test suite from `src/`, nothing of `.git` or `dist`. */
const COPY_DIRS = ['src', 'test', 'proto', 'examples', 'bench'];
const COPY_FILES = ['package.json', 'README.md', 'LICENSE', 'typedoc.json'];

/** 8 minutes: far above the slowest related test file (~30 s), so only a hang reaches it. */
const DEFAULT_TIMEOUT_S = 8 * 60;

/** After SIGTERM to a timed-out test run, how long it gets before SIGKILL. */
const KILL_GRACE_MS = 5_000;

/** Output kept per test run, for the message of a failing baseline: the end of it is what explains a failure. */
const OUTPUT_TAIL_CHARS = 16_000;

/** The test command of package.json's "test" script, minus the file list (and with a reporter fit for a log). */
const TEST_ARGS = [
  '--conditions=watch-manager-source',
  '--import',
  'tsx',
  '--import',
  './test/support/leak-check.ts',
  '--test',
  '--test-concurrency=1',
  '--test-timeout=120000',
  '--test-reporter=spec',
];

type Status = 'KILLED' | 'SURVIVED' | 'TIMEOUT' | 'STALE' | 'EQUIVALENT';

interface RunResult {
  /** Exit code of the test command; null when a signal ended it. */
  code: number | null;
  timedOut: boolean;
  seconds: number;
  /** The last OUTPUT_TAIL_CHARS characters of stdout and stderr, interleaved as they came. */
  tail: string;
}

interface Outcome {
  mutant: Mutant;
  status: Status;
  seconds: number;
  /** For an equivalent mutant: what the tests said of it (a kill means the `equivalent` claim is wrong). */
  equivalentRun?: 'killed' | 'survived' | 'timeout';
  /** The file the pattern was found in (none for a stale mutant). */
  file?: string;
}

interface Args {
  only: string[];
  list: boolean;
  timeoutS: number;
}

class UsageError extends Error {}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { only: [], list: false, timeoutS: DEFAULT_TIMEOUT_S };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--list') {
      args.list = true;
    } else if (arg === '--only' || arg === '--timeout') {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`${arg} needs a value`);
      i += 1;
      if (arg === '--only') {
        args.only.push(value);
      } else {
        const seconds = Number(value);
        if (!Number.isFinite(seconds) || seconds <= 0)
          throw new UsageError(`--timeout takes a number of seconds > 0, not ${JSON.stringify(value)}`);
        args.timeoutS = seconds;
      }
    } else if (arg === '--help' || arg === '-h') {
      throw new UsageError('');
    } else {
      throw new UsageError(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  return args;
}

const USAGE = 'usage: node --import tsx scripts/mutate.ts [--only <name-substring>]… [--list] [--timeout <seconds>]';

/**
 * Checks what can be checked without running anything. A definition that can never be right (a duplicate name, a
 * replacement equal to its snippet, a test of the built package) is an error of scripts/mutants/; a pattern that no
 * longer matches the code once is a stale mutant, found later, per mutant.
 */
function validate(list: readonly Mutant[]): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  for (const m of list) {
    const who = `mutant ${JSON.stringify(m.name)}`;
    if (!/^[a-z0-9][a-z0-9.-]*$/.test(m.name)) problems.push(`${who}: a name is lower-case words joined by '-'`);
    if (names.has(m.name)) problems.push(`${who}: the name is used twice`);
    names.add(m.name);
    const pattern = patternProblem(m.find, m.replace);
    if (pattern !== undefined) problems.push(`${who}: ${pattern}`);
    if (m.tests.length === 0 || m.tests.length > 4)
      problems.push(`${who}: needs 1 to 4 test files, has ${m.tests.length}`);
    for (const t of m.tests) {
      if (!/^test\/(?:unit\/)?[^/]+\.test\.ts$/.test(t))
        problems.push(`${who}: test ${t} is not a test/<name>.test.ts or test/unit/<name>.test.ts file`);
      if (!fs.existsSync(path.join(REPO, t))) {
        problems.push(`${who}: test ${t} does not exist`);
        continue;
      }
      // The scratch copy has no dist/ (and is not rebuilt per mutant): a test of the built package would judge the
      // unmutated build, so a mutant would always survive it.
      if (/(^|[^\w-])dist[/'"]/m.test(fs.readFileSync(path.join(REPO, t), 'utf8'))) {
        problems.push(`${who}: test ${t} reads dist/, which the scratch copy does not have`);
      }
    }
    if (m.equivalent !== undefined && m.equivalent.trim() === '')
      problems.push(`${who}: an equivalent mutant must say why`);
  }
  return problems;
}

/** Copies a directory tree (files, directories and symlinks as they are). */
function copyTree(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) copyTree(src, dst);
    else if (entry.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(src), dst);
    else if (entry.isFile()) fs.copyFileSync(src, dst);
  }
}

/**
 * The one scratch copy of a run: `<root>/repo` is the copy, `<root>/tmp` is TMPDIR of every test run, so that what
 * tests leave in the temp directory (state files, certificates, secret-scan reports; a killed test cleans up
 * nothing) goes with the scratch copy instead of piling up in the machine's /tmp.
 */
class Scratch {
  readonly root: string;
  readonly repo: string;
  readonly tmp: string;
  private removed = false;

  constructor() {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), 'watch-manager-mutate-'));
    this.repo = path.join(this.root, 'repo');
    this.tmp = path.join(this.root, 'tmp');
    try {
      fs.mkdirSync(this.tmp);
      for (const dir of COPY_DIRS) {
        if (fs.existsSync(path.join(REPO, dir))) copyTree(path.join(REPO, dir), path.join(this.repo, dir));
      }
      const tsconfigs = fs.readdirSync(REPO).filter((n) => /^tsconfig.*\.json$/.test(n));
      for (const file of [...COPY_FILES, ...tsconfigs]) {
        if (fs.existsSync(path.join(REPO, file))) fs.copyFileSync(path.join(REPO, file), path.join(this.repo, file));
      }
      // A symlink, not a copy: node_modules is large, and nothing in it is mutated.
      fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(this.repo, 'node_modules'), 'dir');
    } catch (err) {
      // A half-made copy is of no use and nobody else would remove it.
      this.remove();
      throw err;
    }
  }

  /** Synchronous, so that it also runs from an 'exit' handler. Idempotent. */
  remove(): void {
    if (this.removed) return;
    this.removed = true;
    // rmSync does not follow the node_modules symlink: it removes the link, never the real node_modules.
    fs.rmSync(this.root, { recursive: true, force: true, maxRetries: 3 });
  }
}

/** The test run under way, so that a timeout or Ctrl-C can end it with everything it started. */
let current: ChildProcess | undefined;

/**
 * Kills the process group of a test run: the test runner, the processes it runs each file in, and whatever they
 * started (servers, tinyproxy, consumers they SIGKILL on purpose). The group id is the child's pid, as it was started
 * detached; ESRCH means nothing of it is left.
 */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Runs `files` with the suite's test command in the scratch copy; at most `timeoutS` seconds. */
function runTests(scratch: Scratch, files: readonly string[], timeoutS: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: scratch.tmp, TMP: scratch.tmp, TEMP: scratch.tmp };
    // No colours in the kept output; NODE_OPTIONS of the caller (an inspector, say) must not reach each test file.
    delete env.FORCE_COLOR;
    delete env.NODE_OPTIONS;
    env.NO_COLOR = '1';
    const child = spawn(process.execPath, [...TEST_ARGS, ...files], {
      cwd: scratch.repo,
      env,
      // Its own process group, so that killGroup reaches every process it starts, and a Ctrl-C in the terminal
      // reaches only this runner, which then ends the run itself.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    current = child;
    let tail = '';
    const keep = (chunk: Buffer): void => {
      tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    let timedOut = false;
    let hardKill: NodeJS.Timeout | undefined;
    const deadline = setTimeout(() => {
      timedOut = true;
      killGroup(child, 'SIGTERM');
      hardKill = setTimeout(() => killGroup(child, 'SIGKILL'), KILL_GRACE_MS);
    }, timeoutS * 1000);
    child.once('error', (err) => {
      clearTimeout(deadline);
      current = undefined;
      reject(err);
    });
    // 'close', not 'exit': the output is complete only once the pipes are closed.
    child.once('close', (code) => {
      clearTimeout(deadline);
      if (hardKill !== undefined) clearTimeout(hardKill);
      // The runner's exit ends the runner, not what a test started: whatever is left of the group goes now, so
      // that no server or proxy of this run outlives it (and holds a port or a file of the next one).
      killGroup(child, 'SIGKILL');
      current = undefined;
      resolve({ code, timedOut, seconds: (performance.now() - started) / 1000, tail });
    });
  });
}

/** One line of a snippet, for the table and the stale message: whitespace collapsed, long ones cut. */
function oneLine(text: string, max = 90): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

function printTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === cells.length - 1 ? c : pad(c, widths[i] as number))).join('  ');
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const row of rows) console.log(line(row));
}

function selected(args: Args): Mutant[] {
  if (args.only.length === 0) return [...allMutants];
  return allMutants.filter((m) => args.only.some((s) => m.name.includes(s)));
}

/** Every .ts file under `<root>/src`, repo-relative: where a mutant's pattern is looked for. */
function readSources(root: string): Source[] {
  const sources: Source[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(rel);
      else if (entry.isFile() && entry.name.endsWith('.ts'))
        sources.push({ file: rel, text: fs.readFileSync(path.join(root, rel), 'utf8') });
    }
  };
  walk('src');
  return sources.sort((a, b) => (a.file < b.file ? -1 : 1));
}

/** Why a mutant is stale, naming the places its pattern was found. */
function staleReason(places: readonly string[]): string {
  return places.length === 0
    ? 'the pattern is found nowhere in src/'
    : `the pattern is found ${places.length} times, not once: ${places.join(', ')}`;
}

/** --list: the mutants, and whether each pattern still occurs exactly once in the working tree (read only). */
function list(mutants: readonly Mutant[]): number {
  const sources = readSources(REPO);
  const stale: string[] = [];
  const rows = mutants.map((m) => {
    const at = locate(m.find, m.replace, sources);
    if (at.kind === 'stale') stale.push(`  ${m.name}: ${staleReason(at.places)}`);
    const state =
      at.kind === 'found' ? (m.equivalent === undefined ? 'ok' : 'equivalent') : `STALE (${at.places.length}x)`;
    return [
      m.name,
      state,
      at.kind === 'found' ? `${at.file}:${at.line}` : '-',
      m.tests.map((t) => path.basename(t, '.test.ts')).join(','),
      `${oneLine(m.find, 50)} => ${oneLine(m.replace, 50)}`,
    ];
  });
  printTable(['name', 'state', 'found at', 'tests', 'mutation'], rows);
  if (stale.length > 0) {
    console.log('');
    console.log(`stale (${stale.length}): make find match the code as it is now, in one place`);
    for (const line of stale) console.log(line);
  }
  console.log(
    `${mutants.length} mutants, ${stale.length} stale, ${new Set(mutants.flatMap((m) => m.tests)).size} distinct test files`,
  );
  return stale.length > 0 ? 1 : 0;
}

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    if (err.message !== '') console.error(`mutate: ${err.message}`);
    console.error(USAGE);
    return err.message === '' ? 0 : 2;
  }
  const problems = validate(allMutants);
  if (problems.length > 0) {
    for (const p of problems) console.error(`mutate: ${p}`);
    return 2;
  }
  const mutants = selected(args);
  if (mutants.length === 0) {
    console.error(`mutate: no mutant name contains ${args.only.map((s) => JSON.stringify(s)).join(' or ')}`);
    return 2;
  }
  if (args.list) return list(mutants);

  const t0 = performance.now();
  const scratch = new Scratch();
  // Ctrl-C, a kill, or any way out: the test run under way ends with its group, and the scratch copy goes.
  process.once('exit', () => {
    try {
      if (current !== undefined) killGroup(current, 'SIGKILL');
    } finally {
      scratch.remove();
    }
  });
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    process.once(signal, () => {
      console.error(`\nmutate: ${signal}: stopping the test run and removing ${scratch.root}`);
      process.exit(code); // the 'exit' handler above does the cleanup, synchronously
    });
  }
  console.log(`mutate: ${mutants.length} mutants, scratch copy ${scratch.repo}`);

  // Each pattern is located once, in the scratch copy as taken: the mutated file's text comes with it, and every
  // mutant starts from the pristine copy. Stale mutants finish at once, before any test runs, and the baseline need
  // not cover their test files.
  const sources = readSources(scratch.repo);
  const pristine = new Map(sources.map((s) => [s.file, s.text]));
  const outcomes: Outcome[] = [];
  const runnable: Array<{ mutant: Mutant; at: Found }> = [];
  for (const m of mutants) {
    const at = locate(m.find, m.replace, sources);
    if (at.kind === 'found') {
      runnable.push({ mutant: m, at });
      continue;
    }
    outcomes.push({ mutant: m, status: 'STALE', seconds: 0 });
    console.log(`STALE ${m.name} (0.0s)`);
    console.log(`  ${staleReason(at.places)}: ${oneLine(m.find)}`);
  }

  // Baseline: a mutant is judged against a green run of the same files, each file once, unmutated.
  const testFiles = [...new Set(runnable.flatMap((r) => r.mutant.tests))];
  console.log(`baseline: ${testFiles.length} test files, unmutated`);
  for (const file of testFiles) {
    const run = await runTests(scratch, [file], args.timeoutS);
    if (run.code !== 0 || run.timedOut) {
      console.error(run.tail);
      console.error(
        `mutate: the baseline fails: ${file} ${run.timedOut ? `timed out after ${args.timeoutS} s` : `exits ${run.code ?? 'by a signal'}`} without any mutant (its output above).`,
      );
      console.error(
        'mutate: a mutant can only be judged against a green baseline; fix the suite (or wait for the edit under way), then run again.',
      );
      return 1;
    }
    console.log(`  ok ${file} (${run.seconds.toFixed(1)}s)`);
  }

  for (const { mutant: m, at } of runnable) {
    const started = performance.now();
    const file = path.join(scratch.repo, at.file);
    fs.writeFileSync(file, at.mutated);
    let run: RunResult;
    try {
      run = await runTests(scratch, m.tests, args.timeoutS);
    } finally {
      // Restored at once, so that every mutant starts from the pristine copy whatever happened to the last one.
      fs.writeFileSync(file, pristine.get(at.file) as string);
    }
    const seconds = (performance.now() - started) / 1000;
    const verdict = run.timedOut ? 'timeout' : run.code === 0 ? 'survived' : 'killed';
    if (m.equivalent !== undefined) {
      outcomes.push({ mutant: m, status: 'EQUIVALENT', seconds, equivalentRun: verdict, file: at.file });
      console.log(
        `EQUIVALENT ${m.name} (${seconds.toFixed(1)}s)${verdict === 'survived' ? '' : `  -- but the tests ${verdict === 'killed' ? 'killed' : 'timed out on'} it: the equivalence claim is wrong`}`,
      );
      continue;
    }
    const status: Status = verdict === 'timeout' ? 'TIMEOUT' : verdict === 'survived' ? 'SURVIVED' : 'KILLED';
    outcomes.push({ mutant: m, status, seconds, file: at.file });
    console.log(`${status} ${m.name} (${seconds.toFixed(1)}s)`);
  }

  // The fixes reverted are reported on a line of their own: the kill rate is the one-token mutants'.
  const revertOutcomes = outcomes.filter((o) => isRevert(o.mutant));
  const count = (s: Status): number => outcomes.filter((o) => o.status === s && !isRevert(o.mutant)).length;
  const n = outcomes.length - revertOutcomes.length;
  const equivalent = count('EQUIVALENT');
  const stale = count('STALE');
  const timeouts = count('TIMEOUT');
  const killed = count('KILLED') + timeouts;
  const survived = count('SURVIVED');
  const judged = n - equivalent - stale;

  const survivors = outcomes.filter((o) => o.status === 'SURVIVED');
  console.log('');
  if (survivors.length === 0) {
    console.log('survivors: none');
  } else {
    console.log(`survivors (${survivors.length}): the tests pass with these bugs in the code`);
    printTable(
      ['name', 'file', 'mutated snippet (find => replace)'],
      survivors.map((o) => [
        o.mutant.name,
        o.file ?? '-',
        `${oneLine(o.mutant.find, 70)} => ${oneLine(o.mutant.replace, 70)}`,
      ]),
    );
  }
  const equivalents = outcomes.filter((o) => o.status === 'EQUIVALENT');
  if (equivalents.length > 0) {
    console.log('');
    console.log(`equivalent (${equivalents.length}), excluded from the kill rate:`);
    for (const o of equivalents)
      console.log(
        `  ${o.mutant.name}: ${o.mutant.equivalent ?? ''}${o.equivalentRun === 'survived' ? '' : ` [tests: ${o.equivalentRun ?? ''}]`}`,
      );
  }
  if (stale > 0) {
    console.log('');
    console.log(
      `stale (${stale}): make find in scripts/mutants/ match the code as it is now, in one place: ${outcomes
        .filter((o) => o.status === 'STALE')
        .map((o) => o.mutant.name)
        .join(', ')}`,
    );
  }
  console.log('');
  console.log(
    `killed by a failing test: ${killed - timeouts}, killed by timeout: ${timeouts}; total ${((performance.now() - t0) / 1000).toFixed(0)}s`,
  );
  const rate = judged === 0 ? 'n/a' : ((killed / judged) * 100).toFixed(1);
  if (revertOutcomes.length > 0) {
    const r = (s: Status): number => revertOutcomes.filter((o) => o.status === s).length;
    console.log(
      `REVERTS reverts=${revertOutcomes.length} killed=${r('KILLED') + r('TIMEOUT')} survived=${r('SURVIVED')} stale=${r('STALE')}`,
    );
  }
  console.log(
    `MUTATE mutants=${n} equivalent=${equivalent} killed=${killed} survived=${survived} stale=${stale} kill_rate=${rate}`,
  );
  return stale > 0 || revertOutcomes.some((o) => o.status === 'STALE') ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`mutate: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
