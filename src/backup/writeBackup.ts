import { customAlphabet } from 'nanoid';
import { LlmStateError } from '../errors.js';
import { readLastSeq } from '../events/eventLog.js';
import { STORE_FORMAT } from '../state/storeFormat.js';
import type { StorageBackend } from '../storage/index.js';
import type { BackupCatalog, BackupDescriptor } from './BackupCatalog.js';
import { backedUpSublevels } from './coverage.js';
import { writeBackupFile, type BackupKeyInput, type BackupRecord, type Compression } from './file/index.js';
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
  await catalog.removePartialFiles();
  const parent = request.incremental ? await newestBackup(catalog) : undefined;
  const snapshot = storage.snapshot();
  try {
    const seq = await readLastSeq(storage, { snapshot });
    if (parent !== undefined) await checkLogCovers(storage, snapshot, parent, seq);
    const id = newBackupId(request.now);
    const records = parent === undefined ? fullBackupRecords(storage, snapshot) : incrementalBackupRecords(storage, snapshot, parent, seq);
    const total = parent === undefined ? await storage.approximateSize() : undefined;
    const counter = progressCounter('backup', total, request.onProgress);
    const kind = parent === undefined ? 'full' : 'incremental';
    const header = { id, parentId: parent?.id ?? null, fromSeq: parent?.seq ?? 0, seq, createdAt: request.now, kind, reason: request.reason } as const;
    const written = await writeBackupFile(
      catalog.fileFor(id),
      { ...header, sublevels: backedUpSublevels(), meta: { storeFormat: STORE_FORMAT } },
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
      pinned: false,
    };
  } finally {
    await snapshot.close();
  }
}

async function newestBackup(catalog: BackupCatalog): Promise<BackupDescriptor> {
  const backups = await catalog.list();
  const newest = backups[backups.length - 1];
  if (newest === undefined) {
    throw new LlmStateError('BACKUP_FULL_REQUIRED', `Cannot take an incremental backup: there is no backup in ${catalog.dir} to build on. Take a full backup`, {
      details: { dir: catalog.dir, reason: 'no_parent' },
    });
  }
  return newest;
}

async function* counted(records: AsyncIterable<BackupRecord>, add: (bytes: number) => void): AsyncGenerator<BackupRecord> {
  for await (const record of records) {
    add(record.op === 'put' ? record.key.length + record.value.length : 0);
    yield record;
  }
}
