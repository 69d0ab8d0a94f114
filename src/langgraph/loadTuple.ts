import type { RunnableConfig } from '@langchain/core/runnables';
import {
  compareWritesSortKeys,
  maxChannelVersion,
  TASKS,
  writesSortKey,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointMetadata,
  type CheckpointPendingWrite,
  type CheckpointTuple,
  type SerializerProtocol,
} from '@langchain/langgraph-checkpoint';
import type { Runtime, Scope } from '../index.js';
import { loadPayload } from './payloads.js';
import { blobKey, writesRange } from './saverKeys.js';
import type { BlobRecord, CheckpointRecord, WriteRecord } from './saverRecords.js';

/** What reading a thread needs from the saver. */
export interface TupleReader {
  readonly state: Runtime['state'];
  readonly serde: SerializerProtocol;
  getNextVersion(current: number | undefined): number;
}

/**
 * The tuple of a stored checkpoint: its channel values from the blobs its `channel_versions` name (a channel
 * without a stored value at that version is left out, as LangGraph expects), and its pending writes.
 */
export async function loadTuple(
  reader: TupleReader,
  scope: Scope,
  record: CheckpointRecord,
  metadata?: CheckpointMetadata,
  writesRead?: Promise<WriteRecord[]>,
): Promise<CheckpointTuple> {
  const { serde } = reader;
  const writes = writesRead ?? readWrites(reader, scope, record.ns, record.id);
  // Read while the checkpoint loads: a rejection (DATA_CORRUPT) is raised below or dropped with the
  // call, never left unhandled, which would end the process.
  writes.catch(() => {});
  const stored = (await loadPayload(serde, record.checkpoint)) as Checkpoint;
  const versions: ChannelVersions = stored.channel_versions ?? {};
  const channels = Object.keys(versions);
  const blobs = await Promise.all(
    channels.map((channel) => reader.state.get(scope, blobKey(record.ns, channel, versions[channel]!)) as Promise<BlobRecord | undefined>),
  );
  const values: Record<string, unknown> = {};
  const loaded = blobs.map(async (blob, i) => {
    if (blob !== undefined) setOwn(values, channels[i]!, await loadPayload(serde, blob));
  });
  const [pendingWrites, loadedMetadata] = await Promise.all([
    writes.then((records) => pendingWritesOf(serde, records)),
    metadata ?? (loadPayload(serde, record.metadata) as Promise<CheckpointMetadata>),
    ...loaded,
  ]);
  const checkpoint: Checkpoint = { ...stored, channel_values: values };
  if (stored.v < 4 && record.parentId !== undefined) await migratePendingSends(reader, scope, record, checkpoint);
  const tuple: CheckpointTuple = { config: configOf(record.threadId, record.ns, record.id), checkpoint, metadata: loadedMetadata, pendingWrites };
  if (record.parentId !== undefined) tuple.parentConfig = configOf(record.threadId, record.ns, record.parentId);
  return tuple;
}

/** The config LangGraph uses to name one checkpoint. */
export function configOf(threadId: string, ns: string, checkpointId: string): RunnableConfig {
  return { configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: checkpointId } };
}

/** The pending writes of one checkpoint, in `writesSortKey` order: (task path, task id, index). */
export async function readWrites(reader: TupleReader, scope: Scope, ns: string, checkpointId: string): Promise<WriteRecord[]> {
  const entries = await reader.state.entries(scope, writesRange(ns, checkpointId));
  return sortWrites(entries.map(([, value]) => value as WriteRecord));
}

/**
 * The pending writes of several checkpoints of one namespace, with one range read from the first one's
 * writes to the last one's: a page of `list` is consecutive checkpoints, so little else is in between.
 */
export async function readWritesOfMany(reader: TupleReader, scope: Scope, ns: string, checkpointIds: readonly string[]): Promise<Map<string, WriteRecord[]>> {
  const ranges = checkpointIds.map((id) => writesRange(ns, id));
  const gte = ranges.reduce((low, range) => (range.gte < low ? range.gte : low), ranges[0]!.gte);
  const lt = ranges.reduce((high, range) => (range.lt > high ? range.lt : high), ranges[0]!.lt);
  const entries = await reader.state.entries(scope, { gte, lt });
  const byCheckpoint = new Map<string, WriteRecord[]>();
  checkpointIds.forEach((id, i) => {
    const { gte: prefix } = ranges[i]!;
    byCheckpoint.set(id, sortWrites(entries.filter(([key]) => key.startsWith(prefix)).map(([, value]) => value as WriteRecord)));
  });
  return byCheckpoint;
}

function sortWrites(records: WriteRecord[]): WriteRecord[] {
  return records.sort((a, b) => compareWritesSortKeys(writesSortKey(a.taskPath, a.taskId, a.index), writesSortKey(b.taskPath, b.taskId, b.index)));
}

export function pendingWritesOf(serde: SerializerProtocol, records: readonly WriteRecord[]): Promise<CheckpointPendingWrite[]> {
  return Promise.all(records.map(async (record): Promise<CheckpointPendingWrite> => [record.taskId, record.channel, await loadPayload(serde, record)]));
}

/**
 * Checkpoints before format 4 kept the sends of the next step in the parent's pending writes to TASKS;
 * format 4 keeps them as a channel. Older checkpoints read as if written by format 4.
 */
async function migratePendingSends(reader: TupleReader, scope: Scope, record: CheckpointRecord, checkpoint: Checkpoint): Promise<void> {
  const sends = (await readWrites(reader, scope, record.ns, record.parentId!)).filter((write) => write.channel === TASKS);
  if (sends.length === 0) return;
  checkpoint.channel_values[TASKS] = await Promise.all(sends.map((send) => loadPayload(reader.serde, send)));
  const versions = Object.values(checkpoint.channel_versions);
  checkpoint.channel_versions = {
    ...checkpoint.channel_versions,
    [TASKS]: versions.length > 0 ? maxChannelVersion(...versions) : reader.getNextVersion(undefined),
  };
}

/** Sets `key` as an own property even when it is `__proto__`. */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}
