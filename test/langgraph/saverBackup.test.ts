/**
 * Checkpoints are state records, so backups, point-in-time restores and restores of one scope cover
 * threads as they cover everything else: a restored thread is whole (no checkpoint without the values
 * and writes committed with it) and a graph goes on from it.
 */
import assert from 'node:assert/strict';
import type { RunnableConfig } from '@langchain/core/runnables';
import { LlmStateSaver, threadScope } from '../../src/langgraph/index.js';
import type { Runtime } from '../../src/index.js';
import { RuntimeFixture } from '../helpers.js';
import { checkpointOf, metadataOf, threadConfig, toArray } from './saverFixtures.js';

/** Puts `steps` checkpoints on a thread, each with one pending write, and returns their configs. */
async function stepThread(saver: LlmStateSaver, threadId: string, from: number, steps: number, parent?: RunnableConfig): Promise<RunnableConfig[]> {
  const configs: RunnableConfig[] = [];
  let config = parent ?? threadConfig(threadId);
  for (let step = from; step < from + steps; step++) {
    config = await saver.put(config, checkpointOf({ step }, { step: step + 1 }), metadataOf(step), { step: step + 1 });
    await saver.putWrites(config, [['step', `write ${step}`]], `task-${step}`);
    configs.push(config);
  }
  return configs;
}

/** The steps of a thread's checkpoints, newest first, each with its pending writes. */
async function historyOf(saver: LlmStateSaver, threadId: string): Promise<Array<[unknown, unknown[]]>> {
  const tuples = await toArray(saver.list(threadConfig(threadId)));
  return tuples.map((tuple) => [tuple.checkpoint.channel_values.step, (tuple.pendingWrites ?? []).map(([, , value]) => value)]);
}

async function lastSeqOf(rt: Runtime, threadId: string): Promise<number> {
  const [event] = (await rt.events.query({ scope: threadScope(threadId).toString(), kinds: ['langgraph.*'] })).slice(-1);
  return event!.seq;
}

describe('LlmStateSaver and backups', () => {
  let fixture: RuntimeFixture;
  afterEach(() => fixture.dispose());

  it('a full restore brings back every thread as it was, deleted ones too, and the thread goes on from there', async () => {
    fixture = new RuntimeFixture('lg-saver-backup');
    const rt = await fixture.open();
    const saver = new LlmStateSaver(rt);
    const [, , third] = await stepThread(saver, 't1', 0, 3);
    await stepThread(saver, 't2', 0, 2);
    const backup = await rt.backups.create();

    await stepThread(saver, 't1', 3, 2, third);
    await saver.deleteThread('t2');

    await rt.backups.restore({ id: backup.id });
    assert.deepEqual(await historyOf(saver, 't1'), [[2, ['write 2']], [1, ['write 1']], [0, ['write 0']]]);
    assert.deepEqual(await historyOf(saver, 't2'), [[1, ['write 1']], [0, ['write 0']]]);
    const latest = await saver.getTuple(threadConfig('t1'));
    await stepThread(saver, 't1', 3, 1, latest!.config);
    assert.equal((await historyOf(saver, 't1'))[0]![0], 3);
  });

  it('a point-in-time restore stops a thread at the checkpoint committed then, with its writes, and nothing after', async () => {
    fixture = new RuntimeFixture('lg-saver-pitr');
    const rt = await fixture.open();
    const saver = new LlmStateSaver(rt);
    await stepThread(saver, 't1', 0, 1);
    await rt.backups.create();
    const [second] = await stepThread(saver, 't1', 1, 1, (await saver.getTuple(threadConfig('t1')))!.config);
    const at = await lastSeqOf(rt, 't1');
    await stepThread(saver, 't1', 2, 2, second);

    await rt.backups.restore({ at });
    assert.deepEqual(await historyOf(saver, 't1'), [[1, ['write 1']], [0, ['write 0']]]);
    assert.equal((await saver.getTuple(threadConfig('t1')))!.config.configurable!.checkpoint_id, second!.configurable!.checkpoint_id);
  });

  it('restoring one thread’s scope leaves the other threads as they are', async () => {
    fixture = new RuntimeFixture('lg-saver-scope');
    const rt = await fixture.open();
    const saver = new LlmStateSaver(rt);
    const [t1] = await stepThread(saver, 't1', 0, 1);
    const [t2] = await stepThread(saver, 't2', 0, 1);
    const backup = await rt.backups.create();
    await stepThread(saver, 't1', 1, 1, t1);
    await stepThread(saver, 't2', 1, 1, t2);

    await rt.backups.restore({ id: backup.id, scopes: [threadScope('t1')] });
    assert.deepEqual(await historyOf(saver, 't1'), [[0, ['write 0']]]);
    assert.deepEqual(await historyOf(saver, 't2'), [[1, ['write 1']], [0, ['write 0']]]);
  });
});
