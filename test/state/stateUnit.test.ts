/**
 * The seam integrations commit and read through (`rt.state.commitUnit`, `entries`, `scopes`): a unit is
 * one batch planned from committed values inside the scope's actor, so its read and its write are one
 * step of the mailbox.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime, LlmStateError, Scope, type Runtime } from '../../src/index.js';
import type { LangGraphEventSpec } from '../../src/events/eventKinds.js';

const thread = Scope.custom('langgraph:thread:t1');

function checkpointEvent(checkpointId: string): LangGraphEventSpec {
  return { kind: 'langgraph.checkpoint', scope: 'ignored', data: { threadId: 't1', checkpointNs: '', checkpointId, channels: ['a'] } };
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => error instanceof LlmStateError && error.code === code);
}

describe('rt.state.commitUnit, entries and scopes', () => {
  let rt: Runtime;
  beforeEach(async () => {
    rt = await createRuntime({ memory: true });
  });
  afterEach(async () => {
    await rt.close();
  });

  describe('commitUnit', () => {
    it('writes and deletes several keys in one batch, logs its events with the unit’s scope, and resolves with the result', async () => {
      await rt.state.set(thread, 'old', 1);
      const result = await rt.state.commitUnit(thread, {
        build: () => ({ writes: [{ key: 'a', value: { n: 1 } }, { key: 'b', value: [1, 2] }, { key: 'old', value: undefined }], events: [checkpointEvent('c1')], result: 'done' }),
      });
      assert.equal(result, 'done');
      assert.deepEqual(await rt.state.entries(thread), [['a', { n: 1 }], ['b', [1, 2]]]);
      const events = await rt.events.query({ scope: thread.toString() });
      const last = events.slice(-4);
      assert.deepEqual(last.map((event) => event.kind), ['state.set', 'state.set', 'state.delete', 'langgraph.checkpoint']);
      assert.equal(new Set(last.map((event) => event.seq)).size, 1, 'one batch, one sequence number');
      assert.equal(last[3]!.scope, thread.toString());
    });

    it('plans from committed values in mailbox order: concurrent read-modify-write units lose no update', async () => {
      const increments = Array.from({ length: 50 }, () =>
        rt.state.commitUnit(thread, { reads: ['count'], build: (current) => ({ writes: [{ key: 'count', value: ((current.get('count') as number | undefined) ?? 0) + 1 }] }) }),
      );
      // Plain sets queued among them are ordered with them too.
      await Promise.all([...increments, rt.state.set(thread, 'other', 1)]);
      assert.equal(await rt.state.get(thread, 'count'), 50);
    });

    it('gives build the values of its reads, undefined for absent ones, frozen', async () => {
      await rt.state.set(thread, 'present', { x: [1] });
      let seen: ReadonlyMap<string, unknown> | undefined;
      await rt.state.commitUnit(thread, { reads: ['present', 'absent'], build: (current) => ((seen = current), {}) });
      assert.deepEqual(seen?.get('present'), { x: [1] });
      assert.ok(Object.isFrozen(seen?.get('present')));
      assert.equal(seen?.has('absent'), true);
      assert.equal(seen?.get('absent'), undefined);
    });

    it('writes nothing when build throws, and rejects with what it threw', async () => {
      const thrown = new Error('no');
      await assert.rejects(rt.state.commitUnit(thread, { build: () => { throw thrown; } }), (error) => error === thrown);
      assert.deepEqual(await rt.state.entries(thread), []);
    });

    it('refuses bad keys, values and events from build, writing nothing of the unit', async () => {
      const keep = { key: 'fine', value: 1 };
      await rejectsWith(rt.state.commitUnit(thread, { build: () => ({ writes: [keep, { key: '__x', value: 1 }] }) }), 'STATE_KEY_INVALID');
      await rejectsWith(rt.state.commitUnit(thread, { build: () => ({ writes: [keep, { key: 'f', value: () => 1 }] }) }), 'VALUE_INVALID');
      await rejectsWith(rt.state.commitUnit(thread, { build: () => ({ writes: [keep, { key: 'big', value: 'x'.repeat(1_100_000) }] }) }), 'VALUE_TOO_LARGE');
      await assert.rejects(rt.state.commitUnit(thread, { build: () => ({ writes: [keep], events: [{ kind: 'access.granted' } as never] }) }), TypeError);
      await assert.rejects(rt.state.commitUnit(thread, { build: () => ({ writes: [keep], events: [{ ...checkpointEvent('c'), data: { bad: 1n } } as never] }) }), /JSON|BigInt/i);
      await rejectsWith(rt.state.commitUnit(thread, { reads: ['..'], build: () => ({}) }), 'STATE_KEY_INVALID');
      await assert.rejects(rt.state.commitUnit(thread, null as never), TypeError);
      assert.deepEqual(await rt.state.entries(thread), []);
    });

    it('clears the scope in the same batch as its events, logging one scope.clear', async () => {
      await Promise.all(['a', 'b', 'c'].map((key) => rt.state.set(thread, key, key)));
      await rt.state.commitUnit(thread, { build: () => ({ clearScope: true, events: [{ kind: 'langgraph.thread_deleted', scope: '', data: { threadId: 't1', cleared: 3 } }] }) });
      assert.deepEqual(await rt.state.listKeys(thread), []);
      const [clear, deleted] = (await rt.events.query({ scope: thread.toString() })).slice(-2);
      assert.equal(clear!.kind, 'scope.clear');
      assert.equal(deleted!.kind, 'langgraph.thread_deleted');
      assert.equal(clear!.seq, deleted!.seq);
      await assert.rejects(rt.state.commitUnit(thread, { build: () => ({ clearScope: true, writes: [{ key: 'a', value: 1 }] }) }), TypeError);
    });

    it('tells a clearing function how many keys it cleared, counted in the actor, and logs the events it returns', async () => {
      await Promise.all(['a', 'b', 'c', 'd'].map((key) => rt.state.set(thread, key, key)));
      const late = rt.state.set(thread, 'e', 'queued before the unit');
      await rt.state.commitUnit(thread, { build: () => ({ clearScope: (cleared) => [{ kind: 'langgraph.thread_deleted', scope: '', data: { threadId: 't1', cleared } }] }) });
      await late;
      const [clear, deleted] = (await rt.events.query({ scope: thread.toString() })).slice(-2);
      assert.equal(clear!.kind === 'scope.clear' && clear.count, 5);
      assert.deepEqual(deleted!.data, { threadId: 't1', cleared: 5 });
      await assert.rejects(rt.state.commitUnit(thread, { build: () => ({ clearScope: () => [{ kind: 'state.set' } as never] }) }), TypeError);
    });

    it('leaves no trace when the batch fails, and the cache keeps the committed values', async () => {
      await rt.state.set(thread, 'a', 'before');
      rt.faults.failStorage({ scope: thread, op: 'batch', count: 1 });
      await rejectsWith(rt.state.commitUnit(thread, { reads: ['a'], build: () => ({ writes: [{ key: 'a', value: 'after' }, { key: 'b', value: 1 }] }) }), 'STORAGE_FAILED');
      assert.equal(await rt.state.get(thread, 'a'), 'before');
      assert.deepEqual(await rt.state.entries(thread), [['a', 'before']]);
    });
  });

  describe('entries', () => {
    beforeEach(async () => {
      await Promise.all(['c:1', 'c:2', 'c:3', 'c:4', 'd:1', 'b:9'].map((key, i) => rt.state.set(thread, key, i)));
    });

    it('reads in key order, reversed, limited, by prefix and between bounds', async () => {
      const keys = async (range: Parameters<Runtime['state']['entries']>[1]) => (await rt.state.entries(thread, range)).map(([key]) => key);
      assert.deepEqual(await keys({}), ['b:9', 'c:1', 'c:2', 'c:3', 'c:4', 'd:1']);
      assert.deepEqual(await keys({ prefix: 'c:', reverse: true, limit: 2 }), ['c:4', 'c:3']);
      assert.deepEqual(await keys({ prefix: 'c:', lt: 'c:3', reverse: true }), ['c:2', 'c:1']);
      assert.deepEqual(await keys({ prefix: 'c:', lte: 'c:3', gt: 'c:1' }), ['c:2', 'c:3']);
      assert.deepEqual(await keys({ prefix: 'c:', gte: 'a', lt: 'z' }), ['c:1', 'c:2', 'c:3', 'c:4'], 'bounds never widen the prefix');
      assert.deepEqual(await keys({ gte: 'c:4' }), ['c:4', 'd:1']);
    });

    it('sees every write acknowledged before it, and none of another scope', async () => {
      const write = rt.state.set(thread, 'c:5', 5);
      const read = rt.state.entries(thread, { prefix: 'c:5' });
      await write;
      assert.deepEqual(await read, [['c:5', 5]]);
      await rt.state.set(Scope.custom('langgraph:thread:t10'), 'c:1', 'other');
      assert.equal((await rt.state.entries(thread)).length, 7);
    });

    it('refuses bad ranges', async () => {
      await assert.rejects(rt.state.entries(thread, { limit: 0 }), TypeError);
      await assert.rejects(rt.state.entries(thread, { prefix: 3 as never }), TypeError);
      await rejectsWith(rt.state.entries(thread, { lt: '\u0000' }), 'STATE_KEY_INVALID');
    });
  });

  describe('scopes', () => {
    it('lists the scopes of a kind that hold keys, by id prefix, after a scope, up to a limit', async () => {
      for (const id of ['langgraph:thread:a', 'langgraph:thread:b', 'langgraph:store:x', 'other']) {
        await Promise.all(Array.from({ length: 20 }, (_, i) => rt.state.set(Scope.custom(id), `k${i}`, i)));
      }
      await rt.state.set(Scope.agent('langgraph:thread:z'), 'k', 1);
      const ids = (scopes: Scope[]) => scopes.map((scope) => scope.toString());
      assert.deepEqual(ids(await rt.state.scopes({ kind: 'custom', prefix: 'langgraph:thread:' })), ['custom:langgraph:thread:a', 'custom:langgraph:thread:b']);
      assert.deepEqual(ids(await rt.state.scopes({ kind: 'custom', prefix: 'langgraph:' })), ['custom:langgraph:store:x', 'custom:langgraph:thread:a', 'custom:langgraph:thread:b']);
      assert.deepEqual(ids(await rt.state.scopes({ kind: 'custom', prefix: 'langgraph:', after: Scope.custom('langgraph:thread:a') })), ['custom:langgraph:thread:b']);
      assert.deepEqual(ids(await rt.state.scopes({ kind: 'custom', limit: 1 })), ['custom:langgraph:store:x']);
      assert.deepEqual(ids(await rt.state.scopes({ kind: 'custom', prefix: 'langgraph:thread:b' })), ['custom:langgraph:thread:b']);
      await rt.state.clearScope(Scope.custom('langgraph:thread:a'));
      assert.deepEqual(ids(await rt.state.scopes({ kind: 'custom', prefix: 'langgraph:thread:' })), ['custom:langgraph:thread:b']);
      await assert.rejects(rt.state.scopes({ kind: 'nope' as never }), TypeError);
    });
  });

  describe('through a view', () => {
    it('needs read and write for a unit, delete for one that deletes or clears, read for entries, and lists only what the principal may list', async () => {
      const ada = rt.as('agent:ada');
      const unit = { build: () => ({ writes: [{ key: 'a', value: 1 }] }) };
      await rejectsWith(ada.state.commitUnit(thread, unit), 'ACCESS_DENIED');
      await rejectsWith(ada.state.entries(thread), 'ACCESS_DENIED');
      await rt.access.grant({ principal: 'agent:ada', scope: thread, permissions: ['read', 'write'] });
      await ada.state.commitUnit(thread, unit);
      assert.deepEqual(await ada.state.entries(thread), [['a', 1]]);
      await rejectsWith(ada.state.commitUnit(thread, { build: () => ({ clearScope: true }) }), 'ACCESS_DENIED');
      await rejectsWith(ada.state.commitUnit(thread, { build: () => ({ writes: [{ key: 'b', value: 2 }, { key: 'a', value: undefined }] }) }), 'ACCESS_DENIED');
      assert.deepEqual(await rt.state.entries(thread), [['a', 1]], 'a refused clear or delete changes nothing');
      const denied = await rt.access.audit({ principal: 'agent:ada', outcome: 'denied' });
      assert.ok(denied.some((record) => record.operation === 'delete' && record.scope === thread.toString()), JSON.stringify(denied));

      await rt.state.set(Scope.custom('langgraph:thread:hidden'), 'k', 1);
      assert.deepEqual((await rt.state.scopes({ kind: 'custom' })).length, 2);
      assert.deepEqual((await ada.state.scopes({ kind: 'custom' })).map(String), [], 'list was not granted');
      await rt.access.grant({ principal: 'agent:ada', scopePattern: 'custom:langgraph:thread:t*', permissions: ['list'] });
      assert.deepEqual((await ada.state.scopes({ kind: 'custom', limit: 1 })).map(String), [thread.toString()]);
    });
  });

  it('plans from values read back from the store after a reopen', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'llmstate-unit-'));
    const disk = await createRuntime({ dataDir });
    await disk.state.set(thread, 'count', 41);
    await disk.close();
    const reopened = await createRuntime({ dataDir });
    try {
      await reopened.state.commitUnit(thread, { reads: ['count'], build: (current) => ({ writes: [{ key: 'count', value: (current.get('count') as number) + 1 }] }) });
      assert.equal(await reopened.state.get(thread, 'count'), 42);
    } finally {
      await reopened.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
