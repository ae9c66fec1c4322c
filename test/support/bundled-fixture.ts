import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { build, type Plugin } from 'esbuild';
import { removedWithParent } from './watchdog';

/**
 * A fixture (a .ts file the tests start as a child process) bundled with the src it imports into one CommonJS file,
 * to start as `node <file>`. Started with `--import tsx` instead, each child spends its first second or two (far more
 * on a busy machine) compiling and resolving the src files one by one: a test that kills and starts a child dozens of
 * times spent most of its time there. The bundle is built from the same source files, once per test process (so it
 * never lags behind an edit), with esbuild, which is what tsx compiles with. Packages stay outside it and load from
 * node_modules as usual, which is why it is written under node_modules/.cache (their resolution walks up from
 * there); `__dirname` and `__filename` in a bundled file keep naming that file's own place (src finds proto/ and
 * package.json by them).
 */

const ROOT = path.join(__dirname, '..', '..');
const OUT = path.join(ROOT, 'node_modules', '.cache', 'watch-manager-fixtures', String(process.pid));
const built = new Map<string, Promise<string>>();
let cleanup = false;

const ownPlaces: Plugin = {
  name: 'own-places',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8')
        .replace(/\b__dirname\b/g, JSON.stringify(path.dirname(args.path)))
        .replace(/\b__filename\b/g, JSON.stringify(args.path));
      return { contents: source, loader: 'ts' };
    });
  },
};

/** The bundle of `fixture` (a path), built on first use in this process; removed when the process ends. */
export function bundledFixture(fixture: string): Promise<string> {
  let bundle = built.get(fixture);
  if (bundle === undefined) {
    if (!cleanup) {
      cleanup = true;
      mkdirSync(OUT, { recursive: true });
      removedWithParent(OUT);
      process.once('exit', () => rmSync(OUT, { recursive: true, force: true }));
    }
    const outfile = path.join(OUT, `${path.basename(fixture, '.ts')}-${built.size}.cjs`);
    bundle = build({
      entryPoints: [fixture],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: `node${process.versions.node.split('.')[0]}`,
      packages: 'external',
      logLevel: 'silent',
      plugins: [ownPlaces],
    }).then(() => outfile);
    built.set(fixture, bundle);
  }
  return bundle;
}
