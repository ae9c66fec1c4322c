/**
 * The mutants of the code in src/resources/: the resource client's paging, its checks and its retries.
 */
import type { Mutant } from './mutant';
import { FETCH_MODE, RESOURCE_CLIENT, RESOURCE_MISCONFIG } from './tests';

export const resourcesMutants: Mutant[] = [
  {
    // A 404 of a get becomes an error instead of `undefined`.
    name: 'resource-get-404-passes',
    find: "const reply = await this.send('GET', link, params, { where, signal, quiet: { until: 0 } }, true);",
    replace: "const reply = await this.send('GET', link, params, { where, signal, quiet: { until: 0 } }, false);",
    tests: [RESOURCE_CLIENT],
  },
  {
    // A repeated resource is kept: the list holds it twice.
    name: 'resource-list-repeat-check',
    find: 'if (seen.has(self)) return { problem:',
    replace: 'if (!seen.has(self)) return { problem:',
    tests: [RESOURCE_CLIENT],
  },
  {
    // A list across scopes takes a resource at another scope than its own metadata.scope names.
    name: 'resource-list-across-scopes-scope-check',
    find: 's[4] === item.metadata.scope?.name &&',
    replace: 's[4] !== item.metadata.scope?.name &&',
    tests: [RESOURCE_CLIENT],
  },
  {
    // A page shorter than the count promised is taken: a hole in the list.
    name: 'resource-list-short-counted-page',
    find: 'if (page.length < expected)',
    replace: 'if (page.length < 0)',
    tests: [RESOURCE_CLIENT],
  },
  {
    // The counted pages stop at the one before the last.
    name: 'resource-list-page-count',
    find: 'const pages = Math.max(1, Math.ceil(total / size));',
    replace: 'const pages = Math.max(1, Math.floor(total / size));',
    tests: [RESOURCE_CLIENT],
  },
  {
    // After a full last counted page, nothing more is read.
    name: 'resource-list-follow-full-page',
    find: 'while (last.length === size) {',
    replace: 'while (last.length > size) {',
    tests: [RESOURCE_CLIENT],
  },
  {
    // A short page before the last counted one does not stop the taking of pages: a request per promised page.
    name: 'resource-list-stop-after-short',
    find: 'if (page.length < size && number < last) short = true;',
    replace: 'if (page.length < size && number < last) short = false;',
    tests: [RESOURCE_CLIENT],
  },
  {
    // The workers are not bounded by `concurrency`.
    name: 'resource-list-concurrency',
    find: 'Array.from({ length: Math.min(concurrency, last - 1) }, worker)',
    replace: 'Array.from({ length: Math.max(concurrency, last - 1) }, worker)',
    tests: [RESOURCE_CLIENT],
  },
  {
    // Retry-After is not honoured: the next try comes after the backoff delay only.
    name: 'resource-retry-after',
    find: 'const delay = Math.max(backoff.next(), failure.retryAfterMs ?? 0);',
    replace: 'const delay = Math.min(backoff.next(), failure.retryAfterMs ?? 0);',
    tests: [RESOURCE_CLIENT],
  },
  {
    // A Retry-After quiets only the request that got it: the other pages of the list go on.
    name: 'resource-shared-quiet',
    find: 'quiet.until = Math.max(quiet.until, clock.now() + failure.retryAfterMs);',
    replace: 'quiet.until = Math.min(quiet.until, clock.now() + failure.retryAfterMs);',
    tests: [RESOURCE_CLIENT],
  },
  {
    // The 401 retry keeps the old token.
    name: 'resource-401-fresh-token',
    find: 'token = (await tokens.current(true)).token;',
    replace: 'token = (await tokens.current(false)).token;',
    tests: [RESOURCE_CLIENT],
  },
  {
    // The meta keys are not added to a projection.
    name: 'resource-fields-meta',
    find: "return [...new Set([...META_FIELDS, ...fields])].join(',');",
    replace: "return [...new Set([...fields])].join(',');",
    tests: [RESOURCE_CLIENT],
  },
  {
    // A get answered with another resource is taken.
    name: 'resource-get-self-link',
    find: 'if (resource.metadata.selfLink !== link)',
    replace: 'if (resource.metadata.selfLink === link)',
    tests: [RESOURCE_CLIENT],
  },
  {
    // A dot segment reaches the URL.
    name: 'resource-link-dot-segment',
    find: "segments.some((s) => s === '.' || s === '..' ||",
    replace: "segments.some((s) => s === '.' || s === '...' ||",
    tests: [RESOURCE_CLIENT],
  },
  {
    // A page whose items lack an id is taken.
    name: 'resource-body-id',
    find: "if (typeof metadata.id !== 'string' || metadata.id === '')",
    replace: "if (typeof metadata.id === 'string' || metadata.id === '')",
    tests: [RESOURCE_CLIENT],
  },
  {
    // Fetch mode: one fetch more in flight than `concurrency`.
    name: 'prefetch-concurrency-bound',
    find: 'if (this.inFlight >= concurrency || this.ahead >= lookahead || this.demands.length > 0) return;',
    replace: 'if (this.inFlight > concurrency || this.ahead >= lookahead || this.demands.length > 0) return;',
    tests: [FETCH_MODE],
  },
  {
    // Fetch mode: one fetch more started ahead of the handlers than the lookahead.
    name: 'prefetch-lookahead-bound',
    find: 'if (this.inFlight >= concurrency || this.ahead >= lookahead || this.demands.length > 0) return;',
    replace: 'if (this.inFlight >= concurrency || this.ahead > lookahead || this.demands.length > 0) return;',
    tests: [FETCH_MODE],
  },
  {
    // Fetch mode: a repeat in the queue (the live copy of an event the catch-up queued) is fetched again.
    name: 'prefetch-skips-repeats',
    find: 'const repeat = event.sequenceId <= this.highestSeen;',
    replace: 'const repeat = event.sequenceId < this.highestSeen;',
    tests: [FETCH_MODE],
  },
  {
    // A subresource name from the service reaches the URL whatever it holds.
    name: 'event-fetch-plain-subresource',
    find: "const plain = sub === '' || PLAIN_KEY.test(sub);",
    replace: "const plain = sub !== '' || PLAIN_KEY.test(sub);",
    tests: [FETCH_MODE],
  },
  {
    // A token the API echoes in an error's detail reaches the WatchError's message.
    name: 'api-problem-token-blanked',
    find: "if (token !== '') text = text.split(token).join('[token]');",
    replace: "if (token === '') text = text.split(token).join('[token]');",
    tests: [RESOURCE_CLIENT],
  },
  {
    // A failing resource API is told at every attempt, not once a minute.
    name: 'resource-client-tell-once',
    find: 'if (log === undefined || (this.toldAt !== undefined && now - this.toldAt < retryForMs)) return;',
    replace: 'if (log === undefined || (this.toldAt !== undefined && now - this.toldAt < 0)) return;',
    tests: [RESOURCE_CLIENT],
  },
  {
    // A failing resource API is told only after its retries (the minute of silence of issue 23's trial).
    name: 'resource-client-tell-at-first-failure',
    find: 'this.tell(failure, giveUpAt - clock.now());',
    replace: 'if (backoff.attempts > 5) this.tell(failure, giveUpAt - clock.now());',
    tests: [RESOURCE_CLIENT, RESOURCE_MISCONFIG],
  },
];
