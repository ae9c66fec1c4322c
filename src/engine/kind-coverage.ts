import { errorMessage } from '../core/errors';
import type { Log } from '../logging/logger';
import type { ResourceClient } from '../resources/resource-client';
import { filterKinds } from '../cache/topic-filters';

/**
 * Warns of each kind of `handlers.kinds` that no filter of the WatchTopic names: its handler is never called (a
 * misspelt kind receives nothing, and nothing else would say so). Best effort, run in the background: it never
 * rejects, a read that fails is a debug line, and `signal` (the watch stopped, the manager closed) ends it without a
 * word. A topic whose filters do not say which kinds it covers (none, or a kind that is not a plain name) is not
 * checked: a wrong "never called" would be worse than none.
 */
export async function warnUncoveredKinds(
  topic: string,
  kinds: readonly string[],
  resources: () => ResourceClient,
  log: Log,
  signal: AbortSignal,
): Promise<void> {
  let covered: readonly string[] | undefined;
  try {
    const watchTopic = await resources().get(topic, { fields: ['spec.filters'], signal });
    // No WatchTopic: the watch itself says so (TOPIC_NOT_FOUND).
    if (watchTopic === undefined) {
      log.debug(`kinds: the resource API has no WatchTopic at ${topic}: the kinds it covers not checked`);
      return;
    }
    covered = filterKinds(watchTopic);
  } catch (err) {
    if (!signal.aborted)
      log.debug(`kinds: the WatchTopic ${topic} could not be read to check the kinds it covers`, {
        error: errorMessage(err),
      });
    return;
  }
  if (signal.aborted) return;
  if (covered === undefined) {
    log.debug(`kinds: the WatchTopic ${topic} has no spec.filters that say which kinds it covers: not checked`);
    return;
  }
  for (const kind of kinds) {
    if (covered.includes(kind)) continue;
    log.warn(
      `kinds.${kind}: the WatchTopic ${topic} covers no such kind (it covers ${covered.join(', ')}): this handler is never called`,
      { topic, kind },
    );
  }
}
