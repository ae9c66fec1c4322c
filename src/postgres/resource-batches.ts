import type { Resource } from '../core/resource';
import type { StoredChange } from '../state/resource-store';

/** What an `apply` leaves in the table, by self link: the resources put, and the self links removed. */
export interface NetChanges {
  puts: Resource[];
  deletes: string[];
}

/**
 * The net effect of `changes` applied in order: each self link's last change alone decides what its row becomes (a
 * put replaces the whole resource, a delete removes it), so the changes can go to the database as one multi-row
 * statement per op, whatever their order. One statement may not touch a row twice (ON CONFLICT DO UPDATE refuses
 * that), which this also rules out.
 */
export function netChanges(changes: readonly StoredChange[]): NetChanges {
  const last = new Map<string, StoredChange>();
  for (const change of changes) {
    const selfLink = change.op === 'put' ? change.resource.metadata.selfLink : change.selfLink;
    // Deleted first, so that the Map's order is the order of each self link's last change.
    last.delete(selfLink);
    last.set(selfLink, change);
  }
  const net: NetChanges = { puts: [], deletes: [] };
  for (const [selfLink, change] of last) {
    if (change.op === 'put') net.puts.push(change.resource);
    else net.deletes.push(selfLink);
  }
  return net;
}

/** The most resources one statement carries. */
const BATCH_ROWS = 5_000;

/** The most JSON text one statement carries (characters): a statement is one message, held whole by both ends. */
const BATCH_CHARS = 8 * 1024 * 1024;

/**
 * `resources` as JSON array texts, one per statement: at most {@link BATCH_ROWS} resources and (but for a single
 * larger resource) {@link BATCH_CHARS} characters each. The database reads each with `jsonb_array_elements`: one
 * parameter, no per-row escaping of an array literal on our side.
 */
export function resourceBatches(resources: readonly Resource[]): string[] {
  const batches: string[] = [];
  let texts: string[] = [];
  let chars = 0;
  for (const resource of resources) {
    const text = JSON.stringify(resource);
    if (texts.length > 0 && (texts.length >= BATCH_ROWS || chars + text.length > BATCH_CHARS)) {
      batches.push(`[${texts.join(',')}]`);
      texts = [];
      chars = 0;
    }
    texts.push(text);
    chars += text.length + 1;
  }
  if (texts.length > 0) batches.push(`[${texts.join(',')}]`);
  return batches;
}
