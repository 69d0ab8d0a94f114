import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { LlmStateError } from '../../errors.js';

/**
 * Opens a backup file for reading. Non-blocking, so that a FIFO in its place cannot hang the caller, and
 * checked to be a regular file before anything is read.
 *
 * @throws {BACKUP_NOT_FOUND} when there is no such file, or what is there is not a file.
 */
export async function openBackupFile(file: string): Promise<{ handle: FileHandle; size: number }> {
  let handle: FileHandle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new LlmStateError('BACKUP_NOT_FOUND', `The backup file ${file} does not exist. Check the path, or list the backups to find the file.`, {
        cause: error,
        details: { file },
      });
    }
    if (code === 'EISDIR') throw notAFile(file, 'a directory');
    throw error;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw notAFile(file, stats.isDirectory() ? 'a directory' : stats.isFIFO() ? 'a FIFO' : 'not a regular file');
    return { handle, size: stats.size };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

function notAFile(file: string, what: string): LlmStateError {
  return new LlmStateError('BACKUP_NOT_FOUND', `${file} is ${what}, not a backup file`, { details: { file, reason: 'not_a_file' } });
}
