import { createHash } from 'node:crypto';
import { syncDirectory } from '../../syncDirectory.js';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { checkOptions, describeOption } from '../../checkOptions.js';
import { BACKUP_FORMAT, checkHeaderInput, encodeHeaderLines, MAGIC_LINE, MAX_HEADER_BYTES, sha256, type BackupHeader, type BackupHeaderInput, type Compression } from './backupHeader.js';
import { backupKeyFrom, newEncryption, type BackupKeyInput } from './backupKey.js';
import type { BackupRecord } from './backupRecord.js';
import { encodeTrailerLine } from './backupTrailer.js';
import { COMPRESSIONS, createCompressor } from './compression.js';
import { DEFAULT_CHUNK_BYTES, FrameWriter, MAX_CHUNK_BYTES } from './frameCodec.js';
import { progressThrottle } from './progressThrottle.js';
import { encodeRecord, encodeRecords, MAX_FIELD_BYTES } from './recordCodec.js';

export interface WriteBackupOptions {
  compression: Compression;
  /** When given, the file is encrypted with it. */
  key?: BackupKeyInput;
  /** Called at most about ten times a second while writing, and once at the end. */
  onProgress?: (progress: { records: number; bytes: number }) => void;
  /**
   * The size the compressed stream is cut into before framing (and encrypting).
   * @default 65536
   * @internal tests use tiny chunks to get files of many frames
   */
  chunkBytes?: number;
}

export interface WrittenBackup {
  file: string;
  bytes: number;
  records: number;
  counts: Record<string, number>;
  sha256: string;
}

const FIELDS = {
  compression: [z.enum(COMPRESSIONS), "'brotli', 'gzip' or 'none'"],
  key: [z.custom<BackupKeyInput>((value) => Buffer.isBuffer(value) || typeof value === 'string'), 'a 32-byte Buffer or a passphrase'],
  onProgress: [z.custom<NonNullable<WriteBackupOptions['onProgress']>>((value) => typeof value === 'function'), 'a function'],
  chunkBytes: [z.number().int().min(1).max(MAX_CHUNK_BYTES), `an integer from 1 to ${MAX_CHUNK_BYTES}`],
} as const;

/**
 * Streams `records` into `file`: writes `<file>.partial`, fsyncs it, renames it to `file`, fsyncs the
 * directory. On any failure the partial file is removed and nothing named `file` appears. Memory stays
 * flat whatever the number of records (streams with backpressure; never buffers the whole body). An
 * existing `file` is replaced, whole, only once the new one is complete.
 *
 * @throws {TypeError} for a malformed header, options or record (a record naming a sublevel the
 * header does not list, or a field over 512 MiB); nothing is left behind.
 * @example
 * await writeBackupFile('/backups/b1.llmbackup', header, records(), { compression: 'brotli', key: passphrase });
 */
export async function writeBackupFile(file: string, header: BackupHeaderInput, records: AsyncIterable<BackupRecord>, options: WriteBackupOptions): Promise<WrittenBackup> {
  if (typeof file !== 'string' || file === '') throw new TypeError(`Expected \`file\` to be a non-empty path, got ${describeOption(file)}`);
  const input = checkHeaderInput(header);
  const checked = checkOptions(options, FIELDS, { required: ['compression'] });
  const key = checked.key === undefined ? undefined : backupKeyFrom(checked.key, {});
  if (typeof (records as AsyncIterable<BackupRecord> | null)?.[Symbol.asyncIterator] !== 'function') {
    throw new TypeError(`Expected \`records\` to be an async iterable of backup records, got ${describeOption(records)}`);
  }
  const compression = checked.compression;
  const chunkBytes = checked.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const encryption = key === undefined ? undefined : await newEncryption(key, chunkBytes);
  const full: BackupHeader = {
    format: BACKUP_FORMAT,
    id: input.id,
    parentId: input.parentId,
    fromSeq: input.fromSeq,
    seq: input.seq,
    createdAt: input.createdAt,
    kind: input.kind,
    reason: input.reason,
    compression,
    encryption: encryption?.header ?? null,
    sublevels: [...input.sublevels],
    meta: input.meta,
  };
  const headerLines = encodeHeaderLines(full);
  if (headerLines.length - MAGIC_LINE.length > MAX_HEADER_BYTES) {
    throw new TypeError(`Expected the backup header to be at most ${MAX_HEADER_BYTES} bytes of JSON, got ${headerLines.length - MAGIC_LINE.length}; keep \`meta\` small`);
  }
  const headerSha256 = sha256(headerLines);
  const frames = new FrameWriter(encryption === undefined ? undefined : { key: encryption.key, id: full.id, headerSha256 });
  return writeAtomically(file, async (handle) => {
    const hash = createHash('sha256');
    let bytes = 0;
    let recordCount = 0;
    const counts = new Map<string, number>();
    const progress = progressThrottle(checked.onProgress);
    const write = async (data: Buffer, hashed = true) => {
      await writeFully(handle, data);
      if (hashed) hash.update(data);
      bytes += data.length;
      progress.report(() => ({ records: recordCount, bytes }));
    };
    await write(headerLines);
    const indexOf = new Map(full.sublevels.map((name, index) => [name, index]));
    const encode = (record: BackupRecord) => {
      const encoded = encodeRecord(checkRecord(record, indexOf), indexOf.get(record.sublevel)!);
      recordCount++;
      counts.set(record.sublevel, (counts.get(record.sublevel) ?? 0) + 1);
      return encoded;
    };
    const frameBody = (compressed: AsyncIterable<Buffer>) => cutIntoFrames(compressed, chunkBytes, frames);
    const writeFrames = async (framed: AsyncIterable<Buffer>) => {
      for await (const frame of framed) await write(frame);
    };
    const compressor = createCompressor(compression);
    if (compressor === undefined) await pipeline(encodeRecords(records, encode), frameBody, writeFrames);
    else await pipeline(encodeRecords(records, encode), compressor, frameBody, writeFrames);
    const sha256Hex = hash.digest('hex');
    const countsBySublevel = Object.fromEntries(counts);
    await write(encodeTrailerLine({ records: recordCount, counts: countsBySublevel, frames: frames.frames, headerSha256: headerSha256.toString('hex'), sha256: sha256Hex }), false);
    progress.finish({ records: recordCount, bytes });
    return { file, bytes, records: recordCount, counts: countsBySublevel, sha256: sha256Hex };
  });
}

/** Cuts the compressed stream into chunks of `chunkBytes`, frames each, and ends with the empty final frame. */
async function* cutIntoFrames(compressed: AsyncIterable<Buffer>, chunkBytes: number, frames: FrameWriter): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const piece of compressed) {
    let rest = piece;
    while (pendingBytes + rest.length >= chunkBytes) {
      const taken = chunkBytes - pendingBytes;
      pending.push(rest.subarray(0, taken));
      yield frames.frame(Buffer.concat(pending, chunkBytes));
      pending = [];
      pendingBytes = 0;
      rest = rest.subarray(taken);
    }
    if (rest.length > 0) {
      pending.push(rest);
      pendingBytes += rest.length;
    }
  }
  if (pendingBytes > 0) yield frames.frame(Buffer.concat(pending, pendingBytes));
  yield frames.frame(Buffer.alloc(0));
}

const OPS = new Set(['put', 'del', 'clear']);

/** A record is the caller's to get right: a malformed one is a programming mistake, so a TypeError. */
function checkRecord(record: BackupRecord, indexOf: Map<string, number>): BackupRecord {
  if (typeof record !== 'object' || record === null || !OPS.has(record.op)) {
    throw new TypeError(`Expected a backup record with op 'put', 'del' or 'clear', got ${describeOption(record)}`);
  }
  if (!indexOf.has(record.sublevel)) {
    throw new TypeError(`Expected a backup record's sublevel to be one the header lists, got ${describeOption(record.sublevel)}`);
  }
  const fields: [string, unknown][] =
    record.op === 'put' ? [['key', record.key], ['value', record.value]] : record.op === 'del' ? [['key', record.key]] : [['gte', record.gte], ['lt', record.lt]];
  for (const [name, field] of fields) {
    if (record.op === 'clear' && field === undefined) continue;
    if (!Buffer.isBuffer(field)) throw new TypeError(`Expected a ${record.op} record's \`${name}\` to be a Buffer, got ${describeOption(field)}`);
    if (field.length > MAX_FIELD_BYTES) throw new TypeError(`Expected a ${record.op} record's \`${name}\` to be at most ${MAX_FIELD_BYTES} bytes, got ${field.length}`);
  }
  return record;
}

async function writeFully(handle: FileHandle, data: Buffer): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await handle.write(data, offset, data.length - offset);
    offset += bytesWritten;
  }
}

/**
 * Runs `fill` on `<file>.partial`, then makes it durable under `file`. On any failure neither name is
 * left: `file` never names a file that was not whole and synced.
 */
async function writeAtomically<T>(file: string, fill: (handle: FileHandle) => Promise<T>): Promise<T> {
  const partial = `${file}.partial`;
  let renamed = false;
  let handle: FileHandle | undefined;
  try {
    handle = await open(partial, 'w');
    const result = await fill(handle);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(partial, file);
    renamed = true;
    await syncDirectory(dirname(file));
    return result;
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await rm(partial, { force: true }).catch(() => undefined);
    if (renamed) await rm(file, { force: true }).catch(() => undefined);
    throw err;
  }
}

