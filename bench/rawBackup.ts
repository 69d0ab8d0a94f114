/**
 * The raw references of P6: a backup that is nothing but iterating the LevelDB directory and compressing
 * what it reads with the codec and level the runtime uses, and a restore that is nothing but
 * decompressing that file and writing its records into a fresh classic-level in batches bounded as the
 * runtime bounds its own.
 *
 * The file is each key and value behind a 4-byte length, brotli-compressed, written and fsynced: no
 * header, no checksum, no encryption frames, no record types.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { constants, createBrotliCompress, createBrotliDecompress } from 'node:zlib';
import { openRaw } from './harness.js';

/** As src/backup/file/compression.ts sets it. */
const BROTLI_QUALITY = 4;
const READ_BATCH = 1_000;
/** As src/backup/applyRecords.ts bounds its batches: 1,000 event-log records would be a batch of GBs. */
const WRITE_BATCH = 2_048;
const WRITE_BATCH_BYTES = 4 << 20;
const CHUNK_BYTES = 64 * 1024;

export interface RawBackupResult {
  records: number;
  /** Keys and values, before framing and compression. */
  inputBytes: number;
  fileBytes: number;
}

/** Every entry of the store in `storeDir` (every sublevel), compressed into `file`. */
export async function rawBackup(storeDir: string, file: string): Promise<RawBackupResult> {
  const db = await openRaw(storeDir);
  let records = 0;
  let inputBytes = 0;
  try {
    const framed = async function* (): AsyncGenerator<Buffer> {
      const iterator = db.iterator();
      try {
        for (let entries = await iterator.nextv(READ_BATCH); entries.length > 0; entries = await iterator.nextv(READ_BATCH)) {
          let size = 0;
          for (const [key, value] of entries) size += 8 + key.length + value.length;
          const out = Buffer.allocUnsafe(size);
          let offset = 0;
          for (const [key, value] of entries) {
            offset = out.writeUInt32LE(key.length, offset);
            offset += key.copy(out, offset);
            offset = out.writeUInt32LE(value.length, offset);
            offset += value.copy(out, offset);
            inputBytes += key.length + value.length;
          }
          records += entries.length;
          yield out;
        }
      } finally {
        await iterator.close();
      }
    };
    const compressor = createBrotliCompress({
      params: { [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY, [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT },
    });
    await pipeline(framed, compressor, createWriteStream(file, { highWaterMark: CHUNK_BYTES }));
    const handle = await open(file, 'r+');
    try {
      await handle.sync();
      return { records, inputBytes, fileBytes: (await handle.stat()).size };
    } finally {
      await handle.close();
    }
  } finally {
    await db.close();
  }
}

/** Writes the records of a {@link rawBackup} file into a fresh store in `storeDir`; returns how many. */
export async function rawRestore(file: string, storeDir: string): Promise<number> {
  const db = await openRaw(storeDir);
  let records = 0;
  try {
    const write = async (decompressed: AsyncIterable<Buffer>) => {
      // Pieces wait until the record they start is whole, and are joined once: event-log records of a
      // few MB arrive in pieces of 16 KiB.
      let pieces: Buffer[] = [];
      let have = 0;
      let needed = 8;
      let ops: { type: 'put'; key: Buffer; value: Buffer }[] = [];
      let opsBytes = 0;
      for await (const piece of decompressed) {
        pieces.push(piece);
        have += piece.length;
        if (have < needed) continue;
        const bytes = pieces.length === 1 ? pieces[0] : Buffer.concat(pieces, have);
        let offset = 0;
        needed = 8;
        while (offset + 8 <= bytes.length) {
          const keyLength = bytes.readUInt32LE(offset);
          if (offset + 8 + keyLength > bytes.length) {
            needed = 8 + keyLength;
            break;
          }
          const valueLength = bytes.readUInt32LE(offset + 4 + keyLength);
          const end = offset + 8 + keyLength + valueLength;
          if (end > bytes.length) {
            needed = end - offset;
            break;
          }
          const key = bytes.subarray(offset + 4, offset + 4 + keyLength);
          const value = bytes.subarray(offset + 8 + keyLength, end);
          ops.push({ type: 'put', key, value });
          opsBytes += key.length + value.length;
          offset = end;
          if (ops.length === WRITE_BATCH || opsBytes >= WRITE_BATCH_BYTES) {
            await db.batch(ops);
            records += ops.length;
            ops = [];
            opsBytes = 0;
          }
        }
        pieces = offset === bytes.length ? [] : [bytes.subarray(offset)];
        have = bytes.length - offset;
      }
      if (have > 0) throw new Error(`raw restore: the file ends inside a record (${have} bytes left)`);
      await db.batch(ops, { sync: true });
      records += ops.length;
    };
    await pipeline(createReadStream(file, { highWaterMark: CHUNK_BYTES }), createBrotliDecompress(), write);
  } finally {
    await db.close();
  }
  return records;
}
