/**
 * LlmStateSaver under real LangGraph graphs: invoke, getState and history; interrupt() and a resume with
 * Command; a fork from an older checkpoint that leaves the original branch as it was; and concurrency —
 * two graphs running one thread at once never leave a half-written checkpoint, and a task's writes keep
 * the order they were made in.
 */
import assert from 'node:assert/strict';
import { Annotation, Command, END, interrupt, START, StateGraph } from '@langchain/langgraph';
import { ERROR } from '@langchain/langgraph-checkpoint';
import { createRuntime, type Runtime } from '../../src/index.js';
import { LlmStateSaver } from '../../src/langgraph/index.js';
import { threadScope } from '../../src/langgraph/scopeNames.js';
import { checkpointOf, metadataOf, threadConfig, toArray } from './saverFixtures.js';

const State = Annotation.Root({
  count: Annotation<number>({ reducer: (a, b) => a + b, default: () => 0 }),
  log: Annotation<string[]>({ reducer: (a, b) => [...a, ...b], default: () => [] }),
});

/** START → a → b → END; each node adds 1 to count and its name to log, so log.length === count always. */
function counterGraph(checkpointer: LlmStateSaver) {
  return new StateGraph(State)
    .addNode('a', () => ({ count: 1, log: ['a'] }))
    .addNode('b', () => ({ count: 1, log: ['b'] }))
    .addEdge(START, 'a')
    .addEdge('a', 'b')
    .addEdge('b', END)
    .compile({ checkpointer });
}

describe('LlmStateSaver: with LangGraph', () => {
  let rt: Runtime;
  beforeEach(async () => {
    rt = await createRuntime({ memory: true });
  });
  afterEach(async () => {
    await rt.close();
  });

  it('runs a StateGraph: invoke, getState and history come back from the store', async () => {
    const graph = counterGraph(new LlmStateSaver(rt));
    const config = { configurable: { thread_id: 'run' } };
    assert.deepEqual(await graph.invoke({}, config), { count: 2, log: ['a', 'b'] });
    assert.deepEqual(await graph.invoke({}, config), { count: 4, log: ['a', 'b', 'a', 'b'] });
    const state = await graph.getState(config);
    assert.deepEqual(state.values, { count: 4, log: ['a', 'b', 'a', 'b'] });
    assert.deepEqual(state.next, []);
    const history = await toArray(graph.getStateHistory(config));
    assert.deepEqual(
      history.map((snapshot) => snapshot.values.count),
      [4, 3, 2, 2, 2, 1, 0, 0],
      'newest first: two runs of input, a, b',
    );
    // A fresh saver on the same runtime reads the same thread.
    assert.deepEqual((await counterGraph(new LlmStateSaver(rt)).getState(config)).values, state.values);
  });

  it('stops at interrupt() and resumes with Command({ resume })', async () => {
    const graph = new StateGraph(State)
      .addNode('ask', () => {
        const answer = interrupt<string, string>('name?');
        return { count: 1, log: [answer] };
      })
      .addEdge(START, 'ask')
      .addEdge('ask', END)
      .compile({ checkpointer: new LlmStateSaver(rt) });
    const config = { configurable: { thread_id: 'ask' } };
    const paused = await graph.invoke({}, config);
    assert.equal((paused as { __interrupt__?: Array<{ value: unknown }> }).__interrupt__?.[0]?.value, 'name?');
    const state = await graph.getState(config);
    assert.deepEqual(state.next, ['ask']);
    assert.deepEqual(await graph.invoke(new Command({ resume: 'ada' }), config), { count: 1, log: ['ada'] });
  });

  it('forks a thread from an older checkpoint without changing the original branch', async () => {
    const graph = counterGraph(new LlmStateSaver(rt));
    const config = { configurable: { thread_id: 'fork' } };
    await graph.invoke({}, config);
    const original = await toArray(graph.getStateHistory(config));
    const afterA = original.find((snapshot) => snapshot.values.count === 1 && snapshot.next[0] === 'b')!;
    const forked = await graph.updateState(afterA.config, { count: 100, log: ['fork'] });
    assert.deepEqual(await graph.invoke(null, forked), { count: 102, log: ['a', 'fork', 'b'] });
    for (const snapshot of original) {
      const again = await graph.getState(snapshot.config);
      assert.deepEqual(again.values, snapshot.values, 'a checkpoint of the original branch reads as before the fork');
    }
  });

  it('two graphs running one thread at once: every checkpoint is whole and its parent exists', async () => {
    const first = counterGraph(new LlmStateSaver(rt));
    const second = counterGraph(new LlmStateSaver(rt));
    const config = { configurable: { thread_id: 'shared' } };
    for (let round = 0; round < 5; round++) await Promise.all([first.invoke({}, config), second.invoke({}, config)]);
    const saver = new LlmStateSaver(rt);
    const tuples = await toArray(saver.list(threadConfig('shared')));
    assert.ok(tuples.length >= 20);
    const ids = new Set(tuples.map((tuple) => tuple.checkpoint.id));
    for (const tuple of tuples) {
      const { count, log } = tuple.checkpoint.channel_values as { count?: number; log?: string[] };
      assert.equal(log?.length ?? 0, count ?? 0, 'count and log were committed together');
      if (tuple.parentConfig !== undefined) assert.ok(ids.has(tuple.parentConfig.configurable!.checkpoint_id));
    }
  });

  it('keeps a task’s writes in the order they were made, and the first of each ordinary write, under concurrency', async () => {
    const saver = new LlmStateSaver(rt);
    const config = await saver.put(threadConfig('w'), checkpointOf({}), metadataOf(0), {});
    await Promise.all(Array.from({ length: 30 }, (_, i) => saver.putWrites(config, [[ERROR, `error ${i}`]], 'task')));
    await Promise.all(Array.from({ length: 30 }, (_, i) => saver.putWrites(config, [['value', i]], 'task')));
    const tuple = await saver.getTuple(config);
    assert.deepEqual(tuple!.pendingWrites, [
      ['task', ERROR, 'error 29'],
      ['task', 'value', 0],
    ]);
    const events = await rt.events.query({ scope: threadScope('w').toString(), kinds: ['langgraph.writes'] });
    assert.deepEqual(
      events.map((event) => (event.data as { stored: number }).stored),
      [...Array(30).fill(1), 1, ...Array(29).fill(0)],
    );
  });

  it('never shows a reader a half-written checkpoint while puts run', async () => {
    const saver = new LlmStateSaver(rt);
    let done = false;
    const seen: number[] = [];
    const reader = (async () => {
      while (!done) {
        const tuple = await saver.getTuple(threadConfig('r'));
        if (tuple === undefined) continue;
        const { a, b, c } = tuple.checkpoint.channel_values as Record<string, number>;
        assert.ok(a === b && b === c, `a checkpoint reads whole, got ${a} ${b} ${c}`);
        seen.push(a!);
      }
    })();
    let config = threadConfig('r');
    for (let step = 1; step <= 50; step++) {
      config = await saver.put(config, checkpointOf({ a: step, b: step, c: step }, { a: step, b: step, c: step }), metadataOf(step), { a: step, b: step, c: step });
    }
    done = true;
    await reader;
    assert.ok(seen.length > 0);
  });
});
