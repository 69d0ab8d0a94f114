import type { TaskBatch } from './protocol.js';

/**
 * A batch's events as hooks receive them: each with its id (`<seq>.<index>`), sequence and commit time
 * in front of its own fields. Events that carry them already (a replay's input) are taken as they are.
 */
export function batchEvents(batch: TaskBatch): Record<string, unknown>[] {
  const events = JSON.parse(batch.eventsJson) as Record<string, unknown>[];
  const from = batch.from;
  if (from === undefined) return events;
  return events.map((event, position) => ({ id: `${from.seq}.${from.indexes[position]}`, seq: from.seq, at: from.at, ...event }));
}
