import type { Resource } from '../core/resource';
import { WatchError } from '../core/errors';
import type { StoredChange } from '../state/resource-store';

// The checks of a PostgresResourceStore call's arguments, shared by the store and its fenced writes: what the
// database would refuse (NOT NULL columns) is refused here, typed, before any statement runs.

export function checkTopic(topic: unknown, call: string): void {
  if (typeof topic !== 'string' || topic === '') throw argument(call, 'topic', 'must be a non-empty string');
}

export function checkPosition(position: unknown, call: string): void {
  if (typeof position !== 'number' || !Number.isSafeInteger(position) || position < 0)
    throw argument(call, 'position', 'must be a sequence id (a whole number from 0 to 2^53 - 1)');
}

/** The columns of a resource's row are NOT NULL. */
export function checkResource(resource: Resource, call: string): void {
  const { metadata } = resource ?? {};
  const fields = [resource?.kind, resource?.group, resource?.name, metadata?.id, metadata?.selfLink];
  if (fields.some((field) => typeof field !== 'string' || field === ''))
    throw argument(call, 'resource', 'each must have kind, group, name, metadata.id and metadata.selfLink (strings)');
}

export function checkChanges(changes: readonly StoredChange[], call: string): void {
  for (const change of changes) {
    if (change?.op === 'put') checkResource(change.resource, call);
    else if (change?.op !== 'delete' || typeof change.selfLink !== 'string' || change.selfLink === '')
      throw argument(call, 'changes', "each must be { op: 'put', resource } or { op: 'delete', selfLink }");
  }
}

function argument(call: string, name: string, problem: string): WatchError {
  return new WatchError('INVALID_CONFIG', `invalid argument '${name}' of PostgresResourceStore.${call}: ${problem}`);
}
