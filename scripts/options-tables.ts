/**
 * `npm run docs:options`: rewrites the options tables of docs/configuration.md from the TSDoc of the options
 * interfaces, so that a default is written in one place (its `@default` tag, held to the runtime default by
 * test/configuration-doc.test.ts) and the page cannot drift from the code. Each table stands between
 * `<!-- options-table:<scope> -->` and `<!-- /options-table:<scope> -->`; everything outside the markers is prose
 * kept as written. A field added to an interface shows up by itself; a `@deprecated` one is marked as such.
 *
 * A `@default` is a **literal** when it starts with a JavaScript literal (a number, a quoted string, `true`, `false`,
 * an object or array of those) or the word `none` (the option stays unset), optionally followed by a note in
 * parentheses or after a colon: `@default 100 (the reference SDK's)`, `@default none: nothing is recorded`. The test
 * gives a literal default explicitly and checks it changes nothing. Any other `@default` is **descriptive** (prose
 * for a default that is not one value: "the environment variables", "3 × the service's ping interval"): shown in
 * italics, and named in the test's list of descriptive defaults.
 *
 * `node --import tsx scripts/options-tables.ts` writes the page; `--check` only says whether it is up to date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.join(__dirname, '..');

/** The page the tables live in. */
export const CONFIGURATION_PAGE = path.join(ROOT, 'docs', 'configuration.md');

/** One table: the options interface of one call. */
export interface OptionsScope {
  /** The marker name in the page. */
  readonly id: string;
  /** The source file that declares the interface (or type alias). */
  readonly file: string;
  /** The interface's name. */
  readonly type: string;
}

/** The tables of the page, in its order. */
export const SCOPES: readonly OptionsScope[] = [
  { id: 'manager', file: 'src/config/options.ts', type: 'WatchManagerOptions' },
  { id: 'watch', file: 'src/config/watch-options.ts', type: 'WatchOptions' },
  { id: 'iterate', file: 'src/delivery/watch-loop.ts', type: 'IterateOptions' },
  { id: 'cache', file: 'src/config/cache-options.ts', type: 'CacheOptions' },
  { id: 'file-resource-store', file: 'src/state/file-resource-store.ts', type: 'FileResourceStoreOptions' },
  { id: 'postgres-store', file: 'src/postgres/postgres-sequence-store.ts', type: 'PostgresSequenceStoreOptions' },
  {
    id: 'postgres-resource-store',
    file: 'src/postgres/postgres-resource-store.ts',
    type: 'PostgresResourceStoreOptions',
  },
  { id: 'postgres-coordinator', file: 'src/postgres/coordinator-options.ts', type: 'PostgresCoordinatorOptions' },
];

/** A default as the generator read it. */
export type OptionDefault =
  | { kind: 'absent' }
  | { kind: 'none'; text: string }
  | { kind: 'literal'; value: unknown; text: string }
  | { kind: 'descriptive'; text: string };

/** One option (a row): `path` is dotted for the fields of a nested options object (`keepalive.intervalMs`). */
export interface OptionRow {
  readonly path: string;
  readonly type: string;
  readonly required: boolean;
  readonly deprecated: string | undefined;
  readonly summary: string;
  readonly default: OptionDefault;
}

/** `{@link X}`, `{@link X | text}`, `{@link X.y}` as inline code; line breaks and runs of spaces as one space. */
function plain(text: string): string {
  return text
    .replace(/\{@link\s+([^}|\s]+)(?:\s*\|\s*([^}]+))?\s*\}/g, (_m, target: string, label?: string) =>
      label === undefined ? `\`${target}\`` : label.trim(),
    )
    .replace(/\s+/g, ' ')
    .trim();
}

/** Matches a literal at the start of `text`: the literal's source, or undefined. */
function literalSource(text: string): string | undefined {
  const simple = /^(?:-?\d[\d_]*(?:\.\d+)?|'[^']*'|"[^"]*"|true|false)/.exec(text);
  if (simple !== null) return simple[0];
  const open = text[0];
  if (open !== '{' && open !== '[') return undefined;
  const close = open === '{' ? '}' : ']';
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === open) depth++;
    else if (text[i] === close && --depth === 0) return text.slice(0, i + 1);
  }
  return undefined;
}

/** The value of a literal expression made of numbers, strings, booleans, objects and arrays; else undefined. */
function evaluate(node: ts.Expression): { value: unknown } | undefined {
  if (ts.isParenthesizedExpression(node)) return evaluate(node.expression);
  if (ts.isNumericLiteral(node)) return { value: Number(node.text) };
  if (ts.isPrefixUnaryExpression(node) && node.operator === ts.SyntaxKind.MinusToken) {
    const inner = evaluate(node.operand);
    return inner !== undefined && typeof inner.value === 'number' ? { value: -inner.value } : undefined;
  }
  if (ts.isStringLiteral(node)) return { value: node.text };
  if (node.kind === ts.SyntaxKind.TrueKeyword) return { value: true };
  if (node.kind === ts.SyntaxKind.FalseKeyword) return { value: false };
  if (ts.isArrayLiteralExpression(node)) {
    const items: unknown[] = [];
    for (const element of node.elements) {
      const item = evaluate(element);
      if (item === undefined) return undefined;
      items.push(item.value);
    }
    return { value: items };
  }
  if (ts.isObjectLiteralExpression(node)) {
    const object: Record<string, unknown> = {};
    for (const property of node.properties) {
      if (!ts.isPropertyAssignment(property) || !(ts.isIdentifier(property.name) || ts.isStringLiteral(property.name)))
        return undefined;
      const item = evaluate(property.initializer);
      if (item === undefined) return undefined;
      object[property.name.text] = item.value;
    }
    return { value: object };
  }
  return undefined;
}

/** Classifies a `@default` tag's text (see the file comment). */
export function parseDefault(raw: string | undefined): OptionDefault {
  if (raw === undefined) return { kind: 'absent' };
  const text = plain(raw);
  // What may follow a literal: nothing, or a note in parentheses or after a colon. Anything else ("3 × ...") makes
  // the whole text prose.
  const note = (rest: string): boolean => rest === '' || /^\s*\(/.test(rest) || /^:\s/.test(rest);
  if (/^none\b/.test(text) && note(text.slice(4))) return { kind: 'none', text };
  const source = literalSource(text);
  if (source !== undefined && note(text.slice(source.length))) {
    const file = ts.createSourceFile('default-tag', `(${source});`, ts.ScriptTarget.ES2022);
    const statement = file.statements[0];
    if (file.statements.length === 1 && statement !== undefined && ts.isExpressionStatement(statement)) {
      const literal = evaluate(statement.expression);
      if (literal !== undefined) return { kind: 'literal', value: literal.value, text };
    }
  }
  return { kind: 'descriptive', text };
}

/** Whether `type` is a nested options object whose fields get rows of their own: all optional, no call signature. */
function isNestedOptions(type: ts.Type, checker: ts.TypeChecker): boolean {
  if (!(type.flags & ts.TypeFlags.Object) || type.getCallSignatures().length > 0) return false;
  const properties = checker.getPropertiesOfType(type);
  const declared = type.getSymbol()?.declarations?.[0]?.getSourceFile().fileName ?? '';
  return (
    properties.length > 0 &&
    properties.every((p) => (p.flags & ts.SymbolFlags.Optional) !== 0) &&
    // Ours only: a platform type (Buffer, AbortSignal) is a value, not options to list.
    declared.startsWith(path.join(ROOT, 'src').split(path.sep).join('/'))
  );
}

/** Prints a type as written, without its comments. */
const PRINTER = ts.createPrinter({ removeComments: true, newLine: ts.NewLineKind.LineFeed });

/** The declared type of a property, as written in the source; `object` for an inline one listed by its rows. */
function typeText(symbol: ts.Symbol, checker: ts.TypeChecker, at: ts.Node, listed: boolean): string {
  const declaration = symbol.declarations?.[0];
  if (declaration !== undefined && ts.isPropertySignature(declaration) && declaration.type !== undefined) {
    if (listed && ts.isTypeLiteralNode(declaration.type)) return 'object';
    return PRINTER.printNode(ts.EmitHint.Unspecified, declaration.type, declaration.getSourceFile())
      .replace(/\s+/g, ' ')
      .replace(/[;,] \}/g, ' }');
  }
  return checker.typeToString(checker.getTypeOfSymbolAtLocation(symbol, at));
}

function rowsOf(type: ts.Type, checker: ts.TypeChecker, at: ts.Node, prefix: string): OptionRow[] {
  const rows: OptionRow[] = [];
  for (const symbol of checker.getPropertiesOfType(type)) {
    const tags = symbol.getJsDocTags(checker);
    const tag = (name: string): string | undefined => {
      const found = tags.find((t) => t.name === name);
      return found === undefined ? undefined : ts.displayPartsToString(found.text);
    };
    const rowPath = `${prefix}${symbol.name}`;
    const valueType = checker.getNonNullableType(checker.getTypeOfSymbolAtLocation(symbol, at));
    const nested = (valueType.isUnion() ? valueType.types : [valueType])
      .filter((part) => isNestedOptions(part, checker))
      .flatMap((part) => rowsOf(part, checker, at, `${rowPath}.`));
    rows.push({
      path: rowPath,
      type: typeText(symbol, checker, at, nested.length > 0),
      required: (symbol.flags & ts.SymbolFlags.Optional) === 0,
      deprecated: tags.some((t) => t.name === 'deprecated') ? plain(tag('deprecated') ?? '') : undefined,
      summary: plain(ts.displayPartsToString(symbol.getDocumentationComment(checker))),
      default: parseDefault(tag('default')),
    });
    rows.push(...nested);
  }
  return rows;
}

/** Reads every scope's rows from the sources (one TypeScript program over the scopes' files). */
export function readOptions(): Map<string, OptionRow[]> {
  const config = ts.getParsedCommandLineOfConfigFile(
    path.join(ROOT, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (config === undefined) throw new Error('tsconfig.json could not be read');
  const files = SCOPES.map((s) => path.join(ROOT, s.file));
  const program = ts.createProgram(files, config.options);
  const checker = program.getTypeChecker();
  const tables = new Map<string, OptionRow[]>();
  for (const scope of SCOPES) {
    const source = program.getSourceFile(path.join(ROOT, scope.file));
    if (source === undefined) throw new Error(`${scope.file} is not in the program`);
    const declaration = source.statements.find(
      (s): s is ts.InterfaceDeclaration | ts.TypeAliasDeclaration =>
        (ts.isInterfaceDeclaration(s) || ts.isTypeAliasDeclaration(s)) && s.name.text === scope.type,
    );
    if (declaration === undefined) throw new Error(`${scope.type} is not declared in ${scope.file}`);
    const type = checker.getTypeAtLocation(declaration.name);
    tables.set(scope.id, rowsOf(type, checker, declaration, ''));
  }
  return tables;
}

/** A table cell: no line breaks, pipes escaped. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

function defaultCell(row: OptionRow): string {
  switch (row.default.kind) {
    case 'absent':
      return row.required ? 'required' : '—';
    case 'none':
      return `none${row.default.text.slice(4)}`;
    case 'literal': {
      const source = literalSource(row.default.text) ?? row.default.text;
      return `\`${source}\`${row.default.text.slice(source.length)}`;
    }
    case 'descriptive':
      return `*${row.default.text}*`;
  }
}

/** The Markdown table of one scope's rows. */
export function renderTable(rows: readonly OptionRow[]): string {
  const lines = ['| option | type | default | meaning |', '|---|---|---|---|'];
  for (const row of rows) {
    const name = `\`${row.path}\`${row.deprecated === undefined ? '' : ' (deprecated)'}`;
    const meaning =
      row.deprecated === undefined
        ? row.summary
        : `**Deprecated**${row.deprecated === '' ? '' : `: ${row.deprecated}`}. ${row.summary}`;
    lines.push(`| ${cell(name)} | \`${cell(row.type)}\` | ${cell(defaultCell(row))} | ${cell(meaning.trim())} |`);
  }
  return lines.join('\n');
}

/** `page` with every marked table replaced by a fresh one; throws on a scope whose markers are missing. */
export function rewritePage(page: string, tables: ReadonlyMap<string, readonly OptionRow[]>): string {
  let out = page;
  for (const [id, rows] of tables) {
    const start = `<!-- options-table:${id} -->`;
    const end = `<!-- /options-table:${id} -->`;
    const from = out.indexOf(start);
    const to = out.indexOf(end);
    if (from === -1 || to < from) throw new Error(`docs/configuration.md lacks the markers ${start} ... ${end}`);
    out = `${out.slice(0, from + start.length)}\n${renderTable(rows)}\n${out.slice(to)}`;
  }
  return out;
}

if (require.main === module) {
  const page = readFileSync(CONFIGURATION_PAGE, 'utf8');
  const fresh = rewritePage(page, readOptions());
  if (process.argv.includes('--check')) {
    if (fresh !== page) {
      process.stderr.write('docs/configuration.md: the options tables are stale; run npm run docs:options\n');
      process.exitCode = 1;
    }
  } else if (fresh !== page) writeFileSync(CONFIGURATION_PAGE, fresh);
}
