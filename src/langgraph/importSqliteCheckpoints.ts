import type { RunnableConfig } from '@langchain/core/runnables';
import { WRITES_IDX_MAP, type BaseCheckpointSaver, type ChannelVersions, type CheckpointMetadata, type CheckpointTuple, type PendingWrite } from '@langchain/langgraph-checkpoint';
import { LlmStateError } from '../index.js';
import type { SqliteCheckpointRef, SqliteCheckpoints } from './SqliteCheckpoints.js';

export interface ImportSqliteOptions {
  /** Only these thread ids. @default every thread in the file */
  threads?: readonly string[];
  /** Read and check every checkpoint and write, and write nothing. @default false */
  dryRun?: boolean;
  /** Called after each checkpoint is checked, and again after it is copied. */
  onProgress?: (progress: ImportProgress) => void;
}

export interface ImportProgress {
  /** `check`: read from the file; `copy`: written to the target. */
  phase: 'check' | 'copy';
  threadId: string;
  /** Steps done so far, over every thread: a checkpoint counts once when checked and once when copied. */
  done: number;
  total: number;
}

export interface ImportedThread {
  threadId: string;
  namespaces: number;
  checkpoints: number;
  /** Pending writes copied (or, in a dry run, found). */
  writes: number;
  /** The target held checkpoints of this thread before the import. */
  existed: boolean;
}

export interface SqliteImportResult {
  file: string;
  dryRun: boolean;
  threads: ImportedThread[];
  checkpoints: number;
  writes: number;
}

/**
 * Copies the checkpoints of a SqliteSaver database into `target` (an `LlmStateSaver`, or any saver):
 * every thread and namespace, every checkpoint oldest first with its id, parent and metadata unchanged,
 * and its pending writes with their task ids. Channel values are put as LangGraph puts them: each
 * checkpoint's `newVersions` holds the channels whose version differs from its parent's.
 *
 * Each thread is all or nothing: it is read and checked whole before anything of it is written, and
 * when a write fails, a thread the target did not hold before is deleted again. Copying is idempotent
 * (same ids, same content), so an import cut short, even by a killed process, is finished by running it
 * again.
 *
 * @throws {IMPORT_FAILED} `thread_not_found` (a thread of `threads` is not in the file), `damaged` (a row
 * cannot be read: `details.threadId`, `details.checkpointId`), `write_failed` (the target refused a
 * checkpoint; `cause` holds its error).
 * @example
 * const source = SqliteCheckpoints.open('checkpoints.sqlite');
 * try { await importSqliteCheckpoints(new LlmStateSaver(rt), source) } finally { source.close() }
 */
export async function importSqliteCheckpoints(target: BaseCheckpointSaver, source: SqliteCheckpoints, options: ImportSqliteOptions = {}): Promise<SqliteImportResult> {
  const threads = source.threads(options.threads);
  const dryRun = options.dryRun === true;
  const progress = { done: 0, total: threads.reduce((sum, thread) => sum + thread.checkpoints, 0) * (dryRun ? 1 : 2) };
  const step = (phase: ImportProgress['phase'], threadId: string) => {
    progress.done++;
    options.onProgress?.({ phase, threadId, ...progress });
  };
  const imported: ImportedThread[] = [];
  for (const thread of threads) {
    const refs = source.checkpointsOf(thread.threadId);
    const existed = await holdsThread(target, thread.threadId);
    let writes = 0;
    for (const ref of refs) {
      writes += (await readTuple(source, thread.threadId, ref)).pendingWrites?.length ?? 0;
      step('check', thread.threadId);
    }
    if (!dryRun) await copyThread(target, source, thread.threadId, refs, existed, () => step('copy', thread.threadId));
    imported.push({ threadId: thread.threadId, namespaces: thread.namespaces, checkpoints: refs.length, writes, existed });
  }
  return {
    file: source.file,
    dryRun,
    threads: imported,
    checkpoints: imported.reduce((sum, thread) => sum + thread.checkpoints, 0),
    writes: imported.reduce((sum, thread) => sum + thread.writes, 0),
  };
}

async function holdsThread(target: BaseCheckpointSaver, threadId: string): Promise<boolean> {
  for await (const _ of target.list({ configurable: { thread_id: threadId } }, { limit: 1 })) return true;
  return false;
}

async function copyThread(target: BaseCheckpointSaver, source: SqliteCheckpoints, threadId: string, refs: readonly SqliteCheckpointRef[], existed: boolean, copied: () => void): Promise<void> {
  const versions = new Map<string, ChannelVersions>();
  for (const ref of refs) {
    try {
      await copyTuple(target, threadId, ref, await readTuple(source, threadId, ref), versions);
    } catch (error) {
      // Without the thread before, deleting it leaves the target as it was; with it, what was written is
      // the file's own checkpoints, which a second run puts again.
      if (!existed) await target.deleteThread(threadId);
      if (error instanceof LlmStateError && error.code === 'IMPORT_FAILED') throw error;
      throw new LlmStateError(
        'IMPORT_FAILED',
        `Could not write checkpoint ${ref.checkpointId} of thread ${JSON.stringify(threadId)}: ${(error as Error).message}. ` +
          (existed ? 'The thread was in the store before: run the import again once the cause is fixed.' : 'Nothing of this thread was kept.'),
        { cause: error, details: { reason: 'write_failed', file: source.file, threadId, checkpointNs: ref.checkpointNs, checkpointId: ref.checkpointId } },
      );
    }
    copied();
  }
}

async function copyTuple(target: BaseCheckpointSaver, threadId: string, ref: SqliteCheckpointRef, tuple: CheckpointTuple, versions: Map<string, ChannelVersions>): Promise<void> {
  const parentId = tuple.parentConfig?.configurable?.checkpoint_id as string | undefined;
  const current = tuple.checkpoint.channel_versions;
  const parent = parentId === undefined ? undefined : versions.get(`${ref.checkpointNs}\0${parentId}`);
  const newVersions = Object.fromEntries(Object.entries(current).filter(([channel, version]) => parent?.[channel] !== version));
  const config: RunnableConfig = { configurable: { thread_id: threadId, checkpoint_ns: ref.checkpointNs, ...(parentId === undefined ? {} : { checkpoint_id: parentId }) } };
  const saved = await target.put(config, tuple.checkpoint, (tuple.metadata ?? {}) as CheckpointMetadata, newVersions);
  for (const [taskId, writes] of writesByTask(tuple.pendingWrites ?? [])) {
    // Ordinary writes take their index in the list: put together, in order, they keep the indexes
    // SqliteSaver gave them (0, 1, …). Special ones (errors, interrupts) have fixed indexes of their own.
    if (writes.ordinary.length > 0) await target.putWrites(saved, writes.ordinary, taskId);
    if (writes.special.length > 0) await target.putWrites(saved, writes.special, taskId);
  }
  versions.set(`${ref.checkpointNs}\0${ref.checkpointId}`, current);
}

function writesByTask(pending: NonNullable<CheckpointTuple['pendingWrites']>): Map<string, { ordinary: PendingWrite[]; special: PendingWrite[] }> {
  const byTask = new Map<string, { ordinary: PendingWrite[]; special: PendingWrite[] }>();
  for (const [taskId, channel, value] of pending) {
    let writes = byTask.get(taskId);
    if (writes === undefined) byTask.set(taskId, (writes = { ordinary: [], special: [] }));
    (channel in WRITES_IDX_MAP ? writes.special : writes.ordinary).push([channel, value]);
  }
  return byTask;
}

async function readTuple(source: SqliteCheckpoints, threadId: string, ref: SqliteCheckpointRef): Promise<CheckpointTuple> {
  const where = `checkpoint ${ref.checkpointId}${ref.checkpointNs === '' ? '' : ` (namespace ${JSON.stringify(ref.checkpointNs)})`} of thread ${JSON.stringify(threadId)} in ${source.file}`;
  const details = { reason: 'damaged', file: source.file, threadId, checkpointNs: ref.checkpointNs, checkpointId: ref.checkpointId };
  let tuple: CheckpointTuple | undefined;
  try {
    tuple = await source.saver.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: ref.checkpointNs, checkpoint_id: ref.checkpointId } });
  } catch (error) {
    throw new LlmStateError('IMPORT_FAILED', `Cannot read ${where}: ${(error as Error).message}. Nothing of this thread was imported.`, { cause: error, details });
  }
  if (tuple === undefined) throw new LlmStateError('IMPORT_FAILED', `${where} vanished while it was read: is an application still writing to the file?`, { details });
  return tuple;
}
