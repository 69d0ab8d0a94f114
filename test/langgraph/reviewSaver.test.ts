/**
 * LlmStateSaver and LlmStateStore under review: corrupt records surface as DATA_CORRUPT, never as data; a
 * quarantine cuts a saver or store made on a principal's view; `list` reads a config the way MemorySaver
 * and the SQL savers do; a unit cannot be used to delete through a saver a view may only write.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { MemorySaver, uuid6 } from '@langchain/langgraph-checkpoint';
import { createRuntime, LlmStateError, type Runtime } from '../../src/index.js';
import { LlmStateSaver, LlmStateStore } from '../../src/langgraph/index.js';
import { threadScope } from '../../src/langgraph/scopeNames.js';
import { blobKey, checkpointKey, writeKey } from '../../src/langgraph/saverKeys.js';
import { encodeStateKey } from '../../src/state/keyCodec.js';
import { RuntimeFixture } from '../helpers.js';
import { checkpointOf, metadataOf, threadConfig, toArray } from './saverFixtures.js';

function isCode(code: string) {
  return (error: unknown) => error instanceof LlmStateError && error.code === code;
}

async function flipLastByte(dataDir: string, key: Buffer): Promise<void> {
  const db = new ClassicLevel<Buffer, Buffer>(join(dataDir, 'db'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  const sub = db.sublevel<Buffer, Buffer>('state', { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  const bytes = await sub.get(key);
  assert.ok(bytes, 'the record to tamper with exists');
  bytes[bytes.length - 2] ^= 0x01;
  await sub.put(key, bytes);
  await db.close();
}

describe('review: LlmStateSaver', () => {
  describe('corrupt records', () => {
    let fixture: RuntimeFixture;
    beforeEach(() => {
      fixture = new RuntimeFixture('lg-review-corrupt');
    });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    beforeEach(() => {
      unhandled.length = 0;
      process.on('unhandledRejection', onUnhandled);
    });
    afterEach(async () => {
      await new Promise((resolve) => setImmediate(resolve));
      process.off('unhandledRejection', onUnhandled);
      await fixture.dispose();
      // Outside mocha, an unhandled rejection ends the process: a corrupt record must only reject the call.
      assert.deepEqual(unhandled.map(String), [], 'a rejection was left unhandled');
    });

    async function storedThread(rt: Runtime, threadId: string): Promise<{ checkpointId: string }> {
      const saver = new LlmStateSaver(rt);
      const checkpoint = checkpointOf({ messages: ['hello'] }, { messages: 1 });
      const config = await saver.put(threadConfig(threadId), checkpoint, metadataOf(0), { messages: 1 });
      await saver.putWrites(config, [['messages', 'pending']], 'task-1');
      return { checkpointId: checkpoint.id };
    }

    for (const part of ['checkpoint', 'blob', 'write'] as const) {
      it(`a corrupt ${part} record rejects getTuple and list with DATA_CORRUPT, and is never returned as a value`, async () => {
        const rt = await fixture.open();
        const { checkpointId } = await storedThread(rt, 't');
        await storedThread(rt, 'fine');
        await rt.close();
        const key = part === 'checkpoint' ? checkpointKey('', checkpointId) : part === 'blob' ? blobKey('', 'messages', 1) : writeKey('', checkpointId, 'task-1', 0);
        await flipLastByte(fixture.dir, encodeStateKey(threadScope('t'), key));
        const reopened = await fixture.open();
        const saver = new LlmStateSaver(reopened);
        await assert.rejects(saver.getTuple(threadConfig('t')), isCode('DATA_CORRUPT'));
        await assert.rejects(saver.getTuple(threadConfig('t', checkpointId)), isCode('DATA_CORRUPT'));
        await assert.rejects(toArray(saver.list(threadConfig('t'))), isCode('DATA_CORRUPT'));
        await assert.rejects(toArray(saver.list({})), isCode('DATA_CORRUPT'), 'a list across threads does not skip the corrupt one');
        assert.equal(((await saver.getTuple(threadConfig('fine')))?.checkpoint.channel_values.messages as string[] | undefined)?.[0], 'hello', 'other threads read');
        await saver.deleteThread('t');
        assert.equal(await saver.getTuple(threadConfig('t')), undefined, 'deleting the thread gets rid of the corrupt record');
      });
    }
  });

  describe('list reads the config as MemorySaver does', () => {
    let rt: Runtime;
    beforeEach(async () => {
      rt = await createRuntime({ memory: true });
    });
    afterEach(async () => {
      await rt.close();
    });

    it('a checkpoint_id without a thread_id lists that checkpoint only, on every thread', async () => {
      const ours = new LlmStateSaver(rt);
      const memory = new MemorySaver();
      let wanted = '';
      for (const saver of [ours, memory]) {
        for (const threadId of ['a', 'b']) {
          for (let step = 0; step < 3; step++) {
            const checkpoint = checkpointOf({ n: step });
            checkpoint.id = `${uuid6(-1).slice(0, 8)}-${threadId}-${step}`;
            if (threadId === 'b' && step === 1) wanted = checkpoint.id;
            await saver.put(threadConfig(threadId), checkpoint, metadataOf(step), { n: 1 });
          }
        }
      }
      // The ids differ between the two savers' runs only by their uuid; compare what each lists.
      const listedBy = async (saver: LlmStateSaver | MemorySaver, id: string) =>
        (await toArray(saver.list({ configurable: { checkpoint_id: id } }))).map((tuple) => tuple.config.configurable!.checkpoint_id);
      const memoryWanted = wanted;
      assert.deepEqual(await listedBy(memory, memoryWanted), [memoryWanted]);
      const oursWanted = (await toArray(ours.list(threadConfig('b')))).map((tuple) => tuple.config.configurable!.checkpoint_id as string).find((id) => id.endsWith('-b-1'))!;
      assert.deepEqual(await listedBy(ours, oursWanted), [oursWanted]);
    });
  });

  describe('a quarantine', () => {
    let rt: Runtime;
    beforeEach(async () => {
      rt = await createRuntime({ memory: true });
    });
    afterEach(async () => {
      await rt.close();
    });

    it('cuts off a saver and a store made on the quarantined agent’s view', async () => {
      await rt.access.grant({ principal: 'agent:q', scopePattern: 'custom:langgraph:*', permissions: ['read', 'write', 'delete', 'list'] });
      const view = rt.as('agent:q');
      const saver = new LlmStateSaver(view);
      const store = new LlmStateStore(view);
      const config = await saver.put(threadConfig('t'), checkpointOf({ n: 1 }), metadataOf(0), { n: 1 });
      await store.put(['mem'], 'k', { v: 1 });
      await rt.access.quarantine('q');
      const cut = isCode('AGENT_QUARANTINED');
      await assert.rejects(saver.put(threadConfig('t'), checkpointOf({ n: 2 }), metadataOf(1), { n: 2 }), cut);
      await assert.rejects(saver.putWrites(config, [['n', 3]], 'task'), cut);
      await assert.rejects(saver.getTuple(threadConfig('t')), cut);
      await assert.rejects(toArray(saver.list({})), cut);
      await assert.rejects(saver.deleteThread('t'), cut);
      await assert.rejects(store.get(['mem'], 'k'), cut);
      await assert.rejects(store.search(['mem']), cut);
      await assert.rejects(store.listNamespaces(), cut);
      await assert.rejects(store.put(['mem'], 'k', { v: 2 }), cut);
      assert.equal((await new LlmStateSaver(rt).getTuple(threadConfig('t')))?.checkpoint.channel_values.n, 1, 'nothing was written');
      assert.deepEqual((await new LlmStateStore(rt).get(['mem'], 'k'))?.value, { v: 1 });
    });
  });

  it('a saver on a view without delete cannot delete a thread', async () => {
    const rt = await createRuntime({ memory: true });
    try {
      await rt.access.grant({ principal: 'agent:w', scope: threadScope('t'), permissions: ['read', 'write'] });
      const saver = new LlmStateSaver(rt.as('agent:w'));
      await saver.put(threadConfig('t'), checkpointOf({ n: 1 }), metadataOf(0), { n: 1 });
      await assert.rejects(saver.deleteThread('t'), isCode('ACCESS_DENIED'));
      assert.notEqual(await new LlmStateSaver(rt).getTuple(threadConfig('t')), undefined);
    } finally {
      await rt.close();
    }
  });
});
