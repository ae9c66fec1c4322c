import { styleText } from 'node:util';
import type { ResyncNotice } from '../delivery/watch-handlers';
import type { WatchEvent } from '../core/types';

/** The `event` output record (docs/cli.md#output-records). */
export function eventRecord(event: WatchEvent): Record<string, unknown> {
  const { group, kind, name, metadata, attributes } = event.payload;
  return {
    record: 'event',
    topic: event.topic,
    sequenceId: event.sequenceId,
    id: event.id,
    type: event.type,
    time: event.time,
    payload: { group, kind, name, metadata, attributes },
  };
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
