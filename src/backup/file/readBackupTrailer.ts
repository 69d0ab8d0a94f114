import { openBackupFile } from './openBackupFile.js';
import { backupCorrupt } from './backupCorrupt.js';
import { decodeTrailerLine, TRAILER_PREFIX, type BackupTrailer } from './backupTrailer.js';

const TAIL_BYTES = 64 * 1024;
const PREFIX = Buffer.from(TRAILER_PREFIX, 'utf8');

/**
 * The trailer of a backup file, read from its last bytes without reading the body: what a catalog
 * listing needs (the record count). Nothing else is checked; {@link verifyBackupFile} checks it all.
 *
 * @throws {BACKUP_NOT_FOUND} when the file is missing. @throws {BACKUP_CORRUPT} when its end is not a trailer.
 */
export async function readBackupTrailer(file: string): Promise<BackupTrailer> {
  const { handle, size } = await openBackupFile(file);
  try {
    const length = Math.min(size, TAIL_BYTES);
    const tail = Buffer.alloc(length);
    await handle.read(tail, 0, length, size - length);
    // The body is binary and may hold the prefix's bytes by chance: the last place that starts a valid trailer wins.
    for (let at = tail.lastIndexOf(PREFIX); at >= 0; at = at === 0 ? -1 : tail.lastIndexOf(PREFIX, at - 1)) {
      const trailer = decodeTrailerLine(tail.subarray(at));
      if (trailer !== undefined) return trailer;
    }
    throw backupCorrupt(file, 'trailer', `its last ${length} bytes hold no trailer line`, size - length);
  } finally {
    await handle.close();
  }
}
