import { describe, it } from 'node:test';
import './support/harness';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

// Every document or file the repository names must be in it: a reader with a clone (or the package) cannot open one
// that lives elsewhere. Scanned: the tracked text files and new ones not ignored (sources, tests, scripts, benches,
// examples, CI, configs, Markdown). Caught: names ending in `.md` or `.ts` (bare, repo-relative, relative to the
// file, or relative to `src/` as ARCHITECTURE.md writes them), `docs/` paths, Markdown links, `#anchors` into
// Markdown files, and `../shared`.

const ROOT = path.join(__dirname, '..');

/**
 * Names that are not files of this repository on purpose, per file that names them: a file of another project, or one
 * a test writes at run time. Anything else that does not resolve fails.
 */
const NOT_OURS: Readonly<Record<string, readonly string[]>> = {
  'src/transport/grpc-channel.ts': ['http_proxy.ts'], // grpc-js's own source file
  'test/killed-test-file.test.ts': ['probe.test.ts'], // the name a test gives a process it starts
  '.dependency-cruiser.cjs': ['src/stray.ts'], // the example of a file outside every layer
};

/** Built, not committed (ignored by .gitignore): named in the README, present only after `npm run docs`. */
const GENERATED = ['docs/api'];

/** Pattern files, not prose: their lines are globs. Also the lockfile, whose names are other packages'. */
const SKIPPED = new Set(['.gitignore', '.prettierignore', 'package-lock.json']);

/** This file and the code-pattern test of the mutants: their fixtures name files that do not exist, on purpose. */
const MADE_UP = new Set([path.relative(ROOT, __filename).split(path.sep).join('/'), 'test/mutant-patterns.test.ts']);

const TEXT = /\.(?:[cm]?[jt]s|md|json|proto|sh|ya?ml)$|^\.ci\//;

// A name ending in .md or .ts, not part of a URL, a glob or a longer name; with its #anchor if any.
const FILE_NAME = /(?<![\w./*@~:-])((?:\.{1,2}\/)*[\w-][\w.-]*(?:\/[\w.-]+)*\.(?:md|ts))(#[\w-]+)?(?![\w-])/g;
const DOCS_PATH = /(?<![\w./*@~:-])(docs\/[\w./-]*)/g;
const MD_LINK = /\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g;

interface Broken {
  where: string;
  reference: string;
  problem: string;
}

/** The folders `file` lies in, innermost first, down to the root (`.`): where a relative name may start. */
function ancestors(file: string): string[] {
  const out: string[] = [];
  for (let d = path.posix.dirname(file); d !== '.'; d = path.posix.dirname(d)) out.push(d);
  return [...out, '.'];
}

/** GitHub's anchor of a heading: lower case, punctuation dropped (hyphens and underscores kept), spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a Markdown text: its headings (repeats numbered as GitHub does) and explicit `<a id|name>`. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    if (fenced) continue;
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading !== null) {
      const base = slug(heading[1] ?? '');
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      anchors.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const a of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(a[1] ?? '');
  }
  return anchors;
}

/**
 * The references of `files` (repo-relative path → text) whose target is not among them. `exists` answers for paths
 * that are not scanned text (a directory, an image).
 */
function brokenReferences(
  files: ReadonlyMap<string, string>,
  exists: (repoPath: string) => boolean = () => false,
): Broken[] {
  const all = new Set(files.keys());
  const dirs = new Set<string>();
  const basenames = new Set<string>();
  for (const f of all) {
    basenames.add(path.posix.basename(f));
    for (let d = path.posix.dirname(f); d !== '.'; d = path.posix.dirname(d)) dirs.add(d);
  }
  const present = (p: string): boolean => all.has(p) || dirs.has(p) || exists(p);
  const anchorCache = new Map<string, Set<string>>();
  const anchors = (file: string): Set<string> => {
    let set = anchorCache.get(file);
    if (set === undefined) anchorCache.set(file, (set = anchorsOf(files.get(file) ?? '')));
    return set;
  };
  const broken: Broken[] = [];

  /** The repo path `target` names from `file`, undefined when none exists; 'outside' when it leaves the repo. */
  const resolve = (file: string, target: string, bases: readonly string[]): string | undefined => {
    // `./x` in a command line is from the root, `../x` only ever from the file.
    if (target.startsWith('../')) bases = [path.posix.dirname(file)];
    else if (target.startsWith('./')) bases = [path.posix.dirname(file), '.'];
    for (const base of bases) {
      const p = path.posix.normalize(path.posix.join(base, target)).replace(/\/$/, '');
      if (p === '..' || p.startsWith('../')) return 'outside';
      if (present(p) || GENERATED.some((g) => p === g || p.startsWith(`${g}/`))) return p;
    }
    return undefined;
  };

  for (const [file, text] of files) {
    if (SKIPPED.has(path.posix.basename(file)) || MADE_UP.has(file) || !TEXT.test(file)) continue;
    const notOurs = NOT_OURS[file] ?? [];
    const lines = text.split('\n');
    lines.forEach((line, i) => {
      const where = `${file}:${i + 1}`;
      const fail = (reference: string, problem: string): void => {
        // A Markdown link is also a name: told once.
        if (!broken.some((b) => b.where === where && b.reference === reference))
          broken.push({ where, reference, problem });
      };
      const checkAnchor = (reference: string, target: string, anchor: string | undefined): void => {
        if (anchor === undefined || !target.endsWith('.md') || !files.has(target)) return;
        if (!anchors(target).has(anchor)) fail(reference, `${target} has no heading with the anchor #${anchor}`);
      };
      if (line.includes('../shared')) fail('../shared', 'a folder outside the repository');
      for (const m of line.matchAll(FILE_NAME)) {
        const name = m[1] ?? '';
        if (name.endsWith('.d.ts') || notOurs.includes(name)) continue;
        const anchor = m[2]?.slice(1);
        const bare = !name.includes('/');
        // A bare name is any file of that name (the one beside the file, or at the root, first).
        const target = bare
          ? (resolve(file, name, [path.posix.dirname(file), '.']) ??
            (basenames.has(name) ? [...all].find((f) => path.posix.basename(f) === name) : undefined))
          : resolve(file, name, [...ancestors(file), 'src']);
        if (target === undefined) fail(m[0], 'no such file in the repository');
        else if (target === 'outside') fail(m[0], 'a path outside the repository');
        else checkAnchor(m[0], target, anchor);
      }
      for (const m of line.matchAll(DOCS_PATH)) {
        const name = (m[1] ?? '').replace(/\.+$/, ''); // not a sentence's full stop
        if (name.endsWith('.md') || name.endsWith('.ts')) continue; // checked above, with its anchor
        if (resolve(file, name, ['.']) === undefined) fail(name, 'no such file or folder in the repository');
      }
      if (!file.endsWith('.md')) return;
      for (const m of line.matchAll(MD_LINK)) {
        const link = m[1] ?? '';
        if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // a URL
        const [target = '', anchor] = link.split('#');
        if (target === '') {
          if (anchor !== undefined && !anchors(file).has(anchor))
            fail(link, `${file} has no heading with the anchor #${anchor}`);
          continue;
        }
        const p = resolve(file, target, [path.posix.dirname(file)]);
        if (p === undefined) fail(link, 'a link to a file that is not in the repository');
        else if (p === 'outside') fail(link, 'a link outside the repository');
        else checkAnchor(link, p, anchor);
      }
    });
  }
  return broken;
}

/** The repository's text files as git sees them: tracked, and new ones that are not ignored. */
function repositoryFiles(): Map<string, string> {
  let names: string[];
  try {
    names = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
      cwd: ROOT,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    })
      .split('\0')
      .filter((n) => n !== '');
  } catch {
    names = walk(ROOT, '');
  }
  const files = new Map<string, string>();
  for (const name of names) {
    let text: string;
    try {
      text = readFileSync(path.join(ROOT, name), 'utf8');
    } catch {
      continue; // deleted in the work tree
    }
    files.set(name, text.includes('\0') ? '' : text);
  }
  return files;
}

/** Without git (an exported tree): every file but dependencies, builds and VCS data. */
function walk(dir: string, prefix: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (['node_modules', 'dist', '.git', 'coverage'].includes(entry.name)) continue;
    const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (rel === 'docs/api') continue;
    if (entry.isDirectory()) out.push(...walk(path.join(dir, entry.name), rel));
    else out.push(rel);
  }
  return out;
}

function report(broken: readonly Broken[]): string {
  return broken.map((b) => `${b.where}: ${b.reference}: ${b.problem}`).join('\n');
}

describe('references to documents and files', () => {
  it('every document, file, link and anchor the repository names is in it', () => {
    const broken = brokenReferences(repositoryFiles(), (p) => {
      try {
        statSync(path.join(ROOT, p));
        return true;
      } catch {
        return false;
      }
    });
    assert.equal(
      broken.length,
      0,
      `references to what is not in the repository (write the document into docs/, or fix the name):\n${report(broken)}`,
    );
  });

  it('finds each kind of broken reference, naming the file and line, and passes the good ones', () => {
    const files = new Map<string, string>([
      ['docs/wire.md', '# The wire contract\n\n## History API\n\n## History API\n'],
      ['README.md', 'See [the wire](docs/wire.md#history-api) and [twice](docs/wire.md#history-api-1).\n## Use\n'],
      ['src/history/catch-up.ts', '// a short page is the last (docs/wire.md#history-api), see history-client.ts\n'],
      ['src/history/history-client.ts', ''],
      [
        'src/transport/watch-stream.ts',
        [
          '// the ping (WIRE.md)',
          '// written from ../shared/reference/WIRE.md',
          '// see docs/wire.md#no-such-section and docs/cli.md',
          '// moved: src/catch-up.ts; but transport/watch-stream.ts resolves from src/',
          '// a URL https://github.com/grpc/grpc-node/blob/master/README.md and a glob test/*.test.ts are not files',
        ].join('\n'),
      ],
      ['ARCHITECTURE.md', '[map](README.md#use) [gone](OLD.md) [here](#nowhere) `history/catch-up.ts`\n'],
    ]);
    const found = brokenReferences(files).map((b) => `${b.where} ${b.reference}`);
    assert.deepEqual(found.sort(), [
      'ARCHITECTURE.md:1 #nowhere',
      'ARCHITECTURE.md:1 OLD.md',
      'src/transport/watch-stream.ts:1 WIRE.md',
      'src/transport/watch-stream.ts:2 ../shared',
      'src/transport/watch-stream.ts:2 ../shared/reference/WIRE.md',
      'src/transport/watch-stream.ts:3 docs/cli.md',
      'src/transport/watch-stream.ts:3 docs/wire.md#no-such-section',
      'src/transport/watch-stream.ts:4 src/catch-up.ts',
    ]);
    assert.match(report(brokenReferences(files)), /watch-stream\.ts:1: WIRE\.md: no such file in the repository/);
  });
});
