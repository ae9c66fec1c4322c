import { after, before, describe, it } from 'node:test';
import './support/harness';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { installPacked, type PackedApp } from './support/packed-app';
import { startPostgres, type TestPostgres } from './support/postgres';
import { checkSamples, extractSamples, reportFailures, type Sample } from './support/samples';

// Every ```ts block of README.md and docs/*.md is a complete program (imports included): this file checks them as a
// new user runs them. The package packed and installed into an empty ES-module app with the packages the samples
// import besides it (test/support/packed-app.ts); every sample type-checked at once with the compiler options of a
// new TypeScript project, then each run with node, one after the other (test/support/samples.ts).

const ROOT = path.join(__dirname, '..');

/**
 * What the docs tell a user to install besides watch-manager (docs/operations.md, docs/replicas.md), and what
 * type-checks the samples: at the versions this project pins.
 */
const EXTRA = [
  'typescript',
  '@types/node',
  '@opentelemetry/api',
  '@opentelemetry/sdk-metrics',
  '@opentelemetry/exporter-prometheus',
  'pg',
  '@types/pg',
];

/** The pages whose samples are checked: README.md, then docs/*.md by name. */
function documentedSamples(): Sample[] {
  const pages = [
    'README.md',
    ...readdirSync(path.join(ROOT, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .sort()
      .map((f) => `docs/${f}`),
  ];
  return pages.flatMap((page) => extractSamples(readFileSync(path.join(ROOT, page), 'utf8'), page));
}

describe('the samples of the README and docs/, packed, installed, type-checked and run as written', () => {
  let packed: PackedApp;
  before(
    async () => {
      packed = await installPacked({ extra: EXTRA, packageJson: { type: 'module' } });
    },
    { timeout: 600_000 },
  );
  after(() => {
    packed.remove();
  });

  it(
    'every ts block of README.md and docs/*.md type-checks (strict) and exits 0 by itself',
    { timeout: 1_800_000 },
    async () => {
      const samples = documentedSamples();
      assert.ok(
        samples.some((s) => s.doc === 'README.md'),
        'the README has its quick start as a ts block',
      );
      // PostgreSQL samples read DATABASE_URL: a cluster of this test's, a fresh database for each sample.
      let postgres: TestPostgres | undefined;
      let databases = 0;
      const env = async (sample: Sample): Promise<NodeJS.ProcessEnv> => {
        if (!sample.code.includes('DATABASE_URL')) return {};
        postgres ??= await startPostgres();
        const database = `sample_${++databases}`;
        const client = new Client({ connectionString: postgres.connectionString });
        await client.connect();
        try {
          await client.query(`CREATE DATABASE ${database}`);
        } finally {
          await client.end();
        }
        return { DATABASE_URL: postgres.connectionString.replace(/\/postgres$/, `/${database}`) };
      };
      try {
        const failures = await checkSamples(packed.app, 'docs-samples', samples, env);
        assert.equal(
          failures.length,
          0,
          `${failures.length} of ${samples.length} samples fail:\n${reportFailures(failures)}`,
        );
      } finally {
        await postgres?.stop();
      }
    },
  );

  it(
    'names the block of a sample that does not type-check, of one that throws and of one that prints nothing, and passes the rest',
    { timeout: 600_000 },
    async () => {
      const doc = 'test/fixtures/broken-samples.md';
      const samples = extractSamples(readFileSync(path.join(ROOT, doc), 'utf8'), doc);
      assert.deepEqual(
        samples.map((s) => s.line),
        [12, 21, 30, 39],
        'the four ts blocks, not the sh one',
      );
      const failures = await checkSamples(packed.app, 'broken-samples', samples);
      const report = reportFailures(failures);
      assert.deepEqual(
        failures.map((f) => `${f.where} ${f.stage}`),
        [`${doc}:21 type-check`, `${doc}:30 run`, `${doc}:39 run`],
        report,
      );
      // The compiler's error at the page's line and column; the program's exit, error and stack at the page's line.
      assert.match(
        failures[0]?.output ?? '',
        /^test\/fixtures\/broken-samples\.md:24:7: error TS2322: Type 'number' is not assignable to type 'string'\./,
      );
      assert.match(failures[1]?.output ?? '', /^exited 1:\n/);
      assert.match(failures[1]?.output ?? '', /Error: this sample breaks at run time/);
      assert.match(failures[1]?.output ?? '', /test\/fixtures\/broken-samples\.md:34:\d+/);
      assert.match(failures[2]?.output ?? '', /^exited 0 but printed nothing on stdout:/);
      assert.match(report, /^test\/fixtures\/broken-samples\.md:21: the sample does not type-check\n {4}/);
    },
  );
});
