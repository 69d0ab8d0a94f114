import { copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { crc32cOf } from './levelBytes.js';
import { scanLevelLog, type LogDamage } from './levelLog.js';

/**
 * Written beside LevelDB's files when a store closes cleanly, removed when it opens. It records each
 * write-ahead log's size and checksum, so that after a clean close any change to a log, even one that
 * still parses (a cut at a record boundary, a bit flipped in a length that now reads as a torn tail), is
 * seen. LevelDB ignores files whose names it does not know.
 */
export const CLEAN_CLOSE_FILE = 'LLMSTATE-CLEAN-CLOSE';

const LOG_NAME = /^\d+\.log$/;
const MANIFEST_NAME = /^MANIFEST-\d+$/;

export interface LogFileCheck {
  name: string;
  bytes: number;
  /** Write batches that read back intact. */
  records: number;
  /** What LevelDB would drop from this log on recovery. */
  damage: LogDamage[];
  /** Bytes of a write cut short by a crash: never acknowledged, unless the store had closed cleanly. */
  truncatedTailBytes: number;
}

export interface WalCheck {
  /** Whether the store was closed cleanly last time, so the logs it left must be exactly as they were. */
  cleanlyClosed: boolean;
  /**
   * What is wrong with LevelDB's `CURRENT` file, which names the manifest to open, when something is.
   * LevelDB would report a damaged one as a missing file, an I/O error rather than corruption.
   */
  currentDamage: string | undefined;
  /** The manifest that a damaged `CURRENT` should name: the only one there is, if there is only one. */
  onlyManifest: string | undefined;
  files: LogFileCheck[];
  /** Whether any log is damaged: LevelDB would drop acknowledged writes from it. */
  damaged: boolean;
  /** Bytes that LevelDB would drop, or that are missing since the clean close. */
  damagedBytes: number;
}

interface CleanCloseRecord {
  logs: { name: string; bytes: number; crc32c: number }[];
}

/**
 * Reads every write-ahead log of the LevelDB at `directory`, and its current manifest (which has the same
 * format, and whose last record LevelDB would drop as silently), as LevelDB would replay them on opening.
 */
export async function checkWriteAheadLogs(directory: string): Promise<WalCheck> {
  const all = await readdir(directory).catch(missingAsEmpty);
  const manifest = await currentManifest(directory, all);
  const names = [...all.filter((name) => LOG_NAME.test(name)).sort(), ...(manifest === undefined ? [] : [manifest])];
  const closed = await readCleanClose(directory);
  const files: LogFileCheck[] = [];
  let damagedBytes = 0;
  for (const name of names) {
    const log = await readFile(join(directory, name)).catch(missingAsUndefined);
    // Gone since the listing: LevelDB (another opener, whose lock the open will then meet) removed it.
    if (log === undefined) continue;
    const file: LogFileCheck = { name, bytes: log.length, ...scanLevelLog(log) };
    // A file the clean close did not list was written by another opener since, which may have crashed.
    // One it listed that is gone was replayed into a table by such an opener, as LevelDB always does.
    const left = closed?.logs.find((entry) => entry.name === name);
    if (left !== undefined) compareWithCleanClose(file, log, left);
    for (const span of file.damage) damagedBytes += span.bytes;
    files.push(file);
  }
  const manifests = all.filter((name) => MANIFEST_NAME.test(name));
  const currentDamage = await checkCurrent(directory, all, manifests);
  return {
    cleanlyClosed: closed !== undefined,
    currentDamage,
    onlyManifest: manifests.length === 1 ? manifests[0] : undefined,
    files,
    damaged: currentDamage !== undefined || files.some((file) => file.damage.length > 0),
    damagedBytes,
  };
}

/**
 * After a clean close, the part of a file that the close recorded must be exactly as it was: a torn last
 * record there is damage, not a crash. Bytes after it were appended by a later opener (one that took
 * the store between LevelDB's close and the marker), and follow the crash rules.
 */
function compareWithCleanClose(file: LogFileCheck, log: Buffer, left: CleanCloseRecord['logs'][number]): void {
  const intactPrefix = log.length >= left.bytes && crc32cOf(log.subarray(0, left.bytes)) === left.crc32c;
  if (!intactPrefix) {
    if (file.damage.length === 0) {
      file.damage.push({ offset: 0, bytes: Math.max(left.bytes - log.length, 1), reason: `changed since the clean close (was ${left.bytes} bytes, now ${log.length})` });
    }
    return;
  }
  if (log.length === left.bytes && file.truncatedTailBytes > 0) {
    file.damage.push({ offset: log.length - file.truncatedTailBytes, bytes: file.truncatedTailBytes, reason: 'incomplete last record after a clean close' });
  }
}

/** The manifest `CURRENT` names, when it names one that is there. */
async function currentManifest(directory: string, names: string[]): Promise<string | undefined> {
  if (!names.includes('CURRENT')) return undefined;
  const text = await readFile(join(directory, 'CURRENT'), 'latin1').catch(missingAsUndefined);
  const named = text?.endsWith('\n') === true ? text.slice(0, -1) : undefined;
  return named !== undefined && MANIFEST_NAME.test(named) && names.includes(named) ? named : undefined;
}

/** Points `CURRENT` at the store's only manifest again: what LevelDB writes there, as it writes it. */
export async function rewriteCurrent(directory: string, manifest: string): Promise<void> {
  const temporary = join(directory, 'CURRENT.llmstate.tmp');
  await writeFile(temporary, `${manifest}\n`);
  await rename(temporary, join(directory, 'CURRENT'));
}

async function checkCurrent(directory: string, names: string[], manifests: string[]): Promise<string | undefined> {
  if (!names.includes('CURRENT')) {
    // No CURRENT and no manifest is a store LevelDB has yet to create; a manifest alone lost its CURRENT.
    return manifests.length === 0 ? undefined : 'CURRENT is missing, though a manifest is there';
  }
  const text = await readFile(join(directory, 'CURRENT'), 'latin1');
  const named = text.endsWith('\n') ? text.slice(0, -1) : undefined;
  if (named === undefined || !MANIFEST_NAME.test(named)) return `CURRENT does not name a manifest (it holds ${JSON.stringify(text.slice(0, 40))})`;
  if (!manifests.includes(named)) return `CURRENT names ${named}, which is not there`;
  return undefined;
}

/** Copies the damaged logs to `<dataDir>/damaged/<time>/`, before LevelDB can rewrite them, and returns that folder. */
export async function preserveDamagedLogs(directory: string, check: WalCheck, now: Date): Promise<string> {
  const folder = join(dirname(directory), 'damaged', now.toISOString().replace(/[:.]/g, '-'));
  await mkdir(folder, { recursive: true });
  if (check.currentDamage !== undefined) await copyFile(join(directory, 'CURRENT'), join(folder, 'CURRENT')).catch(missingAsEmpty);
  for (const file of check.files) {
    if (file.damage.length > 0 && file.bytes > 0) await copyFile(join(directory, file.name), join(folder, file.name));
  }
  await writeFile(join(folder, 'damage.json'), `${JSON.stringify(check, null, 2)}\n`);
  return folder;
}

/** Records the logs and the manifest as a clean close leaves them. Written to a temporary name first, so it is whole or absent. */
export async function markCleanClose(directory: string): Promise<void> {
  const all = await readdir(directory);
  const manifest = await currentManifest(directory, all);
  const names = [...all.filter((name) => LOG_NAME.test(name)).sort(), ...(manifest === undefined ? [] : [manifest])];
  const logs: CleanCloseRecord['logs'] = [];
  for (const name of names) {
    const log = await readFile(join(directory, name));
    logs.push({ name, bytes: log.length, crc32c: crc32cOf(log) });
  }
  const temporary = join(directory, `${CLEAN_CLOSE_FILE}.tmp`);
  await writeFile(temporary, JSON.stringify({ logs } satisfies CleanCloseRecord));
  await rename(temporary, join(directory, CLEAN_CLOSE_FILE));
}

/** Forgets the clean close: from now on the store is open, and a crash may leave a torn last record. */
export async function clearCleanClose(directory: string): Promise<void> {
  await rm(join(directory, CLEAN_CLOSE_FILE), { force: true });
}

async function readCleanClose(directory: string): Promise<CleanCloseRecord | undefined> {
  let text: string;
  try {
    text = await readFile(join(directory, CLEAN_CLOSE_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const record = JSON.parse(text) as CleanCloseRecord;
    if (Array.isArray(record?.logs)) return record;
  } catch {
    // A damaged marker proves nothing either way: check the logs as after a crash.
  }
  return undefined;
}

function missingAsUndefined(error: NodeJS.ErrnoException): undefined {
  if (error.code === 'ENOENT') return undefined;
  throw error;
}

function missingAsEmpty(error: NodeJS.ErrnoException): string[] {
  if (error.code === 'ENOENT') return [];
  throw error;
}
