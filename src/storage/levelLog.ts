import { crc32cOf, readUint32, unmaskCrc } from './levelBytes.js';

/**
 * A reader of LevelDB's write-ahead log format (leveldb `doc/log_format.md`), used to check a log
 * before LevelDB replays it. LevelDB, as classic-level opens it, skips a record whose checksum fails and
 * carries on; its only trace is a line in the `LOG` file, and the log is deleted once replayed. Reading
 * the log first is how a store that would lose acknowledged writes is refused instead.
 */

const BLOCK_SIZE = 32 * 1024;
const HEADER_SIZE = 7;

const ZERO = 0;
const FULL = 1;
const FIRST = 2;
const MIDDLE = 3;
const LAST = 4;

/** Part of a log that LevelDB would drop on recovery. */
export interface LogDamage {
  /** Byte offset in the file where the dropped span starts. */
  offset: number;
  /** Bytes LevelDB would skip. */
  bytes: number;
  reason: string;
}

export interface LogScan {
  /** Logical records (write batches) that read back intact. */
  records: number;
  /** Spans LevelDB would drop as corrupt. Empty for a sound log. */
  damage: LogDamage[];
  /**
   * Bytes of an incomplete record at the very end: a write cut short by a crash, which was never
   * acknowledged. After a clean close there is none, so then it counts as damage.
   */
  truncatedTailBytes: number;
}

function checksumOf(type: number, data: Uint8Array): number {
  return crc32cOf(data, crc32cOf([type]));
}

/**
 * Reads a log the way LevelDB's `log::Reader` does on recovery, and reports everything it would drop.
 * Zero-filled block trailers and preallocated zero records are not damage; LevelDB skips them too.
 */
export function scanLevelLog(log: Uint8Array): LogScan {
  const damage: LogDamage[] = [];
  let records = 0;
  let inFragment = false;
  let fragmentStart = 0;
  let offset = 0;
  const drop = (at: number, bytes: number, reason: string) => {
    const last = damage.at(-1);
    if (last !== undefined && last.offset + last.bytes === at && last.reason === reason) last.bytes += bytes;
    else damage.push({ offset: at, bytes, reason });
  };
  const dropFragment = (reason: string) => {
    if (inFragment) drop(fragmentStart, offset - fragmentStart, reason);
    inFragment = false;
  };
  while (offset < log.length) {
    const blockEnd = Math.min((Math.floor(offset / BLOCK_SIZE) + 1) * BLOCK_SIZE, log.length);
    if (blockEnd - offset < HEADER_SIZE) {
      if (blockEnd === log.length && log.length % BLOCK_SIZE !== 0 && !isZero(log, offset, blockEnd)) {
        return { records, damage, truncatedTailBytes: log.length - (inFragment ? fragmentStart : offset) };
      }
      offset = blockEnd;
      continue;
    }
    const masked = readUint32(log, offset);
    const length = log[offset + 4] | (log[offset + 5] << 8);
    const type = log[offset + 6];
    const end = offset + HEADER_SIZE + length;
    if (end > blockEnd) {
      // A writer never lets a record cross its block, and a write cut short is the last thing written:
      // only then is this a torn tail. Otherwise the length itself is damaged, and LevelDB drops the rest
      // of the block (or, at the end of the file, stops reading without a word).
      const fullBlockEnd = (Math.floor(offset / BLOCK_SIZE) + 1) * BLOCK_SIZE;
      if (blockEnd === log.length && end <= fullBlockEnd && !hasIntactRecordAfter(log, offset + HEADER_SIZE)) {
        return { records, damage, truncatedTailBytes: log.length - (inFragment ? fragmentStart : offset) };
      }
      drop(offset, blockEnd - offset, 'bad record length');
      dropFragment('partial record cut by damage');
      offset = blockEnd;
      continue;
    }
    if (type === ZERO && length === 0) {
      // LevelDB skips the rest of the block after a zeroed header, without a word: preallocated space
      // is all zeros, so anything else there is lost.
      if (!isZero(log, offset, blockEnd)) drop(offset, blockEnd - offset, 'zeroed record header');
      dropFragment('partial record cut by damage');
      offset = blockEnd;
      continue;
    }
    const data = log.subarray(offset + HEADER_SIZE, end);
    if (unmaskCrc(masked) !== checksumOf(type, data)) {
      dropFragment('partial record cut by damage');
      drop(offset, blockEnd - offset, 'checksum mismatch');
      offset = blockEnd;
      continue;
    }
    switch (type) {
      case FULL:
        dropFragment('partial record without end');
        records++;
        break;
      case FIRST:
        dropFragment('partial record without end');
        inFragment = true;
        fragmentStart = offset;
        break;
      case MIDDLE:
        if (!inFragment) drop(offset, end - offset, 'missing start of fragmented record');
        break;
      case LAST:
        if (!inFragment) drop(offset, end - offset, 'missing start of fragmented record');
        else records++;
        inFragment = false;
        break;
      default:
        dropFragment('partial record cut by damage');
        drop(offset, end - offset, `unknown record type ${type}`);
    }
    offset = end;
  }
  // A record whose last fragment never came is a write cut short.
  return { records, damage, truncatedTailBytes: inFragment ? log.length - fragmentStart : 0 };
}

/** Whether a physical record whose checksum holds starts anywhere at or after `from`. */
function hasIntactRecordAfter(log: Uint8Array, from: number): boolean {
  for (let at = from; at + HEADER_SIZE <= log.length; at++) {
    const type = log[at + 6];
    if (type < FULL || type > LAST) continue;
    const end = at + HEADER_SIZE + (log[at + 4] | (log[at + 5] << 8));
    if (end > Math.min((Math.floor(at / BLOCK_SIZE) + 1) * BLOCK_SIZE, log.length)) continue;
    if (unmaskCrc(readUint32(log, at)) === checksumOf(type, log.subarray(at + HEADER_SIZE, end))) return true;
  }
  return false;
}

function isZero(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i] !== 0) return false;
  return true;
}
