/**
 * The subset of RSQL the fake's resource API understands in a list's `query` (docs/resources.md#queries):
 * comparisons `field==value`, `field!=value`, `field=in=(a,b)`, `field=out=(a,b)`, joined by `;` (and) and `,` (or),
 * `;` binding tighter; no parentheses around expressions. A value is quoted (`"x"`, `'x'`) or bare; `*` in a `==` or
 * `!=` value matches any run of characters. A field is a dotted path (`name`, `attributes.k`,
 * `metadata.references.name`, `metadata.scope.name`, `spec.x`); where the path meets an array, any element matching is
 * a match. Anything else is refused, so that a client relying on more than the subset learns it at once.
 */

/** A compiled query: whether a resource matches. */
export type ResourcePredicate = (resource: unknown) => boolean;

/** Thrown for a query outside the subset; the message is the 400 answer's detail. */
export class RsqlError extends Error {}

export function compileRsql(query: string): ResourcePredicate {
  const ors = splitTop(query, ',').map((part) => splitTop(part, ';').map(comparison));
  return (resource) => ors.some((ands) => ands.every((test) => test(resource)));
}

const COMPARISON = /^([A-Za-z0-9_.-]+)(==|!=|=in=|=out=)(.+)$/s;

function comparison(text: string): ResourcePredicate {
  const match = COMPARISON.exec(text.trim());
  if (match === null) throw new RsqlError(`unsupported query term ${JSON.stringify(text)}`);
  const [, field, operator, rawValue] = match as unknown as [string, string, string, string];
  const path = field.split('.');
  if (operator === '=in=' || operator === '=out=') {
    if (!rawValue.startsWith('(') || !rawValue.endsWith(')'))
      throw new RsqlError(`${operator} needs a list in parentheses: ${JSON.stringify(text)}`);
    const values = new Set(splitTop(rawValue.slice(1, -1), ',').map(unquote));
    const inList = (resource: unknown): boolean => leaves(resource, path).some((v) => values.has(v));
    return operator === '=in=' ? inList : (resource) => !inList(resource);
  }
  const value = unquote(rawValue);
  const matches = value.includes('*') ? wildcard(value) : (v: string): boolean => v === value;
  const equal = (resource: unknown): boolean => leaves(resource, path).some(matches);
  return operator === '==' ? equal : (resource) => !equal(resource);
}

/** The string values at `path` in `value` (numbers and booleans as text), going into every element of an array. */
function leaves(value: unknown, path: readonly string[]): string[] {
  if (Array.isArray(value)) return value.flatMap((item) => leaves(item, path));
  if (path.length === 0) {
    if (typeof value === 'string') return [value];
    return typeof value === 'number' || typeof value === 'boolean' ? [String(value)] : [];
  }
  if (value === null || typeof value !== 'object') return [];
  const [head, ...rest] = path as [string, ...string[]];
  return Object.hasOwn(value, head) ? leaves((value as Record<string, unknown>)[head], rest) : [];
}

function wildcard(pattern: string): (v: string) => boolean {
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    's',
  );
  return (v) => re.test(v);
}

function unquote(text: string): string {
  const t = text.trim();
  if (t.length >= 2 && (t[0] === '"' || t[0] === "'") && t.at(-1) === t[0]) return t.slice(1, -1);
  if (t === '' || /["'()]/.test(t)) throw new RsqlError(`unsupported query value ${JSON.stringify(text)}`);
  return t;
}

/** `text` split at `separator` where it is outside quotes and parentheses. */
function splitTop(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '(') depth += 1;
    else if (c === ')') depth -= 1;
    else if (c === separator && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
    if (depth < 0) throw new RsqlError(`unbalanced parentheses in ${JSON.stringify(text)}`);
  }
  if (quote !== undefined || depth !== 0)
    throw new RsqlError(`unbalanced quotes or parentheses in ${JSON.stringify(text)}`);
  parts.push(text.slice(start));
  return parts;
}
