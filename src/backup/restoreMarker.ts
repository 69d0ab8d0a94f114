import type { EventData } from '../events/eventKinds.js';
import { decodeCommitRecord, decodeSeqKey, encodeSeqKey, type LoggedEvent } from '../events/eventLog.js';
import type { StorageBackend } from '../storage/index.js';

/** What a full or point-in-time restore's own commit says: which backup, and the sequence its state is as of. */
export interface FullRestore {
  id: string;
  restoredSeq: number;
  safetyBackupId: string;
}

/**
 * The full (or point-in-time) restore a commit record ends, if it is one. Such a commit replaced every
 * namespace: the log before it is the restored store's, up to `restoredSeq`, and the sequences between
 * that and the commit belong to the history it replaced. A restore of some scopes logs its changes
 * instead, and is not one.
 */
export function fullRestoreIn(events: readonly LoggedEvent[]): FullRestore | undefined {
  for (const event of events) {
    if (event.kind !== 'backup.restored') continue;
    const { mode, id, restoredSeq, safetyBackupId } = event.data as EventData<'backup.restored'>;
    if (mode !== 'scopes') return { id, restoredSeq, safetyBackupId };
  }
  return undefined;
}

/**
 * Whether the history goes on across a full restore from `from` (a backup's id and sequence, or a replay
 * that reached it): only when the restore put back exactly that backup, at that sequence.
 */
export function continuesFrom(restore: FullRestore, from: { id: string; seq: number }): boolean {
  return restore.id === from.id && restore.restoredSeq === from.seq;
}

/** A stretch of sequences that a full restore replaced: commits of a history that is no longer the store's. */
export interface ReplacedRange {
  from: number;
  to: number;
  safetyBackupId: string;
}

/** The history a restore's own commit (at `seq`) replaced, if it replaced any. */
export function replacedBy(events: readonly LoggedEvent[], seq: number): ReplacedRange | undefined {
  const restore = fullRestoreIn(events);
  if (restore === undefined || restore.restoredSeq >= seq - 1) return undefined;
  return { from: restore.restoredSeq + 1, to: seq - 1, safetyBackupId: restore.safetyBackupId };
}

/** Every stretch of history replaced by a restore that committed after `afterSeq`. */
export async function replacedRanges(storage: StorageBackend, afterSeq = 0): Promise<ReplacedRange[]> {
  const ranges: ReplacedRange[] = [];
  for await (const [key, record] of storage.iterate('events', { gt: encodeSeqKey(afterSeq) })) {
    const seq = decodeSeqKey(key);
    const range = replacedBy(decodeCommitRecord(record, seq), seq);
    if (range !== undefined) ranges.push(range);
  }
  return ranges;
}

/**
 * Whether a backup at `seq` belongs to the store's current history: no restore since replaced the stretch
 * it was taken in (the safety backup a restore takes is in such a stretch).
 */
export async function inCurrentHistory(storage: StorageBackend, backup: { seq: number }): Promise<boolean> {
  return !(await replacedRanges(storage, backup.seq)).some((range) => backup.seq >= range.from && backup.seq <= range.to);
}
