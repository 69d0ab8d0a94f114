import { randomBytes } from 'node:crypto';

/**
 * Keys of the `audit` namespace. Every record is keyed by time, so the whole namespace is in time
 * order and one retention pass covers it:
 *
 * | key | holds |
 * |---|---|
 * | `00 00` + 6-byte big-endian ms + event id (`12.0`) | an entry the built-in `audit` hook wrote |
 * | `00 00` + 6-byte big-endian ms + `a…` record id | an access decision |
 * | `01` + u16 length + principal + the decision's key | the index of decisions by principal |
 *
 * An event id starts with a digit and a record id with `a`, so the two sources never collide, and the
 * index sorts after every record.
 */
const TIME_BYTES = 8;
const MAX_MS = 2 ** 48 - 1;
const RECORD_ID_MARK = 0x61; // 'a'
const INDEX_MARK = 0x01;

/** Just past every record key: records end here and the index begins. */
export const RECORDS_END = Buffer.from([0x00, 0x01]);

/** The first key at or after `ms`; times outside the 48-bit range are clamped. */
export function timeKey(ms: number): Buffer {
  const key = Buffer.alloc(TIME_BYTES);
  key.writeUIntBE(Math.min(Math.max(0, Math.floor(ms)), MAX_MS), 2, 6);
  return key;
}

/** The first key after every record at or before `ms`. */
export function afterTimeKey(ms: number): Buffer {
  return ms >= MAX_MS ? RECORDS_END : timeKey(ms + 1);
}

export function recordKey(at: number, id: string): Buffer {
  return Buffer.concat([timeKey(at), Buffer.from(id, 'utf8')]);
}

/** True for an access decision's key, false for an entry of the audit hook or an index key. */
export function isDecisionKey(key: Buffer): boolean {
  return key.length > TIME_BYTES && key[0] === 0 && key[1] === 0 && key[TIME_BYTES] === RECORD_ID_MARK;
}

export function recordIdOf(key: Buffer): string {
  return key.toString('utf8', TIME_BYTES);
}

export function timeOf(key: Buffer): number {
  return key.readUIntBE(2, 6);
}

/** Every index key of `principal` starts with this; a principal is at most 65,535 bytes of UTF-8. */
export function principalPrefix(principal: string): Buffer {
  const name = Buffer.from(principal, 'utf8');
  const prefix = Buffer.allocUnsafe(3 + name.length);
  prefix[0] = INDEX_MARK;
  prefix.writeUInt16BE(name.length, 1);
  name.copy(prefix, 3);
  return prefix;
}

export function principalIndexKey(principal: string, recordKeyBytes: Buffer): Buffer {
  return Buffer.concat([principalPrefix(principal), recordKeyBytes]);
}

/** The record key an index key points at. */
export function recordKeyOfIndex(indexKey: Buffer): Buffer {
  return indexKey.subarray(3 + indexKey.readUInt16BE(1));
}

/**
 * Hands out record ids: `a`, a random part drawn once per generator, then a fixed-width counter. The
 * random part keeps two processes, or a restart within the same ms, from reusing a key; the counter
 * keeps one process's decisions in the order they were made within a ms.
 */
export class RecordIds {
  readonly #instance = randomBytes(6).toString('hex');
  #counter = 0;

  next(): string {
    this.#counter++;
    return `a${this.#instance}${this.#counter.toString(36).padStart(10, '0')}`;
  }
}
