// What enters from the resource API is checked where it enters: a resource without its identity, or a page that is
// not a bare JSON array of them, is a typed PROTOCOL error, never half a list.
import { WatchError } from '../core/errors';
import { isRecord } from '../core/option-checks';
import type { Resource } from './resource';

/** The keys every resource handed out has, added to any `fields` projection so that its identity stays readable. */
export const META_FIELDS = ['group', 'apiVersion', 'kind', 'name', 'metadata'] as const;

function parse(body: string, where: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    throw new WatchError('PROTOCOL', `${where}: the answer is not valid JSON`);
  }
}

/**
 * `value` as a {@link Resource}: an object with string `group`, `apiVersion`, `kind`, `name`, `metadata.id` and
 * `metadata.selfLink`.
 */
function asResource(value: unknown, place: string, item?: number): Resource {
  // The place is named only for an error: a page of 100 items must not cost 100 strings.
  const where = (): string => (item === undefined ? place : `${place}, item ${item}`);
  if (!isRecord(value)) throw new WatchError('PROTOCOL', `${where()}: not a JSON object`);
  const { metadata } = value;
  if (!isRecord(metadata) || typeof metadata.selfLink !== 'string' || !metadata.selfLink.startsWith('/'))
    throw new WatchError('PROTOCOL', `${where()}: a resource without metadata.selfLink`);
  for (const key of ['group', 'apiVersion', 'kind', 'name'] as const) {
    if (typeof value[key] !== 'string')
      throw new WatchError('PROTOCOL', `${where()}: the resource ${metadata.selfLink} has no ${key}`);
  }
  if (typeof metadata.id !== 'string' || metadata.id === '')
    throw new WatchError('PROTOCOL', `${where()}: the resource ${metadata.selfLink} has no metadata.id`);
  return value as Resource;
}

/** One resource's answer. */
export function decodeResource(body: string, where: string): Resource {
  return asResource(parse(body, where), where);
}

/** One page of a list: a bare JSON array of resources. */
export function decodePage(body: string, where: string): Resource[] {
  const data = parse(body, where);
  if (!Array.isArray(data)) throw new WatchError('PROTOCOL', `${where}: the page is not a JSON array`);
  return data.map((item, i) => asResource(item, where, i));
}
