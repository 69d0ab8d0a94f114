import type { TaskBatch } from '../../workers/protocol.js';
import { batchEvents } from '../../workers/taskEvents.js';
import type { LoggedEvent } from '../events/eventLog.js';

/**
 * One outbox entry in memory: one hook's events from one commit batch.
 *
 * The events are kept as the text they arrived in, one JSON array, and are only taken apart in the
 * worker. When a hook takes every event of a batch (the common case) that text is the batch's own, shared
 * with the commit record and with every other hook, so a delivery costs the main thread nothing per
 * event until it is recorded.
 */
export interface PendingEntry {
  readonly seq: number;
  /** Commit time of the batch. */
  readonly at: number;
  /** Each event's index in its commit batch, in order: event `i` of the entry is `<seq>.<indexes[i]>`. */
  readonly indexes: readonly number[];
  /**
   * The entry's events as one JSON array, in order: as the event log stores them, or (carried inline)
   * as they were delivered, with `id`, `seq` and `at` in front.
   */
  readonly eventsJson: string;
  /** Each event's correlation id, in order. */
  readonly correlations: readonly string[];
  /** Failed attempts so far. */
  readonly attempts: number;
  /** Carried inline in the stored entry (put back from dead letters) rather than pointing into the log. */
  readonly inline: boolean;
}

/**
 * The entry for `indexes` of a batch whose events are `events` (each as the log stores it) and
 * `eventsJson` (all of them as one array). Taking the whole batch shares its text; taking part of it
 * copies just that part.
 */
export function batchEntry(seq: number, at: number, events: readonly string[], eventsJson: string, indexes: number[], correlations: readonly string[]): PendingEntry {
  const whole = indexes.length === events.length;
  return {
    seq,
    at,
    indexes,
    eventsJson: whole ? eventsJson : `[${indexes.map((index) => events[index]).join(',')}]`,
    correlations: whole ? correlations : indexes.map((index) => correlations[index]),
    attempts: 0,
    inline: false,
  };
}

/** An entry of events read back from the log (after a restart), each with its id, seq and time. */
export function loggedEntry(seq: number, at: number, events: LoggedEvent[], attempts: number): PendingEntry {
  return {
    seq,
    at,
    indexes: events.map((event) => indexOf(event.id)),
    eventsJson: JSON.stringify(events),
    correlations: events.map((event) => event.correlationId),
    attempts,
    inline: false,
  };
}

/** An entry carried inline: delivered JSON text per event, from a dead letter. */
export function inlineEntry(seq: number, at: number, delivered: readonly string[], attempts: number): PendingEntry {
  const events = delivered.map((json) => JSON.parse(json) as LoggedEvent);
  return { ...loggedEntry(seq, at, events, attempts), eventsJson: `[${delivered.join(',')}]`, inline: true };
}

export function eventCount(entry: PendingEntry): number {
  return entry.indexes.length;
}

export function eventIdsOf(entry: PendingEntry): string[] {
  return entry.indexes.map((index) => `${entry.seq}.${index}`);
}

/** The entry as a worker task takes it. */
export function taskBatch(entry: PendingEntry): TaskBatch {
  return { eventsJson: entry.eventsJson, from: { seq: entry.seq, at: entry.at, indexes: entry.indexes } };
}

/** The events as hooks receive them. Parses the entry: for the paths that are not the hot one. */
export function deliveredEvents(entry: PendingEntry): LoggedEvent[] {
  return batchEvents(taskBatch(entry)) as unknown as LoggedEvent[];
}

/** Each event as delivered JSON text, as dead letters and inline entries store them. */
export function deliveredTexts(entry: PendingEntry): string[] {
  return deliveredEvents(entry).map((event) => JSON.stringify(event));
}

function indexOf(eventId: string): number {
  return Number(eventId.slice(eventId.indexOf('.') + 1));
}
