import type { ResyncNotice } from '../delivery';
import type { WatchEvent } from '../types';

/** The `event` output record of CLI.md. */
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

/** One human-readable line per event: time, topic, type, kind/name, sequence id; aligned in columns. */
export function eventLine(event: WatchEvent): string {
  const topic = event.topic.slice(event.topic.lastIndexOf('/') + 1);
  return [
    event.time.padEnd(24),
    topic.padEnd(20),
    event.type.padEnd(18),
    `${event.payload.kind}/${event.payload.name}`.padEnd(40),
    `#${event.sequenceId}`,
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
export function liveLine(topic: string): string {
  return `-- live: ${topic} (missed events delivered; live events follow)`;
}

export function resyncLine(notice: ResyncNotice): string {
  return `-- RESYNC: ${notice.topic}: ${notice.reason}; continuing after #${notice.newestSequenceId} (re-list this topic)`;
}
