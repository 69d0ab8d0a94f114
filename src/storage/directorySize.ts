import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LlmStateError } from '../errors.js';

/**
 * Bytes of every file under `directory`. LevelDB may delete a file (after a compaction) between the
 * listing and its stat: such a file counts nothing.
 *
 * @throws {STORAGE_FAILED} when the directory cannot be read.
 */
export async function directorySize(directory: string): Promise<number> {
  let bytes = 0;
  const entries = await unlessGone(directory, () => readdir(directory, { withFileTypes: true }));
  for (const entry of entries ?? []) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) bytes += await directorySize(path);
    else if (entry.isFile()) bytes += (await unlessGone(path, () => stat(path)))?.size ?? 0;
  }
  return bytes;
}

/** What `read` gives, or undefined when `path` is gone. @throws {STORAGE_FAILED} for any other error. */
async function unlessGone<T>(path: string, read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new LlmStateError('STORAGE_FAILED', `Cannot read ${path} to measure the store: ${(error as Error).message}`, {
      cause: error,
      details: { location: path },
    });
  }
}
