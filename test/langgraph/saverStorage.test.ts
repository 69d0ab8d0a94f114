/**
 * What LangGraph's conformance suite (test/langgraph/conformance.spec.ts) does not prove about
 * LlmStateSaver: the WRITES_IDX_MAP rule, one blob per version, the key layout and payloads, the version
 * scheme, reads that stay small, the runtime's limits and the saver's own argument checks.
 */
import assert from 'node:assert/strict';
import { ERROR, INTERRUPT, TASKS, uuid6 } from '@langchain/langgraph-checkpoint';
import { createRuntime, LlmStateError, type Runtime } from '../../src/index.js';
import { LlmStateSaver } from '../../src/langgraph/index.js';
import { threadScope } from '../../src/langgraph/scopeNames.js';
import { checkpointOf, countingReads, metadataOf, threadConfig, toArray } from './saverFixtures.js';

describe('LlmStateSaver: storage', () => {
  let rt: Runtime;
  let saver: LlmStateSaver;
  beforeEach(async () => {
    rt = await createRuntime({ memory: true });
    saver = new LlmStateSaver(rt);
  });
  afterEach(async () => {
    await rt.close();
  });

  describe('pending writes (WRITES_IDX_MAP)', () => {
    it('keeps the first ordinary write at an index and replaces a special one with the last', async () => {
      const config = await saver.put(threadConfig('t'), checkpointOf({}), metadataOf(0), {});
      await saver.putWrites(config, [['a', 'first'], [ERROR, 'error 1']], 'task');
      await saver.putWrites(config, [['a', 'second'], [ERROR, 'error 2']], 'task');
      await saver.putWrites(config, [[INTERRUPT, 'pause 1']], 'task');
      await saver.putWrites(config, [[INTERRUPT, 'pause 2']], 'task');
      const tuple = await saver.getTuple(config);
      const written = new Map(tuple!.pendingWrites!.map(([, channel, value]) => [channel, value]));
      assert.equal(written.get('a'), 'first', 'an ordinary write is inserted only when absent');
      assert.equal(written.get(ERROR), 'error 2', 'a special write is upserted');
      assert.equal(written.get(INTERRUPT), 'pause 2');
      assert.equal(tuple!.pendingWrites!.length, 3);
    });

    it('returns pending writes in writesSortKey order: task path, then task id, then index', async () => {
      const config = await saver.put(threadConfig('t'), checkpointOf({}), metadataOf(0), {});
      await saver.putWrites(config, [['x', 'b0'], ['y', 'b1']], 'task-b', '~1');
      await saver.putWrites(config, [['x', 'a0']], 'task-a', '~2');
      await saver.putWrites(config, [['x', 'c0']], 'task-c', '~1');
      await saver.putWrites(config, [['x', 'input']], 'task-z');
      const tuple = await saver.getTuple(config);
      assert.deepEqual(tuple!.pendingWrites!.map(([, , value]) => value), ['input', 'b0', 'b1', 'c0', 'a0']);
    });

    it('logs what it stored: a repeated ordinary write is counted out', async () => {
      const config = await saver.put(threadConfig('t'), checkpointOf({}), metadataOf(0), {});
      await saver.putWrites(config, [['a', 1], ['b', 2]], 'task', '~0');
      await saver.putWrites(config, [['a', 1], [ERROR, 'boom']], 'task', '~0');
      const events = await rt.events.query({ kinds: ['langgraph.writes'] });
      assert.deepEqual(
        events.map((event) => event.data),
        [
          { threadId: 't', checkpointNs: '', checkpointId: config.configurable!.checkpoint_id, taskId: 'task', taskPath: '~0', channels: ['a', 'b'], stored: 2 },
          { threadId: 't', checkpointNs: '', checkpointId: config.configurable!.checkpoint_id, taskId: 'task', taskPath: '~0', channels: [ERROR], stored: 1 },
        ],
      );
    });
  });

  describe('channel values', () => {
    it('stores a value once per version: a channel that never changes is stored once over many checkpoints', async () => {
      let config = threadConfig('t');
      const puts = 20;
      for (let step = 1; step <= puts; step++) {
        const checkpoint = checkpointOf({ constant: { big: 'x'.repeat(1000) }, counter: step }, { constant: 1, counter: step });
        config = await saver.put(config, checkpoint, metadataOf(step), step === 1 ? { constant: 1, counter: 1 } : { counter: step });
      }
      const keys = await rt.state.listKeys(threadScope('t'));
      assert.equal(keys.filter((key) => key.startsWith('b:')).length, puts + 1);
      assert.equal(keys.filter((key) => key.startsWith('c:')).length, puts);
      const tuples = await toArray(saver.list(threadConfig('t')));
      assert.equal(tuples.length, puts);
      for (const tuple of tuples) {
        assert.deepEqual(tuple.checkpoint.channel_values.constant, { big: 'x'.repeat(1000) }, 'every checkpoint reads the one stored value');
        assert.equal(tuple.checkpoint.channel_values.counter, tuple.metadata!.step);
      }
    });

    it('keeps JSON payloads as JSON values in the records, and bytes as base64 that read back as bytes', async () => {
      const bytes = new Uint8Array([0, 1, 2, 250, 255]);
      const checkpoint = checkpointOf({ messages: [{ role: 'user', content: 'hi' }], raw: bytes });
      const config = await saver.put(threadConfig('t'), checkpoint, metadataOf(0), { messages: 1, raw: 1 });
      const records = Object.fromEntries(await rt.state.entries(threadScope('t')));
      const blobs = Object.entries(records).filter(([key]) => key.startsWith('b:'));
      assert.deepEqual(blobs.map(([, value]) => value).find((value) => (value as { channel: string }).channel === 'messages'), {
        channel: 'messages',
        version: 1,
        json: [{ role: 'user', content: 'hi' }],
      });
      assert.deepEqual(blobs.map(([, value]) => value).find((value) => (value as { channel: string }).channel === 'raw'), {
        channel: 'raw',
        version: 1,
        type: 'bytes',
        base64: Buffer.from(bytes).toString('base64'),
      });
      const [, record] = Object.entries(records).find(([key]) => key.startsWith('c:'))!;
      assert.deepEqual((record as { metadata: unknown }).metadata, { json: metadataOf(0) });
      const tuple = await saver.getTuple(config);
      assert.deepEqual(tuple!.checkpoint.channel_values.raw, bytes);
      assert.ok(tuple!.checkpoint.channel_values.raw instanceof Uint8Array);
    });

    it('round-trips values JSON cannot hold through the serde: undefined, Map, Set, Date-free objects with __proto__ keys', async () => {
      const hostile = JSON.parse('{"__proto__": {"polluted": true}, "plain": 1}');
      const values = { nothing: undefined, map: new Map([['k', 1]]), set: new Set([1, 2]), hostile };
      const config = await saver.put(threadConfig('t'), checkpointOf(values), metadataOf(0), { nothing: 1, map: 1, set: 1, hostile: 1 });
      const read = (await saver.getTuple(config))!.checkpoint.channel_values;
      assert.ok(Object.hasOwn(read, 'nothing') && read.nothing === undefined);
      assert.deepEqual(read.map, new Map([['k', 1]]));
      assert.deepEqual(read.set, new Set([1, 2]));
      assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype was polluted');
      assert.equal((read.hostile as { plain: number }).plain, 1);
    });

    it('makes versions that sort by step and differ between two branches of one step', () => {
      const first = saver.getNextVersion(undefined) as unknown as string;
      const second = saver.getNextVersion(first as unknown as number) as unknown as string;
      const fork = saver.getNextVersion(first as unknown as number) as unknown as string;
      assert.match(first, /^0{15}1\.[0-9a-f]{8}$/);
      assert.ok(second > first && fork > first);
      assert.notEqual(second, fork);
      assert.equal(saver.getNextVersion(7), 8, 'a thread with numeric versions keeps them');
    });

    it('keeps the value first stored at a number version, so a fork of a counted thread cannot change the original branch', async () => {
      // A thread copied from SqliteSaver counts versions 1, 2 …; forking from its first checkpoint counts 2 again.
      const first = await saver.put(threadConfig('t'), checkpointOf({ topic: 'a' }, { topic: 1 }), metadataOf(0), { topic: 1 });
      const original = await saver.put(first, checkpointOf({ topic: 'b' }, { topic: 2 }), metadataOf(1), { topic: 2 });
      const fork = await saver.put(first, checkpointOf({ topic: 'fork' }, { topic: 2 }), metadataOf(1), { topic: 2 });
      assert.equal((await saver.getTuple(original))!.checkpoint.channel_values.topic, 'b');
      assert.equal((await saver.getTuple(fork))!.checkpoint.channel_values.topic, 'b', 'as LangGraph’s other savers with counted versions do');
      const [event] = (await rt.events.query({ scope: threadScope('t').toString(), kinds: ['langgraph.checkpoint'] })).slice(-1);
      assert.deepEqual((event!.data as { channels: string[] }).channels, [], 'the fork stored no value');
    });
  });

  describe('reads', () => {
    it('lists the newest 10 of 1,000 checkpoints with one reverse read of 10 checkpoint records', async () => {
      let config = threadConfig('t');
      for (let step = 0; step < 1000; step++) config = await saver.put(config, checkpointOf({ n: step }, { n: step + 1 }), metadataOf(step), { n: step + 1 });
      const counting = countingReads(rt);
      const tuples = await toArray(new LlmStateSaver(counting.rt).list(threadConfig('t'), { limit: 10 }));
      assert.deepEqual(tuples.map((tuple) => tuple.metadata!.step), [999, 998, 997, 996, 995, 994, 993, 992, 991, 990]);
      const checkpointReads = counting.reads.filter((read) => read.gte?.startsWith('c:'));
      assert.deepEqual(checkpointReads.map((read) => read.records), [10]);
    });

    it('lists every namespace of a thread newest first when no namespace is given', async () => {
      const ids: string[] = [];
      for (const ns of ['', 'child:1', '', 'child:2', 'child:1']) {
        const config = await saver.put(threadConfig('t', undefined, ns), checkpointOf({}), metadataOf(ids.length), {});
        ids.push(config.configurable!.checkpoint_id);
      }
      const listed = await toArray(saver.list({ configurable: { thread_id: 't' } }));
      assert.deepEqual(listed.map((tuple) => tuple.checkpoint.id), [...ids].reverse());
      assert.deepEqual(listed.map((tuple) => tuple.config.configurable!.checkpoint_ns), ['child:1', 'child:2', '', 'child:1', '']);
      const child = await toArray(saver.list(threadConfig('t', undefined, 'child:1')));
      assert.deepEqual(child.map((tuple) => tuple.checkpoint.id), [ids[4], ids[1]]);
    });

    it('migrates the pending sends of a checkpoint older than format 4 from its parent’s writes', async () => {
      const old = { ...checkpointOf({}), v: 1 };
      const parent = await saver.put(threadConfig('t'), old, metadataOf(0), {});
      await saver.putWrites(parent, [[TASKS, 'send-2']], 'task-2');
      await saver.putWrites(parent, [[TASKS, 'send-1']], 'task-1');
      const child = await saver.put(parent, { ...checkpointOf({}), v: 1 }, metadataOf(1), {});
      const tuple = await saver.getTuple(child);
      assert.deepEqual(tuple!.checkpoint.channel_values[TASKS], ['send-1', 'send-2']);
      assert.ok(tuple!.checkpoint.channel_versions[TASKS] !== undefined);
    });
  });

  describe('limits and errors', () => {
    it('passes VALUE_TOO_LARGE through and stores nothing of the checkpoint', async () => {
      const small = await createRuntime({ memory: true, maxValueBytes: 10_000 });
      try {
        const limited = new LlmStateSaver(small);
        await assert.rejects(
          limited.put(threadConfig('t'), checkpointOf({ big: 'x'.repeat(20_000), small: 1 }), metadataOf(0), { big: 1, small: 1 }),
          (error: unknown) => error instanceof LlmStateError && error.code === 'VALUE_TOO_LARGE',
        );
        assert.deepEqual(await small.state.listKeys(threadScope('t')), []);
        assert.equal(await limited.getTuple(threadConfig('t')), undefined);
      } finally {
        await small.close();
      }
    });

    it('refuses configs without a thread or a checkpoint with TypeErrors that say what is missing', async () => {
      await assert.rejects(saver.put({}, checkpointOf({}), metadataOf(0), {}), /put needs `config.configurable.thread_id`/);
      await assert.rejects(saver.putWrites(threadConfig('t'), [['a', 1]], 'task'), /putWrites needs `config.configurable.checkpoint_id`/);
      await assert.rejects(saver.put({ configurable: { thread_id: 7 } }, checkpointOf({}), metadataOf(0), {}), {
        name: 'TypeError',
        message: 'Expected `config.configurable.thread_id` to be a string, got `7` (number)',
      });
      await assert.rejects(saver.deleteThread(undefined as unknown as string), TypeError);
      assert.equal(await saver.getTuple({ configurable: {} }), undefined, 'getTuple of no thread is nothing');
    });

    it('checks its own arguments: runtime, options, list options', async () => {
      assert.throws(() => new LlmStateSaver({} as Runtime), { name: 'TypeError', message: /Expected `rt` to be a runtime/ });
      assert.throws(() => new LlmStateSaver(rt, null as never), { message: 'Expected `options` to be an object, got `null`' });
      assert.throws(() => new LlmStateSaver(rt, { serde: {} as never }), { message: /Expected `serde` to be a serializer/ });
      await assert.rejects(toArray(saver.list({}, { limit: -1 })), { message: 'Expected `limit` to be a non-negative integer, got `-1` (number)' });
      await assert.rejects(toArray(saver.list({}, { filter: 'x' as never })), { message: 'Expected `filter` to be an object, got `"x"` (string)' });
      assert.deepEqual(await toArray(saver.list({}, { limit: 0 })), []);
    });

    it('rejects with RUNTIME_CLOSED once the runtime is closed', async () => {
      await saver.put(threadConfig('t'), checkpointOf({}), metadataOf(0), {});
      await rt.close();
      await assert.rejects(saver.getTuple(threadConfig('t')), (error: unknown) => error instanceof LlmStateError && error.code === 'RUNTIME_CLOSED');
      await assert.rejects(saver.put(threadConfig('t'), checkpointOf({}), metadataOf(1), {}), (error: unknown) => error instanceof LlmStateError && error.code === 'RUNTIME_CLOSED');
    });
  });

  it('keeps one checkpoint per id: a checkpoint put twice reads as the last put', async () => {
    const checkpoint = checkpointOf({ a: 1 });
    await saver.put(threadConfig('t'), checkpoint, metadataOf(0), { a: 1 });
    await saver.put(threadConfig('t'), checkpoint, metadataOf(0, 'update'), {});
    const tuples = await toArray(saver.list(threadConfig('t')));
    assert.equal(tuples.length, 1);
    assert.equal(tuples[0]!.metadata!.source, 'update');
    assert.equal(uuid6(3) > checkpoint.id, true);
  });
});
