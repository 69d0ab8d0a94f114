import { decodeCommitRecord, encodeSeqKey, type LoggedEvent } from '../events/eventLog.js';
import { isLlmStateError } from '../errors.js';
import type { BatchOp, StorageBackend } from '../storage/index.js';
import type { HookSlot } from './HookSlot.js';
import { inlineEntry, loggedEntry, type PendingEntry } from './pendingEntry.js';
import { decodeHookSeqKey, decodeOutboxValue, encodeDeadLetter, hookRange, hookSeqKey, type DeadLetterValue } from './outboxRecords.js';

export interface LoadedOutbox {
  /** Entries of hooks no longer registered, or whose events cannot be read, moved to dead letters. */
  ops: BatchOp[];
  loaded: number;
  deadLettered: number;
  /** The highest sequence read, or `after` when none was. */
  through: number;
}

/** One hook's entries after a sequence, for a process that delivers that hook on a shared store. */
export interface OutboxSlice {
  hookName: string;
  after: number;
  /** Entries this process queued itself as it staged them. */
  skip(seq: number): boolean;
}

/**
 * Reads what was waiting in the outbox when the runtime last stopped into each hook's queue, in commit
 * order, so it is delivered after a restart. Entries that cannot be delivered are dead-lettered rather
 * than dropped: those of hooks that are gone, and those whose log record is missing or damaged.
 *
 * @throws {STORAGE_FAILED} when a read fails (a dropped connection, say). Nothing is queued then, and
 * nothing is to be dead-lettered: a failed read says nothing about the entries, and reading again is safe.
 * A read that finds the store damaged (DATA_CORRUPT) dead-letters the entry it was for, as before.
 */
export async function loadOutbox(storage: StorageBackend, slots: Map<string, HookSlot>, now: number, slice?: OutboxSlice): Promise<LoadedOutbox> {
  const ops: BatchOp[] = [];
  const restored: Array<[HookSlot, PendingEntry]> = [];
  const records = new Map<number, LoggedEvent[] | Error>();
  let loaded = 0;
  let deadLettered = 0;
  let through = slice?.after ?? 0;
  const range = slice === undefined ? {} : { gt: hookSeqKey(slice.hookName, slice.after), lt: hookRange(slice.hookName).lt };
  for await (const [key, record] of storage.iterate('outbox', range)) {
    const { hookName, seq } = decodeHookSeqKey(key);
    through = Math.max(through, seq);
    if (slice?.skip(seq) === true) continue;
    const { timestamp, value } = decodeOutboxValue(record, { 'outbox entry': `${hookName}@${seq}` });
    let entry: PendingEntry | undefined;
    let events: string[] = [];
    let problem: DeadLetterValue['error'] | undefined;
    if (value.events !== undefined) {
      events = value.events;
      entry = inlineEntry(seq, timestamp, events, value.attempts);
    } else {
      const logged = await readRecord(storage, seq, records);
      if (logged instanceof Error) {
        problem = { code: 'DATA_CORRUPT', message: logged.message };
      } else {
        const picked = value.indexes!.filter((index) => logged[index] !== undefined).map((index) => logged[index]);
        events = picked.map((event) => JSON.stringify(event));
        if (picked.length < value.indexes!.length) problem = { code: 'DATA_CORRUPT', message: `The event log record ${seq} lacks events this entry names` };
        else entry = loggedEntry(seq, timestamp, picked, value.attempts);
      }
    }
    const slot = slots.get(hookName);
    if (slot === undefined || entry === undefined) {
      const letter: DeadLetterValue = {
        hookName,
        seq,
        reason: slot === undefined ? 'unregistered' : 'attempts_exhausted',
        ...(problem === undefined ? {} : { error: problem }),
        attempts: value.attempts,
        at: now,
        events,
      };
      ops.push({ type: 'del', sublevel: 'outbox', key }, { type: 'put', sublevel: 'hookDeadLetters', key, value: encodeDeadLetter(letter) });
      deadLettered += events.length;
      continue;
    }
    restored.push([slot, entry]);
    loaded += events.length;
  }
  for (const [slot, entry] of restored) slot.restore(entry);
  return { ops, loaded, deadLettered, through };
}

async function readRecord(storage: StorageBackend, seq: number, cache: Map<number, LoggedEvent[] | Error>): Promise<LoggedEvent[] | Error> {
  let found = cache.get(seq);
  if (found === undefined) {
    found = await readRecordOnce(storage, seq);
    cache.set(seq, found);
  }
  return found;
}

/** The events of commit `seq`, or why they cannot be delivered: a missing or damaged record. */
async function readRecordOnce(storage: StorageBackend, seq: number): Promise<LoggedEvent[] | Error> {
  let record: Buffer | undefined;
  try {
    record = await storage.get('events', encodeSeqKey(seq));
  } catch (error) {
    // A damaged block of the store stays damaged, as a damaged record does. Any other failure of the read
    // says nothing about the record: it is thrown, and the read is made again later.
    if (isLlmStateError(error, 'DATA_CORRUPT')) return error;
    throw error;
  }
  if (record === undefined) return new Error(`The event log record ${seq} is missing`);
  try {
    return decodeCommitRecord(record, seq);
  } catch (error) {
    return error as Error;
  }
}

/**
 * The oldest commit sequence a pending outbox entry points into, or Infinity. The event log keeps that
 * record and everything after it. Entries carried inline (put back from dead letters) point nowhere.
 */
export async function oldestReferencedSeq(storage: StorageBackend): Promise<number> {
  let oldest = Infinity;
  for await (const [key, record] of storage.iterate('outbox')) {
    const { hookName, seq } = decodeHookSeqKey(key);
    if (seq >= oldest) continue;
    const { value } = decodeOutboxValue(record, { 'outbox entry': `${hookName}@${seq}` });
    if (value.events === undefined) oldest = seq;
  }
  return oldest;
}

/** Whether the outbox holds any entry of `hookName`. */
export async function hasOutboxEntries(storage: StorageBackend, hookName: string): Promise<boolean> {
  for await (const _ of storage.iterate('outbox', { ...hookRange(hookName), limit: 1 })) return true;
  return false;
}
