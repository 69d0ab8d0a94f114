import { LlmStateError } from '../errors.js';
import { decodeCommitRecord, decodeSeqKey, encodeSeqKey, readLastSeq } from '../events/eventLog.js';
import type { EventData } from '../events/eventKinds.js';
import { readSeqHighWater } from '../events/seqHighWater.js';
import { decodeRecord } from '../storage/recordEnvelope.js';
import type { StorageBackend, StorageSnapshot } from '../storage/index.js';
import type { BackupDescriptor } from './BackupCatalog.js';
import { replacedBy, replacedRanges } from './restoreMarker.js';

/**
 * The sequence a point-in-time target names: a sequence as given, or for a time the last commit made at
 * or before it. The log answers; when it holds nothing that old, a backup of this store made by then
 * does, provided no commit after it was removed from the log.
 *
 * @param backups This store's backups.
 * @throws {RESTORE_FAILED} for a time inside a history that a full restore replaced (its commits are not
 * in the log), or one that neither the log nor a backup reaches.
 */
export async function targetSeq(storage: StorageBackend, at: Date | number, backups: readonly BackupDescriptor[]): Promise<number> {
  if (typeof at === 'number') return at;
  const time = at.getTime();
  let found: number | undefined;
  for await (const [key, record] of storage.iterate('events')) {
    const seq = decodeSeqKey(key);
    if (decodeRecord(record, { 'event log sequence': seq }).timestamp <= time) {
      found = seq;
      continue;
    }
    const replaced = replacedBy(decodeCommitRecord(record, seq), seq);
    if (replaced !== undefined) {
      throw new LlmStateError(
        'RESTORE_FAILED',
        `Cannot restore to ${at.toISOString()}: at that time the store was in a history that a restore replaced at sequence ${seq} ` +
          `(${new Date(decodeRecord(record).timestamp).toISOString()}); its commits ${replaced.from} to ${replaced.to} are not in the log. ` +
          `The safety backup that restore took (${replaced.safetyBackupId}) holds that history as it ended`,
        { details: { at: time, gap: { from: replaced.from, to: replaced.to }, safetyBackupId: replaced.safetyBackupId } },
      );
    }
    break;
  }
  if (found !== undefined) return found;
  const removed = await readSeqHighWater(storage);
  const made = backups.filter((backup) => backup.createdAt <= time && backup.seq >= removed);
  if (made.length > 0) return Math.max(...made.map((backup) => backup.seq));
  throw new LlmStateError('RESTORE_FAILED', `Cannot restore to ${at.toISOString()}: neither the event log nor a backup of this store reaches back that far`, {
    details: { at: time },
  });
}

/**
 * The backups a point in time can start from: this store's, but not those taken in a history that a
 * restore replaced (the safety backup a restore takes is one), which the log cannot bring forward.
 */
export async function backupsInHistory(storage: StorageBackend, backups: readonly BackupDescriptor[]): Promise<BackupDescriptor[]> {
  const replaced = await replacedRanges(storage);
  return backups.filter((backup) => !replaced.some((range) => backup.seq >= range.from && backup.seq <= range.to));
}

/** The newest backup at or before `seq`. @throws {BACKUP_NOT_FOUND} */
export function baseFor(seq: number, backups: readonly BackupDescriptor[], dir: string): BackupDescriptor {
  const candidates = backups.filter((backup) => backup.seq <= seq);
  const base = candidates[candidates.length - 1];
  if (base === undefined) {
    throw new LlmStateError('BACKUP_NOT_FOUND', `There is no backup in ${dir} at or before sequence ${seq}, so there is nothing to bring forward to it`, {
      details: { seq, dir },
    });
  }
  return base;
}

/**
 * Checks, before anything is built, that the log can bring a backup at `fromSeq` forward to `toSeq`:
 * the target is not past the last commit, and retention has not removed what comes after the backup.
 * (The replay checks that no commit is missing in between.)
 *
 * @throws {RESTORE_FAILED} naming the gap.
 */
export async function checkLogReaches(storage: StorageBackend, snapshot: StorageSnapshot, fromSeq: number, toSeq: number): Promise<void> {
  const last = await readLastSeq(storage, { snapshot });
  if (toSeq > last) {
    throw new LlmStateError('RESTORE_FAILED', `Cannot restore to sequence ${toSeq}: the store's last commit is ${last}`, { details: { toSeq, last } });
  }
  const removed = await readSeqHighWater(storage, { snapshot });
  if (removed > fromSeq) {
    throw new LlmStateError(
      'RESTORE_FAILED',
      `Cannot bring the backup at sequence ${fromSeq} forward to ${toSeq}: event retention removed commits ${fromSeq + 1} to ${removed} from the log. ` +
        'Restore a backup taken at or after the target instead',
      { details: { gap: { from: fromSeq + 1, to: removed }, fromSeq, toSeq } },
    );
  }
}

const MIGRATION_COMPLETED = Buffer.from('"migration.completed"', 'utf8');

/**
 * Refuses a point in time in the middle of a migration: after the commit that made it happen and before
 * the last of its records was applied, the store held some records migrated and some not.
 *
 * @throws {RESTORE_FAILED} naming the migration and the points on either side of it.
 */
export async function checkNotInsideMigration(storage: StorageBackend, snapshot: StorageSnapshot, toSeq: number): Promise<void> {
  for await (const [key, record] of storage.iterate('events', { gt: encodeSeqKey(toSeq), snapshot })) {
    // Most commit records are state changes: look for the kind in the bytes before parsing any.
    if (record.indexOf(MIGRATION_COMPLETED) === -1) continue;
    const seq = decodeSeqKey(key);
    for (const event of decodeCommitRecord(record, seq)) {
      if (event.kind !== 'migration.completed') continue;
      const { id, schema, committedSeq } = event.data as EventData<'migration.completed'>;
      if (committedSeq < toSeq) {
        throw new LlmStateError(
          'RESTORE_FAILED',
          `Cannot restore to sequence ${toSeq}: migration ${id} of ${schema} was part way through applying its records then. Choose sequence ${committedSeq} (before it) or ${seq} (after it)`,
          { details: { toSeq, migration: id, before: committedSeq, after: seq } },
        );
      }
    }
  }
}
