import { Backoff, type ResolvedBackoff } from '../core/backoff';
import type { Clock } from '../core/clock';
import { WatchError, codeOfHttpStatus, toWatchError } from '../core/errors';
import type { TokenRefresher } from '../auth/token-refresher';
import type { Log } from '../logging/logger';
import { retryAfterMs, type HttpReply, type HttpTransport } from '../transport/http-transport';
import type { Resource, ResourceCountOptions, ResourceGetOptions, ResourceListOptions } from './resource';
import type { ResourceClient } from './resource-client';
import { countArguments, getArguments, listArguments, resourceLink } from './resource-arguments';
import { inCollection } from './collection-membership';
import { META_FIELDS, decodePage, decodeResource } from './resource-body';
import { apiProblem } from './api-problem';

/** How long one call retries a failing API (5xx, 429, network) before it gives up with `RESOURCE_UNAVAILABLE`. */
const DEFAULT_RETRY_FOR_MS = 60_000;

/** Reads of one list: the first, and re-reads page by page after the pages contradicted themselves or the count. */
const LIST_READS = 3;

/** Options of {@link HttpResourceClient} (the manager makes it: `manager.resources`). */
export interface ResourceClientOptions {
  /** The API base, `https://host[:port]/apis`; a request goes to `{baseUrl}{selfLink}`. */
  baseUrl: URL;
  tenantId: string;
  tokens: TokenRefresher;
  /** Carries the requests (TLS, proxy, entry address). */
  transport: HttpTransport;
  /** Deadline of one request, headers and body. */
  timeoutMs: number;
  userAgent: string;
  clock: Clock;
  /** Delays between retries of a failed request. */
  backoff: ResolvedBackoff;
  /** How long one call retries before it gives up. @default 60000 */
  retryForMs?: number;
  /** Aborted when the owner closes: pending calls reject with `CLOSED`. */
  closed?: AbortSignal;
  /** The manager's log: told of a failing API at its first retryable failure (see `HttpResourceClient.tell`). */
  log?: Log;
}

/**
 * One call of the client: what names it in errors, what cancels it, and the quiet it keeps. A `Retry-After` asks
 * the client, not one request, to be quiet: every request of the call (the pages read at once too) waits it out.
 */
interface Call {
  readonly where: string;
  readonly signal: AbortSignal | undefined;
  /** No request of the call starts before this time (clock ms). */
  readonly quiet: { until: number };
}

/** A list read that contradicted itself: read again, page by page. */
interface Contradiction {
  problem: string;
}

/** The {@link ResourceClient} of the API server over HTTP (`GET`/`HEAD {baseUrl}{link}`), on the manager's stack. */
export class HttpResourceClient implements ResourceClient {
  private isClosed = false;
  /** When a failing API was last told to the log (clock ms). */
  private toldAt: number | undefined;

  /** Made by the manager (`manager.resources`); not meant to be constructed by applications. */
  constructor(private readonly options: ResourceClientOptions) {}

  /** See {@link ResourceClient.get}. */
  async get(selfLink: string, options?: ResourceGetOptions): Promise<Resource | undefined> {
    const link = resourceLink(selfLink, 'selfLink', 4);
    const { fields, embed, signal } = getArguments(options);
    const params = new URLSearchParams();
    if (fields !== undefined) params.set('fields', withMeta(fields));
    if (embed !== undefined) params.set('embed', embed.join(','));
    const where = `resource ${link}`;
    const reply = await this.send('GET', link, params, { where, signal, quiet: { until: 0 } }, true);
    if (reply === undefined) return undefined;
    const resource = decodeResource(reply.body, where);
    if (resource.metadata.selfLink !== link)
      throw new WatchError(
        'PROTOCOL',
        `${where}: the service answered with another resource (${resource.metadata.selfLink})`,
      );
    return resource;
  }

  /** See {@link ResourceClient.list}. */
  async list(collection: string, options?: ResourceListOptions): Promise<Resource[]> {
    const link = resourceLink(collection, 'collection', 3);
    const args = listArguments(options);
    const params = new URLSearchParams();
    if (args.query !== undefined) params.set('query', args.query);
    if (args.fields !== undefined) params.set('fields', withMeta(args.fields));
    const where = `list ${link}`;
    const call: Call = { where, signal: args.signal, quiet: { until: 0 } };
    let byCount = args.query === undefined;
    const problems: string[] = [];
    for (let read = 1; read <= LIST_READS; read++) {
      const outcome = await this.readList(link, params, args.pageSize, args.concurrency, byCount, call);
      if (Array.isArray(outcome)) return outcome;
      problems.push(outcome.problem);
      byCount = false;
    }
    throw new WatchError(
      'PROTOCOL',
      `${where}: the pages contradicted themselves or the collection on each of ${LIST_READS} reads (${problems.join('; ')}); the list kept changing while it was read, or the service does not page consistently or lists what the collection does not hold`,
      { retryable: true },
    );
  }

  /** See {@link ResourceClient.count}. */
  async count(collection: string, options?: ResourceCountOptions): Promise<number> {
    const link = resourceLink(collection, 'collection', 3);
    const { signal } = countArguments(options);
    const where = `count of ${link}`;
    const total = await this.totalCount(link, { where, signal, quiet: { until: 0 } });
    if (total === undefined)
      throw new WatchError('PROTOCOL', `${where}: no readable X-Axway-Total-Count header in the answer`);
    return total;
  }

  /** Ends pending calls (`CLOSED`) and closes the connections. */
  close(): Promise<void> {
    this.isClosed = true;
    return this.options.transport.close();
  }

  /** One read of a list: its items, or what contradicted itself. */
  private async readList(
    link: string,
    params: URLSearchParams,
    size: number,
    concurrency: number,
    byCount: boolean,
    call: Call,
  ): Promise<Resource[] | Contradiction> {
    const seen = new Set<string>();
    const items: Resource[] = [];
    // Adds one page's items; a resource seen on an earlier page, or one of another collection, is a contradiction.
    const take = (page: Resource[], number: number): Contradiction | undefined => {
      for (const item of page) {
        const self = item.metadata.selfLink;
        if (seen.has(self)) return { problem: `page ${number} repeats ${self} of an earlier page` };
        if (!inCollection(link, item)) return { problem: `page ${number} holds ${self}, not a resource of ${link}` };
        seen.add(self);
        items.push(item);
      }
      return undefined;
    };
    const first = await this.page(link, params, 1, size, call);
    let next = 2;
    let last = first;
    const repeated = take(first, 1);
    if (repeated !== undefined) return repeated;
    if (first.length === size && byCount) {
      const total = await this.totalCount(link, call, true);
      if (total !== undefined) {
        const pages = Math.max(1, Math.ceil(total / size));
        const rest = await this.pages(link, params, pages, size, concurrency, call);
        for (const [i, page] of rest.entries()) {
          const number = i + 2;
          const expected = number < pages ? size : total - (pages - 1) * size;
          // A short page before the last, or a last page shorter than the count says: items were skipped (the list
          // shrank while it was read) or the count lies. Either way these pages are not the list.
          if (page.length < expected)
            return {
              problem: `page ${number} holds ${page.length} items where X-Axway-Total-Count ${total} means ${expected}`,
            };
          const again = take(page, number);
          if (again !== undefined) return again;
        }
        next = pages + 1;
        last = rest.at(-1) ?? first;
      }
    }
    // Page by page until a short page: from page 2, or after the counted pages when the last was full (the list
    // grew, or the count was low).
    while (last.length === size) {
      last = await this.page(link, params, next, size, call);
      const again = take(last, next);
      if (again !== undefined) return again;
      next++;
    }
    return items;
  }

  /**
   * Pages 2..`last`, `concurrency` at once, in page order. A short page before `last` stops the taking of further
   * pages (the caller finds the contradiction there; a count that lies high must not cost a request per page it
   * promised), so the answer ends at the first hole. The first failure cancels the rest and is thrown once all
   * settled.
   */
  private async pages(
    link: string,
    params: URLSearchParams,
    last: number,
    size: number,
    concurrency: number,
    call: Call,
  ): Promise<Resource[][]> {
    const { signal, where } = call;
    const results: Resource[][] = [];
    const stop = new AbortController();
    const cancel = (): void => stop.abort();
    signal?.addEventListener('abort', cancel, { once: true });
    let failure: Error | undefined;
    let short = false;
    let next = 2;
    const worker = async (): Promise<void> => {
      while (failure === undefined && !short && next <= last) {
        const number = next++;
        try {
          const page = await this.page(link, params, number, size, { ...call, signal: stop.signal });
          results[number - 2] = page;
          if (page.length < size && number < last) short = true;
        } catch (err) {
          failure ??=
            signal?.aborted === true
              ? new WatchError('CLOSED', `${where}: cancelled`)
              : toWatchError(err, 'INTERNAL', where);
          stop.abort();
        }
      }
    };
    try {
      if (signal?.aborted === true) stop.abort();
      await Promise.all(Array.from({ length: Math.min(concurrency, last - 1) }, worker));
    } finally {
      signal?.removeEventListener('abort', cancel);
    }
    if (failure !== undefined) throw failure;
    // Pages not taken after a short one are holes at the end; the answer stops before the first.
    const taken = results.findIndex((page) => page === undefined);
    return taken === -1 ? results : results.slice(0, taken);
  }

  private async page(
    link: string,
    params: URLSearchParams,
    number: number,
    size: number,
    call: Call,
  ): Promise<Resource[]> {
    const query = new URLSearchParams(params);
    query.set('page', String(number));
    query.set('pageSize', String(size));
    const at = `${call.where}, page ${number}`;
    const reply = await this.send('GET', link, query, { ...call, where: at }, false);
    // send() answers undefined only for a 404 it was allowed to pass.
    const page = decodePage((reply as HttpReply).body, at);
    if (page.length > size) throw new WatchError('PROTOCOL', `${at}: ${page.length} items on a page of ${size}`);
    return page;
  }

  /**
   * `X-Axway-Total-Count` of `HEAD {link}`, undefined when missing or unreadable. With `lenient` (a list's optional
   * speed-up), a HEAD the service does not serve (an unexpected status) is undefined too.
   */
  private async totalCount(link: string, call: Call, lenient = false): Promise<number | undefined> {
    let reply: HttpReply;
    try {
      const counting = { ...call, where: `${call.where} (count)` };
      reply = (await this.send('HEAD', link, new URLSearchParams(), counting, false)) as HttpReply;
    } catch (err) {
      if (lenient && err instanceof WatchError && err.code === 'PROTOCOL') return undefined;
      throw err;
    }
    const value = header(reply, 'x-axway-total-count')?.trim();
    return value !== undefined && /^\d{1,15}$/.test(value) ? Number(value) : undefined;
  }

  /**
   * One request, retried while the API is unavailable; a 401 once more with a fresh token. Undefined for a 404 when
   * `passNotFound`.
   */
  private async send(
    method: 'GET' | 'HEAD',
    link: string,
    params: URLSearchParams,
    call: Call,
    passNotFound: boolean,
  ): Promise<HttpReply | undefined> {
    const { where, signal, quiet } = call;
    const { clock, tokens, backoff: policy, retryForMs = DEFAULT_RETRY_FOR_MS } = this.options;
    const url = this.url(link, params);
    // Names the URL tried, never the query (it may hold names the caller filters by) nor credentials (none in it).
    const tried = `${where} (${method} ${url.protocol}//${url.host}${url.pathname})`;
    const giveUpAt = clock.now() + retryForMs;
    const backoff = new Backoff(policy, () => clock.random());
    this.refuseClosed(signal, tried);
    let { token } = await tokens.current();
    let refreshed = false;
    for (;;) {
      this.refuseClosed(signal, tried);
      const quietFor = quiet.until - clock.now();
      if (quietFor > 0) await this.sleep(quietFor, signal, tried);
      let failure: WatchError;
      try {
        const reply = await this.request(method, url, token, tried, signal);
        if (reply.status >= 200 && reply.status < 300) return reply;
        const code = codeOfHttpStatus('resource-api', reply.status);
        if (code === 'UNAUTHENTICATED' && !refreshed) {
          // The token may have expired between our check and the server's: one more try with a fresh one.
          refreshed = true;
          token = (await tokens.current(true)).token;
          continue;
        }
        if (code === 'RESOURCE_NOT_FOUND' && passNotFound) return undefined;
        failure = statusError(reply, tried, clock.now(), token);
      } catch (err) {
        failure = toWatchError(err, 'RESOURCE_UNAVAILABLE', tried);
      }
      if (failure.code !== 'RESOURCE_UNAVAILABLE') throw failure;
      const delay = Math.max(backoff.next(), failure.retryAfterMs ?? 0);
      if (failure.retryAfterMs !== undefined) quiet.until = Math.max(quiet.until, clock.now() + failure.retryAfterMs);
      if (clock.now() + delay > giveUpAt)
        throw new WatchError(failure.code, `${failure.message} (gave up after ${backoff.attempts} attempts)`, {
          cause: failure,
          ...(failure.retryAfterMs === undefined ? {} : { retryAfterMs: failure.retryAfterMs }),
        });
      this.tell(failure, giveUpAt - clock.now());
      await this.sleep(delay, signal, tried);
    }
  }

  /**
   * Tells the log of a failing API at the first failure it retries, not after the minute of retries: a wrong or
   * missing `apiUrl` (a gRPC port, a host that refuses or answers 5xx) would leave `cache.ready()` and fetch mode
   * silent that long. Once per `retryForMs` per client, however many calls (pages, prefetches) fail meanwhile. The
   * failure's message names the URL without its query; the URLs here carry no credentials.
   */
  private tell(failure: WatchError, retryingForMs: number): void {
    const { log, clock, baseUrl, retryForMs = DEFAULT_RETRY_FOR_MS } = this.options;
    const now = clock.now();
    if (log === undefined || (this.toldAt !== undefined && now - this.toldAt < retryForMs)) return;
    this.toldAt = now;
    const api = `${baseUrl.protocol}//${baseUrl.host}${baseUrl.pathname.replace(/\/$/, '')}`;
    log.warn(
      `the resource API at ${api} failed: ${failure.message}; retrying for up to ${Math.ceil(retryingForMs / 1000)} s, then RESOURCE_UNAVAILABLE; set the apiUrl option if the resource API is elsewhere`,
      { code: failure.code, apiUrl: api },
    );
  }

  private refuseClosed(signal: AbortSignal | undefined, where: string): void {
    if (this.isClosed || this.options.closed?.aborted === true || signal?.aborted === true)
      throw new WatchError('CLOSED', `${where}: cancelled`);
  }

  /** Waits `ms` on the clock; rejects with `CLOSED` when `signal` or the owner's close ends the wait. */
  private sleep(ms: number, signal: AbortSignal | undefined, where: string): Promise<void> {
    const { clock, closed } = this.options;
    return new Promise((resolve, reject) => {
      if (signal?.aborted === true || closed?.aborted === true) {
        reject(new WatchError('CLOSED', `${where}: cancelled`));
        return;
      }
      const stop = (): void => {
        timer.cancel();
        done();
        reject(new WatchError('CLOSED', `${where}: cancelled`));
      };
      const done = (): void => {
        signal?.removeEventListener('abort', stop);
        closed?.removeEventListener('abort', stop);
      };
      const timer = clock.setTimeout(() => {
        done();
        resolve();
      }, ms);
      signal?.addEventListener('abort', stop, { once: true });
      closed?.addEventListener('abort', stop, { once: true });
    });
  }

  /** `{baseUrl}{link}?{params}`. */
  private url(link: string, params: URLSearchParams): URL {
    const { baseUrl } = this.options;
    // Each segment encoded: the link was checked (no dot segments), so it stays one path under the base.
    const path = link.split('/').map(encodeURIComponent).join('/');
    const query = params.toString();
    return new URL(`${baseUrl.pathname.replace(/\/$/, '')}${path}${query === '' ? '' : `?${query}`}`, baseUrl);
  }

  private request(method: 'GET' | 'HEAD', url: URL, token: string, where: string, signal: AbortSignal | undefined) {
    const { tenantId, timeoutMs, userAgent, transport, closed } = this.options;
    const signals = [signal, closed].filter((s) => s !== undefined);
    return transport.request(url, {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
        'X-Axway-Tenant-Id': tenantId,
        'Content-Type': 'application/json',
        Accept: 'application/json',
        'User-Agent': userAgent,
      },
      timeoutMs,
      ...(signals.length === 0 ? {} : { signal: signals.length === 1 ? signals[0] : AbortSignal.any(signals) }),
      where,
      unavailable: 'RESOURCE_UNAVAILABLE',
    });
  }
}

/** `fields` with the meta keys, so that a projected resource still carries its identity. */
function withMeta(fields: readonly string[]): string {
  return [...new Set([...META_FIELDS, ...fields])].join(',');
}

function header(reply: HttpReply, name: string): string | undefined {
  const value = reply.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function statusError(reply: HttpReply, where: string, now: number, token: string): WatchError {
  const code = codeOfHttpStatus('resource-api', reply.status);
  // A 4xx is about the request: the API's own words say what was wrong with it (a 5xx's say nothing to act on).
  const problem = reply.status >= 400 && reply.status < 500 ? apiProblem(reply.body, token) : undefined;
  const says = problem === undefined ? '' : `; the API says: ${problem}`;
  switch (code) {
    case 'UNAUTHENTICATED':
      return new WatchError(code, `${where}: the resource API refused the token (${reply.status})${says}`);
    case 'PERMISSION_DENIED':
      return new WatchError(code, `${where}: permission denied (${reply.status})${says}`);
    case 'RESOURCE_NOT_FOUND':
      return new WatchError(code, `${where}: not found (${reply.status})${says}`);
    case 'RESOURCE_UNAVAILABLE': {
      const wait = retryAfterMs(header(reply, 'retry-after'), now);
      const asked = wait === undefined ? '' : `; the server asked to wait ${wait} ms`;
      return new WatchError(
        code,
        `${where}: HTTP ${reply.status}${asked}${says}`,
        wait === undefined ? {} : { retryAfterMs: wait },
      );
    }
    default:
      return new WatchError(code, `${where}: unexpected HTTP ${reply.status}${says}`);
  }
}
