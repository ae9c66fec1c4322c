/**
 * The `fields` projection of the fake's resource API (docs/resources.md#fields): `fields=name,metadata.id,status`
 * keeps only those paths, a top-level key whole, a dotted path only its leaf (with the objects leading to it). The
 * fake honours it strictly: a key not asked for is never sent, so that a client that depends on one it did not ask
 * for fails against the fake. A path the resource lacks is left out.
 */
export function projectFields(
  resource: Readonly<Record<string, unknown>>,
  fields: readonly string[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of fields) copyPath(resource, out, field.split('.'));
  return out;
}

/** Reads `fields` (comma-separated, blanks dropped) from a query; undefined when absent or empty. */
export function readFields(param: string | null): string[] | undefined {
  if (param === null) return undefined;
  const fields = param
    .split(',')
    .map((f) => f.trim())
    .filter((f) => f !== '');
  return fields.length === 0 ? undefined : fields;
}

function copyPath(from: Readonly<Record<string, unknown>>, to: Record<string, unknown>, path: readonly string[]): void {
  const [head, ...rest] = path as [string, ...string[]];
  if (!Object.hasOwn(from, head)) return;
  const value = from[head];
  if (rest.length === 0) {
    to[head] = value;
    return;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
  const existing = to[head];
  if (existing === value) return; // the whole object was asked for too
  const child = existing !== null && typeof existing === 'object' && !Array.isArray(existing) ? existing : {};
  to[head] = child;
  copyPath(value as Record<string, unknown>, child as Record<string, unknown>, rest);
}
