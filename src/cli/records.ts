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
