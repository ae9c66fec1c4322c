import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MANAGER_DEFAULTS, resolveOptions } from '../src/config/options';
import { WATCH_DEFAULTS, resolveWatchOptions } from '../src/config/watch-options';
import { ITERATE_DEFAULTS, resolveIterateOptions } from '../src/engine/manager-arguments';
import { CONNECTION_DEFAULTS, resolveConnection } from '../src/postgres/connection';
import { CACHE_DEFAULTS, resolveCacheOptions } from '../src/config/cache-options';
import {
  FILE_RESOURCE_STORE_DEFAULTS,
  FileResourceStore,
  type FileResourceStoreOptions,
} from '../src/state/file-resource-store';
import { COORDINATOR_DEFAULTS, resolveCoordinatorOptions } from '../src/postgres/coordinator-options';
import { VERSION } from '../src/core/version';
import {
  CONFIGURATION_PAGE,
  SCOPES,
  parseDefault,
  readOptions,
  renderTable,
  rewritePage,
  type OptionRow,
} from '../scripts/options-tables';
import { scanForSecrets } from './support/harness';

scanForSecrets();

// docs/configuration.md's options tables are generated from the TSDoc of the options interfaces
// (scripts/options-tables.ts, `npm run docs:options`). Held here: the page is what the generator writes, and every
// `@default` that is one value is the default the resolver really applies.

const TABLES = readOptions();

/** How each scope's options are resolved, from the fields a call cannot do without. */
interface Scope {
  /** The required fields (and, for the coordinator, a fixed member id: the default one is random by design). */
  readonly base: Record<string, unknown>;
  readonly resolve: (options: Record<string, unknown>) => Promise<Record<string, unknown>>;
  /** The exported defaults object the resolver reads. */
  readonly defaults: object;
}

const CONNECTION_STRING = 'postgres://wm@127.0.0.1:1/wm';

/** The connection options resolved; the pool it makes (never connected) is ended at once. */
async function connection(options: Record<string, unknown>, what: string): Promise<Record<string, unknown>> {
  const resolved = resolveConnection(options, what);
  await resolved.pool.end();
  return { ...resolved };
}

const RESOLVE: Readonly<Record<string, Scope>> = {
  manager: {
    base: { target: 'watch.example.com:443', tenantId: 't-1', getToken: () => 'x' },
    resolve: (options) => Promise.resolve({ ...resolveOptions(options, VERSION) }),
    defaults: MANAGER_DEFAULTS,
  },
  watch: {
    base: {},
    resolve: (options) => Promise.resolve({ ...resolveWatchOptions(options) }),
    defaults: WATCH_DEFAULTS,
  },
  iterate: {
    base: {},
    resolve: (options) => Promise.resolve({ ...resolveIterateOptions(options) }),
    defaults: ITERATE_DEFAULTS,
  },
  cache: {
    base: {},
    resolve: (options) => Promise.resolve({ ...resolveCacheOptions(options) }),
    defaults: CACHE_DEFAULTS,
  },
  'file-resource-store': {
    // The store validates and resolves its options in its constructor and touches nothing on disk until first used.
    base: { directory: join(tmpdir(), 'wm-configuration-doc-store') },
    resolve: (options) => Promise.resolve({ ...new FileResourceStore(options as unknown as FileResourceStoreOptions) }),
    defaults: FILE_RESOURCE_STORE_DEFAULTS,
  },
  'postgres-store': {
    base: { connectionString: CONNECTION_STRING },
    resolve: (options) => connection(options, 'PostgresSequenceStore'),
    defaults: CONNECTION_DEFAULTS,
  },
  'postgres-resource-store': {
    base: { connectionString: CONNECTION_STRING },
    resolve: (options) => connection(options, 'PostgresResourceStore'),
    defaults: CONNECTION_DEFAULTS,
  },
  'postgres-coordinator': {
    base: { connectionString: CONNECTION_STRING, memberId: 'member-1' },
    resolve: async (options) => ({
      ...resolveCoordinatorOptions(options),
      ...(await connection(options, 'PostgresCoordinator')),
    }),
    defaults: { ...COORDINATOR_DEFAULTS, ...CONNECTION_DEFAULTS },
  },
};

/**
 * The defaults that are not one value, per scope: the table shows their prose in italics and nothing checks them
 * against the code. A new one must be added here on purpose (a literal that failed to parse lands here too).
 */
const DESCRIPTIVE: Readonly<Record<string, readonly string[]>> = {
  manager: ['proxy', 'logger', 'userAgent', 'sequenceProvider', 'historyUrl', 'apiUrl', 'stallTimeoutMs', 'clock'],
  watch: ['from', 'keyOf', 'fetch.concurrency', 'fetch.fields'],
  iterate: ['from'],
  cache: ['store'],
  'file-resource-store': ['compactAfterBytes'],
  'postgres-store': [],
  'postgres-resource-store': [],
  'postgres-coordinator': ['memberId', 'renewDeadlineMs', 'clock'],
};

/** A value two resolutions can be compared by: instances by their class, functions by name, URLs by href. */
function comparable(value: unknown): unknown {
  if (typeof value === 'function') return `function ${value.name}`;
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof URL) return value.href;
  if (Array.isArray(value)) return value.map(comparable);
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null)
    return `instance of ${(value as { constructor: { name: string } }).constructor.name}`;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, comparable(v)]));
}

/** `options` with the (dotted) `path` set to `value`. */
function withPath(options: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const [head, ...rest] = path.split('.') as [string, ...string[]];
  if (rest.length === 0) return { ...options, [head]: value };
  const inner = options[head];
  return {
    ...options,
    [head]: withPath(typeof inner === 'object' && inner !== null ? { ...inner } : {}, rest.join('.'), value),
  };
}

/** The value at the (dotted) `path` of `object`. */
function atPath(object: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((v, key) => (v as Record<string, unknown> | undefined)?.[key], object);
}

/** Every leaf of a defaults object, by dotted path. */
function leaves(object: object, prefix = ''): Array<[string, unknown]> {
  return Object.entries(object as Record<string, unknown>).flatMap(([key, value]): Array<[string, unknown]> =>
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? leaves(value, `${prefix}${key}.`)
      : [[`${prefix}${key}`, value]],
  );
}

function rows(id: string): readonly OptionRow[] {
  const found = TABLES.get(id);
  assert.ok(found !== undefined, `no table ${id}`);
  return found;
}

describe('docs/configuration.md: the options tables (npm run docs:options)', () => {
  it('are what the generator writes from the TSDoc now (run npm run docs:options after changing an option)', () => {
    const page = readFileSync(CONFIGURATION_PAGE, 'utf8');
    assert.equal(rewritePage(page, TABLES), page);
  });

  it('cover every scope of the generator, and the test knows how to resolve each', () => {
    assert.deepEqual(Object.keys(RESOLVE).sort(), SCOPES.map((s) => s.id).sort());
  });

  for (const scope of SCOPES) {
    const { base, resolve, defaults } = RESOLVE[scope.id] as Scope;

    describe(`${scope.type}: every @default that is one value is the runtime default`, () => {
      for (const row of rows(scope.id)) {
        const documented = row.default;
        if (documented.kind === 'literal') {
          // Given explicitly, the documented value must resolve to exactly what leaving it out resolves to. (The
          // resolved value itself may differ in form: a schema is quoted, TLS's extra CAs join the system's roots.)
          it(`${row.path}: ${documented.text}`, async () => {
            const omitted = comparable(await resolve(base));
            const given = comparable(await resolve(withPath(base, row.path, documented.value)));
            assert.deepEqual(given, omitted, `${row.path} given as ${documented.text} resolves differently`);
          });
        } else if (documented.kind === 'none') {
          it(`${row.path}: none`, async () => {
            assert.equal(atPath(await resolve(base), row.path), undefined);
          });
        }
      }
    });

    it(`${scope.type}: the descriptive defaults (not one value, not checked) are exactly the listed ones`, () => {
      const descriptive = rows(scope.id)
        .filter((row) => row.default.kind === 'descriptive')
        .map((row) => row.path);
      assert.deepEqual(descriptive, DESCRIPTIVE[scope.id]);
    });

    it(`${scope.type}: every value of the resolver's defaults object is the documented @default`, () => {
      const byPath = new Map(rows(scope.id).map((row) => [row.path, row.default]));
      for (const [path, value] of leaves(defaults)) {
        const documented = byPath.get(path);
        assert.ok(documented?.kind === 'literal', `${path} has no literal @default (${JSON.stringify(documented)})`);
        assert.deepEqual(documented.value, value, `${path}: documented ${documented.text}, resolver ${String(value)}`);
      }
    });
  }
});

describe('scripts/options-tables.ts: how a @default is read and a row shown', () => {
  it('a literal, optionally with a note in parentheses or after a colon; else prose', () => {
    assert.deepEqual(parseDefault("100 (the reference SDK's)"), {
      kind: 'literal',
      value: 100,
      text: "100 (the reference SDK's)",
    });
    assert.deepEqual(parseDefault("'TLSv1.2'"), { kind: 'literal', value: 'TLSv1.2', text: "'TLSv1.2'" });
    assert.deepEqual(parseDefault('{ everyAcks: 1,\n intervalMs: 1000 }').kind, 'literal');
    assert.deepEqual(parseDefault('{ a: 1, b: [true, "x"] }'), {
      kind: 'literal',
      value: { a: 1, b: [true, 'x'] },
      text: '{ a: 1, b: [true, "x"] }',
    });
    assert.deepEqual(parseDefault('1_000'), { kind: 'literal', value: 1000, text: '1_000' });
    assert.equal(parseDefault('none: nothing is recorded').kind, 'none');
    assert.equal(parseDefault('none').kind, 'none');
    assert.equal(parseDefault(undefined).kind, 'absent');
    for (const prose of [
      "3 × the service's ping interval",
      '`watch-manager/<version>`',
      'the environment variables',
      'two thirds of leaseMs',
      'nonesuch',
      '{ a: someVariable }',
      '100 per watch',
    ])
      assert.equal(parseDefault(prose).kind, 'descriptive', prose);
  });

  it('a deprecated option is marked in its name and its meaning; pipes are escaped', () => {
    const table = renderTable([
      {
        path: 'highWaterMark',
        type: 'number',
        required: false,
        deprecated: 'use `concurrency`',
        summary: 'Records at most.',
        default: parseDefault('100'),
      },
      {
        path: 'tls',
        type: 'TlsOptions | false',
        required: false,
        deprecated: undefined,
        summary: 'TLS.',
        default: parseDefault('the system roots'),
      },
    ]);
    assert.match(
      table,
      /^\| `highWaterMark` \(deprecated\) \| `number` \| `100` \| \*\*Deprecated\*\*: use `concurrency`\. Records at most\. \|$/m,
    );
    assert.match(table, /^\| `tls` \| `TlsOptions \\\| false` \| \*the system roots\* \| TLS\. \|$/m);
  });
});
