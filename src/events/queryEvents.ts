import type { StorageBackend } from '../storage/index.js';
import {
  correlationIndexKey,
  decodeCommitRecord,
  decodeSeqKey,
  encodeSeqKey,
  type LoggedEvent,
} from './eventLog.js';
import { STATE_EVENT_KINDS } from './eventKinds.js';
import { kindMatcher } from './kindPattern.js';

/** What {@link queryEvents} selects. Every given field must match. */
export interface EventFilter {
  /**
   * Event kinds; `*` matches any run of characters, as in `agent.*`. A pattern that matches no known kind
   * (see `EVENT_KINDS`) is refused.
   */
  kinds?: string[];
  /** Events about this agent: its lifecycle events, and state events of `agent:<id>`. */
  agentId?: string;
  /** Events of this scope, in its string form (`agent:a1`). */
  scope?: string;
  correlationId?: string;
  /** Committed at or after this time. */
  from?: Date | number;
  /** Committed at or before this time. */
  to?: Date | number;
  /** At most this many events, oldest first. @default 1000 */
  limit?: number;
}

const DEFAULT_LIMIT = 1000;

/**
 * Events from the log, oldest first. Correlation ids and agent lifecycle events are found through their
 * indexes; anything else is a scan of the log, bounded by `from`, `to` and `limit`.
 */
export async function queryEvents(storage: StorageBackend, filter: EventFilter = {}): Promise<LoggedEvent[]> {
  const limit = filter.limit ?? DEFAULT_LIMIT;
  const matches = eventMatcher(filter);
  const found: LoggedEvent[] = [];
  for await (const event of candidates(storage, filter)) {
    if (!matches(event)) continue;
    found.push(event);
    if (found.length >= limit) break;
  }
  return found;
}

async function* candidates(storage: StorageBackend, filter: EventFilter): AsyncGenerator<LoggedEvent> {
  if (filter.correlationId !== undefined) {
    yield* readSeqs(storage, await seqsOfCorrelation(storage, filter.correlationId));
    return;
  }
  if (filter.agentId !== undefined && filter.kinds !== undefined && !filter.kinds.some((k) => STATE_EVENT_KINDS.some((s) => kindMatcher(k)(s)))) {
    yield* readSeqs(storage, await indexedSeqs(storage, 'eventsByAgent', filter.agentId));
    return;
  }
  yield* scan(storage, filter);
}

async function* scan(storage: StorageBackend, filter: EventFilter): AsyncGenerator<LoggedEvent> {
  const to = filter.to === undefined ? Infinity : Number(filter.to);
  for await (const [key, record] of storage.iterate('events')) {
    const events = decodeCommitRecord(record, decodeSeqKey(key));
    if (events.length > 0 && events[0].at > to) return;
    yield* events;
  }
}

async function* readSeqs(storage: StorageBackend, seqs: number[]): AsyncGenerator<LoggedEvent> {
  for (const seq of seqs) {
    const record = await storage.get('events', encodeSeqKey(seq));
    if (record !== undefined) yield* decodeCommitRecord(record, seq);
  }
}

/**
 * The batches holding a correlation id. A write made outside any context has its own event id
 * (`<seq>.<index>`) as its correlation id, which names its batch directly.
 */
async function seqsOfCorrelation(storage: StorageBackend, correlationId: string): Promise<number[]> {
  const seqs = new Set(await indexedSeqs(storage, 'eventsByCorrelation', correlationId));
  const own = /^(\d+)\.\d+$/.exec(correlationId);
  if (own !== null) seqs.add(Number(own[1]));
  return [...seqs].sort((a, b) => a - b);
}

async function indexedSeqs(storage: StorageBackend, sublevel: 'eventsByCorrelation' | 'eventsByAgent', id: string): Promise<number[]> {
  const gte = correlationIndexKey(id, 0);
  const lt = Buffer.concat([gte.subarray(0, gte.length - 9), Buffer.from([0x01])]);
  const seqs: number[] = [];
  for await (const [key] of storage.iterate(sublevel, { gte, lt })) seqs.push(decodeSeqKey(key.subarray(key.length - 8)));
  return seqs;
}

function eventMatcher(filter: EventFilter): (event: LoggedEvent) => boolean {
  const kinds = filter.kinds?.map(kindMatcher);
  const from = filter.from === undefined ? -Infinity : Number(filter.from);
  const to = filter.to === undefined ? Infinity : Number(filter.to);
  const agentScope = filter.agentId === undefined ? undefined : `agent:${filter.agentId}`;
  return (event) =>
    (kinds === undefined || kinds.some((matches) => matches(event.kind))) &&
    (filter.correlationId === undefined || event.correlationId === filter.correlationId) &&
    (filter.scope === undefined || event.scope === filter.scope) &&
    (agentScope === undefined || event.agentId === filter.agentId || event.scope === agentScope) &&
    event.at >= from &&
    event.at <= to;
}
