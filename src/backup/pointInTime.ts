import { LlmStateError } from '../errors.js';
import { decodeSeqKey, readLastSeq } from '../events/eventLog.js';
import { readSeqHighWater } from '../events/seqHighWater.js';
import { decodeRecord } from '../storage/recordEnvelope.js';
import type { StorageBackend, StorageSnapshot } from '../storage/index.js';
import type { BackupDescriptor } from './BackupCatalog.js';

/**
 * The sequence a point-in-time target names: a sequence as given, or for a time the last commit made at
 * or before it, as the log or the backups know it.
 */
export async function targetSeq(storage: StorageBackend, at: Date | number, backups: readonly BackupDescriptor[]): Promise<number> {
  if (typeof at === 'number') return at;
  const time = at.getTime();
  let found = 0;
  for (const backup of backups) if (backup.createdAt <= time) found = Math.max(found, backup.seq);
  for await (const [key, record] of storage.iterate('events')) {
    if (decodeRecord(record, { 'event log sequence': decodeSeqKey(key) }).timestamp > time) break;
    found = Math.max(found, decodeSeqKey(key));
  }
  return found;
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
