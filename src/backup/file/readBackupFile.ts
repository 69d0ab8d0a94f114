import { pipeline } from 'node:stream';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { checkOptions, checkOptionsArgument, describeOption } from '../../checkOptions.js';
import { LlmStateError } from '../../errors.js';
import { backupCorrupt } from './backupCorrupt.js';
import { BackupFileReader } from './BackupFileReader.js';
import type { BackupHeader } from './backupHeader.js';
import { backupKeyFrom, type BackupKeyInput } from './backupKey.js';
import type { BackupRecord } from './backupRecord.js';
import type { BackupTrailer } from './backupTrailer.js';
import { createDecompressor } from './compression.js';
import { progressThrottle } from './progressThrottle.js';
import { RecordDecodeError, RecordDecoder, type DecodedRecord } from './recordCodec.js';

export interface ReadBackupOptions {
  /** The key or passphrase the file was encrypted with. @default process.env.LLMSTATE_BACKUP_KEY */
  key?: BackupKeyInput;
  /** Called at most about ten times a second while reading, and once at the end. */
  onProgress?: (p: { records: number; bytes: number; totalBytes: number }) => void;
}

const FIELDS = {
  key: [z.custom<BackupKeyInput>((value) => Buffer.isBuffer(value) || typeof value === 'string'), 'a 32-byte Buffer or a passphrase'],
  onProgress: [z.custom<NonNullable<ReadBackupOptions['onProgress']>>((value) => typeof value === 'function'), 'a function'],
} as const;

function checkFile(file: unknown): asserts file is string {
  if (typeof file !== 'string' || file === '') throw new TypeError(`Expected \`file\` to be a non-empty path, got ${describeOption(file)}`);
}

/**
 * Magic line and header only (cheap: reads the first few KiB). Damage elsewhere in the file goes
 * unnoticed here; {@link verifyBackupFile} finds it.
 *
 * @throws {BACKUP_NOT_FOUND} when the file is missing.
 * @throws {BACKUP_CORRUPT} when the magic line or the header is damaged.
 * @example
 * const { id, seq, kind } = await readBackupHeader('/backups/b1.llmbackup');
 */
export async function readBackupHeader(file: string): Promise<BackupHeader> {
  checkFile(file);
  const reader = await BackupFileReader.open(file);
  try {
    return await reader.readHeader();
  } finally {
    await reader.close();
  }
}

/**
 * Streams the records, checking every frame as it goes. The trailer (count, SHA-256) is checked when the
 * stream ends: the generator throws BACKUP_CORRUPT then, after yielding records, so a consumer must treat
 * records as provisional until the iteration completes (the restore writes into a staging store).
 *
 * @throws {BACKUP_NOT_FOUND} when the file is missing.
 * @throws {BACKUP_KEY_REQUIRED} when the file is encrypted and no key is given (option or env).
 * @throws {BACKUP_CORRUPT} for any damage, and for a wrong key (message: the key does not match). The
 * message names the file and where the damage is; `details` is `{ file, offset?, region }`.
 * @example
 * for await (const record of readBackupRecords(file, { key })) staging.apply(record);
 */
export async function* readBackupRecords(file: string, options?: ReadBackupOptions): AsyncGenerator<BackupRecord> {
  const reader = await openChecked(file, options);
  try {
    yield* recordsOf(reader, options?.onProgress);
  } finally {
    await reader.close();
  }
}

/**
 * Reads the whole file and checks everything. Resolves to its header and trailer.
 *
 * @throws {BACKUP_NOT_FOUND} | {BACKUP_KEY_REQUIRED} | {BACKUP_CORRUPT} as {@link readBackupRecords}.
 * @example
 * const { header, trailer } = await verifyBackupFile(file, { key });
 */
export async function verifyBackupFile(file: string, options?: ReadBackupOptions): Promise<{ header: BackupHeader; trailer: BackupTrailer }> {
  const reader = await openChecked(file, options);
  try {
    for await (const _record of recordsOf(reader, options?.onProgress));
    return { header: reader.header, trailer: reader.trailer };
  } finally {
    await reader.close();
  }
}

/** Checks the arguments, opens the file, and reads and checks everything that comes before the body. */
async function openChecked(file: string, options: ReadBackupOptions | undefined): Promise<BackupFileReader> {
  checkFile(file);
  checkOptionsArgument(options);
  const checked = checkOptions(options ?? {}, FIELDS);
  const key = backupKeyFrom(checked.key);
  const reader = await BackupFileReader.open(file);
  try {
    await reader.readHeader();
    await reader.checkHeaderAgainstTrailer();
    await reader.useKey(key);
    return reader;
  } catch (err) {
    await reader.close();
    throw err;
  }
}

async function* recordsOf(reader: BackupFileReader, onProgress: ReadBackupOptions['onProgress']): AsyncGenerator<BackupRecord> {
  const { sublevels, compression } = reader.header;
  const decoder = new RecordDecoder();
  const progress = progressThrottle(onProgress);
  const counts = new Map<string, number>();
  let records = 0;
  const toRecord = (decoded: DecodedRecord): BackupRecord => {
    const sublevel = sublevels[decoded.sublevelIndex];
    if (sublevel === undefined) {
      throw backupCorrupt(reader.file, 'body', `record ${records} names sublevel ${decoded.sublevelIndex}, and the header lists ${sublevels.length}`);
    }
    records++;
    counts.set(sublevel, (counts.get(sublevel) ?? 0) + 1);
    if (decoded.op === 'put') return { op: 'put', sublevel, key: decoded.key, value: decoded.value };
    if (decoded.op === 'del') return { op: 'del', sublevel, key: decoded.key };
    return { op: 'clear', sublevel, ...(decoded.gte === undefined ? {} : { gte: decoded.gte }), ...(decoded.lt === undefined ? {} : { lt: decoded.lt }) };
  };
  const decompressor = createDecompressor(compression);
  // What zlib itself raised, told apart from a reader's error that the pipeline passed through it.
  let zlibError: unknown;
  decompressor?.once('error', (err) => {
    zlibError = err;
  });
  const pieces: AsyncIterable<Buffer> = decompressor === undefined ? reader.chunks() : pipeline(Readable.from(reader.chunks()), decompressor, () => undefined);
  try {
    for await (const piece of pieces) {
      for (const decoded of decoder.push(piece)) {
        yield toRecord(decoded);
        progress.report(() => ({ records, bytes: reader.position, totalBytes: reader.size }));
      }
    }
    decoder.end();
  } catch (err) {
    if (err instanceof LlmStateError) throw err;
    if (err instanceof RecordDecodeError) throw backupCorrupt(reader.file, 'body', `its record stream is damaged: ${err.message}`, undefined, err);
    if (err === zlibError) throw backupCorrupt(reader.file, 'body', `its ${compression} stream does not decompress`, undefined, err);
    throw err;
  } finally {
    decompressor?.destroy();
  }
  reader.checkCounts(records, counts);
  progress.finish({ records, bytes: reader.size, totalBytes: reader.size });
}
