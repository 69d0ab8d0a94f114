import { uncompress } from 'snappyjs';
import { crc32cOf, readUint32, unmaskCrc } from './levelBytes.js';

/**
 * Checks every block of a LevelDB table file (`.ldb`, leveldb `doc/table_format.md`) against its stored
 * CRC32C. LevelDB reads tables without checking block checksums (`verify_checksums` is off, and
 * classic-level offers no way to turn it on), so a flipped bit in a key or in an uncompressed block can
 * make a key vanish from reads without an error. Reading the blocks ourselves is how `verify` sees it.
 */

const FOOTER_SIZE = 48;
const TRAILER_SIZE = 5;
const MAGIC_LOW = 0x8b80fb57;
const MAGIC_HIGH = 0xdb477524;
const SNAPPY = 1;

export interface TableDamage {
  /** Byte offset of the block, or of the footer. */
  offset: number;
  reason: string;
}

export interface TableScan {
  /** Blocks whose checksum was checked. */
  blocks: number;
  damage: TableDamage[];
  /**
   * The file has no footer yet: the output of a compaction cut short by a close or a crash, which no
   * manifest names and LevelDB deletes at its next open. Not damage.
   */
  unfinished: boolean;
}

interface BlockHandle {
  offset: number;
  size: number;
}

/** Reads a table's footer, its index and every block the index names, and checks each block's CRC32C. */
export function scanLevelTable(table: Uint8Array): TableScan {
  const damage: TableDamage[] = [];
  let blocks = 0;
  const footerAt = table.length - FOOTER_SIZE;
  if (table.length < FOOTER_SIZE) return { blocks, damage, unfinished: true };
  const magicBitsOff = bitsOff(readUint32(table, table.length - 8), MAGIC_LOW) + bitsOff(readUint32(table, table.length - 4), MAGIC_HIGH);
  if (magicBitsOff > 0) {
    // An unfinished file ends in whatever came last, which is nowhere near the magic number; a finished
    // one whose magic a flip or two changed is damaged.
    if (magicBitsOff > 4) return { blocks, damage, unfinished: true };
    return { blocks, damage: [{ offset: footerAt, reason: `the footer's magic number has ${magicBitsOff} bits wrong` }], unfinished: false };
  }
  const footer = { at: footerAt };
  let metaIndex: BlockHandle;
  let index: BlockHandle;
  try {
    metaIndex = readHandle(table, footer);
    index = readHandle(table, footer);
  } catch (error) {
    return { blocks, damage: [{ offset: footerAt, reason: `the footer does not decode: ${(error as Error).message}` }], unfinished: false };
  }
  const check = (handle: BlockHandle, what: string): Uint8Array | undefined => {
    blocks++;
    const reason = blockProblem(table, handle, footerAt);
    if (reason !== undefined) {
      damage.push({ offset: handle.offset, reason: `${what}: ${reason}` });
      return undefined;
    }
    try {
      return contentsOf(table, handle);
    } catch (error) {
      damage.push({ offset: handle.offset, reason: `${what}: ${(error as Error).message}` });
      return undefined;
    }
  };
  const meta = check(metaIndex, 'meta-index block');
  if (meta !== undefined) for (const handle of handlesIn(meta, damage, metaIndex.offset)) check(handle, 'meta block');
  const indexBlock = check(index, 'index block');
  if (indexBlock !== undefined) for (const handle of handlesIn(indexBlock, damage, index.offset)) check(handle, 'data block');
  return { blocks, damage, unfinished: false };
}

/** Why the block at `handle` is damaged, or undefined when its CRC32C holds. */
function blockProblem(table: Uint8Array, handle: BlockHandle, limit: number): string | undefined {
  if (handle.offset + handle.size + TRAILER_SIZE > limit) return `it would run past the end (offset ${handle.offset}, size ${handle.size})`;
  const stored = unmaskCrc(readUint32(table, handle.offset + handle.size + 1));
  const actual = crc32cOf(table.subarray(handle.offset, handle.offset + handle.size + 1));
  return stored === actual ? undefined : 'checksum mismatch';
}

function contentsOf(table: Uint8Array, handle: BlockHandle): Uint8Array {
  const raw = table.subarray(handle.offset, handle.offset + handle.size);
  const type = table[handle.offset + handle.size];
  if (type === 0) return raw;
  if (type === SNAPPY) return uncompress(Uint8Array.from(raw), 64 * 1024 * 1024);
  throw new Error(`unknown compression type ${type}`);
}

/** The block handles held as values in an index or meta-index block. */
function handlesIn(block: Uint8Array, damage: TableDamage[], blockOffset: number): BlockHandle[] {
  const handles: BlockHandle[] = [];
  if (block.length < 4) {
    damage.push({ offset: blockOffset, reason: 'an index block too short for its restart count' });
    return handles;
  }
  const restarts = readUint32(block, block.length - 4);
  const end = block.length - 4 - 4 * restarts;
  if (end < 0) {
    damage.push({ offset: blockOffset, reason: `an index block with an impossible restart count ${restarts}` });
    return handles;
  }
  const cursor = { at: 0 };
  try {
    while (cursor.at < end) {
      readVarint(block, cursor); // bytes shared with the previous key
      const unshared = readVarint(block, cursor);
      const valueLength = readVarint(block, cursor);
      cursor.at += unshared;
      const valueEnd = cursor.at + valueLength;
      if (valueEnd > end) throw new Error('an entry runs past the block');
      handles.push(readHandle(block, cursor));
      cursor.at = valueEnd;
    }
  } catch (error) {
    damage.push({ offset: blockOffset, reason: `an index entry does not decode: ${(error as Error).message}` });
  }
  return handles;
}

function readHandle(bytes: Uint8Array, cursor: { at: number }): BlockHandle {
  return { offset: readVarint(bytes, cursor), size: readVarint(bytes, cursor) };
}

/** A LevelDB varint64, within JavaScript's safe integers (table offsets are far below 2^53). */
function readVarint(bytes: Uint8Array, cursor: { at: number }): number {
  let value = 0;
  for (let shift = 0; shift < 53; shift += 7) {
    if (cursor.at >= bytes.length) throw new Error('a varint runs past the end');
    const byte = bytes[cursor.at++];
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return value;
  }
  throw new Error('a varint is too long');
}

function bitsOff(actual: number, expected: number): number {
  let bits = 0;
  for (let diff = (actual ^ expected) >>> 0; diff !== 0; diff >>>= 1) bits += diff & 1;
  return bits;
}

