import type { Dirent, Stats } from 'node:fs';
import { mkdir, readdir, stat, statfs } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { LlmStateError } from '../errors.js';
import { activeStoreName, DEFAULT_STORE, STORE_POINTER } from './storeDirectory.js';
import { fsError } from './fsErrors.js';

/**
 * `create` makes the data directory and the store when they are missing (`createRuntime`). `existing`
 * refuses a directory that holds no store and creates nothing there (the CLI's reading commands).
 */
export type StoreAccess = 'create' | 'existing';

/**
 * Kernel file systems whose directories look like directories but cannot hold a store: LevelDB's calls
 * there fail in ways it does not expect (under /proc, an open never settles and spins a core).
 * `statfs` magic numbers, from linux/magic.h.
 */
const SPECIAL_FILE_SYSTEMS = new Map<number, string>([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x73636673, 'securityfs'],
  [0x1cd1, 'devpts'],
  [0xcafe4a11, 'bpf'],
  [0x6165676c, 'pstore'],
  [0x62656570, 'configfs'],
  [0x65735543, 'fusectl'],
  [0xde5e81e4, 'efivarfs'],
  [0xf97cff8c, 'selinuxfs'],
  [0x42494e4d, 'binfmt_misc'],
  [0x6e736673, 'nsfs'],
]);

/** The files LevelDB opens in its directory. Each must be a regular file: a FIFO or a device would block or never end. */
const LEVELDB_FILE = /^(CURRENT|LOCK|LOG|LOG\.old|MANIFEST-\d+|\d+\.(log|ldb|sst|dbtmp))$/;

/**
 * Checks a data directory before LevelDB sees it, and returns the LevelDB directory in it: `<dataDir>/db`,
 * or after a restore the directory that `<dataDir>/STORE` names (see storeDirectory.ts).
 * With `create`, a missing data directory is made; LevelDB makes `db`.
 *
 * @param dataDir An absolute path.
 * @throws {STORAGE_FAILED} promptly, naming the path and why, when the data directory or its `db` is not
 * a directory (a FIFO, a device, a file), lies on a kernel file system such as /proc or /sys, holds a
 * LevelDB file that is not a regular file, or cannot be read (the EACCES or EPERM is in the message and
 * the `cause`); with `existing`, when there is no store in it.
 */
export async function prepareDataDirectory(dataDir: string, access: StoreAccess): Promise<string> {
  const found = await statOrMissing(dataDir);
  if (found === undefined) {
    if (access === 'existing') throw noStore(dataDir);
    await refuseSpecialFileSystem(await nearestExisting(dataDir), dataDir, `Cannot create the data directory ${dataDir}`);
    await makeDataDirectory(dataDir);
  } else {
    refuseNonDirectory(dataDir, found);
    await refuseSpecialFileSystem(dataDir, dataDir, cannotUse(dataDir));
  }
  const name = await activeStoreName(dataDir);
  const db = join(dataDir, name);
  const dbStats = await statOrMissing(db);
  if (dbStats === undefined) {
    if (name !== DEFAULT_STORE) throw missingActiveStore(dataDir, db);
    if (access === 'existing') throw noStore(dataDir);
    return db;
  }
  refuseNonDirectory(db, dbStats);
  await refuseSpecialFileSystem(db, db, cannotUse(db));
  const entries = await fsCall(db, () => readdir(db, { withFileTypes: true }));
  if (access === 'existing' && !entries.some((entry) => entry.name === 'CURRENT')) throw noStore(dataDir);
  for (const entry of entries) {
    if (LEVELDB_FILE.test(entry.name)) await refuseNonFile(join(db, entry.name), entry);
  }
  return db;
}

/** @throws {STORAGE_FAILED} */
export function noStore(dataDir: string): LlmStateError {
  return new LlmStateError(
    'STORAGE_FAILED',
    `There is no llmstate store in ${dataDir}. Check the data directory (--data-dir), or write a value first (llmstate set)`,
    { details: { location: dataDir, reason: 'no_store' } },
  );
}

/** A pointer to a store directory that is gone: opening would create an empty store in its place. */
function missingActiveStore(dataDir: string, db: string): LlmStateError {
  return new LlmStateError(
    'DATA_CORRUPT',
    `The data directory ${dataDir} names ${db} as its store (in ${join(dataDir, STORE_POINTER)}), but that directory is missing. ` +
      'Nothing was created in its place. Restore a backup into an empty data directory',
    { details: { location: dataDir, store: db, reason: 'store_missing' } },
  );
}

/** What is at `path`, or undefined when nothing is (or can be: a part of the path is a file). */
async function statOrMissing(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw fsError(path, error);
  }
}

async function nearestExisting(path: string): Promise<string> {
  let current = path;
  while ((await statOrMissing(current)) === undefined && dirname(current) !== current) current = dirname(current);
  return current;
}

function refuseNonDirectory(path: string, stats: Stats): void {
  if (!stats.isDirectory()) throw refused(cannotUse(path), path, `it is ${describeType(stats)}, not a directory`, 'not_a_directory');
}

async function refuseNonFile(path: string, entry: Dirent): Promise<void> {
  if (entry.isFile()) return;
  const known = entry.isDirectory() || entry.isFIFO() || entry.isCharacterDevice() || entry.isBlockDevice() || entry.isSocket();
  // A symbolic link (or an entry whose file system gives no type) is judged by what it leads to.
  const stats = known ? entry : await fsCall(path, () => stat(path));
  if (!stats.isFile()) throw refused(cannotUse(path), path, `this LevelDB file is ${describeType(stats)}, not a file`, 'not_a_file');
}

/** Refuses `subject` (a directory, or one to be made) when `path`, the directory it is or would be in, is on a kernel file system. */
async function refuseSpecialFileSystem(path: string, subject: string, lead: string): Promise<void> {
  const { type } = await fsCall(path, () => statfs(path));
  const name = SPECIAL_FILE_SYSTEMS.get(type);
  if (name !== undefined) {
    throw refused(lead, subject, `it is on a ${name} file system (${path}), which is the kernel's and cannot hold a store`, 'special_file_system');
  }
}

/**
 * `mkdir -p` that cannot spin: Node's recursive mkdir loops forever where a parent exists but answers
 * ENOENT, as under /proc.
 */
async function makeDataDirectory(directory: string): Promise<void> {
  try {
    await makeDirectory(directory);
  } catch (error) {
    throw new LlmStateError('STORAGE_FAILED', `Cannot create the data directory ${directory}: ${(error as Error).message}`, {
      cause: error,
      details: { location: directory, code: (error as NodeJS.ErrnoException).code },
    });
  }
}

async function makeDirectory(directory: string): Promise<void> {
  try {
    await mkdir(directory);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && (await stat(directory)).isDirectory()) return;
    if (code !== 'ENOENT' || dirname(directory) === directory) throw error;
    await makeDirectory(dirname(directory));
    await mkdir(directory).catch(async (retry: NodeJS.ErrnoException) => {
      if (!(retry.code === 'EEXIST' && (await stat(directory)).isDirectory())) throw retry;
    });
  }
}

function describeType(stats: { isFile(): boolean; isDirectory(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (stats.isFile()) return 'a file';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'not a file or a directory';
}

async function fsCall<T>(path: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw fsError(path, error);
  }
}

function cannotUse(path: string): string {
  return `Cannot use ${path} for an llmstate store`;
}

function refused(lead: string, path: string, why: string, reason: string): LlmStateError {
  return new LlmStateError('STORAGE_FAILED', `${lead}: ${why}`, { details: { location: path, reason } });
}
