import { decodeRecord, encodeRecord } from '../storage/recordEnvelope.js';
import type { ReadOptions, StorageBackend, SublevelName } from '../storage/index.js';
import type { EventKind, EventSpec, StateEventKind } from './eventKinds.js';
import { readSeqHighWater } from './seqHighWater.js';

export type { EventSpec, StateEventKind } from './eventKinds.js';

/**
 * The event log holds one commit record per backend batch, keyed by its commit sequence. A commit
 * record is a JSON array of that batch's events. One record per batch, rather than one per event, keeps
 * the write path at one extra LevelDB operation per batch.
 *
 * An event's id is `<seq>.<index in the record>`. A write made outside any correlation context starts
 * its own story: its correlation id is its event id, so it needs no entry in the correlation index.
 */
export interface LoggedEvent {
  /** `<seq>.<index>`: unique, and ordered like the log. */
  id: string;
  seq: number;
  /** Commit time, ms since the epoch. */
  at: number;
  /** One of `EVENT_KINDS` (src/events/eventKinds.ts describes the fields of each). */
  kind: EventKind;
  scope?: string;
  key?: string;
  value?: unknown;
  count?: number;
  /** For a `state.set` to a key a schema is bound to: the version (`name@version`) the value was validated against. */
  schema?: string;
  /** The agent an event is about (lifecycle, supervision and fault events). */
  agentId?: string;
  /** Kind-specific details, shaped as `EventData<kind>`. */
  data?: unknown;
  correlationId: string;
  causationId?: string;
  /** The hook execution whose action made this change. */
  executionId?: string;
  /** How many hook actions lie between this change and the write that started its chain (absent: 0). */
  hop?: number;
  /** Who made the change, when it was not `system`: `agent:<id>` or a custom principal. */
  principal?: string;
}

const SEQ_BYTES = 8;

/** Big-endian, so the log iterates in commit order. */
export function encodeSeqKey(seq: number): Buffer {
  const key = Buffer.alloc(SEQ_BYTES);
  key.writeUIntBE(seq, 2, 6);
  return key;
}

export function decodeSeqKey(key: Buffer): number {
  return key.readUIntBE(2, 6);
}

export function eventId(seq: number, index: number): string {
  return `${seq}.${index}`;
}

/** The index entry that finds a batch by one of its correlation ids. */
export function correlationIndexKey(correlationId: string, seq: number): Buffer {
  const id = Buffer.from(correlationId, 'utf8');
  const key = Buffer.allocUnsafe(id.length + 1 + SEQ_BYTES);
  id.copy(key, 0);
  key[id.length] = 0;
  encodeSeqKey(seq).copy(key, id.length + 1);
  return key;
}

/**
 * The correlation fields every event of one unit shares, as a JSON fragment that starts with a comma:
 * built once per unit and spliced into each of its events.
 */
export function causalJson(correlationId: string, causationId?: string, executionId?: string, hop?: number, principal?: string): string {
  let text = `,"correlationId":${JSON.stringify(correlationId)}`;
  if (principal !== undefined) text += `,"principal":${JSON.stringify(principal)}`;
  if (causationId !== undefined) text += `,"causationId":${JSON.stringify(causationId)}`;
  if (executionId !== undefined) text += `,"executionId":${JSON.stringify(executionId)}`;
  if (hop !== undefined && hop > 0) text += `,"hop":${hop}`;
  return text;
}

/**
 * One event as JSON text. `valueJson` is already-validated JSON and is spliced in as is, so a value is
 * serialised once on its way to the store. `schema` names the version a value was validated against.
 */
export function stateEventJson(
  kind: StateEventKind,
  scopeJson: string,
  key: string | undefined,
  causal: string,
  valueJson?: string,
  count?: number,
  schema?: string,
): string {
  let text = `{"kind":"${kind}","scope":${scopeJson}${causal}`;
  if (key !== undefined) text += `,"key":${JSON.stringify(key)}`;
  if (valueJson !== undefined) text += `,"value":${valueJson}`;
  if (count !== undefined) text += `,"count":${count}`;
  // Schema names and versions hold no character JSON escapes.
  if (schema !== undefined) text += `,"schema":"${schema}"`;
  return text + '}';
}

export function eventJson(spec: EventSpec, causal: string): string {
  let text = `{"kind":${JSON.stringify(spec.kind)}${causal}`;
  if (spec.scope !== undefined) text += `,"scope":${JSON.stringify(spec.scope)}`;
  if (spec.agentId !== undefined) text += `,"agentId":${JSON.stringify(spec.agentId)}`;
  if (spec.data !== undefined) text += `,"data":${JSON.stringify(spec.data)}`;
  return text + '}';
}

/**
 * An event's JSON text with its id, sequence and commit time in front, as hooks receive it. `json` is
 * the event as stored in its commit record.
 */
export function deliveredEventJson(seq: number, index: number, at: number, json: string): string {
  return `{"id":"${seq}.${index}","seq":${seq},"at":${at},${json.slice(1)}`;
}

/** The index entry that finds a batch by an agent its events are about. */
export function agentIndexKey(agentId: string, seq: number): Buffer {
  return correlationIndexKey(agentId, seq);
}

export function encodeCommitRecord(seq: number, timestamp: number, events: string[]): Buffer {
  return encodeCommitRecordJson(seq, timestamp, eventsArrayJson(events));
}

/** Events (each as JSON text) as the one JSON array a commit record holds. */
export function eventsArrayJson(events: readonly string[]): string {
  return `[${events.join(',')}]`;
}

/** A commit record of events already joined by {@link eventsArrayJson}. */
export function encodeCommitRecordJson(seq: number, timestamp: number, eventsJson: string): Buffer {
  return encodeRecord({ seq, timestamp }, eventsJson);
}

/** @throws {DATA_CORRUPT} naming the sequence from the record's key. */
export function decodeCommitRecord(record: Buffer, keySeq: number): LoggedEvent[] {
  const { seq, timestamp, payload } = decodeRecord(record, { 'event log sequence': keySeq });
  const events = JSON.parse(payload.toString('utf8')) as Omit<LoggedEvent, 'id' | 'seq' | 'at'>[];
  return events.map((event, index) => ({ id: eventId(seq, index), seq, at: timestamp, ...event }));
}

/**
 * The last commit sequence used: that of the newest commit record, or the high-water mark that event
 * retention leaves when it removes records (see {@link readSeqHighWater}), whichever is higher; 0 for
 * a store that never committed.
 *
 * @throws {DATA_CORRUPT} when the high-water mark is damaged.
 */
export async function readLastSeq(storage: StorageBackend, options: ReadOptions = {}): Promise<number> {
  let newest = 0;
  for await (const [key] of storage.iterate('events', { ...options, reverse: true, limit: 1 })) newest = decodeSeqKey(key);
  return Math.max(newest, await readSeqHighWater(storage, options));
}

/**
 * The index entries a commit record can have: one per correlation id its events were made under and one
 * per agent they name. A superset: an event made outside any correlation context (whose correlation id
 * is an event id of this record) has no entry, so a caller copying entries checks which exist.
 */
export function indexKeysOf(seq: number, events: readonly LoggedEvent[]): Array<{ sublevel: SublevelName; key: Buffer }> {
  const correlations = new Set<string>();
  const agents = new Set<string>();
  for (const event of events) {
    if (event.correlationId !== event.id) correlations.add(event.correlationId);
    if (event.agentId !== undefined) agents.add(event.agentId);
  }
  return [
    ...[...correlations].map((id) => ({ sublevel: 'eventsByCorrelation' as const, key: correlationIndexKey(id, seq) })),
    ...[...agents].map((id) => ({ sublevel: 'eventsByAgent' as const, key: agentIndexKey(id, seq) })),
  ];
}

/** Every logged event, oldest first, starting after `afterSeq`. @throws {DATA_CORRUPT} */
export async function* readEvents(storage: StorageBackend, afterSeq = 0): AsyncGenerator<LoggedEvent> {
  for await (const [key, record] of storage.iterate('events', { gt: encodeSeqKey(afterSeq) })) {
    yield* decodeCommitRecord(record, decodeSeqKey(key));
  }
}
