import { emptyCheckpoint, uuid6, type Checkpoint, type CheckpointMetadata } from '@langchain/langgraph-checkpoint';
import type { RunnableConfig } from '@langchain/core/runnables';
import type { Runtime } from '../../src/index.js';

/** A checkpoint holding `values`, each at the version `versions` gives it (1 when not given). */
export function checkpointOf(values: Record<string, unknown>, versions: Record<string, number | string> = {}): Checkpoint {
  const checkpoint = emptyCheckpoint();
  checkpoint.id = uuid6(3);
  checkpoint.channel_values = values;
  checkpoint.channel_versions = Object.fromEntries(Object.keys(values).map((channel) => [channel, versions[channel] ?? 1]));
  return checkpoint;
}

export function metadataOf(step: number, source: CheckpointMetadata['source'] = 'loop', extra: Record<string, unknown> = {}): CheckpointMetadata {
  return { source, step, parents: {}, ...extra };
}

export function threadConfig(threadId: string, checkpointId?: string, ns = ''): RunnableConfig {
  return { configurable: { thread_id: threadId, checkpoint_ns: ns, ...(checkpointId !== undefined && { checkpoint_id: checkpointId }) } };
}

export async function toArray<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** `rt` as the saver sees it, counting the records each `entries` read returns. */
export function countingReads(rt: Runtime): { rt: Pick<Runtime, 'state'>; reads: Array<{ gte?: string; records: number }> } {
  const reads: Array<{ gte?: string; records: number }> = [];
  const { state } = rt;
  const counted = {
    get: state.get.bind(state),
    listKeys: state.listKeys.bind(state),
    commitUnit: state.commitUnit.bind(state),
    scopes: state.scopes.bind(state),
    async entries(...args: Parameters<typeof state.entries>) {
      const entries = await state.entries(...args);
      reads.push({ gte: args[1]?.gte, records: entries.length });
      return entries;
    },
  };
  return { rt: { state: counted as unknown as Runtime['state'] }, reads };
}
