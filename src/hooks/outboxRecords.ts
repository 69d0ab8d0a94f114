import { LlmStateError } from '../errors.js';
import { decodeSeqKey, encodeSeqKey } from '../events/eventLog.js';
import { decodeRecord, encodeRecord } from '../storage/recordEnvelope.js';

/**
 * The stored forms of the outbox and of hook dead letters. Both are keyed by hook name and commit
 * sequence (`<name> 0x00 <seq>`), so one hook's entries iterate in commit order.
 *
 * An outbox entry normally points into the event log (the indexes of the hook's events in that batch's
 * record), so the write path stores each value once more at most. An entry put back from the dead
 * letters carries its events inline, because the log may have been pruned since.
 */
export interface OutboxEntryValue {
  /** Indexes into the commit record of `seq`. */
  indexes?: number[];
  /** The events themselves, as delivered JSON text. */
  events?: string[];
  /** Failed attempts so far; kept across restarts so `maxAttempts` holds. */
  attempts: number;
}

export interface DeadLetterValue {
  hookName: string;
  seq: number;
  reason: 'attempts_exhausted' | 'overflow' | 'unregistered';
  /** The last error, for exhausted attempts. */
  error?: { code: string; message: string };
  attempts: number;
  at: number;
  /** The undelivered events, as delivered JSON text. */
  events: string[];
}

export function hookSeqKey(hookName: string, seq: number): Buffer {
  const name = Buffer.from(hookName, 'utf8');
  const key = Buffer.allocUnsafe(name.length + 9);
  name.copy(key, 0);
  key[name.length] = 0;
  encodeSeqKey(seq).copy(key, name.length + 1);
  return key;
}

export function decodeHookSeqKey(key: Buffer): { hookName: string; seq: number } {
  const split = key.length - 9;
  if (split < 1 || key[split] !== 0) {
    throw new LlmStateError('DATA_CORRUPT', `A hook outbox key is malformed (${key.length} bytes). It was not used`, { details: { key: key.toString('hex') } });
  }
  return { hookName: key.toString('utf8', 0, split), seq: decodeSeqKey(key.subarray(split + 1)) };
}

/** The key range holding one hook's entries. */
export function hookRange(hookName: string): { gte: Buffer; lt: Buffer } {
  const name = Buffer.from(hookName, 'utf8');
  return { gte: Buffer.concat([name, Buffer.from([0])]), lt: Buffer.concat([name, Buffer.from([1])]) };
}

export function encodeOutboxValue(seq: number, timestamp: number, value: OutboxEntryValue): Buffer {
  return encodeRecord({ seq, timestamp }, JSON.stringify(value));
}

/** @throws {DATA_CORRUPT} */
export function decodeOutboxValue(record: Buffer, where: Record<string, unknown>): { timestamp: number; value: OutboxEntryValue } {
  const { timestamp, payload } = decodeRecord(record, where);
  return { timestamp, value: JSON.parse(payload.toString('utf8')) as OutboxEntryValue };
}

export function encodeDeadLetter(letter: DeadLetterValue): Buffer {
  return encodeRecord({ seq: letter.seq, timestamp: letter.at }, JSON.stringify(letter));
}

/** @throws {DATA_CORRUPT} */
export function decodeDeadLetter(record: Buffer, where: Record<string, unknown>): DeadLetterValue {
  return JSON.parse(decodeRecord(record, where).payload.toString('utf8')) as DeadLetterValue;
}
