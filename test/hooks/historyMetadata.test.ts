import assert from 'node:assert/strict';
import { createRuntime, Scope, type HistoryFilter, type HookExecution, type HookExecutionMetadata, type Runtime } from '../../src/index.js';
import { encodeSeqKey } from '../../src/events/eventLog.js';
import { storageOf } from '../../src/runtime.js';
import { rejection } from '../helpers.js';
import { registerScripted } from './hookHelpers.js';

function withoutBodies(executions: HookExecution[]): HookExecutionMetadata[] {
  return executions.map(({ input: _input, result: _result, ...meta }) => meta);
}

describe('rt.hooks.historyMetadata()', () => {
  let rt: Runtime;

  beforeEach(async () => {
    rt = await createRuntime({ memory: true, hooks: { threads: 2 } });
    await registerScripted(rt, 'steady', { echo: true }, { batchSize: 1 });
    await registerScripted(rt, 'flaky', { fail: 'throw', failAttempts: 1 }, { batchSize: 1 });
    await rt.correlate(async () => {
      for (let i = 0; i < 3; i++) await rt.state.set(Scope.agent('a1'), `k${i}`, { i });
    }, 'story-1');
    await rt.hooks.idle();
  });
  afterEach(() => rt.close());

  it('selects what history() selects, in the same order, without inputs and results', async () => {
    const [replayed] = await rt.hooks.history({ hookName: 'steady', limit: 1 });
    await rt.hooks.replay(replayed.executionId);
    const filters: HistoryFilter[] = [
      {},
      { hookName: 'flaky' },
      { status: 'failed' },
      { status: ['succeeded', 'timed_out'], newestFirst: true },
      { correlationId: 'story-1', limit: 2 },
      { eventId: replayed.eventIds[0] },
      { replays: 'exclude' },
      { replays: 'only' },
    ];
    for (const filter of filters) {
      const full = await rt.hooks.history(filter);
      const metadata = await rt.hooks.historyMetadata(filter);
      assert.ok(metadata.length > 0, `${JSON.stringify(filter)} selects something`);
      assert.deepEqual(metadata, withoutBodies(full), JSON.stringify(filter));
      for (const meta of metadata) assert.deepEqual(Object.keys(meta).filter((key) => ['input', 'result', 'bytes'].includes(key)), []);
    }
    const counts = (metadata: HookExecutionMetadata[]) => metadata.map(({ hookName, status, attempt }) => `${hookName} ${status} ${attempt}`).sort();
    assert.deepEqual(counts(await rt.hooks.historyMetadata({ replays: 'exclude', limit: 100 })), [
      'flaky failed 1',
      'flaky failed 1',
      'flaky failed 1',
      'flaky succeeded 2',
      'flaky succeeded 2',
      'flaky succeeded 2',
      'steady succeeded 1',
      'steady succeeded 1',
      'steady succeeded 1',
    ]);
    const [replay] = await rt.hooks.historyMetadata({ replays: 'only' });
    assert.equal(replay.replayOf, replayed.executionId);
    assert.equal((await rt.hooks.historyMetadata({ limit: 4 })).length, 4, 'limit holds');
  });

  it('reads no inputs: it answers even when an input is no longer in the event log', async () => {
    const [execution] = await rt.hooks.history({ hookName: 'steady', limit: 1 });
    const seq = Number(execution.eventIds[0].split('.')[0]);
    // Only a fault removes a commit record that a history record still reads its input from.
    await storageOf(rt).batch([{ type: 'del', sublevel: 'events', key: encodeSeqKey(seq) }]);
    assert.equal((await rejection(rt.hooks.history({ eventId: execution.eventIds[0] }))).code, 'DATA_CORRUPT');
    const [meta] = await rt.hooks.historyMetadata({ eventId: execution.eventIds[0], hookName: 'steady' });
    assert.deepEqual(meta, withoutBodies([execution])[0]);
  });

  it('is redacted as history() is: a secret used as a correlation id, a secret in an error message', async () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';
    const key = 'sk-proj-abcdefghijklmnopqrstuvwxyz123456';
    await registerScripted(rt, 'leaky', { fail: 'throw', message: `upstream refused ${key}` }, { batchSize: 1, maxAttempts: 1 });
    await rt.state.set(Scope.agent('a1'), 'k', 1, { correlationId: jwt });
    await rt.hooks.idle();
    const [meta] = await rt.hooks.historyMetadata({ hookName: 'leaky' });
    assert.equal(meta.status, 'failed');
    const shown = JSON.stringify(meta);
    assert.ok(!shown.includes(jwt) && !shown.includes(key), shown);
    assert.deepEqual(meta, withoutBodies(await rt.hooks.history({ hookName: 'leaky' }))[0]);
  });

  it('checks its filter as history() does', async () => {
    const error = await rejection(rt.hooks.historyMetadata({ status: 'lost' as never }));
    assert.ok(error instanceof TypeError);
    assert.equal(error.message, (await rejection(rt.hooks.history({ status: 'lost' as never }))).message);
  });
});
