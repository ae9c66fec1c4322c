import { styleText } from 'node:util';
import type { ResyncNotice } from '../delivery/watch-handlers';
import type { WatchEvent } from '../core/types';
import type { Resource } from '../core/resource';

/**
 * The `event` output record (docs/cli.md#output-records). In fetch mode it also carries `resource` (the resource as
 * the API returned it after the event) or, when the API answered 404, `gone: true`; neither for an event that was not
 * fetched (`DELETED`, or no fetch mode), so that without `--fetch` the record is what it always was.
 */
export function eventRecord(event: WatchEvent): Record<string, unknown> {
  const { group, kind, name, metadata, attributes } = event.payload;
  const record: Record<string, unknown> = {
    record: 'event',
    topic: event.topic,
    sequenceId: event.sequenceId,
    id: event.id,
    type: event.type,
    time: event.time,
    payload: { group, kind, name, metadata, attributes },
  };
  if (event.resource !== undefined) record.resource = event.resource;
  else if (event.gone === true) record.gone = true;
  return record;
}

/** What a `synced` record tells: after an initial sync or a re-list, the cache holds `resources` as of `sequenceId`. */
export interface SyncedNotice {
  topic: string;
  resources: number;
  sequenceId: number;
}

/** The `synced` record (with `--cache`): the topic's cache holds N resources and reflects every event up to P. */
export function syncedRecord(notice: SyncedNotice): Record<string, unknown> {
  return { record: 'synced', topic: notice.topic, resources: notice.resources, sequenceId: notice.sequenceId };
}

/** The `resource` record (with `--dump`): one cached resource of a topic. */
export function resourceRecord(topic: string, resource: Resource): Record<string, unknown> {
  return { record: 'resource', topic, selfLink: resource.metadata.selfLink, resource };
}

type Style = Parameters<typeof styleText>[0];

/**
 * `text` in `styles` (ANSI), or as it is without colour. The caller decides (a terminal, no NO_COLOR): styleText's
 * own check looks at process.stdout, which is not always the stream written to.
 */
function paint(colour: boolean, text: string, ...styles: Style[]): string {
  return colour ? styles.reduce((t, style) => styleText(style, t, { validateStream: false }), text) : text;
}

const TYPE_STYLE: Readonly<Record<WatchEvent['type'], Style>> = {
  CREATED: 'green',
  UPDATED: 'yellow',
  DELETED: 'red',
  SUBRESOURCEUPDATED: 'cyan',
  TRIGGERACTION: 'magenta',
  UNKNOWN: 'gray',
};

/**
 * One human-readable line per event: time, topic, type, kind/name, sequence id; aligned in columns (padded before
 * colouring, so colours do not shift them).
 */
export function eventLine(event: WatchEvent, colour = false): string {
  const topic = event.topic.slice(event.topic.lastIndexOf('/') + 1);
  return [
    paint(colour, event.time.padEnd(24), 'dim'),
    paint(colour, topic.padEnd(20), 'blue'),
    paint(colour, event.type.padEnd(18), TYPE_STYLE[event.type]),
    `${event.payload.kind}/${event.payload.name}`.padEnd(40),
    paint(colour, `#${event.sequenceId}`, 'dim'),
    ...(event.gone === true ? [paint(colour, '(gone: 404 when fetched)', 'red')] : []),
  ].join(' ');
}

/** The `live` record: the topic's missed events were all written; live events follow. */
export function liveRecord(topic: string): Record<string, unknown> {
  return { record: 'live', topic };
}

/** The `resync` record: the saved position could not be resumed; events up to `newestSequenceId` were skipped. */
export function resyncRecord(notice: ResyncNotice): Record<string, unknown> {
  return { record: 'resync', topic: notice.topic, reason: notice.reason, newestSequenceId: notice.newestSequenceId };
}

/** Human-readable forms of the `live` and `resync` records. */
export function liveLine(topic: string, colour = false): string {
  return paint(colour, `-- live: ${topic} (missed events delivered; live events follow)`, 'bold', 'green');
}

export function resyncLine(notice: ResyncNotice, colour = false): string {
  return paint(
    colour,
    `-- RESYNC: ${notice.topic}: ${notice.reason}; continuing after #${notice.newestSequenceId} (re-list this topic)`,
    'bold',
    'inverse',
  );
}

export function syncedLine(notice: SyncedNotice, colour = false): string {
  return paint(
    colour,
    `-- synced: ${notice.topic}: ${notice.resources} resource${notice.resources === 1 ? '' : 's'} as of #${notice.sequenceId}`,
    'bold',
    'blue',
  );
}

/** One cached resource of a `--dump`: topic name, `kind/name`, self link. */
export function resourceLine(topic: string, resource: Resource, colour = false): string {
  return [
    paint(colour, topic.slice(topic.lastIndexOf('/') + 1).padEnd(20), 'blue'),
    `${resource.kind}/${resource.name}`.padEnd(40),
    paint(colour, resource.metadata.selfLink, 'dim'),
  ].join(' ');
}
