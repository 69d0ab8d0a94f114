/**
 * LlmStateSaver and threads: any thread id round-trips, list crosses threads newest first, a deleted thread
 * goes in one batch and leaves the others, every event names the thread's scope, access views confine a
 * saver to what its principal may touch, and a disk runtime keeps it all across close and reopen.
 */
import assert from 'node:assert/strict';
import { createRuntime, LlmStateError, Scope, type Runtime } from '../../src/index.js';
import { LlmStateSaver } from '../../src/langgraph/index.js';
import { threadScope } from '../../src/langgraph/scopeNames.js';
import { RuntimeFixture } from '../helpers.js';
import { checkpointOf, metadataOf, threadConfig, toArray } from './saverFixtures.js';

const STRANGE_IDS = ['a/b', '..', '../x', './.', '/leading', 'trailing/', 'back\\slash', '__proto__', 'ünïcödé 日本語 🦜', 'lone \ud800 surrogate', 'x'.repeat(300), ''];

function isCode(code: string) {
  return (error: unknown) => error instanceof LlmStateError && error.code === code;
}

describe('LlmStateSaver: threads', () => {
  let rt: Runtime;
  let saver: LlmStateSaver;
  beforeEach(async () => {
    rt = await createRuntime({ memory: true });
    saver = new LlmStateSaver(rt);
  });
  afterEach(async () => {
    await rt.close();
  });

  it('round-trips any thread id through put, getTuple, list and deleteThread', async () => {
    for (const threadId of STRANGE_IDS) {
      const config = await saver.put(threadConfig(threadId), checkpointOf({ who: threadId }), metadataOf(0), { who: 1 });
      assert.equal(config.configurable!.thread_id, threadId);
      const tuple = await saver.getTuple(threadConfig(threadId));
      assert.equal(tuple?.config.configurable!.thread_id, threadId, JSON.stringify(threadId));
      assert.equal(tuple?.checkpoint.channel_values.who, threadId);
    }
    const listed = await toArray(saver.list({}));
    assert.deepEqual(listed.map((tuple) => tuple.config.configurable!.thread_id).sort(), [...STRANGE_IDS].sort(), 'across threads, ids come from the records');
    for (const threadId of STRANGE_IDS) {
      await saver.deleteThread(threadId);
      assert.equal(await saver.getTuple(threadConfig(threadId)), undefined, JSON.stringify(threadId));
    }
    assert.deepEqual(await toArray(saver.list({})), []);
  });

  it('lists across threads newest first, with limit, before and a metadata filter', async () => {
    const puts: Array<{ thread: string; id: string; source: string }> = [];
    for (const [thread, source] of [['a', 'input'], ['b', 'loop'], ['a', 'loop'], ['c', 'update'], ['b', 'loop'], ['a', 'input']] as const) {
      const config = await saver.put(threadConfig(thread), checkpointOf({}), metadataOf(puts.length, source), {});
      puts.push({ thread, id: config.configurable!.checkpoint_id, source });
    }
    const newest = [...puts].reverse();
    const ids = (tuples: Array<{ checkpoint: { id: string } }>) => tuples.map((tuple) => tuple.checkpoint.id);
    assert.deepEqual(ids(await toArray(saver.list({}))), newest.map((put) => put.id));
    assert.deepEqual(ids(await toArray(saver.list({}, { limit: 2 }))), newest.slice(0, 2).map((put) => put.id));
    assert.deepEqual(ids(await toArray(saver.list({}, { before: threadConfig('c', puts[3]!.id) }))), newest.slice(3).map((put) => put.id));
    assert.deepEqual(
      ids(await toArray(saver.list({}, { filter: { source: 'loop' }, limit: 2 }))),
      newest.filter((put) => put.source === 'loop').slice(0, 2).map((put) => put.id),
    );
    assert.deepEqual(ids(await toArray(saver.list({}, { filter: { source: 'loop', step: 1 } }))), [puts[1]!.id]);
  });

  it('deletes a thread in one batch, leaves the others and logs langgraph.thread_deleted with the thread scope', async () => {
    let config = threadConfig('gone');
    for (let step = 0; step < 3; step++) {
      config = await saver.put(config, checkpointOf({ n: step }, { n: step + 1 }), metadataOf(step), { n: step + 1 });
      await saver.putWrites(config, [['n', step]], `task-${step}`);
    }
    await saver.put(threadConfig('kept'), checkpointOf({ n: 1 }), metadataOf(0), { n: 1 });
    await saver.deleteThread('gone');
    assert.deepEqual(await rt.state.listKeys(threadScope('gone')), []);
    assert.equal((await saver.getTuple(threadConfig('kept')))?.checkpoint.channel_values.n, 1);
    const events = await rt.events.query({ scope: threadScope('gone').toString() });
    const [clear, deleted] = events.slice(-2);
    assert.equal(clear!.kind, 'scope.clear');
    assert.equal(deleted!.kind, 'langgraph.thread_deleted');
    assert.deepEqual(deleted!.data, { threadId: 'gone', cleared: 9 });
    assert.equal(clear!.seq, deleted!.seq, 'one batch');
  });

  it('logs every put and write as an event of the thread scope, in the batch of its records', async () => {
    const parent = await saver.put(threadConfig('t', undefined, 'sub:1'), checkpointOf({ a: 1, b: 2 }), metadataOf(3, 'loop'), { a: 1, b: 1 });
    const child = await saver.put(parent, checkpointOf({ a: 1, b: 3 }, { b: 2 }), metadataOf(4, 'loop'), { b: 2 });
    await saver.putWrites(child, [['a', 5]], 'task', '~0');
    const events = await rt.events.query({ scope: threadScope('t').toString() });
    const langgraph = events.filter((event) => event.kind.startsWith('langgraph.'));
    assert.deepEqual(
      langgraph.map((event) => [event.kind, event.scope, event.data]),
      [
        ['langgraph.checkpoint', 'custom:langgraph:thread:t', { threadId: 't', checkpointNs: 'sub:1', checkpointId: parent.configurable!.checkpoint_id, step: 3, source: 'loop', channels: ['a', 'b'] }],
        [
          'langgraph.checkpoint',
          'custom:langgraph:thread:t',
          { threadId: 't', checkpointNs: 'sub:1', checkpointId: child.configurable!.checkpoint_id, parentCheckpointId: parent.configurable!.checkpoint_id, step: 4, source: 'loop', channels: ['b'] },
        ],
        ['langgraph.writes', 'custom:langgraph:thread:t', { threadId: 't', checkpointNs: 'sub:1', checkpointId: child.configurable!.checkpoint_id, taskId: 'task', taskPath: '~0', channels: ['a'], stored: 1 }],
      ],
    );
    for (const event of langgraph) {
      const batch = events.filter((other) => other.seq === event.seq);
      assert.ok(batch.some((other) => other.kind === 'state.set'), `${event.kind} commits with its records`);
    }
  });

  it('through rt.as, refuses a thread the principal has no grant for (ACCESS_DENIED) and works with one', async () => {
    const ada = new LlmStateSaver(rt.as('agent:ada'));
    await saver.put(threadConfig('private'), checkpointOf({ secret: 1 }), metadataOf(0), { secret: 1 });
    await assert.rejects(ada.getTuple(threadConfig('private')), isCode('ACCESS_DENIED'));
    await assert.rejects(ada.put(threadConfig('private'), checkpointOf({}), metadataOf(1), {}), isCode('ACCESS_DENIED'));
    await assert.rejects(ada.deleteThread('private'), isCode('ACCESS_DENIED'));
    assert.deepEqual(await toArray(ada.list({})), [], 'a thread ada may not list is not listed');

    await rt.access.grant({ principal: 'agent:ada', scope: threadScope('ada-thread'), permissions: ['read', 'write', 'delete', 'list'] });
    const config = await ada.put(threadConfig('ada-thread'), checkpointOf({ mine: 1 }), metadataOf(0), { mine: 1 });
    await ada.putWrites(config, [['mine', 2]], 'task');
    assert.equal((await ada.getTuple(threadConfig('ada-thread')))?.checkpoint.channel_values.mine, 1);
    assert.deepEqual((await toArray(ada.list({}))).map((tuple) => tuple.config.configurable!.thread_id), ['ada-thread']);
    await ada.deleteThread('ada-thread');
    assert.equal(await saver.getTuple(threadConfig('ada-thread')), undefined);
    assert.equal((await saver.getTuple(threadConfig('private')))?.checkpoint.channel_values.secret, 1, 'the refused calls changed nothing');
    const [audit] = await rt.access.audit({ principal: 'agent:ada', outcome: 'denied', limit: 1 });
    assert.ok(audit !== undefined, 'denials are audited');
  });

  it('keeps agents and other scopes out of a cross-thread list', async () => {
    await rt.state.set(Scope.custom('langgraph:threadish'), 'c::x', { not: 'a checkpoint' });
    await rt.state.set(Scope.agent('a1'), 'c::x', 1);
    await saver.put(threadConfig('t'), checkpointOf({}), metadataOf(0), {});
    assert.deepEqual((await toArray(saver.list({}))).map((tuple) => tuple.config.configurable!.thread_id), ['t']);
  });
});

describe('LlmStateSaver: on disk', () => {
  let fixture: RuntimeFixture;
  beforeEach(() => {
    fixture = new RuntimeFixture('lg-saver');
  });
  afterEach(async () => {
    await fixture.dispose();
  });

  it('keeps checkpoints, values and writes across close and reopen', async () => {
    let rt = await fixture.open();
    let saver = new LlmStateSaver(rt);
    let config = threadConfig('t/../durable');
    for (let step = 0; step < 5; step++) {
      config = await saver.put(config, checkpointOf({ n: step, fixed: 'once' }, { n: step + 1, fixed: 1 }), metadataOf(step), step === 0 ? { n: 1, fixed: 1 } : { n: step + 1 });
      await saver.putWrites(config, [['n', step + 1]], `task-${step}`, '~0');
    }
    const before = await toArray(saver.list(threadConfig('t/../durable')));
    rt = await fixture.reopen(rt);
    saver = new LlmStateSaver(rt);
    const after = await toArray(saver.list(threadConfig('t/../durable')));
    assert.deepEqual(after, before);
    assert.equal(after.length, 5);
    assert.deepEqual(after[0]!.checkpoint.channel_values, { n: 4, fixed: 'once' });
    assert.deepEqual(after[0]!.pendingWrites, [['task-4', 'n', 5]]);
  });
});
