import { constants } from 'node:fs';
import { mkdir, open, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { LlmStateError } from '../errors.js';
import { readBackupHeader, readBackupTrailer, type BackupHeader, type Compression } from './file/index.js';

/** A backup as `create()` returns it and `list()` lists it. */
export interface BackupDescriptor {
  id: string;
  /** The backup file's absolute path. */
  file: string;
  /** The backup this one is an increment on, or null for a full backup. */
  parentId: string | null;
  kind: 'full' | 'incremental';
  /** The commit sequence its snapshot ends at. */
  seq: number;
  /** Its parent's sequence (0 for a full backup): it holds what changed in (fromSeq, seq]. */
  fromSeq: number;
  /** ms since the epoch */
  createdAt: number;
  /** `manual`, `scheduled` or `safety` (taken just before a restore). */
  reason: string;
  bytes: number;
  records: number;
  encrypted: boolean;
  compression: Compression;
  /** The store it is a backup of (see storeIdentity.ts), or null for a file without one. */
  storeId: string | null;
  pinned: boolean;
}

const SUFFIX = '.backup';
const PIN_SUFFIX = '.pinned';
const PREFIX = 'llmstate-';

/**
 * The backup directory is the catalog: each backup is one self-describing file, and a pin is an empty
 * marker file beside it. Nothing about backups lives in the store, so the catalog survives restoring
 * the store and losing the data directory.
 */
export class BackupCatalog {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  fileFor(id: string): string {
    return join(this.dir, `${PREFIX}${id}${SUFFIX}`);
  }

  async ensureDirectory(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  /** Every complete backup in the directory, oldest first. A damaged file is left out; `verify` reports it. */
  async list(): Promise<BackupDescriptor[]> {
    const entries = await readdir(this.dir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    const pins = new Set(entries.filter((entry) => entry.name.endsWith(PIN_SUFFIX)).map((entry) => entry.name));
    const found: BackupDescriptor[] = [];
    for (const entry of entries) {
      const { name } = entry;
      if (!entry.isFile() || !name.startsWith(PREFIX) || !name.endsWith(SUFFIX)) continue;
      const descriptor = await describeFile(join(this.dir, name)).catch(() => undefined);
      // A copy under another name holds an id that is not its own: it is not listed twice.
      if (descriptor === undefined || idFromFileName(name) !== descriptor.id) continue;
      found.push({ ...descriptor, pinned: pins.has(`${PREFIX}${descriptor.id}${PIN_SUFFIX}`) });
    }
    return found.sort((a, b) => a.seq - b.seq || a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
  }

  /** @throws {BACKUP_NOT_FOUND} @throws {BACKUP_CORRUPT} when its header or trailer is damaged. */
  async get(id: string): Promise<BackupDescriptor> {
    const file = this.fileFor(id);
    const descriptor = await describeFile(file).catch((error: unknown) => {
      if (error instanceof LlmStateError && error.code === 'BACKUP_NOT_FOUND') throw notFound(id, this.dir);
      throw error;
    });
    if (descriptor.id !== id) {
      throw new LlmStateError('BACKUP_CORRUPT', `The backup file ${file} holds backup ${descriptor.id}, not ${id}: it was renamed`, {
        details: { file, region: 'header' },
      });
    }
    return { ...descriptor, pinned: await exists(this.#pinFile(id)) };
  }

  async setPinned(id: string, pinned: boolean): Promise<BackupDescriptor> {
    await this.get(id);
    if (pinned) await writeFile(this.#pinFile(id), '');
    else await rm(this.#pinFile(id), { force: true });
    return this.get(id);
  }

  async remove(id: string): Promise<void> {
    await rm(this.fileFor(id), { force: true });
    await rm(this.#pinFile(id), { force: true });
  }

  /**
   * Files that a writer of this store left behind when its process died, never listed as backups. A
   * runtime writes one backup at a time, so any partial file of its store is an orphan; those of other
   * stores sharing the directory may be in progress, and are left to them.
   */
  async removePartialFiles(storeId: string): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    for (const name of names) {
      if (!name.startsWith(PREFIX) || !name.endsWith(`${SUFFIX}.partial`)) continue;
      const file = join(this.dir, name);
      const owner = await partialFileStore(file);
      if (owner === undefined || owner === storeId) await rm(file, { force: true });
    }
  }

  #pinFile(id: string): string {
    return join(this.dir, `${PREFIX}${id}${PIN_SUFFIX}`);
  }
}

/** The store a partial backup file is of, from its header line; undefined when that cannot be read. */
async function partialFileStore(file: string): Promise<string | undefined> {
  try {
    const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const head = Buffer.alloc(64 * 1024);
      const { bytesRead } = await handle.read(head, 0, head.length, 0);
      const header = JSON.parse(head.subarray(0, bytesRead).toString('utf8').split('\n')[1] ?? '') as { meta?: { storeId?: unknown } };
      return typeof header.meta?.storeId === 'string' ? header.meta.storeId : undefined;
    } finally {
      await handle.close();
    }
  } catch {
    return undefined;
  }
}

/** A backup file's descriptor from its header and trailer alone, without reading its body. */
export async function describeFile(file: string): Promise<Omit<BackupDescriptor, 'pinned'>> {
  const header = await readBackupHeader(file);
  const trailer = await readBackupTrailer(file);
  const { size } = await stat(file);
  return descriptorOf(header, file, size, trailer.records);
}

export function descriptorOf(header: BackupHeader, file: string, bytes: number, records: number): Omit<BackupDescriptor, 'pinned'> {
  return {
    id: header.id,
    file: resolve(file),
    parentId: header.parentId,
    kind: header.kind,
    seq: header.seq,
    fromSeq: header.fromSeq,
    createdAt: header.createdAt,
    reason: header.reason,
    bytes,
    records,
    encrypted: header.encryption !== null,
    compression: header.compression,
    storeId: typeof header.meta.storeId === 'string' ? header.meta.storeId : null,
  };
}

/** The id a backup file's name gives, or undefined for another file. */
export function idFromFileName(file: string): string | undefined {
  const name = basename(file);
  return name.startsWith(PREFIX) && name.endsWith(SUFFIX) ? name.slice(PREFIX.length, -SUFFIX.length) : undefined;
}

export function catalogOfFile(file: string): BackupCatalog {
  return new BackupCatalog(dirname(resolve(file)));
}

export function notFound(id: string, dir: string): LlmStateError {
  return new LlmStateError('BACKUP_NOT_FOUND', `There is no backup ${id} in ${dir}. \`llmstate backup list\` shows the backups there`, {
    details: { id, dir },
  });
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
