// The linter: typescript-eslint's type-checked rules where they catch real bugs (promises nobody awaits, awaits of
// non-promises, unsafe `any` flowing in), plus the house rules that a tool can hold. Formatting is
// Prettier's alone (`npm run format:check`). The layers are held by dependency-cruiser (`npm run lint:layers`).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Time and randomness only through a Clock (src/core/clock.ts), so that tests inject them. */
const clockOnly = {
  'no-restricted-globals': [
    'error',
    { name: 'setTimeout', message: 'Arm timers through the Clock (src/core/clock.ts): tests inject time.' },
    { name: 'setInterval', message: 'Arm timers through the Clock (src/core/clock.ts): tests inject time.' },
    { name: 'setImmediate', message: 'Use the Clock (src/core/clock.ts): tests inject time.' },
  ],
  'no-restricted-properties': [
    'error',
    { object: 'Date', property: 'now', message: 'Read time through the Clock (src/core/clock.ts).' },
    {
      object: 'Math',
      property: 'random',
      message: 'Draw randomness through the Clock (src/core/clock.ts): tests seed it.',
    },
  ],
};

const PEER = {
  pg: { name: 'pg', message: 'Only src/postgres/ loads pg (an optional peer dependency).' },
  otel: {
    name: '@opentelemetry/api',
    message: 'Only src/opentelemetry/ loads @opentelemetry/api (an optional peer dependency).',
  },
};

export default tseslint.config(
  { ignores: ['dist/**', 'docs/**', 'node_modules/**', 'src/generated/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test's describe/it return promises the runner itself awaits.
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'],
            },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      // An async function without await still turns a throw into a rejection: that is why most of ours are async.
      '@typescript-eslint/require-await': 'off',
      // Rejections pass on what they were given (an AbortSignal's reason, a callback's error) unchanged.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
      // Prettier wraps code at 120 columns but never a comment or a string: comments are held to it here too.
      'max-len': [
        'error',
        {
          code: 120,
          ignoreStrings: true,
          ignoreTemplateLiterals: true,
          ignoreRegExpLiterals: true,
          ignoreUrls: true,
        },
      ],
    },
  },
  {
    // The SDK itself: the house rules.
    files: ['src/**/*.ts'],
    ignores: ['src/core/clock.ts', 'src/testing/**', 'src/cli/**'],
    rules: { ...clockOnly, '@typescript-eslint/no-explicit-any': 'error' },
  },
  // Optional peer dependencies: only their own entry loads each (watch-manager/postgres pg,
  // watch-manager/opentelemetry @opentelemetry/api). One rule per file set, since a later block replaces the rule.
  {
    files: ['src/**/*.ts'],
    ignores: ['src/postgres/**', 'src/opentelemetry/**'],
    rules: { 'no-restricted-imports': ['error', { paths: [PEER.pg, PEER.otel] }] },
  },
  {
    files: ['src/postgres/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [PEER.otel] }] },
  },
  {
    files: ['src/opentelemetry/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [PEER.pg] }] },
  },
  {
    // Tests match terminal colours (ESC) in output.
    files: ['test/**/*.ts'],
    rules: { 'no-control-regex': 'off' },
  },
  {
    files: ['**/*.cjs', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { module: 'writable', require: 'readonly', __dirname: 'readonly' } },
  },
);
