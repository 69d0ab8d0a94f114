import type { BackupRecord } from './backupRecord.js';

/**
 * The record stream, before compression. Each record is:
 *
 * | bytes | field |
 * |---|---|
 * | 1 | op: 1 put, 2 del, 3 clear |
 * | varint | index of the sublevel in the header's `sublevels` |
 * | put | varint key length, key, varint value length, value |
 * | del | varint key length, key |
 * | clear | 1 flags byte (bit 0: `gte` follows, bit 1: `lt` follows), then each bound as varint length + bytes |
 *
 * Varints are unsigned LEB128, at most 5 bytes, so a field is below 4 GiB; {@link MAX_FIELD_BYTES} is
 * the bound that both sides hold to.
 */
const OP_PUT = 1;
const OP_DEL = 2;
const OP_CLEAR = 3;
const HAS_GTE = 1;
const HAS_LT = 2;

/** The largest key, value or bound a record may carry. */
export const MAX_FIELD_BYTES = 512 * 1024 * 1024;

/** How many bytes of records are gathered before they are handed on: one zlib call per batch, not per record. */
const BATCH_BYTES = 64 * 1024;

function varintBytes(value: number): number {
  let bytes = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    bytes++;
  }
  return bytes;
}

function writeVarint(target: Buffer, offset: number, value: number): number {
  while (value >= 0x80) {
    target[offset++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  target[offset++] = value;
  return offset;
}

function fieldBytes(field: Buffer): number {
  return varintBytes(field.length) + field.length;
}

function writeField(target: Buffer, offset: number, field: Buffer): number {
  offset = writeVarint(target, offset, field.length);
  return offset + field.copy(target, offset);
}

/** The bytes of one record. `sublevelIndex` is its sublevel's place in the header's list. */
export function encodeRecord(record: BackupRecord, sublevelIndex: number): Buffer {
  const fields = record.op === 'put' ? [record.key, record.value] : record.op === 'del' ? [record.key] : [record.gte, record.lt].filter((bound) => bound !== undefined);
  const size = 1 + varintBytes(sublevelIndex) + (record.op === 'clear' ? 1 : 0) + fields.reduce((sum, field) => sum + fieldBytes(field), 0);
  const bytes = Buffer.allocUnsafe(size);
  bytes[0] = record.op === 'put' ? OP_PUT : record.op === 'del' ? OP_DEL : OP_CLEAR;
  let offset = writeVarint(bytes, 1, sublevelIndex);
  if (record.op === 'clear') bytes[offset++] = (record.gte === undefined ? 0 : HAS_GTE) | (record.lt === undefined ? 0 : HAS_LT);
  for (const field of fields) offset = writeField(bytes, offset, field);
  return bytes;
}

/**
 * Batches encoded records into buffers of about {@link BATCH_BYTES}. A record larger than a batch goes
 * out on its own, so nothing is copied twice.
 */
export async function* encodeRecords(records: AsyncIterable<BackupRecord>, encode: (record: BackupRecord) => Buffer): AsyncGenerator<Buffer> {
  let batch: Buffer[] = [];
  let batched = 0;
  for await (const record of records) {
    const bytes = encode(record);
    if (batched + bytes.length > BATCH_BYTES && batched > 0) {
      yield Buffer.concat(batch, batched);
      batch = [];
      batched = 0;
    }
    batch.push(bytes);
    batched += bytes.length;
  }
  if (batched > 0) yield Buffer.concat(batch, batched);
}

/** What a record's bytes decode to, before its sublevel index is looked up. */
export type DecodedRecord =
  | { op: 'put'; sublevelIndex: number; key: Buffer; value: Buffer }
  | { op: 'del'; sublevelIndex: number; key: Buffer }
  | { op: 'clear'; sublevelIndex: number; gte?: Buffer; lt?: Buffer };

/** Why bytes do not decode: the stream holds something no writer produces. */
export class RecordDecodeError extends Error {}

/** Thrown inside the decoder when the bytes so far end inside a record. */
const INCOMPLETE = Symbol('incomplete');

class Cursor {
  offset: number;
  constructor(readonly bytes: Buffer, offset: number) {
    this.offset = offset;
  }

  byte(): number {
    if (this.offset >= this.bytes.length) throw INCOMPLETE;
    return this.bytes[this.offset++];
  }

  varint(): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.byte();
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return value;
    }
    throw new RecordDecodeError('a length runs over five bytes');
  }

  field(): Buffer {
    const length = this.varint();
    if (length > MAX_FIELD_BYTES) throw new RecordDecodeError(`a field claims ${length} bytes, more than the ${MAX_FIELD_BYTES} a record may hold`);
    if (this.offset + length > this.bytes.length) throw INCOMPLETE;
    // A copy, so that a record a consumer keeps does not pin the whole decompressed batch.
    const field = Buffer.from(this.bytes.subarray(this.offset, this.offset + length));
    this.offset += length;
    return field;
  }
}

function decodeOne(cursor: Cursor): DecodedRecord {
  const op = cursor.byte();
  const sublevelIndex = cursor.varint();
  if (op === OP_PUT) return { op: 'put', sublevelIndex, key: cursor.field(), value: cursor.field() };
  if (op === OP_DEL) return { op: 'del', sublevelIndex, key: cursor.field() };
  if (op !== OP_CLEAR) throw new RecordDecodeError(`a record has the unknown op ${op}`);
  const flags = cursor.byte();
  if ((flags & ~(HAS_GTE | HAS_LT)) !== 0) throw new RecordDecodeError(`a clear record has the unknown flags ${flags}`);
  const gte = (flags & HAS_GTE) === 0 ? undefined : cursor.field();
  const lt = (flags & HAS_LT) === 0 ? undefined : cursor.field();
  return { op: 'clear', sublevelIndex, ...(gte === undefined ? {} : { gte }), ...(lt === undefined ? {} : { lt }) };
}

/**
 * Turns the decompressed stream back into records, whatever the pieces it arrives in. Pieces wait until
 * the record they hold the start of is complete, and are joined once, so that a value of several MiB
 * that arrives in many pieces is not copied once per piece.
 */
export class RecordDecoder {
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** How many bytes the record at the start of the pending pieces needs, at least. */
  #needed = 1;

  /** The records that `piece` completes. */
  push(piece: Buffer): DecodedRecord[] {
    if (piece.length === 0) return [];
    this.#pending.push(piece);
    this.#pendingBytes += piece.length;
    if (this.#pendingBytes < this.#needed) return [];
    const bytes = this.#pending.length === 1 ? this.#pending[0] : Buffer.concat(this.#pending, this.#pendingBytes);
    const records: DecodedRecord[] = [];
    let start = 0;
    while (start < bytes.length) {
      const cursor = new Cursor(bytes, start);
      try {
        records.push(decodeOne(cursor));
        start = cursor.offset;
      } catch (err) {
        if (err !== INCOMPLETE) throw err;
        break;
      }
    }
    this.#pending = start === bytes.length ? [] : [bytes.subarray(start)];
    this.#pendingBytes = bytes.length - start;
    this.#needed = this.#pendingBytes === 0 ? 1 : neededFor(bytes, start);
    return records;
  }

  /** Throws when the stream ended inside a record. */
  end(): void {
    if (this.#pendingBytes > 0) throw new RecordDecodeError(`the record stream ends inside a record, ${this.#pendingBytes} bytes into it`);
  }
}

/** The size the incomplete record at `start` will have once its lengths are known, or one byte more than what is there. */
function neededFor(bytes: Buffer, start: number): number {
  const have = bytes.length - start;
  const cursor = new Cursor(bytes, start);
  try {
    const op = cursor.byte();
    cursor.varint();
    if (op === OP_CLEAR) return have + 1;
    const keyLength = cursor.varint();
    if (op === OP_DEL || cursor.offset + keyLength >= bytes.length) return Math.max(have + 1, cursor.offset - start + keyLength);
    cursor.offset += keyLength;
    const valueLength = cursor.varint();
    return Math.max(have + 1, cursor.offset - start + valueLength);
  } catch (err) {
    if (err === INCOMPLETE) return have + 1;
    throw err;
  }
}
