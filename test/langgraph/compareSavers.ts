import assert from 'node:assert/strict';
import type { BaseCheckpointSaver, CheckpointTuple } from '@langchain/langgraph-checkpoint';

/** Every checkpoint of a thread, all namespaces, in (namespace, id) order, as the saver lists them. */
export async function tuplesOf(saver: BaseCheckpointSaver, threadId: string): Promise<CheckpointTuple[]> {
  const tuples: CheckpointTuple[] = [];
  for await (const tuple of saver.list({ configurable: { thread_id: threadId } })) tuples.push(tuple);
  const key = (tuple: CheckpointTuple) => `${tuple.config.configurable?.checkpoint_ns}\0${tuple.checkpoint.id}`;
  return tuples.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/**
 * A tuple as savers agree on it: its place without the config fields a saver may add, and the values of
 * versioned channels only. SqliteSaver keeps a checkpoint whole, so it also holds the initial value of a
 * channel never written (`__pregel_tasks: []`), which has no version; a saver that stores values by
 * version, as LangGraph's suite requires, has nothing to key it by, and LangGraph builds the channel
 * empty either way.
 */
function comparable(tuple: CheckpointTuple) {
  const place = (configurable: Record<string, unknown> | undefined) =>
    configurable === undefined ? undefined : { thread_id: configurable.thread_id, checkpoint_ns: configurable.checkpoint_ns ?? '', checkpoint_id: configurable.checkpoint_id };
  return {
    config: place(tuple.config.configurable),
    parentConfig: place(tuple.parentConfig?.configurable),
    checkpoint: {
      ...tuple.checkpoint,
      channel_values: Object.fromEntries(Object.entries(tuple.checkpoint.channel_values).filter(([channel]) => channel in tuple.checkpoint.channel_versions)),
    },
    metadata: tuple.metadata,
    pendingWrites: tuple.pendingWrites ?? [],
  };
}

export async function assertSameThreads(source: BaseCheckpointSaver, target: BaseCheckpointSaver, threads: readonly string[]): Promise<void> {
  for (const threadId of threads) {
    const expected = await tuplesOf(source, threadId);
    assert.ok(expected.length > 0);
    assert.deepEqual((await tuplesOf(target, threadId)).map(comparable), expected.map(comparable), `thread ${threadId}`);
    for (const ns of new Set(expected.map((tuple) => tuple.config.configurable?.checkpoint_ns as string))) {
      const latest = (saver: BaseCheckpointSaver) => saver.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: ns } });
      assert.deepEqual(comparable((await latest(target))!), comparable((await latest(source))!), `latest of ${threadId} in ${JSON.stringify(ns)}`);
    }
  }
}
