import { crc32 } from 'node:zlib';
import { LlmStateError } from '../errors.js';

/**
 * Every stored record is wrapped in this envelope:
 *
 * | bytes | field |
 * |---|---|
 * | 0 | format version (1) |
 * | 1–4 | CRC32 of bytes 5…end, big-endian |
 * | 5 | flags: bit 0 set when a schema reference follows the header |
 * | 6–11 | commit sequence, unsigned 48-bit big-endian |
 * | 12–17 | commit timestamp in ms since the epoch, unsigned 48-bit big-endian |
 * | 18… | optional schema reference (u16 length + UTF-8 `name@version`), then the payload |
 *
 * The checksum covers the metadata as well as the payload, so a flipped bit anywhere is caught.
 */
export const RECORD_FORMAT = 1;
const HEADER_BYTES = 18;
const CHECKED_FROM = 5;
const FLAG_SCHEMA = 1;

export interface RecordMeta {
  seq: number;
  timestamp: number;
  /** `name@version` of the schema the payload was validated against. */
  schema?: string;
}

export interface DecodedRecord extends RecordMeta {
  payload: Buffer;
}

/** Wraps a payload (usually JSON text, stored as UTF-8) in the envelope. */
export function encodeRecord(meta: RecordMeta, payload: string | Buffer): Buffer {
  const schemaBytes = meta.schema === undefined ? 0 : 2 + Buffer.byteLength(meta.schema, 'utf8');
  const payloadStart = HEADER_BYTES + schemaBytes;
  const record = Buffer.allocUnsafe(payloadStart + (typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.length));
  record[0] = RECORD_FORMAT;
  record[5] = meta.schema === undefined ? 0 : FLAG_SCHEMA;
  record.writeUIntBE(meta.seq, 6, 6);
  record.writeUIntBE(meta.timestamp, 12, 6);
  if (meta.schema !== undefined) {
    record.writeUInt16BE(schemaBytes - 2, HEADER_BYTES);
    record.write(meta.schema, HEADER_BYTES + 2, 'utf8');
  }
  if (typeof payload === 'string') record.write(payload, payloadStart, 'utf8');
  else payload.copy(record, payloadStart);
  record.writeUInt32BE(crc32(record.subarray(CHECKED_FROM)), 1);
  return record;
}

/**
 * Unwraps and verifies a record.
 *
 * @throws {DATA_CORRUPT} on a checksum mismatch, an unknown format or a truncated record. The bad bytes
 * are never returned.
 */
export function decodeRecord(record: Buffer, where: Record<string, unknown> = {}): DecodedRecord {
  if (record.length < HEADER_BYTES) throw corrupt('it is truncated', record, where);
  if (record[0] !== RECORD_FORMAT) throw corrupt(`its format byte is ${record[0]}`, record, where);
  const stored = record.readUInt32BE(1);
  const actual = crc32(record.subarray(CHECKED_FROM));
  if (stored !== actual) throw corrupt('its checksum does not match', record, where);
  const flags = record[5];
  let payloadStart = HEADER_BYTES;
  let schema: string | undefined;
  if ((flags & ~FLAG_SCHEMA) !== 0) throw corrupt(`its flags byte is ${flags}`, record, where);
  if ((flags & FLAG_SCHEMA) !== 0) {
    if (record.length < HEADER_BYTES + 2) throw corrupt('it is truncated', record, where);
    const length = record.readUInt16BE(HEADER_BYTES);
    if (HEADER_BYTES + 2 + length > record.length) throw corrupt('its schema reference runs past its end', record, where);
    schema = record.toString('utf8', HEADER_BYTES + 2, HEADER_BYTES + 2 + length);
    payloadStart += 2 + length;
  }
  return {
    seq: record.readUIntBE(6, 6),
    timestamp: record.readUIntBE(12, 6),
    ...(schema === undefined ? {} : { schema }),
    payload: record.subarray(payloadStart),
  };
}

function corrupt(reason: string, record: Buffer, where: Record<string, unknown>): LlmStateError {
  return corruptRecord(reason, where, { bytes: record.length });
}

/**
 * The `DATA_CORRUPT` error for a stored record, worded the same for every kind of record: `where` names
 * the record (`{ agent: 'a1' }` reads "A stored record (agent a1) is corrupt: …").
 */
export function corruptRecord(reason: string, where: Record<string, unknown>, extra: { bytes?: number; cause?: unknown } = {}): LlmStateError {
  const place = Object.entries(where)
    .map(([name, value]) => `${name} ${String(value)}`)
    .join(', ');
  return new LlmStateError(
    'DATA_CORRUPT',
    `A stored record${place === '' ? '' : ` (${place})`} is corrupt: ${reason}. It was not returned`,
    { cause: extra.cause, details: { ...where, reason, ...(extra.bytes === undefined ? {} : { bytes: extra.bytes }) } },
  );
}
