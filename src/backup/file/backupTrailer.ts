import { z } from 'zod';

/**
 * The last line of a backup file. The counts live here rather than in the header because a streaming
 * writer knows them only once the last record has gone out.
 */
export interface BackupTrailer {
  records: number;
  /** Records per sublevel, by name. */
  counts: Record<string, number>;
  /** Frames in the body, the end frame included. */
  frames: number;
  /** SHA-256 (hex) of the magic and header lines: tells a damaged header from a damaged body. */
  headerSha256: string;
  /** SHA-256 (hex) of every byte before the trailer. */
  sha256: string;
}

export const TRAILER_PREFIX = 'LLMSTATE-END ';
/** A trailer line longer than this is damage: a reader never buffers more. */
export const MAX_TRAILER_BYTES = 1024 * 1024;

const count = z.number().int().nonnegative();
const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const trailerSchema = z.strictObject({ records: count, counts: z.record(z.string(), count), frames: count, headerSha256: hex64, sha256: hex64 });

/** The trailer line, newline included, in the one form a reader accepts. */
export function encodeTrailerLine(trailer: BackupTrailer): Buffer {
  const ordered: BackupTrailer = { records: trailer.records, counts: trailer.counts, frames: trailer.frames, headerSha256: trailer.headerSha256, sha256: trailer.sha256 };
  return Buffer.from(`${TRAILER_PREFIX}${JSON.stringify(JSON.parse(JSON.stringify(ordered)))}\n`, 'utf8');
}

/**
 * The trailer a line (newline included) holds, or undefined when it is not one byte for byte as
 * {@link encodeTrailerLine} writes it: the parsed values are written out again and compared.
 */
export function decodeTrailerLine(line: Buffer): BackupTrailer | undefined {
  const text = line.toString('utf8');
  if (!text.startsWith(TRAILER_PREFIX) || !text.endsWith('\n')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.slice(TRAILER_PREFIX.length, -1));
  } catch {
    return undefined;
  }
  const checked = trailerSchema.safeParse(parsed);
  if (!checked.success) return undefined;
  const trailer = parsed as BackupTrailer;
  return encodeTrailerLine(trailer).equals(line) ? trailer : undefined;
}
