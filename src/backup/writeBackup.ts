import { customAlphabet } from 'nanoid';
import { LlmStateError } from '../errors.js';
import { readLastSeq } from '../events/eventLog.js';
import { STORE_FORMAT } from '../state/storeFormat.js';
import { ensureStoreId } from '../state/storeIdentity.js';
import { inCurrentHistory } from './restoreMarker.js';
import type { StorageBackend } from '../storage/index.js';
import type { BackupCatalog, BackupDescriptor } from './BackupCatalog.js';
import { backedUpSublevels } from './coverage.js';
import { keyFor, readBackupHeader, writeBackupFile, type BackupKeyInput, type BackupRecord, type Compression } from './file/index.js';
import { checkLogCovers, fullBackupRecords, incrementalBackupRecords } from './snapshotRecords.js';
import type { BackupProgress } from './progress.js';
import { progressCounter } from './progress.js';

const ID_TAIL = customAlphabet('0123456789abcdefghijklmnopqrstuvwxyz', 6);

/** A sortable, readable id: the UTC time it was taken, and a random tail. */
export function newBackupId(now: number): string {
  const time = new Date(now).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${time}-${ID_TAIL()}`;
}

export interface WriteBackupRequest {
  /** An increment on the newest backup in the catalog. */
  incremental: boolean;
  compression: Compression;
  /** Encrypt with this key; undefined writes a plain file. */
  key: BackupKeyInput | undefined;
  reason: string;
  now: number;
  onProgress?: (progress: BackupProgress) => void;
}

/**
 * Writes a backup of `storage` into the catalog, from one snapshot: it holds exactly the commits up to
 * the snapshot's sequence. Writes may go on meanwhile; they are not in it.
 *
 * @throws {BACKUP_FULL_REQUIRED} for an increment with no backup to build on, or one the log cannot describe.
 */
export async function writeBackup(storage: StorageBackend, catalog: BackupCatalog, request: WriteBackupRequest): Promise<BackupDescriptor> {
  await catalog.ensureDirectory();
  const storeId = await ensureStoreId(storage, request.now);
  await catalog.removePartialFiles(storeId);
  const parent = request.incremental ? await newestBackup(storage, catalog, storeId) : undefined;
  const snapshot = storage.snapshot();
  try {
    const seq = await readLastSeq(storage, { snapshot });
    if (parent !== undefined) {
      await checkLogCovers(storage, snapshot, parent, seq);
      await checkSameEncryption(parent, request.key);
    }
    const id = newBackupId(request.now);
    const records = parent === undefined ? fullBackupRecords(storage, snapshot) : incrementalBackupRecords(storage, snapshot, parent, seq);
    const total = parent === undefined ? await storage.approximateSize() : undefined;
    const counter = progressCounter('backup', total, request.onProgress);
    const kind = parent === undefined ? 'full' : 'incremental';
    const header = { id, parentId: parent?.id ?? null, fromSeq: parent?.seq ?? 0, seq, createdAt: request.now, kind, reason: request.reason } as const;
    const written = await writeBackupFile(
      catalog.fileFor(id),
      { ...header, sublevels: backedUpSublevels(), meta: { storeFormat: STORE_FORMAT, storeId } },
      counted(records, counter.add),
      { compression: request.compression, ...(request.key === undefined ? {} : { key: request.key }) },
    );
    counter.done();
    return {
      ...header,
      file: written.file,
      bytes: written.bytes,
      records: written.records,
      encrypted: request.key !== undefined,
      compression: request.compression,
      storeId,
      pinned: false,
    };
  } finally {
    await snapshot.close();
  }
}

/**
 * The newest backup of this store's current history, which an increment builds on: not one taken in a
 * history that a restore has since replaced, such as the safety backup of that restore.
 */
async function newestBackup(storage: StorageBackend, catalog: BackupCatalog, storeId: string): Promise<BackupDescriptor> {
  const backups = (await catalog.list()).filter((backup) => backup.storeId === storeId);
  let newest: BackupDescriptor | undefined;
  for (let index = backups.length - 1; index >= 0 && newest === undefined; index--) {
    if (await inCurrentHistory(storage, backups[index])) newest = backups[index];
  }
  if (newest === undefined) {
    throw new LlmStateError('BACKUP_FULL_REQUIRED', `Cannot take an incremental backup: there is no backup of this store in ${catalog.dir} to build on. Take a full backup`, {
      details: { dir: catalog.dir, reason: 'no_parent' },
    });
  }
  return newest;
}

/**
 * A chain is read with one key: an increment is encrypted with its parent's key, or, like its parent,
 * not at all.
 */
async function checkSameEncryption(parent: BackupDescriptor, key: BackupKeyInput | undefined): Promise<void> {
  const { encryption } = await readBackupHeader(parent.file);
  if (encryption === null && key === undefined) return;
  if (encryption !== null && key !== undefined && (await keyFor(key, encryption)) !== undefined) return;
  const why =
    encryption === null
      ? `its parent ${parent.id} is not encrypted, and this backup would be`
      : key === undefined
        ? `its parent ${parent.id} is encrypted, and this backup would not be`
        : `its parent ${parent.id} is encrypted with another key`;
  throw new LlmStateError('BACKUP_FULL_REQUIRED', `Cannot take an incremental backup: ${why}; a chain is read with one key. Take a full backup`, {
    details: { parentId: parent.id, reason: 'encryption' },
  });
}

async function* counted(records: AsyncIterable<BackupRecord>, add: (bytes: number) => void): AsyncGenerator<BackupRecord> {
  for await (const record of records) {
    add(record.op === 'put' ? record.key.length + record.value.length : 0);
    yield record;
  }
}
