/**
 * A thread's puts and writes commit in the order they were called, even when an earlier call takes
 * longer to serialise: LangGraph does not always await a put before it writes against the checkpoint.
 */
import assert from 'node:assert/strict';
import { JsonPlusSerializer } from '@langchain/langgraph-checkpoint';
import { createRuntime, type Runtime } from '../../src/index.js';
import { LlmStateSaver } from '../../src/langgraph/index.js';
import { threadScope } from '../../src/langgraph/scopeNames.js';
import { checkpointOf, metadataOf, threadConfig } from './saverFixtures.js';

/** JSON, but slow to serialise any value that holds `slow: true`. */
class SlowSerializer extends JsonPlusSerializer {
  override async dumpsTyped(value: unknown): Promise<[string, Uint8Array]> {
    if (JSON.stringify(value ?? null).includes('"slow":true')) await new Promise((resolve) => setTimeout(resolve, 30));
    return super.dumpsTyped(value);
  }
}

describe('LlmStateSaver: call order', () => {
  let rt: Runtime;
  beforeEach(async () => {
    rt = await createRuntime({ memory: true });
  });
  afterEach(async () => {
    await rt.close();
  });

  it('commits a putWrites called after a slow put after that put, and a failed call does not hold the thread', async () => {
    const saver = new LlmStateSaver(rt, { serde: new SlowSerializer() });
    const checkpoint = checkpointOf({ big: { slow: true } });
    const put = saver.put(threadConfig('t1'), checkpoint, metadataOf(0), { big: 1 });
    const writes = saver.putWrites(threadConfig('t1', checkpoint.id), [['big', 'fast']], 'task-1');
    await Promise.all([put, writes]);
    const kinds = (await rt.events.query({ scope: threadScope('t1').toString(), kinds: ['langgraph.*'] })).map((event) => event.kind);
    assert.deepEqual(kinds, ['langgraph.checkpoint', 'langgraph.writes']);

    const tooBig = checkpointOf({ big: 'x'.repeat(1_100_000) });
    const refused = saver.put(threadConfig('t1'), tooBig, metadataOf(1), { big: 2 });
    const after = saver.putWrites(threadConfig('t1', checkpoint.id), [['big', 'after']], 'task-2');
    await assert.rejects(refused, { code: 'VALUE_TOO_LARGE' });
    await after;
    const tuple = await saver.getTuple(threadConfig('t1', checkpoint.id));
    assert.deepEqual(tuple?.pendingWrites?.map(([task]) => task), ['task-1', 'task-2']);
  });
});
