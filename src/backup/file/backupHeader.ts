import { createHash } from 'node:crypto';
import { z } from 'zod';
import { checkOptions } from '../../checkOptions.js';
import { backupCorrupt } from './backupCorrupt.js';
import { MAX_CHUNK_BYTES } from './frameCodec.js';

export type Compression = 'brotli' | 'gzip' | 'none';

/** How the body is encrypted, and what a reader needs to check and rebuild the key. */
export interface EncryptionHeader {
  cipher: 'aes-256-gcm';
  /** `scrypt`: the key was derived from a passphrase. `none`: a 32-byte key was given as is. */
  kdf: 'scrypt' | 'none';
  /** The scrypt salt, 16 bytes in base64; null when `kdf` is `none`. */
  salt: string | null;
  /** The scrypt cost parameters; null when `kdf` is `none`. */
  scrypt: { N: number; r: number; p: number } | null;
  /** The most plaintext bytes one encrypted chunk holds. */
  chunkBytes: number;
  /** HMAC-SHA256 of a fixed label under the key, in hex: tells a wrong key from damage. */
  keyCheck: string;
}

export interface BackupHeader {
  format: 1;
  id: string;
  parentId: string | null;
  /** The parent's seq for an incremental backup, 0 for a full one. */
  fromSeq: number;
  /** The commit sequence the backup's snapshot ends at. */
  seq: number;
  /** ms since the epoch */
  createdAt: number;
  kind: 'full' | 'incremental';
  /** Why it was taken: 'manual' | 'scheduled' | 'safety' (free text is fine, but these are the uses). */
  reason: string;
  compression: Compression;
  encryption: EncryptionHeader | null;
  /** The names of the sublevels the records reference (the record stream stores an index into this list). */
  sublevels: string[];
  /** Free-form facts the caller wants in the header (store format version, counts of scopes …). */
  meta: Record<string, unknown>;
}

/** What the caller of `writeBackupFile` gives; the writer fills in the rest. */
export type BackupHeaderInput = Omit<BackupHeader, 'format' | 'encryption' | 'compression'>;

/** The first line of every backup file. */
export const MAGIC_LINE = 'LLMSTATE-BACKUP 1\n';
export const BACKUP_FORMAT = 1;
/** A header line longer than this is damage, not a header: a reader never buffers more. */
export const MAX_HEADER_BYTES = 1024 * 1024;

const sequence = z.number().int().nonnegative();
const sublevelList = z.array(z.string()).refine((names) => new Set(names).size === names.length);
const plainObject = z.custom<Record<string, unknown>>((value) => typeof value === 'object' && value !== null && !Array.isArray(value));

const INPUT_FIELDS = {
  id: [z.string().min(1), 'a non-empty string'],
  parentId: [z.union([z.string().min(1), z.null()]), 'a non-empty string or null'],
  fromSeq: [sequence, 'a non-negative integer'],
  seq: [sequence, 'a non-negative integer'],
  createdAt: [sequence, 'a time in ms since the epoch'],
  kind: [z.enum(['full', 'incremental']), "'full' or 'incremental'"],
  reason: [z.string(), 'a string'],
  sublevels: [sublevelList, 'an array of distinct sublevel names'],
  meta: [plainObject, 'an object'],
} as const;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const encryptionSchema = z.strictObject({
  cipher: z.literal('aes-256-gcm'),
  kdf: z.enum(['scrypt', 'none']),
  salt: z.union([z.string().regex(/^[A-Za-z0-9+/]{22}==$/), z.null()]),
  // Bounded, so that damage cannot make a reader spend gigabytes or minutes deriving a key.
  scrypt: z.union([
    z.strictObject({ N: z.number().int().min(2).max(2 ** 20).refine((n) => (n & (n - 1)) === 0), r: z.number().int().min(1).max(32), p: z.number().int().min(1).max(16) }),
    z.null(),
  ]),
  chunkBytes: z.number().int().positive().max(MAX_CHUNK_BYTES),
  keyCheck: hex64,
});
const headerSchema = z.strictObject({
  format: z.literal(BACKUP_FORMAT),
  id: INPUT_FIELDS.id[0],
  parentId: INPUT_FIELDS.parentId[0],
  fromSeq: sequence,
  seq: sequence,
  createdAt: sequence,
  kind: INPUT_FIELDS.kind[0],
  reason: z.string(),
  compression: z.enum(['brotli', 'gzip', 'none']),
  encryption: z.union([encryptionSchema, z.null()]),
  sublevels: sublevelList,
  meta: z.record(z.string(), z.unknown()),
});

/**
 * Checks the header a caller hands to `writeBackupFile`.
 * @throws {TypeError} reading like ``Expected `seq` to be a non-negative integer, got `-1` (number)``.
 */
export function checkHeaderInput(input: unknown): BackupHeaderInput {
  const header = checkOptions(input, INPUT_FIELDS, { what: 'the backup header', field: 'header field', required: Object.keys(INPUT_FIELDS) as (keyof typeof INPUT_FIELDS)[] });
  if (header.fromSeq > header.seq) throw new TypeError(`Expected \`fromSeq\` (${header.fromSeq}) to be at most \`seq\` (${header.seq})`);
  return header as BackupHeaderInput;
}

/**
 * The JSON of a header in the one form a reader accepts: what `JSON.stringify` gives after a round trip
 * through `JSON.parse`, so that a reader can re-serialise what it parsed and compare bytes (the round
 * trip moves integer-like keys first and drops what JSON cannot hold).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(JSON.parse(JSON.stringify(value)));
}

/** The magic line and the header line, as they start the file. */
export function encodeHeaderLines(header: BackupHeader): Buffer {
  return Buffer.from(`${MAGIC_LINE}${canonicalJson(header)}\n`, 'utf8');
}

export function sha256(bytes: Buffer): Buffer {
  return createHash('sha256').update(bytes).digest();
}

/**
 * Parses and checks the header line (without its newline), which starts at byte `offset` of `file`.
 * @throws {BACKUP_CORRUPT} when it is not JSON, not in canonical form, or not a header.
 */
export function decodeHeaderLine(file: string, line: Buffer, offset: number): BackupHeader {
  const text = line.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw backupCorrupt(file, 'header', `the header at byte ${offset} is not JSON`, offset, err);
  }
  const checked = headerSchema.safeParse(parsed);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? '' : ` (at \`${issue.path.join('.')}\`)`;
    throw backupCorrupt(file, 'header', `the header at byte ${offset} is not a valid backup header${where}`, offset);
  }
  if (JSON.stringify(parsed) !== text) throw backupCorrupt(file, 'header', `the header at byte ${offset} is not in the form a writer leaves it`, offset);
  const header = parsed as BackupHeader;
  const encryption = header.encryption;
  if (encryption !== null && (encryption.kdf === 'scrypt') !== (encryption.salt !== null && encryption.scrypt !== null)) {
    throw backupCorrupt(file, 'header', `the header at byte ${offset} has an encryption salt and scrypt parameters that do not fit its kdf`, offset);
  }
  return header;
}
