import { LlmStateError } from '../errors.js';
import { scopeRange } from '../state/keyCodec.js';
import type { Scope } from '../state/Scope.js';
import { createMemoryBackend, type LeaseHold, type StorageBackend } from '../storage/index.js';
import type { BackupDescriptor } from './BackupCatalog.js';
import { applyBackupRecords } from './applyRecords.js';
import { stateDifferences, summarizeDifferences, type KeyRange, type ScopeChanges, type StateDifference } from './diffState.js';
import { readBackupRecords, type BackupKeyInput, type BackupRecord } from './file/index.js';
import { checkLogReaches, checkNotInsideMigration } from './pointInTime.js';
import type { BackupProgress } from './progress.js';
import { chainProgress, progressCounter } from './progress.js';
import { replayLog } from './replayLog.js';
import { restoreCommitAt, restoreCommitOps } from './restoreCommit.js';
import { giveBackScopeLeases, takeScopeLeases } from './restoreLeases.js';
import { readLastSeq } from '../events/eventLog.js';

/** A store to build a restore in, and the way to make it the runtime's. */
export interface StagedStore {
  /** Open, empty. */
  readonly storage: StorageBackend;
  /**
   * Throws when the switch would be refused now (on PostgreSQL: other processes hold live leases on the
   * store), so that a restore fails before it builds anything. `activate` checks again.
   */
  checkSwitchable?(): Promise<void>;
  /** Makes it the active store, atomically, and returns it open (the same object, or it reopened). */
  activate(): Promise<StorageBackend>;
  /** Closes and deletes it. */
  discard(): Promise<void>;
}

/** What a restore needs from the runtime it restores. */
export interface RestoreHost {
  /** The store the runtime runs on now. */
  storage(): StorageBackend;
  /** Stops the runtime's core (actors, agents, hooks), leaving its store open and still; returns it. */
  quiesce(): Promise<StorageBackend>;
  /** Starts a core on an open store. */
  resume(storage: StorageBackend): Promise<void>;
  newStore(id: string): Promise<StagedStore>;
  /** Backs up the quiesced store, so that the restore can be undone. */
  safetyBackup(storage: StorageBackend, onProgress?: (progress: BackupProgress) => void): Promise<BackupDescriptor>;
  now(): number;
}

export interface RestorePlan {
  /** The backups to read, full first. */
  chain: BackupDescriptor[];
  /** Bring the restored store forward to this sequence from the current log (point in time). */
  toSeq?: number;
  /** Replace only these scopes. */
  scopes?: Scope[];
  dryRun: boolean;
  key: BackupKeyInput | undefined;
  onProgress?: (progress: BackupProgress) => void;
}

export interface RestoreBackupResult {
  /** The backup restored (the last of its chain). */
  id: string;
  mode: 'full' | 'pointInTime' | 'scopes';
  /** The sequence the restored state is as of. */
  restoredSeq: number;
  /** The sequence of the restore's own commit (absent for a dry run). */
  seq?: number;
  /** The backup taken just before (absent for a dry run). */
  safetyBackupId?: string;
  scopes?: string[];
  dryRun: boolean;
  /** Records read from the backup files. */
  records: number;
  /** Commits replayed from the log (point in time). */
  replayedCommits: number;
  /** Per scope, the keys added, changed and removed: for a dry run and for a restore of scopes. */
  changes?: ScopeChanges[];
}

/**
 * Restores a chain of backups, all or nothing.
 *
 * A full (or point-in-time) restore builds the restored store beside the current one while the runtime
 * goes on, then stops the runtime's core, takes a safety backup, switches stores atomically and starts a
 * new core on the restored store. A restore of scopes builds only those scopes, then, with the core
 * stopped, replaces them in one batch of the current store. A failure before the switch leaves the
 * current store as it was, and the runtime running on it.
 */
export async function restoreChain(host: RestoreHost, plan: RestorePlan): Promise<RestoreBackupResult> {
  const target = plan.chain[plan.chain.length - 1];
  const mode = plan.scopes !== undefined ? 'scopes' : plan.toSeq !== undefined ? 'pointInTime' : 'full';
  const staged = plan.scopes !== undefined ? await scratchStore() : await host.newStore(target.id);
  try {
    if (!plan.dryRun) await staged.checkSwitchable?.();
    const records = await readChainInto(staged.storage, plan);
    const ranges = plan.scopes?.map((scope) => scopeRange(scope));
    const replayedCommits = plan.toSeq === undefined ? 0 : await replayInto(host.storage(), staged.storage, target, plan.toSeq, ranges, plan.onProgress);
    const restoredSeq = plan.toSeq ?? target.seq;
    const result: RestoreBackupResult = {
      id: target.id,
      mode,
      restoredSeq,
      dryRun: plan.dryRun,
      records,
      replayedCommits,
      ...(plan.scopes === undefined ? {} : { scopes: plan.scopes.map(String) }),
    };
    if (plan.dryRun) {
      const snapshot = host.storage().snapshot();
      try {
        result.changes = await summarizeDifferences(stateDifferences({ storage: host.storage(), snapshot }, { storage: staged.storage }, ranges));
      } finally {
        await snapshot.close();
      }
      return result;
    }
    return plan.scopes === undefined ? await switchStores(host, staged, result, plan.onProgress) : await replaceScopes(host, staged.storage, ranges!, result, plan.onProgress);
  } finally {
    await staged.discard().catch(() => {});
  }
}

async function readChainInto(target: StorageBackend, plan: RestorePlan): Promise<number> {
  const report = chainProgress('restore', plan.chain, plan.onProgress);
  const keep = plan.scopes === undefined ? undefined : inScopes(plan.scopes.map((scope) => scopeRange(scope)));
  let records = 0;
  for (const [index, backup] of plan.chain.entries()) {
    const reading = readBackupRecords(backup.file, { ...(plan.key === undefined ? {} : { key: plan.key }), onProgress: (progress) => report(index, progress) });
    records += await applyBackupRecords(target, reading, { file: backup.file, ...(keep === undefined ? {} : { keep }) });
  }
  return records;
}

async function replayInto(
  source: StorageBackend,
  target: StorageBackend,
  from: { id: string; seq: number },
  toSeq: number,
  ranges: ReadonlyArray<{ gte: Buffer; lt: Buffer }> | undefined,
  onProgress?: (progress: BackupProgress) => void,
): Promise<number> {
  const snapshot = source.snapshot();
  try {
    await checkLogReaches(source, snapshot, from.seq, toSeq);
    await checkNotInsideMigration(source, snapshot, toSeq);
    const counter = progressCounter('replay', undefined, onProgress);
    const commits = await replayLog(source, snapshot, target, from, toSeq, {
      onCommit: () => counter.add(0),
      ...(ranges === undefined ? {} : { onlyState: (key: Buffer) => ranges.some((range) => Buffer.compare(key, range.gte) >= 0 && Buffer.compare(key, range.lt) < 0) }),
    });
    counter.done();
    return commits;
  } finally {
    await snapshot.close();
  }
}

async function switchStores(host: RestoreHost, staged: StagedStore, result: RestoreBackupResult, onProgress?: (progress: BackupProgress) => void): Promise<RestoreBackupResult> {
  const current = await host.quiesce();
  let restored: StorageBackend;
  try {
    const safety = await host.safetyBackup(current, relabelled('safety', onProgress));
    result.safetyBackupId = safety.id;
    const data = { id: result.id, mode: result.mode, restoredSeq: result.restoredSeq, safetyBackupId: safety.id };
    const { ops, seq } = await restoreCommitOps({ current, restored: staged.storage }, host.now(), data, createdData(safety));
    await staged.storage.batch(ops, { sync: true });
    result.seq = seq;
    onProgress?.({ phase: 'switch', records: 0, bytes: 0 });
    restored = await staged.activate();
  } catch (error) {
    await resumeAfterFailure(host, current, result, error);
    throw restoreFailed(result, error);
  }
  await current.close();
  try {
    await host.resume(restored);
  } catch (error) {
    throw new LlmStateError(
      'RESTORE_FAILED',
      `Backup ${result.id} was restored, but the runtime could not start on the restored store (${(error as Error).message}): close it and open it again`,
      { cause: error, details: { id: result.id, mode: result.mode, switched: true } },
    );
  }
  return result;
}

async function replaceScopes(
  host: RestoreHost,
  scratch: StorageBackend,
  ranges: readonly KeyRange[],
  result: RestoreBackupResult,
  onProgress?: (progress: BackupProgress) => void,
): Promise<RestoreBackupResult> {
  const current = await host.quiesce();
  let fence: LeaseHold[] = [];
  try {
    const safety = await host.safetyBackup(current, relabelled('safety', onProgress));
    result.safetyBackupId = safety.id;
    // Compared and replaced while no other process may serve these scopes.
    fence = await takeScopeLeases(current, result.scopes!, result.id);
    const changes: StateDifference[] = [];
    for await (const difference of stateDifferences({ storage: current }, { storage: scratch }, ranges)) changes.push(difference);
    result.changes = await summarizeDifferences(listOf(changes));
    const data = { id: result.id, mode: result.mode, restoredSeq: result.restoredSeq, scopes: result.scopes!, safetyBackupId: safety.id };
    const safetyData = createdData(safety);
    onProgress?.({ phase: 'switch', records: changes.length, bytes: 0 });
    // A sequenced commit: on a shared store, it takes its sequence from the store's one counter.
    const now = host.now();
    result.seq = await current.commitNext(await readLastSeq(current), (seq) => restoreCommitAt(seq, now, data, safetyData, changes), { sync: true, fence });
  } catch (error) {
    await giveBackScopeLeases(current, fence);
    await resumeAfterFailure(host, current, result, error);
    throw restoreFailed(result, error);
  }
  await giveBackScopeLeases(current, fence);
  await host.resume(current);
  return result;
}

function relabelled(phase: BackupProgress['phase'], report: ((progress: BackupProgress) => void) | undefined): ((progress: BackupProgress) => void) | undefined {
  return report === undefined ? undefined : (progress) => report({ ...progress, phase });
}

/** An in-memory store for the scopes a partial restore rebuilds: they are small next to the store. */
async function scratchStore(): Promise<StagedStore> {
  const storage = createMemoryBackend();
  await storage.open();
  return { storage, activate: async () => storage, discard: () => storage.close() };
}

/** Accepts the records of the given state ranges (and tombstones that reach into them), and nothing else. */
function inScopes(ranges: ReadonlyArray<{ gte: Buffer; lt: Buffer }>): (record: BackupRecord) => boolean {
  const within = (key: Buffer) => ranges.some((range) => Buffer.compare(key, range.gte) >= 0 && Buffer.compare(key, range.lt) < 0);
  return (record) => {
    if (record.sublevel !== 'state') return false;
    if (record.op !== 'clear') return within(record.key);
    // A tombstone over a range: applied whole to the scratch store, which holds only these scopes.
    return ranges.some((range) => (record.gte === undefined || Buffer.compare(record.gte, range.lt) < 0) && (record.lt === undefined || Buffer.compare(record.lt, range.gte) > 0));
  };
}

function createdData(backup: BackupDescriptor) {
  const { id, kind, parentId, seq, records, bytes, reason } = backup;
  return { id, kind, parentId, seq, records, bytes, reason };
}

async function* listOf<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

/** Starts the runtime again on the store it ran on; when even that fails, says so, with the first failure as the cause. */
async function resumeAfterFailure(host: RestoreHost, current: StorageBackend, result: RestoreBackupResult, error: unknown): Promise<void> {
  try {
    await host.resume(current);
  } catch (resumeError) {
    throw new LlmStateError(
      'RESTORE_FAILED',
      `Restoring backup ${result.id} failed (${(error as Error).message}); the current state is untouched, but the runtime could not start again on it ` +
        `(${(resumeError as Error).message}): close it and open it again`,
      { cause: error, details: { id: result.id, mode: result.mode, resumeError: (resumeError as Error).message } },
    );
  }
}

function restoreFailed(result: RestoreBackupResult, error: unknown): LlmStateError {
  if (error instanceof LlmStateError && error.code !== 'STORAGE_FAILED') return error;
  return new LlmStateError('RESTORE_FAILED', `Restoring backup ${result.id} failed; the current state is untouched: ${(error as Error).message}`, {
    cause: error,
    details: { id: result.id, mode: result.mode },
  });
}

