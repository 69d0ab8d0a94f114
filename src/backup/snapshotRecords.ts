import { LlmStateError } from '../errors.js';
import { decodeCommitRecord, decodeSeqKey, encodeSeqKey, indexKeysOf, type LoggedEvent } from '../events/eventLog.js';
import { readSeqHighWater } from '../events/seqHighWater.js';
import { Scope } from '../state/Scope.js';
import { encodeStateKey, scopeRange } from '../state/keyCodec.js';
import type { StorageBackend, StorageSnapshot } from '../storage/index.js';
import { BACKUP_COVERAGE, backedUpSublevels } from './coverage.js';
import type { BackupRecord } from './file/index.js';

/** Every record of every namespace a backup holds, as the snapshot sees them. */
export async function* fullBackupRecords(storage: StorageBackend, snapshot: StorageSnapshot): AsyncGenerator<BackupRecord> {
  for (const sublevel of backedUpSublevels()) {
    for await (const [key, value] of storage.iterate(sublevel, { snapshot })) yield { op: 'put', sublevel, key, value };
  }
}

/**
 * What changed between the parent backup (at `fromSeq`) and the snapshot (at `toSeq`), as records that
 * turn the parent's contents into the snapshot's when applied in order (see coverage.ts for each
 * namespace). The event log names every state change, so the increment costs in proportion to the
 * changes, not to the store.
 *
 * @throws {BACKUP_FULL_REQUIRED} before yielding anything, when the log no longer holds every commit
 * after `fromSeq` (event retention removed some), or when a restore replaced the store since then.
 */
export async function* incrementalBackupRecords(
  storage: StorageBackend,
  snapshot: StorageSnapshot,
  parent: { id: string; seq: number },
  toSeq: number,
): AsyncGenerator<BackupRecord> {
  await checkLogCovers(storage, snapshot, parent, toSeq);
  const touched = new Map<string, Buffer>();
  const cleared: Array<{ gte: Buffer; lt: Buffer }> = [];
  yield { op: 'clear', sublevel: 'events', lt: await firstLoggedSeqKey(storage, snapshot, toSeq) };
  for await (const [key, record] of storage.iterate('events', { snapshot, gt: encodeSeqKey(parent.seq), lte: encodeSeqKey(toSeq) })) {
    const seq = decodeSeqKey(key);
    const events = decodeCommitRecord(record, seq);
    yield { op: 'put', sublevel: 'events', key, value: record };
    for (const candidate of indexKeysOf(seq, events)) {
      const value = await storage.get(candidate.sublevel, candidate.key, { snapshot });
      if (value !== undefined) yield { op: 'put', sublevel: candidate.sublevel, key: candidate.key, value };
    }
    for (const event of events) noteStateChange(event, touched, cleared, parent);
  }
  for (const range of cleared) yield { op: 'clear', sublevel: 'state', ...range };
  for (const key of [...touched.values()].sort(Buffer.compare)) {
    const value = await storage.get('state', key, { snapshot });
    yield value === undefined ? { op: 'del', sublevel: 'state', key } : { op: 'put', sublevel: 'state', key, value };
  }
  for (const sublevel of backedUpSublevels()) {
    if (BACKUP_COVERAGE[sublevel] !== 'whole') continue;
    yield { op: 'clear', sublevel };
    for await (const [key, value] of storage.iterate(sublevel, { snapshot })) yield { op: 'put', sublevel, key, value };
  }
}

function noteStateChange(event: LoggedEvent, touched: Map<string, Buffer>, cleared: Array<{ gte: Buffer; lt: Buffer }>, parent: { id: string }): void {
  if (event.kind === 'backup.restored' && (event.data as { mode: string }).mode !== 'scopes') {
    throw fullRequired(
      `a restore replaced the whole store at sequence ${event.seq}, after the parent backup ${parent.id}; what changed since the parent is not in the log`,
    );
  }
  if (event.scope === undefined) return;
  if (event.kind === 'state.set' || event.kind === 'state.delete') {
    const key = encodeStateKey(Scope.parse(event.scope), event.key!);
    touched.set(key.toString('latin1'), key);
  } else if (event.kind === 'scope.clear') {
    cleared.push(scopeRange(Scope.parse(event.scope)));
  }
}

/**
 * Checks that the snapshot's log can describe what changed since `parent`. `incrementalBackupRecords`
 * runs it on its first read; a writer runs it before it writes anything, so that a refusal is
 * BACKUP_FULL_REQUIRED and not a header that cannot be written.
 *
 * @throws {BACKUP_FULL_REQUIRED}
 */
export async function checkLogCovers(storage: StorageBackend, snapshot: StorageSnapshot, parent: { id: string; seq: number }, toSeq: number): Promise<void> {
  if (parent.seq > toSeq) {
    throw fullRequired(`the parent backup ${parent.id} ends at sequence ${parent.seq}, after this store's last commit (${toSeq}): it is not a backup of this store's history`);
  }
  const removed = await readSeqHighWater(storage, { snapshot });
  if (removed > parent.seq) {
    throw fullRequired(
      `event retention removed the commits up to sequence ${removed}, and an increment on the parent backup ${parent.id} (sequence ${parent.seq}) needs those after ${parent.seq} to find what was deleted`,
    );
  }
}

/** The key below which the snapshot's log holds nothing: its oldest record's, or just past `toSeq` when it is empty. */
async function firstLoggedSeqKey(storage: StorageBackend, snapshot: StorageSnapshot, toSeq: number): Promise<Buffer> {
  for await (const [key] of storage.iterate('events', { snapshot, limit: 1 })) return key;
  return encodeSeqKey(toSeq + 1);
}

function fullRequired(why: string): LlmStateError {
  return new LlmStateError('BACKUP_FULL_REQUIRED', `Cannot take an incremental backup: ${why}. Take a full backup`, { details: { reason: why } });
}

