import assert from 'node:assert/strict';
import { createRuntime, LlmStateError, Scope, type Runtime } from '../../src/index.js';
import { storageOf } from '../../src/runtime.js';
import { chatMachine } from '../fixtures/chatMachine.js';
import { ManualClock, rejection, RuntimeFixture } from '../helpers.js';
import { settlesWithin, snapshotTexts, textsOf, untilSettled } from './agentKit.js';

const machine = chatMachine();

/**
 * Every batch that writes an agent record fails, as on a full disk, until the returned function is called.
 * (A one-shot failure could hit a batch merged with other writes, which the commit path retries alone.)
 */
function failAgentBatches(rt: Runtime): () => void {
  let armed = true;
  const remove = storageOf(rt).intercept({
    beforeBatch(ops) {
      if (armed && ops.some((op) => op.sublevel === 'agents')) throw new Error('disk full');
    },
  });
  return () => {
    armed = false;
    remove();
  };
}

describe('rt.agents', function () {
  // Every test here takes milliseconds; a message that is never processed fails it in seconds, not at the suite's timeout.
  this.timeout(3000);

  let rt: Runtime;
  beforeEach(async () => {
    rt = await createRuntime({ memory: true, clock: new ManualClock() });
  });
  afterEach(() => rt.close());

  describe('spawn, get and send', () => {
    it('processes messages one at a time, in the order sent, and each reply carries the state and context after it', async () => {
      const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine });
      const replies = await Promise.all([
        agent.send({ type: 'SAY', text: 'one' }),
        agent.send({ type: 'WORK' }),
        agent.send({ type: 'SAY', text: 'two' }),
        agent.send({ type: 'REST' }),
      ]);
      assert.deepEqual(
        replies.map((reply) => [reply.state, textsOf(reply)]),
        [
          ['listening', ['one']],
          ['working', ['one']],
          ['working', ['one', 'two']],
          ['listening', ['one', 'two']],
        ],
      );
    });

    it('a message sent a microtask after the previous reply is processed, not left waiting in the mailbox', async () => {
      const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine });
      await agent.send({ type: 'SAY', text: 'one' });
      await Promise.resolve();
      const next = agent.send({ type: 'SAY', text: 'two' });
      assert.equal(await settlesWithin(next), true, `the message is stuck: ${JSON.stringify(agent.status())}`);
      assert.deepEqual(textsOf(await next), ['one', 'two']);
    });

    it('an agent spawned without a machine rejects messages with a TypeError, and does not crash', async () => {
      const agent = await rt.agents.spawn({ id: 'plain', type: 'record-only', config: { k: 1 } });
      await assert.rejects(agent.send({ type: 'SAY', text: 'x' }), TypeError);
      assert.equal(agent.status().state, 'running');
      assert.equal(agent.status().restarts, 0);
      assert.deepEqual(await rt.supervisors.deadLetters(), []);
      assert.equal((await rt.agents.show('plain')).machineSnapshot, null);
    });

    it('gives the machine the agent id and config as input', async () => {
      const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', config: { model: 'small' }, machine });
      const reply = await agent.send({ type: 'SAY', text: 'hi' });
      assert.equal((reply.context as { agentId: string }).agentId, 'a1');
      assert.deepEqual(agent.record().config, { model: 'small' });
    });

    it('get returns a handle on the same running agent', async () => {
      await rt.agents.spawn({ id: 'a1', type: 'chat', machine });
      await rt.agents.get('a1').send({ type: 'SAY', text: 'via get' });
      const reply = await rt.agents.get('a1').send({ type: 'SAY', text: 'again' });
      assert.deepEqual(textsOf(reply), ['via get', 'again']);
    });

    it('get of an agent that does not run is AGENT_NOT_FOUND', () => {
      assert.throws(() => rt.agents.get('nobody'), (error: LlmStateError) => {
        assert.equal(error.code, 'AGENT_NOT_FOUND');
        assert.deepEqual(error.details, { agent: 'nobody' });
        return true;
      });
    });

    it('spawn of an id that is already running is a TypeError, and leaves the running agent alone', async () => {
      const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine });
      await agent.send({ type: 'SAY', text: 'kept' });
      await assert.rejects(rt.agents.spawn({ id: 'a1', type: 'other', machine }), TypeError);
      assert.deepEqual(textsOf(await agent.send({ type: 'SAY', text: 'still here' })), ['kept', 'still here']);
      assert.equal((await rt.agents.show('a1')).type, 'chat');
    });

    it('spawn of an id that is saved but not running is a TypeError', async () => {
      const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine });
      await agent.stop();
      await assert.rejects(rt.agents.spawn({ id: 'a1', type: 'chat', machine }), /restore/);
      assert.equal((await rt.agents.show('a1')).status, 'stopped');
    });

    it('spawn under a supervisor that does not exist is AGENT_NOT_FOUND, and saves nothing', async () => {
      const error = await rejection(rt.agents.spawn({ id: 'a1', type: 'chat', machine, supervisor: 'nope' }));
      assert.equal(error.code, 'AGENT_NOT_FOUND');
      assert.deepEqual(error.details, { supervisor: 'nope' });
      assert.deepEqual(await rt.agents.list(), []);
      assert.throws(() => rt.agents.get('a1'), { code: 'AGENT_NOT_FOUND' });
    });

    for (const [label, config] of [
      ['a function', { tokenizer: () => 1 }],
      ['a Date', { since: new Date(0) }],
      ['NaN', { temperature: Number.NaN }],
      ['undefined', { model: undefined }],
    ] as const) {
      it(`spawn with config holding ${label} is VALUE_INVALID, and saves nothing`, async () => {
        const error = await rejection(rt.agents.spawn({ id: 'a1', type: 'chat', machine, config: config as Record<string, unknown> }));
        assert.equal(error.code, 'VALUE_INVALID');
        assert.equal(error.details?.field, 'config');
        assert.deepEqual(await rt.agents.list(), []);
      });
    }

    it('spawn with an id that breaks the key rules is SCOPE_INVALID', async () => {
      const error = await rejection(rt.agents.spawn({ id: '', type: 'chat', machine }));
      assert.equal(error.code, 'SCOPE_INVALID');
    });

    it('send of a message that is not JSON data is VALUE_INVALID and does not reach the machine', async () => {
      const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine });
      const error = await rejection(agent.send({ type: 'SAY', text: 'x', at: new Date() }));
      assert.equal(error.code, 'VALUE_INVALID');
      assert.deepEqual(textsOf(await agent.send({ type: 'SAY', text: 'ok' })), ['ok']);
    });
  });

  describe('save, restore, list, show and delete', () => {
    it('restore brings back an agent stopped in this process, with its context, and it carries on', async () => {
      const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine, persist: 'lifecycle' });
      await agent.send({ type: 'SAY', text: 'before stop' });
      await agent.stop();
      assert.throws(() => rt.agents.get('a1'), { code: 'AGENT_NOT_FOUND' });
      const back = await rt.agents.restore('a1', { machine });
      assert.deepEqual(back.status().state, 'running');
      assert.deepEqual(textsOf(await back.send({ type: 'SAY', text: 'after restore' })), ['before stop', 'after restore']);
      assert.equal((await rt.agents.show('a1')).status, 'running');
    });

    it('restore of a running agent returns a handle on it, unchanged', async () => {
      const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine });
      await agent.send({ type: 'SAY', text: 'x' });
      const same = await rt.agents.restore('a1');
      assert.equal(same.status().restarts, 0);
      assert.deepEqual(textsOf(await same.send({ type: 'SAY', text: 'y' })), ['x', 'y']);
    });

    it('restore of an id with nothing stored is AGENT_NOT_FOUND', async () => {
      const error = await rejection(rt.agents.restore('ghost', { machine }));
      assert.equal(error.code, 'AGENT_NOT_FOUND');
    });

    it('save stores the machine snapshot as it stands', async () => {
      const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine, persist: 'lifecycle' });
      await agent.send({ type: 'SAY', text: 'saved' });
      await rt.agents.save('a1');
      await agent.send({ type: 'SAY', text: 'not saved' });
      // A crash restarts the agent from what is stored: only the saved message is there.
      rt.faults.crashActor('a1');
      await rejection(agent.send({ type: 'SAY', text: 'crash' }));
      await untilSettled(rt);
      assert.deepEqual(snapshotTexts(agent.record().machineSnapshot), ['saved']);
    });

    it('save of an agent that does not run is AGENT_NOT_FOUND', async () => {
      const error = await rejection(rt.agents.save('ghost'));
      assert.equal(error.code, 'AGENT_NOT_FOUND');
    });

    it('list shows each stored agent with its status, supervisor, counts and whether it runs here', async () => {
      const a1 = await rt.agents.spawn({ id: 'a1', type: 'chat', machine });
      const a2 = await rt.agents.spawn({ id: 'a2', type: 'notes', machine });
      const a3 = await rt.agents.spawn({ id: 'a3', type: 'chat', machine });
      await a1.send({ type: 'SAY', text: 'x' });
      await a1.send({ type: 'SAY', text: 'y' });
      await a2.pause();
      await a3.stop();
      const list = await rt.agents.list();
      assert.deepEqual(
        list.map(({ id, type, status, live, supervisor, messages, restarts }) => ({ id, type, status, live, supervisor, messages, restarts })),
        [
          { id: 'a1', type: 'chat', status: 'running', live: true, supervisor: 'agents', messages: 2, restarts: 0 },
          { id: 'a2', type: 'notes', status: 'paused', live: true, supervisor: 'agents', messages: 0, restarts: 0 },
          { id: 'a3', type: 'chat', status: 'stopped', live: false, supervisor: 'agents', messages: 0, restarts: 0 },
        ],
      );
    });

    it('show returns the record of a running agent and of a stored one; an unknown id is AGENT_NOT_FOUND', async () => {
      const a1 = await rt.agents.spawn({ id: 'a1', type: 'chat', machine, config: { model: 'm' }, tools: [{ name: 'search' }], custom: { team: 'red' } });
      await a1.send({ type: 'SAY', text: 'live' });
      const live = await rt.agents.show('a1');
      assert.equal(live.status, 'running');
      assert.deepEqual(live.config, { model: 'm' });
      assert.deepEqual(live.tools, [{ name: 'search' }]);
      assert.deepEqual(live.custom, { team: 'red' });
      assert.deepEqual(snapshotTexts(live.machineSnapshot), ['live']);
      await a1.stop();
      const stored = await rt.agents.show('a1');
      assert.equal(stored.status, 'stopped');
      assert.deepEqual(snapshotTexts(stored.machineSnapshot), ['live']);
      // The record is plain data: it survives a JSON round trip unchanged.
      assert.deepEqual(JSON.parse(JSON.stringify(stored)), stored);
      assert.equal((await rejection(rt.agents.show('ghost'))).code, 'AGENT_NOT_FOUND');
    });

    it('delete stops the agent and removes its record, its dead letters and its agent:<id> state; it resolves true, then false', async () => {
      const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine });
      const other = await rt.agents.spawn({ id: 'a2', type: 'chat', machine });
      await rt.state.set(Scope.agent('a1'), 'notes', 'mine');
      await rt.state.set(Scope.agent('a2'), 'notes', 'theirs');
      await rejection(agent.send({ type: 'THROW' }));
      await rejection(other.send({ type: 'THROW' }));
      await untilSettled(rt);
      assert.equal((await rt.supervisors.deadLetters({ agentId: 'a1' })).length, 1);

      assert.equal(await rt.agents.delete('a1'), true);

      assert.throws(() => rt.agents.get('a1'), { code: 'AGENT_NOT_FOUND' });
      assert.equal((await rejection(rt.agents.show('a1'))).code, 'AGENT_NOT_FOUND');
      assert.deepEqual((await rt.agents.list()).map((summary) => summary.id), ['a2']);
      assert.deepEqual(await rt.supervisors.deadLetters({ agentId: 'a1' }), []);
      assert.deepEqual(await rt.state.listKeys(Scope.agent('a1')), []);
      assert.equal((await rejection(agent.send({ type: 'SAY', text: 'late' }))).code, 'ACTOR_STOPPED');
      // The other agent keeps everything.
      assert.equal((await rt.supervisors.deadLetters({ agentId: 'a2' })).length, 1);
      assert.equal(await rt.state.get(Scope.agent('a2'), 'notes'), 'theirs');

      assert.equal(await rt.agents.delete('a1'), false);
      assert.equal(await rt.agents.delete('never-existed'), false);
    });

    it('delete of a stopped agent removes its stored record', async () => {
      const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine });
      await agent.stop();
      assert.equal(await rt.agents.delete('a1'), true);
      assert.deepEqual(await rt.agents.list(), []);
      assert.equal((await rejection(rt.agents.restore('a1', { machine }))).code, 'AGENT_NOT_FOUND');
    });

    it('a deleted id can be spawned again from scratch', async () => {
      const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine });
      await agent.send({ type: 'SAY', text: 'old life' });
      await rt.agents.delete('a1');
      const again = await rt.agents.spawn({ id: 'a1', type: 'chat', machine });
      assert.deepEqual(textsOf(await again.send({ type: 'SAY', text: 'new life' })), ['new life']);
    });
  });

  describe('update', () => {
    it('changes config, conversation, tools, workflow and custom data, and saves them', async () => {
      const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine, persist: 'lifecycle' });
      await agent.update({
        config: { model: 'large' },
        conversation: [{ role: 'user', content: 'hello' }, { role: 'assistant', content: 'hi' }],
        tools: [{ name: 'search', description: 'web' }],
        workflow: { workflowId: 'w1', currentStep: 'fetch', completedSteps: ['plan'], progress: 0.5 },
        custom: { mood: 'curious' },
      });
      await agent.stop();
      const stored = await rt.agents.show('a1');
      assert.deepEqual(stored.config, { model: 'large' });
      assert.deepEqual(stored.conversation, [{ role: 'user', content: 'hello' }, { role: 'assistant', content: 'hi' }]);
      assert.deepEqual(stored.tools, [{ name: 'search', description: 'web' }]);
      assert.deepEqual(stored.workflow, { workflowId: 'w1', currentStep: 'fetch', completedSteps: ['plan'], progress: 0.5 });
      assert.deepEqual(stored.custom, { mood: 'curious' });
    });

    it('is saved at once: a crash right after it keeps the update', async () => {
      const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine, persist: 'lifecycle' });
      await agent.update({ custom: { step: 2 } });
      rt.faults.crashActor('a1');
      await rejection(agent.send({ type: 'SAY', text: 'crash' }));
      await untilSettled(rt);
      assert.deepEqual(agent.record().custom, { step: 2 });
    });

    it('a failed update leaves no trace: the next save does not store it', async () => {
      const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine, custom: { v: 1 } });
      const disarm = failAgentBatches(rt);
      assert.equal((await rejection(agent.update({ custom: { v: 2 } }))).code, 'STORAGE_FAILED');
      disarm();
      assert.deepEqual(agent.record().custom, { v: 1 });
      await agent.send({ type: 'SAY', text: 'saves the record' });
      await agent.stop();
      assert.deepEqual((await rt.agents.show('a1')).custom, { v: 1 });
    });

    for (const [label, patch] of [
      ['a field that cannot be patched (status)', { status: 'stopped' }],
      ['a message with an unknown role', { conversation: [{ role: 'robot', content: 'beep' }] }],
      ['progress above 1', { workflow: { completedSteps: [], progress: 2 } }],
      ['a tool without a name', { tools: [{ description: 'nameless' }] }],
    ] as const) {
      it(`rejects ${label} with VALUE_INVALID and changes nothing`, async () => {
        const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine, custom: { kept: true } });
        const before = agent.record();
        const error = await rejection(agent.update(patch as never));
        assert.equal(error.code, 'VALUE_INVALID');
        assert.deepEqual(agent.record(), before);
        assert.deepEqual((await rt.agents.show('a1')).custom, { kept: true });
      });
    }
  });

  describe('pause and resume', () => {
    it('messages sent while paused wait, then run in order after resume', async () => {
      const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine });
      await agent.send({ type: 'SAY', text: 'before' });
      await agent.pause();
      assert.equal(agent.status().state, 'paused');
      const first = agent.send({ type: 'SAY', text: 'queued 1' });
      const second = agent.send({ type: 'SAY', text: 'queued 2' });
      assert.equal(await settlesWithin(first), false, 'a message ran while the agent was paused');
      assert.equal(agent.status().queued, 2);
      await agent.resume();
      assert.deepEqual(textsOf(await first), ['before', 'queued 1']);
      assert.deepEqual(textsOf(await second), ['before', 'queued 1', 'queued 2']);
      assert.equal(agent.status().queued, 0);
    });

    it('pause and resume are on the agent timeline', async () => {
      const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine });
      await agent.pause();
      await agent.resume();
      const kinds = (await rt.events.query({ agentId: 'a1', kinds: ['agent.*'] })).map((event) => event.kind);
      assert.deepEqual(kinds, ['agent.spawned', 'agent.paused', 'agent.resumed']);
    });

    it('stop processes what is queued first, then refuses messages with ACTOR_STOPPED', async () => {
      const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine });
      await agent.pause();
      const queued = agent.send({ type: 'SAY', text: 'queued' });
      await agent.stop();
      assert.deepEqual(textsOf(await queued), ['queued']);
      assert.equal((await rejection(agent.send({ type: 'SAY', text: 'late' }))).code, 'ACTOR_STOPPED');
    });
  });

  describe('persist modes', () => {
    it("with persist 'every-message', a crash loses no processed message", async () => {
      const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine, persist: 'every-message' });
      await agent.send({ type: 'SAY', text: 'one' });
      await agent.send({ type: 'SAY', text: 'two' });
      rt.faults.crashActor('a1');
      await rejection(agent.send({ type: 'SAY', text: 'crash' }));
      assert.deepEqual(textsOf(await agent.send({ type: 'SAY', text: 'three' })), ['one', 'two', 'three']);
    });

    it("with persist 'lifecycle', a crash restarts the agent from its last save (here: the pause)", async () => {
      const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine, persist: 'lifecycle' });
      await agent.send({ type: 'SAY', text: 'one' });
      await agent.pause();
      await agent.resume();
      await agent.send({ type: 'SAY', text: 'two' });
      rt.faults.crashActor('a1');
      await rejection(agent.send({ type: 'SAY', text: 'crash' }));
      assert.deepEqual(textsOf(await agent.send({ type: 'SAY', text: 'three' })), ['one', 'three']);
    });
  });
});

describe('rt.agents across a reopen of the data directory', function () {
  // Every test here takes milliseconds; a message that is never processed fails it in seconds, not at the suite's timeout.
  this.timeout(3000);

  let fixture: RuntimeFixture;
  beforeEach(() => {
    fixture = new RuntimeFixture('agents');
  });
  afterEach(() => fixture.dispose());

  it('restore in a new runtime brings back the record and the machine snapshot, and the agent carries on', async () => {
    const rt = await fixture.open();
    const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine, config: { model: 'm' } });
    await agent.send({ type: 'SAY', text: 'one' });
    await agent.send({ type: 'WORK' });
    const reopened = await fixture.reopen(rt);
    assert.deepEqual(reopened.agents.liveIds(), []);
    const back = await reopened.agents.restore('a1', { machine });
    assert.deepEqual(back.record().config, { model: 'm' });
    const reply = await back.send({ type: 'SAY', text: 'two' });
    assert.equal(reply.state, 'working');
    assert.deepEqual(textsOf(reply), ['one', 'two']);
  });

  it('restore finds the machine of a type given to define', async () => {
    const rt = await fixture.open();
    await (await rt.agents.spawn({ id: 'a1', type: 'chat', machine })).send({ type: 'SAY', text: 'one' });
    const reopened = await fixture.reopen(rt);
    reopened.agents.define('chat', machine);
    const back = await reopened.agents.restore('a1');
    assert.deepEqual(textsOf(await back.send({ type: 'SAY', text: 'two' })), ['one', 'two']);
  });

  it('restore of an agent saved with a machine, given none, is a TypeError and starts nothing', async () => {
    const rt = await fixture.open();
    await rt.agents.spawn({ id: 'a1', type: 'chat', machine });
    const reopened = await fixture.reopen(rt);
    await assert.rejects(reopened.agents.restore('a1'), TypeError);
    assert.deepEqual(reopened.agents.liveIds(), []);
  });

  it('list after a reopen shows every agent as not running here, with its last status', async () => {
    const rt = await fixture.open();
    await rt.agents.spawn({ id: 'a1', type: 'chat', machine });
    await (await rt.agents.spawn({ id: 'a2', type: 'chat', machine })).stop();
    const reopened = await fixture.reopen(rt);
    assert.deepEqual(
      (await reopened.agents.list()).map(({ id, status, live }) => ({ id, status, live })),
      [
        { id: 'a1', status: 'running', live: false },
        { id: 'a2', status: 'stopped', live: false },
      ],
    );
  });

  it('pause saves the agent: a reopened runtime lists it as paused, with the snapshot at the pause', async () => {
    const rt = await fixture.open();
    const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine, persist: 'lifecycle' });
    await agent.send({ type: 'SAY', text: 'one' });
    await agent.send({ type: 'SAY', text: 'two' });
    await agent.pause();
    const reopened = await fixture.reopen(rt);
    assert.deepEqual((await reopened.agents.list()).map(({ id, status }) => ({ id, status })), [{ id: 'a1', status: 'paused' }]);
    const stored = await reopened.agents.show('a1');
    assert.equal(stored.status, 'paused');
    assert.deepEqual(snapshotTexts(stored.machineSnapshot), ['one', 'two']);
  });

  it('a paused agent is restored paused: its messages wait for resume', async () => {
    const rt = await fixture.open();
    const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine });
    await agent.send({ type: 'SAY', text: 'one' });
    await agent.pause();
    const reopened = await fixture.reopen(rt);
    const back = await reopened.agents.restore('a1', { machine });
    assert.equal(back.status().state, 'paused');
    const waiting = back.send({ type: 'SAY', text: 'two' });
    assert.equal(await settlesWithin(waiting, 2000), false);
    await back.resume();
    assert.deepEqual(textsOf(await waiting), ['one', 'two']);
  });

  it('stop saves the agent: a reopened runtime lists it as stopped, with the snapshot of every processed message', async () => {
    const rt = await fixture.open();
    const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine, persist: 'lifecycle' });
    await agent.send({ type: 'SAY', text: 'one' });
    await agent.send({ type: 'SAY', text: 'two' });
    await agent.stop();
    const reopened = await fixture.reopen(rt);
    const [summary] = await reopened.agents.list();
    assert.deepEqual({ id: summary.id, status: summary.status, messages: summary.messages }, { id: 'a1', status: 'stopped', messages: 2 });
    assert.deepEqual(snapshotTexts((await reopened.agents.show('a1')).machineSnapshot), ['one', 'two']);
  });

  it('update is durable: a reopened runtime shows the patched record', async () => {
    const rt = await fixture.open();
    const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine, persist: 'lifecycle' });
    await agent.update({ conversation: [{ role: 'system', content: 'be brief' }], custom: { v: 2 } });
    const reopened = await fixture.reopen(rt);
    const stored = await reopened.agents.show('a1');
    assert.deepEqual(stored.conversation, [{ role: 'system', content: 'be brief' }]);
    assert.deepEqual(stored.custom, { v: 2 });
  });

  it('delete is durable: a reopened runtime has no record, dead letters or state of the agent', async () => {
    const rt = await fixture.open();
    const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine });
    await rt.state.set(Scope.agent('a1'), 'k', 1);
    await rejection(agent.send({ type: 'THROW' }));
    await untilSettled(rt);
    assert.equal(await rt.agents.delete('a1'), true);
    const reopened = await fixture.reopen(rt);
    assert.deepEqual(await reopened.agents.list(), []);
    assert.deepEqual(await reopened.supervisors.deadLetters(), []);
    assert.deepEqual(await reopened.state.listKeys(Scope.agent('a1')), []);
    assert.equal(await reopened.agents.delete('a1'), false);
  });
});

describe('rt.agents on a closed runtime', function () {
  // Every test here takes milliseconds; a message that is never processed fails it in seconds, not at the suite's timeout.
  this.timeout(3000);

  const setups: [string, (rt: Runtime) => Promise<unknown> | unknown][] = [
    ['agents.spawn', (rt) => rt.agents.spawn({ id: 'b1', type: 'chat', machine })],
    ['agents.get', (rt) => rt.agents.get('a1')],
    ['agents.save', (rt) => rt.agents.save('a1')],
    ['agents.restore', (rt) => rt.agents.restore('a1', { machine })],
    ['agents.list', (rt) => rt.agents.list()],
    ['agents.show', (rt) => rt.agents.show('a1')],
    ['agents.delete', (rt) => rt.agents.delete('a1')],
    ['agents.deadLetters', (rt) => rt.agents.deadLetters()],
    ['supervisors.deadLetters', (rt) => rt.supervisors.deadLetters()],
    ['supervisors.create', (rt) => rt.supervisors.create({ id: 'late', strategy: 'one_for_one' })],
  ];
  for (const [name, operation] of setups) {
    it(`rejects ${name} with RUNTIME_CLOSED`, async () => {
      const rt = await createRuntime({ memory: true });
      await rt.agents.spawn({ id: 'a1', type: 'chat', machine });
      await rt.close();
      const error = await rejection(Promise.resolve().then(() => operation(rt)));
      assert.equal(error.code, 'RUNTIME_CLOSED');
    });
  }

  // A handle taken before close must not outlive the runtime either.
  const handleOperations: [string, (agent: ReturnType<Runtime['agents']['get']>) => Promise<unknown>][] = [
    ['send', (agent) => agent.send({ type: 'SAY', text: 'late' })],
    ['pause', (agent) => agent.pause()],
    ['resume', (agent) => agent.resume()],
    ['stop', (agent) => agent.stop()],
    ['save', (agent) => agent.save()],
    ['update', (agent) => agent.update({ custom: { late: true } })],
  ];
  for (const [name, operation] of handleOperations) {
    it(`rejects handle.${name} with RUNTIME_CLOSED`, async () => {
      const rt = await createRuntime({ memory: true });
      const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine });
      await rt.close();
      const error = await rejection(operation(agent));
      assert.equal(error.code, 'RUNTIME_CLOSED');
    });
  }

  it('close rejects messages still queued at a paused agent with RUNTIME_CLOSED', async () => {
    const rt = await createRuntime({ memory: true });
    const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine });
    await agent.pause();
    const queued = agent.send({ type: 'SAY', text: 'never' });
    await rt.close();
    assert.equal((await rejection(queued)).code, 'RUNTIME_CLOSED');
  });
});
