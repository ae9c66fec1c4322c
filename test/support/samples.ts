import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { run } from './packed-app';

/** One ```ts block of a Markdown page: a complete program, as a reader copies it. */
export interface Sample {
  /** The page, as named in a failure (`README.md`, `docs/wire.md`). */
  doc: string;
  /** The line of the block's opening fence (1-based). */
  line: number;
  /** The program. */
  code: string;
}

/** A sample that failed, at `doc:line` of its block: the compiler's or the program's output. */
export interface SampleFailure {
  where: string;
  stage: 'type-check' | 'run';
  output: string;
}

/** How long one sample may run: each ends by itself within seconds; a busy machine is given plenty more. */
const SAMPLE_TIMEOUT_MS = 60_000;

/**
 * The compiler options of a new TypeScript project (`tsc --init` of TypeScript 5.9, for Node.js: `types: ["node"]`)
 * in an ES-module app (`"type": "module"`, so samples may `await` at the top level): strict, index access checked,
 * optional properties exact, type-only imports written as such. Module resolution `nodenext` honours the package's
 * `exports`, as Node.js does. Source maps, so a run-time stack points into the sample.
 */
const TSCONFIG = {
  compilerOptions: {
    module: 'nodenext',
    target: 'es2022',
    lib: ['es2022'],
    types: ['node'],
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    verbatimModuleSyntax: true,
    isolatedModules: true,
    moduleDetection: 'force',
    skipLibCheck: true,
    sourceMap: true,
    rootDir: 'src',
    outDir: 'out',
  },
  include: ['src'],
};

/** The ```ts (or ```typescript) blocks of a Markdown page, with the line each starts on; other blocks are skipped. */
export function extractSamples(markdown: string, doc: string): Sample[] {
  const samples: Sample[] = [];
  let open: { fence: string; indent: number; line: number; typescript: boolean; code: string[] } | undefined;
  markdown.split('\n').forEach((text, i) => {
    if (open === undefined) {
      const fence = /^( *)(`{3,}|~{3,})\s*([\w-]*)/.exec(text);
      if (fence !== null)
        open = {
          fence: fence[2] as string,
          indent: (fence[1] as string).length,
          line: i + 1,
          typescript: ['ts', 'typescript'].includes(fence[3] as string),
          code: [],
        };
      return;
    }
    const trimmed = text.trim();
    if (trimmed.startsWith(open.fence) && trimmed.slice(open.fence.length).trim() === '') {
      if (open.typescript) samples.push({ doc, line: open.line, code: `${open.code.join('\n')}\n` });
      open = undefined;
      return;
    }
    // A block in a list item is indented as a whole: its program is not.
    open.code.push(text.slice(Math.min(open.indent, text.length - text.trimStart().length)));
  });
  return samples;
}

/** The file a sample is written to, named for its page and line: `README.md:88` → `readme-md-88`, a TypeScript file. */
function fileOf(sample: Sample): string {
  return `${sample.doc.replace(/[^A-Za-z0-9]+/g, '-').toLowerCase()}-${sample.line}.ts`;
}

/**
 * Replaces each `<file>.ts` position in a tool's output by the page line it stands for: line L of a sample is line
 * `block + L` of its page (the code starts right after the fence).
 */
function toPageLines(output: string, samples: readonly Sample[]): string {
  let text = output;
  for (const sample of samples) {
    const file = fileOf(sample).replace(/[.]/g, '\\.');
    text = text
      .replace(
        new RegExp(`(?:[^\\s(]*/)?${file}\\((\\d+),(\\d+)\\)`, 'g'),
        (_, l: string, c: string) => `${sample.doc}:${sample.line + Number(l)}:${c}`,
      )
      .replace(
        new RegExp(`(?:file://)?(?:[^\\s(]*/)?${file}:(\\d+)(?::(\\d+))?`, 'g'),
        (_, l: string, c: string | undefined) =>
          `${sample.doc}:${sample.line + Number(l)}${c === undefined ? '' : `:${c}`}`,
      );
  }
  return text;
}

/**
 * Checks `samples` as a user of the installed package would run them, in `dir` (a new folder inside an app made by
 * installPacked, with typescript and @types/node installed): all type-checked at once by the app's own `tsc`, then
 * each that type-checked run with node, one after the other, from a folder of its own, given `env(sample)`. A
 * sample fails when the compiler reports an error in it, or when it does not exit 0 within
 * {@link SAMPLE_TIMEOUT_MS}, or prints nothing on stdout. Compiler errors outside every sample fail as `tsc`.
 */
export async function checkSamples(
  app: string,
  dir: string,
  samples: readonly Sample[],
  env: (sample: Sample) => Promise<NodeJS.ProcessEnv> | NodeJS.ProcessEnv = () => ({}),
): Promise<SampleFailure[]> {
  const root = path.join(app, dir);
  mkdirSync(path.join(root, 'src'), { recursive: true });
  writeFileSync(path.join(root, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
  for (const sample of samples) writeFileSync(path.join(root, 'src', fileOf(sample)), sample.code);

  const failures: SampleFailure[] = [];
  const tsc = await run(
    process.execPath,
    [path.join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.', '--pretty', 'false'],
    root,
    300_000,
  );
  // One error a line, its explanation indented below it.
  const errors = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of `${tsc.stdout}${tsc.stderr}`.split('\n')) {
    if (line.trim() === '') continue;
    if (/^\s/.test(line) && current !== undefined) {
      current.push(line);
      continue;
    }
    const file = /^src\/([^(]+)\(/.exec(line)?.[1] ?? 'tsc';
    current = errors.get(file) ?? [];
    errors.set(file, current);
    current.push(line);
  }
  const failOn = (file: string): SampleFailure | undefined => {
    const lines = errors.get(file);
    if (lines === undefined) return undefined;
    const sample = samples.find((s) => fileOf(s) === file);
    return {
      where: sample === undefined ? 'tsc' : `${sample.doc}:${sample.line}`,
      stage: 'type-check',
      output: toPageLines(lines.join('\n'), samples),
    };
  };
  const outside = failOn('tsc');
  if (outside !== undefined) failures.push(outside);
  else if (tsc.code !== 0 && errors.size === 0)
    failures.push({ where: 'tsc', stage: 'type-check', output: `exit ${tsc.code}: ${tsc.stdout}${tsc.stderr}` });

  // In page order: each sample's compiler errors, or else its run.
  for (const sample of samples) {
    const typeError = failOn(fileOf(sample));
    if (typeError !== undefined) {
      failures.push(typeError);
      continue;
    }
    const cwd = path.join(root, 'run', fileOf(sample).replace(/\.ts$/, ''));
    mkdirSync(cwd, { recursive: true });
    const ran = await run(
      process.execPath,
      ['--enable-source-maps', path.join(root, 'out', fileOf(sample).replace(/\.ts$/, '.js'))],
      cwd,
      SAMPLE_TIMEOUT_MS,
      // As a user runs it: not as a child of this test runner (a node:test sample would report to it, unreadably).
      { NODE_TEST_CONTEXT: undefined, ...(await env(sample)) },
    );
    // A sample shows what it does: one that prints nothing shows nothing a reader can compare with.
    if (ran.code === 0 && ran.stdout.trim() !== '') continue;
    const how = ran.timedOut
      ? `did not end within ${SAMPLE_TIMEOUT_MS / 1000} s`
      : ran.code === 0
        ? 'exited 0 but printed nothing on stdout'
        : `exited ${ran.code}`;
    const output = `${ran.stdout}${ran.stderr}`;
    failures.push({
      where: `${sample.doc}:${sample.line}`,
      stage: 'run',
      output: `${how}:\n${toPageLines(output.length > 6000 ? `…${output.slice(-6000)}` : output, samples)}`,
    });
  }
  return failures;
}

/** Failures as one text, each headed by its `doc:line` and what failed. */
export function reportFailures(failures: readonly SampleFailure[]): string {
  return failures
    .map(
      (f) =>
        `${f.where}: ${f.stage === 'type-check' ? 'the sample does not type-check' : 'the sample failed'}\n` +
        f.output
          .trimEnd()
          .split('\n')
          .map((l) => `    ${l}`)
          .join('\n'),
    )
    .join('\n\n');
}
