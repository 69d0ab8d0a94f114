import type { BatchOp, StorageBackend } from '../storage/index.js';
import { decodeCommitRecord, decodeSeqKey, encodeSeqKey, indexKeysOf } from './eventLog.js';
import { seqHighWaterOp } from './seqHighWater.js';

/** How much of the event log is kept. Without either limit, nothing is removed. */
export interface EventRetention {
  /** Commit records older than this are removed. */
  maxAgeMs?: number;
  /** At most this many commit records (one per committed batch) are kept. */
  maxCount?: number;
}

export interface EventPruneResult {
  /** Commit records removed, and the events they held. */
  removedRecords: number;
  removedEvents: number;
  /** The oldest sequence still in the log, or undefined when it is empty. */
  oldestSeq: number | undefined;
}

/** What else must happen before commit records are removed. */
export interface PruneGuards {
  /** A record that a pending hook delivery points at, and everything after it, is kept. */
  keepFrom: number;
  /** Called with the sequences of each group of records just before they are removed. */
  beforeRemove(seqs: readonly number[]): Promise<unknown>;
}

/**
 * Removes the oldest commit records, with their index entries, up to the limits. Retention never loses
 * an undelivered event (`keepFrom`), nor anything else that reads the log (`beforeRemove`). Each batch
 * that removes records also records the highest sequence it removed (`meta` `seqHighWater`), so that
 * the commit sequence never goes back, even when the whole log is removed.
 */
export async function pruneEvents(storage: StorageBackend, retention: EventRetention, now: number, guards: PruneGuards): Promise<EventPruneResult> {
  let total = 0;
  for await (const _ of storage.iterate('events')) total++;
  let removedRecords = 0;
  let removedEvents = 0;
  let oldestSeq: number | undefined;
  let ops: BatchOp[] = [];
  let seqs: number[] = [];
  const remove = async () => {
    await guards.beforeRemove(seqs);
    // The mark goes in the same batch as the removal: the log never loses its newest sequence without it.
    ops.push(seqHighWaterOp(seqs[seqs.length - 1], now));
    await storage.batch(ops);
    ops = [];
    seqs = [];
  };
  for await (const [key, record] of storage.iterate('events')) {
    const seq = decodeSeqKey(key);
    const overCount = retention.maxCount !== undefined && total - removedRecords > retention.maxCount;
    const events = decodeCommitRecord(record, seq);
    const at = events[0]?.at ?? now;
    const tooOld = retention.maxAgeMs !== undefined && now - at > retention.maxAgeMs;
    if (seq >= guards.keepFrom || !(overCount || tooOld)) {
      oldestSeq = seq;
      break;
    }
    ops.push({ type: 'del', sublevel: 'events', key: encodeSeqKey(seq) });
    seqs.push(seq);
    for (const { sublevel, key } of indexKeysOf(seq, events)) ops.push({ type: 'del', sublevel, key });
    removedRecords++;
    removedEvents += events.length;
    if (ops.length >= 4096) await remove();
  }
  if (ops.length > 0) await remove();
  return { removedRecords, removedEvents, oldestSeq };
}
