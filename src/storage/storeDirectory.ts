import { open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { syncDirectory } from '../syncDirectory.js';
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

/**
 * The name of the active LevelDB directory in `dataDir`: the one `STORE` names, or `db`.
 *
 * @throws {DATA_CORRUPT} when `STORE` is damaged, or missing while a store directory other than `db`
 * holds a store: opening `db` then would hide (and could replace) the real one.
 */
export async function activeStoreName(dataDir: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(join(dataDir, STORE_POINTER), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return withoutPointer(dataDir);
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

/** Without a pointer the store is `db`, unless a restore's store directory holds a store: then which one is current cannot be told. */
async function withoutPointer(dataDir: string): Promise<string> {
  const others: string[] = [];
  for (const name of await storeDirectories(dataDir)) {
    if (name !== DEFAULT_STORE && !(await isLeftover(dataDir, name)) && (await exists(join(dataDir, name, 'CURRENT')))) others.push(name);
  }
  if (others.length === 0) return DEFAULT_STORE;
  throw new LlmStateError(
    'DATA_CORRUPT',
    `The data directory ${dataDir} has no store pointer (${STORE_POINTER}), but a restore's store is in it (${others.join(', ')}): ` +
      `which store is current cannot be told, so none was opened and nothing was changed. Write the name of the current one into ${join(dataDir, STORE_POINTER)}, followed by a newline`,
    { details: { location: dataDir, candidates: others, reason: 'pointer_missing' } },
  );
}

/** A name for a new store directory, which {@link switchStore} can later make active. */
export function newStoreName(id: string): string {
  const name = `db-${id.replace(/[^A-Za-z0-9_]/g, '_')}`;
  if (!STORE_NAME.test(name)) throw new TypeError(`Cannot name a store directory after ${JSON.stringify(id)}`);
  return name;
}

/**
 * Marks `name` as a store being built, before it is: if its process dies before the switch, the next
 * open removes it. Only marked directories are ever removed, never one a person put there.
 */
export async function markStaging(dataDir: string, name: string): Promise<void> {
  await writeFile(join(dataDir, `${name}${STAGING}`), '');
}

/**
 * Makes `name` the active store of `dataDir`, atomically and durably: the new pointer is written and
 * fsynced under a temporary name, renamed over `STORE`, and the directory entry is fsynced. The previous
 * store is marked for removal first (a mark on the store that stays active, when the process dies before
 * the rename, is harmless: the active store is never removed, and its mark is), and `name` is no longer
 * marked as being built once it is active.
 */
export async function switchStore(dataDir: string, name: string): Promise<void> {
  if (!STORE_NAME.test(name)) throw new TypeError(`Not a store directory name: ${JSON.stringify(name)}`);
  const previous = await activeStoreName(dataDir);
  if (previous !== name) await writeFile(join(dataDir, `${previous}${RETIRED}`), '');
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
  await rm(join(dataDir, `${name}${STAGING}`), { force: true });
}

/**
 * Removes the store directories of `dataDir` that a restore left: the one it replaced, and one it was
 * building when its process died (each marked so). Never the active one, and never an unmarked one.
 * Call it only while holding the active store open, so that no other process is building one. Returns
 * the paths removed.
 */
export async function removeInactiveStores(dataDir: string): Promise<string[]> {
  const active = await activeStoreName(dataDir);
  const removed: string[] = [];
  for (const name of await storeDirectories(dataDir)) {
    if (name === active || !(await isLeftover(dataDir, name))) continue;
    const path = join(dataDir, name);
    await rm(path, { recursive: true, force: true });
    removed.push(path);
  }
  const names = await readdir(dataDir).catch(() => [] as string[]);
  for (const marker of names.filter((entry) => entry.endsWith(STAGING) || entry.endsWith(RETIRED))) {
    const store = marker.slice(0, marker.lastIndexOf('.'));
    if (store === active || !names.includes(store) || removed.includes(join(dataDir, store))) await rm(join(dataDir, marker), { force: true });
  }
  await rm(join(dataDir, `${STORE_POINTER}.next`), { force: true });
  return removed;
}

const STAGING = '.staging';
const RETIRED = '.retired';

async function storeDirectories(dataDir: string): Promise<string[]> {
  const entries = await readdir(dataDir, { withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isDirectory() && STORE_NAME.test(entry.name)).map((entry) => entry.name);
}

async function isLeftover(dataDir: string, name: string): Promise<boolean> {
  return (await exists(join(dataDir, `${name}${STAGING}`))) || (await exists(join(dataDir, `${name}${RETIRED}`)));
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

