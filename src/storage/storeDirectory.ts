import { open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LlmStateError } from '../errors.js';
import { fsError } from './fsErrors.js';

/**
 * A data directory holds one active LevelDB directory. It is `db` until a restore, which builds the
 * restored store in a directory of its own beside it and then points the data directory at it.
 *
 * The pointer is the file `STORE`, holding the active directory's name. Replacing it with a rename is
 * what makes a restore atomic on disk: a process killed at any point reopens either the old store or the
 * restored one, never a mix, because each is a complete LevelDB and the rename either happened or not.
 */
export const STORE_POINTER = 'STORE';
export const DEFAULT_STORE = 'db';
const STORE_NAME = /^db(-[A-Za-z0-9_]+)?$/;

/** The name of the active LevelDB directory in `dataDir`: the one `STORE` names, or `db`. @throws {DATA_CORRUPT} */
export async function activeStoreName(dataDir: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(join(dataDir, STORE_POINTER), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return DEFAULT_STORE;
    throw fsError(join(dataDir, STORE_POINTER), error);
  }
  const name = text.trim();
  if (!STORE_NAME.test(name) || text !== `${name}\n`) {
    throw new LlmStateError(
      'DATA_CORRUPT',
      `The store pointer ${join(dataDir, STORE_POINTER)} is damaged: it holds ${JSON.stringify(text.slice(0, 60))}, not the name of a store directory. ` +
        'Write the name of the newest complete db-… directory into it, or restore a backup',
      { details: { location: dataDir, pointer: STORE_POINTER } },
    );
  }
  return name;
}

/** A name for a new store directory, which {@link switchStore} can later make active. */
export function newStoreName(id: string): string {
  const name = `db-${id.replace(/[^A-Za-z0-9_]/g, '_')}`;
  if (!STORE_NAME.test(name)) throw new TypeError(`Cannot name a store directory after ${JSON.stringify(id)}`);
  return name;
}

/**
 * Makes `name` the active store of `dataDir`, atomically and durably: the new pointer is written and
 * fsynced under a temporary name, renamed over `STORE`, and the directory entry is fsynced.
 */
export async function switchStore(dataDir: string, name: string): Promise<void> {
  if (!STORE_NAME.test(name)) throw new TypeError(`Not a store directory name: ${JSON.stringify(name)}`);
  const temporary = join(dataDir, `${STORE_POINTER}.next`);
  const file = await open(temporary, 'w');
  try {
    await file.writeFile(`${name}\n`);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, join(dataDir, STORE_POINTER));
  await syncDirectory(dataDir);
}

/**
 * Removes the store directories of `dataDir` that are not active: the old store after a restore, or a
 * restore's store that was being built when its process died. Call it only while holding the active
 * store open, so that no other process is building one. Returns the paths removed.
 */
export async function removeInactiveStores(dataDir: string): Promise<string[]> {
  const active = await activeStoreName(dataDir);
  const entries = await readdir(dataDir, { withFileTypes: true }).catch(() => []);
  const removed: string[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name === active || !STORE_NAME.test(entry.name)) continue;
    const path = join(dataDir, entry.name);
    await rm(path, { recursive: true, force: true });
    removed.push(path);
  }
  await rm(join(dataDir, `${STORE_POINTER}.next`), { force: true });
  return removed;
}

async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
