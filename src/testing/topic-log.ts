import type { ResourceInstance, ResourceReference, WatchEvent, WatchEventType } from '../core/types';
import { pluralOf } from './resource-address';
import type { ResourceContent, ResourceKeeper } from './resource-state';

/**
 * What a test may set when publishing; everything else is filled with realistic values. The fields of
 * {@link ResourceContent} (scope, title, spec, subresources, tags) say what the change leaves in the resource the
 * service's resource API serves (docs/resources.md#the-fake-service).
 */
export interface PublishInput extends ResourceContent {
  /** The event type. @default one of the five in turn, by sequence id */
  type?: WatchEventType;
  /** The resource kind. @default one of five kinds in turn, by sequence id */
  kind?: string;
  /** The resource name. @default `<kind in lower case>-<sequence id mod 97>`, so that resources recur */
  name?: string;
  /** The API group (with `kind`). @default 'management' */
  group?: string;
  /** Resource attributes. @default { createdBy: 'fake-watch-service', revision: '<sequence id>' } */
  attributes?: Record<string, string>;
  /**
   * The resources this one refers to (`metadata.references`), in the event and, as with `attributes`, in the
   * resource the API serves after a `CREATED` or `UPDATED` (which replaces them whole: `[]` drops them all); a
   * `SUBRESOURCEUPDATED` of a held resource and a `DELETED` keep what is held. Omitted, one reference is drawn, as
   * before this option: to `apiservice-<sequence id mod 5>` in the event's `env-<sequence id mod 3>` (`HARD` for an
   * even sequence id), so an `UPDATED` without `references` replaces those held with the drawn one.
   * @default one drawn reference
   */
  references?: readonly ResourceReference[];
  /** The subresource. @default 'status' for `SUBRESOURCEUPDATED`, else '' */
  subresource?: string;
  /** Extra gap before this event's sequence id (sequence ids need not be consecutive). @default 0 */
  skip?: number;
}

/**
 * How the history API reads "purged" when it decides whether a resume after position N is `410 Gone` ("the requested
 * position was purged", docs/wire.md#410-gone), for tests of both readings a real service may take:
 * - `'next-event'`: gone when an event after N was purged: N itself may have aged out, as long as nothing after it
 *   did. A quiet topic whose last event N aged out answers its events after N (none): never a 410.
 * - `'position'`: gone also when the event at N itself was purged. A quiet topic whose last event N aged out answers
 *   `410 Gone` with `X-Axway-Max-Sequence-Id` N, the position itself (the client must take it as "nothing missed").
 */
export type PurgedReading = 'next-event' | 'position';

const KINDS: ReadonlyArray<[string, string]> = [
  ['APIService', 'management'],
  ['APIServiceRevision', 'management'],
  ['APIServiceInstance', 'management'],
  ['ConsumerInstance', 'catalog'],
  ['AccessRequest', 'management'],
];
const TYPES: readonly WatchEventType[] = ['CREATED', 'UPDATED', 'UPDATED', 'SUBRESOURCEUPDATED', 'DELETED'];

/**
 * The events of one watch topic as the service keeps them: sequence ids assigned on publish, history that can be
 * purged up to a position (after which a resume from before it is answered `410 Gone`).
 */
export class TopicLog {
  private readonly events: WatchEvent[] = [];
  private lastSeq = 0;
  private purged = 0;

  /** Keep at most this many events in history (older ones are purged as new ones come); 0 = all. */
  retain = 0;

  /**
   * @param selfLink The WatchTopic's self link.
   * @param topicId The WatchTopic's id.
   * @param resources What keeps resources in step with the appended events (the service's resource state); none by
   *   default.
   */
  constructor(
    readonly selfLink: string,
    readonly topicId: string,
    private readonly organizationId: string,
    private readonly now: () => number,
    private readonly resources?: ResourceKeeper,
  ) {}

  /** The newest sequence id ever assigned (0 before the first event). */
  get newestSequenceId(): number {
    return this.lastSeq;
  }

  /** Positions at or below this are purged: resuming from below it is impossible. */
  get purgedThrough(): number {
    return this.purged;
  }

  /** Appends an event with the next sequence id and realistic content. */
  append(input: PublishInput = {}): WatchEvent {
    const seq = this.lastSeq + 1 + Math.max(0, input.skip ?? 0);
    this.lastSeq = seq;
    const [kind, group] =
      input.kind === undefined
        ? (KINDS[seq % KINDS.length] as [string, string])
        : [input.kind, input.group ?? 'management'];
    const name = input.name ?? `${kind.toLowerCase()}-${seq % 97}`;
    const type: WatchEventType = input.type ?? TYPES[seq % TYPES.length] ?? 'UPDATED';
    const time = new Date(this.now()).toISOString();
    const subresource = input.subresource ?? (type === 'SUBRESOURCEUPDATED' ? 'status' : '');
    const drawn = resource(group, kind, name, seq, input);
    const event: WatchEvent = {
      id: `evt-${this.topicId}-${seq}`,
      time,
      version: 'v1',
      product: 'AmplifyCentral',
      correlationId: `corr-${seq.toString(16).padStart(8, '0')}`,
      organizationId: this.organizationId,
      type,
      topic: this.selfLink,
      watchTopicId: this.topicId,
      sequenceId: seq,
      subresource,
      payload: this.resources === undefined ? drawn : this.resources.apply(type, drawn, input, subresource, time),
    };
    this.events.push(event);
    if (this.retain > 0 && this.events.length > this.retain * 2)
      this.purge((this.events[this.events.length - this.retain - 1] as WatchEvent).sequenceId);
    return event;
  }

  /** Events with a sequence id above `after`, ascending, page `page` (1-based) of `pageSize`. */
  after(after: number, page: number, pageSize: number): WatchEvent[] {
    const start = firstAbove(this.events, after);
    const from = start + (page - 1) * pageSize;
    return this.events.slice(from, from + pageSize);
  }

  /**
   * Events with a sequence id above `after`, newest first, page `page` (1-based) of `pageSize`: what a server that
   * ignores `sort=sequenceID,ASC` answers (hostile `pageOrder: 'desc'`).
   */
  afterNewestFirst(after: number, page: number, pageSize: number): WatchEvent[] {
    const start = firstAbove(this.events, after);
    const end = Math.max(start, this.events.length - (page - 1) * pageSize);
    return this.events.slice(Math.max(start, end - pageSize), end).reverse();
  }

  /** The newest `count` events, newest first. */
  newest(count: number): WatchEvent[] {
    return this.events.slice(Math.max(0, this.events.length - count)).reverse();
  }

  /**
   * Whether a resume after `after` is answered `410 Gone`, as the service reads "purged" (see
   * {@link PurgedReading}). Either way a position above the newest id ever assigned is gone: the topic's sequence
   * never reached it (the topic was recreated and counts from 1 again).
   */
  isGone(after: number, reading: PurgedReading): boolean {
    if (after > this.lastSeq) return true;
    if (after < this.purged) return true;
    return reading === 'position' && after === this.purged && this.purged > 0;
  }

  /** Forgets every event up to `through` (default: all): resumes from before it get `410 Gone`. */
  purge(through = this.lastSeq): void {
    this.purged = Math.max(this.purged, through);
    this.events.splice(0, firstAbove(this.events, through));
  }
}

function firstAbove(events: readonly WatchEvent[], seq: number): number {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((events[mid] as WatchEvent).sequenceId <= seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function resource(group: string, kind: string, name: string, seq: number, input: PublishInput): ResourceInstance {
  const { attributes, scope: place, references } = input;
  const env = `env-${seq % 3}`;
  const scope = place === null ? null : scopeOf(group, place ?? { kind: 'Environment', name: env });
  return {
    group,
    kind,
    name,
    metadata: {
      id: `8a2e${seq.toString(16).padStart(12, '0')}`,
      scope,
      selfLink: `${scope === null ? `/${group}/v1alpha1` : scope.selfLink}/${pluralOf(kind)}/${name}`,
      references: references?.map((r) => ({ ...r })) ?? [
        {
          id: `8a30${(seq % 5).toString(16).padStart(12, '0')}`,
          kind: 'APIService',
          name: `apiservice-${seq % 5}`,
          scopeKind: 'Environment',
          scopeName: env,
          selfLink: `/${group}/v1alpha1/environments/${env}/apiservices/apiservice-${seq % 5}`,
          type: seq % 2 === 0 ? 'HARD' : 'SOFT',
        },
      ],
    },
    attributes: attributes ?? { createdBy: 'fake-watch-service', revision: String(seq) },
  };
}

/** The scope `place` of a resource in `group`: an `env-<n>` environment keeps the id it always had. */
function scopeOf(
  group: string,
  place: { kind: string; name: string },
): NonNullable<ResourceInstance['metadata']['scope']> {
  const env = place.kind === 'Environment' ? /^env-(\d+)$/.exec(place.name) : null;
  const id =
    env === null
      ? `8a2f${hash(`${place.kind}/${place.name}`)}`
      : `8a2f${Number(env[1]).toString(16).padStart(12, '0')}`;
  return {
    id,
    kind: place.kind,
    name: place.name,
    selfLink: `/${group}/v1alpha1/${pluralOf(place.kind)}/${place.name}`,
  };
}

/** 12 hex digits of FNV-1a over `text`: a stable id for a named scope. */
function hash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return `f${h.toString(16).padStart(11, '0')}`;
}
