import assert from 'node:assert/strict';
import { createRuntime, LlmStateError, Scope, type AgentHandle, type Runtime } from '../../src/index.js';
import { chatMachine } from '../fixtures/chatMachine.js';
import { storageOf } from '../../src/runtime.js';
import { ManualClock, rejection, RuntimeFixture } from '../helpers.js';
import { textsOf, untilSettled } from './agentKit.js';

/** The two ways a message crashes an agent: an injected fault, and a machine action that throws. */
const crashes: { how: string; cause: RegExp; crash(rt: Runtime, agent: AgentHandle): Promise<unknown> }[] = [
  {
    how: 'rt.faults.crashActor',
    cause: /injected crash of agent a1/,
    crash(rt, agent) {
      rt.faults.crashActor(agent.id);
      return agent.send({ type: 'SAY', text: 'doomed' });
    },
  },
  {
    how: 'a machine action that throws',
    cause: /machine of a1 threw/,
    crash: (_rt, agent) => agent.send({ type: 'THROW', text: 'doomed' }),
  },
];

describe('agent crashes', function () {
  // Every test here takes milliseconds; a message that is never processed fails it in seconds, not at the suite's timeout.
  this.timeout(3000);

  let rt: Runtime;
  let clock: ManualClock;
  let throws: string[];
  const machine = chatMachine({ onThrow: (id) => throws.push(id) });

  beforeEach(async () => {
    throws = [];
    clock = new ManualClock();
    rt = await createRuntime({ memory: true, clock, poisonLimit: 2 });
  });
  afterEach(() => rt.close());

  for (const { how, cause, crash } of crashes) {
    describe(`through ${how}`, () => {
      it('rejects the crashing message with ACTOR_CRASHED, carrying the cause', async () => {
        const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine });
        const error = await rejection(crash(rt, agent));
        assert.ok(error instanceof LlmStateError);
        assert.equal(error.code, 'ACTOR_CRASHED');
        assert.match(String((error.cause as Error).message), cause);
        assert.deepEqual(error.details, { agent: 'a1', crashes: 1, poison: false });
      });

      it('dead-letters the message before the caller sees the rejection', async () => {
        const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine });
        const seen = await crash(rt, agent).then(
          () => assert.fail('the crashing message resolved'),
          // The first thing the caller does on rejection: the letter must already be durable.
          () => rt.supervisors.deadLetters({ agentId: 'a1' }),
        );
        assert.equal(seen.length, 1);
        const [letter] = seen;
        assert.equal(letter.agentId, 'a1');
        assert.equal(letter.event.text, 'doomed');
        assert.match(letter.error, cause);
        assert.equal(letter.crashes, 1);
        assert.equal(letter.poison, false);
        assert.equal(letter.at, clock.now());
      });

      it('restarts the agent: later messages succeed', async () => {
        const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine });
        await agent.send({ type: 'SAY', text: 'before' });
        await rejection(crash(rt, agent));
        assert.deepEqual(textsOf(await agent.send({ type: 'SAY', text: 'after' })), ['before', 'after']);
        assert.equal(agent.status().restarts, 1);
        assert.equal((await rt.agents.show('a1')).metadata.restarts, 1);
        assert.deepEqual(rt.supervisors.whichChildren('agents'), [{ id: 'a1', type: 'worker', status: 'running', restarts: 1 }]);
      });

      it('keeps the messages queued behind the crashing one and processes them, in order, after the restart', async () => {
        const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine });
        await agent.send({ type: 'SAY', text: 'before' });
        const crashing = crash(rt, agent);
        const behind = [agent.send({ type: 'SAY', text: 'behind 1' }), agent.send({ type: 'SAY', text: 'behind 2' })];
        assert.equal(agent.status().queued, 3);
        assert.equal((await rejection(crashing)).code, 'ACTOR_CRASHED');
        const replies = await Promise.all(behind);
        assert.deepEqual(replies.map(textsOf), [
          ['before', 'behind 1'],
          ['before', 'behind 1', 'behind 2'],
        ]);
        assert.equal(agent.status().restarts, 1);
      });

      it("restarts the machine from the last persisted snapshot (persist 'lifecycle': the last save)", async () => {
        const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine, persist: 'lifecycle' });
        await agent.send({ type: 'SAY', text: 'saved' });
        await agent.send({ type: 'WORK' });
        await agent.save();
        const persisted = agent.record().machineSnapshot;
        await agent.send({ type: 'SAY', text: 'unsaved' });
        await agent.send({ type: 'REST' });
        await rejection(crash(rt, agent));
        await untilSettled(rt);
        assert.deepEqual(agent.record().machineSnapshot, persisted);
        const reply = await agent.send({ type: 'SAY', text: 'after' });
        assert.equal(reply.state, 'working');
        assert.deepEqual(textsOf(reply), ['saved', 'after']);
      });

      it("restarts the machine from the snapshot of the last acknowledged message (persist 'every-message')", async () => {
        const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine });
        await agent.send({ type: 'SAY', text: 'one' });
        await agent.send({ type: 'WORK' });
        const acknowledged = agent.record().machineSnapshot;
        await rejection(crash(rt, agent));
        await untilSettled(rt);
        assert.deepEqual(agent.record().machineSnapshot, acknowledged);
        // The crashing message left no trace in the machine.
        const reply = await agent.send({ type: 'SAY', text: 'two' });
        assert.equal(reply.state, 'working');
        assert.deepEqual(textsOf(reply), ['one', 'two']);
      });

      it('leaves rt.state of agent:<id> at the last acknowledged write', async () => {
        const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine });
        const scope = Scope.agent('a1');
        await rt.state.set(scope, 'topic', 'first');
        await rt.state.set(scope, 'topic', 'second');
        await rt.state.set(scope, 'plan', [1, 2]);
        const crashing = crash(rt, agent);
        // A write issued while the agent crashes is acknowledged, and so it stays.
        const during = rt.state.set(scope, 'during', true);
        await rejection(crashing);
        await during;
        await untilSettled(rt);
        assert.equal(await rt.state.get(scope, 'topic'), 'second');
        assert.deepEqual(await rt.state.get(scope, 'plan'), [1, 2]);
        assert.equal(await rt.state.get(scope, 'during'), true);
        assert.deepEqual(await rt.state.listKeys(scope), ['during', 'plan', 'topic']);
      });

      it('logs agent.spawned, agent.crashed and agent.restarted for the agent', async () => {
        const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine });
        await rejection(crash(rt, agent));
        await agent.send({ type: 'SAY', text: 'after' });
        const events = await rt.events.query({ agentId: 'a1', kinds: ['agent.*'] });
        assert.deepEqual(
          events.map((event) => event.kind),
          ['agent.spawned', 'agent.crashed', 'agent.restarted'],
        );
        const crashed = events[1];
        assert.equal(crashed.agentId, 'a1');
        assert.deepEqual((crashed.data as { event: string; crashes: number }).crashes, 1);
        // The supervisor's side of the story is indexed by the agent too.
        const supervision = await rt.events.query({ agentId: 'a1', kinds: ['supervisor.*'] });
        assert.deepEqual(
          supervision.map((event) => event.kind),
          ['supervisor.child_started', 'supervisor.child_exited', 'supervisor.child_restarted'],
        );
      });

      it('leaves other agents running, with their state', async () => {
        const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine });
        const other = await rt.agents.spawn({ id: 'b1', type: 'chat', machine });
        await other.send({ type: 'SAY', text: 'mine' });
        await rejection(crash(rt, agent));
        await untilSettled(rt);
        assert.equal(other.status().restarts, 0);
        assert.deepEqual(textsOf(await other.send({ type: 'SAY', text: 'still' })), ['mine', 'still']);
      });
    });
  }

  it('lists dead letters oldest first, also when several crashes happen within one millisecond', async () => {
    rt.supervisors.create({ id: 'team', strategy: 'one_for_one', intensity: 10, period: 5000 });
    const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine, supervisor: 'team' });
    const sent: string[] = [];
    for (let crash = 0; crash < 8; crash++) {
      rt.faults.crashActor('a1');
      sent.push(`crash ${crash}`);
      await rejection(agent.send({ type: 'SAY', text: `crash ${crash}` }));
    }
    assert.deepEqual(
      (await rt.supervisors.deadLetters({ agentId: 'a1' })).map((letter) => letter.event.text),
      sent,
    );
  });

  it('logs each injected crash as fault.injected, before it fires', async () => {
    const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine });
    rt.faults.crashActor('a1');
    rt.faults.crashActor('a1');
    await rejection(agent.send({ type: 'SAY', text: 'x' }));
    await rejection(agent.send({ type: 'SAY', text: 'y' }));
    const faults = await rt.events.query({ kinds: ['fault.injected'] });
    assert.deepEqual(
      faults.map((event) => ({ agentId: event.agentId, data: event.data })),
      [
        { agentId: 'a1', data: { fault: 'crashActor', agentId: 'a1' } },
        { agentId: 'a1', data: { fault: 'crashActor', agentId: 'a1' } },
      ],
    );
    assert.equal(rt.faults.fired, 2);
    assert.deepEqual(textsOf(await agent.send({ type: 'SAY', text: 'z' })), ['z']);
  });

  describe('poison messages', () => {
    it('refuses a message that crashed the agent poisonLimit times, without delivering it, and dead-letters it as poison', async () => {
      const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine });
      for (let crash = 1; crash <= 2; crash++) {
        const error = await rejection(agent.send({ type: 'THROW', text: 'poison' }));
        assert.deepEqual(error.details, { agent: 'a1', crashes: crash, poison: false });
        clock.advance(10_000); // outside the restart budget's period: this test is about poison, not the budget
      }
      assert.equal(throws.length, 2);

      const refused = await rejection(agent.send({ type: 'THROW', text: 'poison' }));
      assert.equal(refused.code, 'ACTOR_CRASHED');
      assert.deepEqual(refused.details, { agent: 'a1', crashes: 2, poison: true });
      assert.equal(throws.length, 2, 'the poison message reached the machine again');
      assert.equal(agent.status().restarts, 2, 'refusing a poison message must not crash the agent');

      const letters = await rt.supervisors.deadLetters({ agentId: 'a1' });
      assert.deepEqual(
        letters.map(({ event, crashes, poison }) => ({ text: event.text, crashes, poison })),
        [
          { text: 'poison', crashes: 1, poison: false },
          { text: 'poison', crashes: 2, poison: false },
          { text: 'poison', crashes: 2, poison: true },
        ],
      );
      const poisonEvents = await rt.events.query({ agentId: 'a1', kinds: ['agent.poison_message'] });
      assert.equal(poisonEvents.length, 1);
    });

    it('still delivers other messages, including ones of the same type with other content', async () => {
      const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine });
      await agent.send({ type: 'SAY', text: 'before' });
      for (let crash = 0; crash < 2; crash++) {
        await rejection(agent.send({ type: 'THROW', text: 'poison' }));
        clock.advance(10_000);
      }
      const refused = agent.send({ type: 'THROW', text: 'poison' });
      const next = agent.send({ type: 'SAY', text: 'after' });
      assert.equal((await rejection(refused)).details?.poison, true);
      assert.deepEqual(textsOf(await next), ['before', 'after']);
      // Another THROW is a different message: it is delivered (and crashes the agent once).
      assert.equal((await rejection(agent.send({ type: 'THROW', text: 'different' }))).details?.poison, false);
      assert.equal(throws.length, 3);
    });
  });

  describe('a message whose save fails', () => {
    let fixture: RuntimeFixture;
    beforeEach(() => {
      fixture = new RuntimeFixture('agent-save-fails');
    });
    afterEach(() => fixture.dispose());

    it('is rejected with STORAGE_FAILED and leaves no trace in the agent’s record, in memory or in the store', async () => {
      const disk = await fixture.open();
      disk.supervisors.create({ id: 'team', strategy: 'one_for_one' });
      // Temporary: nothing restarts the agent (and reloads its record) before the runtime closes.
      const agent = await disk.agents.spawn({ id: 'a1', type: 'chat', machine, supervisor: 'team', restart: 'temporary' });
      await agent.send({ type: 'SAY', text: 'kept' });
      let armed = true;
      storageOf(disk).intercept({
        beforeBatch(ops) {
          if (armed && ops.some((op) => op.sublevel === 'agents')) throw new Error('disk full');
        },
      });
      let closing: Promise<void> | undefined;
      let seen: ReturnType<AgentHandle['record']> | undefined;
      const error = await agent.send({ type: 'SAY', text: 'unsaved' }).then(
        () => assert.fail('the message was acknowledged although its save failed'),
        (failure: LlmStateError) => {
          armed = false;
          seen = agent.record();
          closing = disk.close(); // the caller shuts down at once, as a process on its way out would
          return failure;
        },
      );
      assert.equal(error.code, 'STORAGE_FAILED');
      assert.deepEqual((seen!.machineSnapshot as { context: { texts: string[] } }).context.texts, ['kept']);
      assert.equal(seen!.metadata.messages, 1);
      await closing;
      const reopened = await fixture.open();
      const stored = await reopened.agents.show('a1');
      assert.deepEqual((stored.machineSnapshot as { context: { texts: string[] } }).context.texts, ['kept']);
      assert.equal(stored.metadata.messages, 1);
    });
  });
});
