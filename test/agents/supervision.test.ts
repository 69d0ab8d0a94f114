import assert from 'node:assert/strict';
import { createRuntime, LlmStateError, onRuntimeFatal, Scope, type AgentHandle, type Runtime, type Strategy } from '../../src/index.js';
import { chatMachine } from '../fixtures/chatMachine.js';
import { ManualClock, rejection } from '../helpers.js';
import { settlesWithin, snapshotTexts, textsOf, untilSettled } from './agentKit.js';

describe('supervision of agents', function () {
  // Every test here takes milliseconds; a message that is never processed fails it in seconds, not at the suite's timeout.
  this.timeout(3000);

  let rt: Runtime;
  let clock: ManualClock;
  /** What the agents' machines did, in order: `start a1`, `stop a1`. */
  let trace: string[];
  const machine = chatMachine({ onStart: (id) => trace.push(`start ${id}`), onStop: (id) => trace.push(`stop ${id}`) });

  beforeEach(async () => {
    trace = [];
    clock = new ManualClock();
    rt = await createRuntime({ memory: true, clock });
  });
  afterEach(() => rt.close());

  /** Spawns agents under `supervisor`, each having processed one message. */
  async function spawnAll(supervisor: string, ids: string[], options: { restart?: 'permanent' | 'transient' | 'temporary' } = {}): Promise<AgentHandle[]> {
    const handles: AgentHandle[] = [];
    for (const id of ids) {
      const agent = await rt.agents.spawn({ id, type: 'chat', machine, supervisor, ...options });
      await agent.send({ type: 'SAY', text: `${id} before` });
      handles.push(agent);
    }
    return handles;
  }

  /** Each agent still holds its first message and takes a new one. */
  async function assertStateKept(handles: AgentHandle[]): Promise<void> {
    for (const agent of handles) {
      assert.deepEqual(textsOf(await agent.send({ type: 'SAY', text: 'after' })), [`${agent.id} before`, 'after'], `agent ${agent.id} lost its state`);
    }
  }

  function restartsOf(supervisor: string): Record<string, number> {
    return Object.fromEntries(rt.supervisors.whichChildren(supervisor).map((child) => [child.id, child.restarts]));
  }

  describe('strategies: a crash restarts exactly the strategy’s set', () => {
    const cases: { strategy: Strategy; restarted: string[] }[] = [
      { strategy: 'one_for_one', restarted: ['a2'] },
      { strategy: 'one_for_all', restarted: ['a1', 'a2', 'a3'] },
      { strategy: 'rest_for_one', restarted: ['a2', 'a3'] },
    ];
    for (const { strategy, restarted } of cases) {
      it(`${strategy}: a crash of a2 (of a1, a2, a3) restarts ${restarted.join(', ')}, in start order; every agent keeps its state`, async () => {
        rt.supervisors.create({ id: 'team', strategy, intensity: 3, period: 5000 });
        const team = await spawnAll('team', ['a1', 'a2', 'a3']);
        const [outsider] = await spawnAll('agents', ['o1']);
        trace = [];

        await rejection(team[1].send({ type: 'THROW' }));
        await untilSettled(rt);

        const expected = Object.fromEntries(['a1', 'a2', 'a3'].map((id) => [id, restarted.includes(id) ? 1 : 0]));
        assert.deepEqual(restartsOf('team'), expected);
        assert.deepEqual(Object.fromEntries(team.map((agent) => [agent.id, agent.status().restarts])), expected);
        assert.deepEqual(
          trace.filter((line) => line.startsWith('start')),
          restarted.map((id) => `start ${id}`),
        );
        // Siblings are stopped in reverse start order before the group starts again.
        const stoppedSiblings = restarted.filter((id) => id !== 'a2').reverse();
        assert.deepEqual(
          trace.filter((line) => line.startsWith('stop')),
          stoppedSiblings.map((id) => `stop ${id}`),
        );
        assert.equal(outsider.status().restarts, 0);
        assert.deepEqual(restartsOf('root'), { agents: 0, team: 0 });
        await assertStateKept([...team, outsider]);
      });
    }

    it('a message sent to a sibling while the strategy restarts it waits for the restart instead of being refused', async () => {
      rt.supervisors.create({ id: 'team', strategy: 'one_for_all', intensity: 3, period: 5000 });
      const [a1, a2, a3] = await spawnAll('team', ['a1', 'a2', 'a3']);
      // Sent as soon as the caller learns of the crash, while a1 and a3 are being restarted.
      const sent = await a2.send({ type: 'THROW' }).catch(() => [a1, a3].map((agent) => agent.send({ type: 'SAY', text: 'after' })));
      const outcomes = await Promise.allSettled(sent as Promise<unknown>[]);
      assert.deepEqual(
        outcomes.map((outcome) => (outcome.status === 'fulfilled' ? 'delivered' : (outcome.reason as LlmStateError).code)),
        ['delivered', 'delivered'],
      );
      await untilSettled(rt);
      assert.deepEqual(restartsOf('team'), { a1: 1, a2: 1, a3: 1 });
    });
  });

  describe('restart types', () => {
    beforeEach(() => {
      rt.supervisors.create({ id: 'team', strategy: 'one_for_one', intensity: 5, period: 5000 });
    });

    it('a permanent agent is restarted after a crash', async () => {
      const [agent] = await spawnAll('team', ['p1'], { restart: 'permanent' });
      await rejection(agent.send({ type: 'THROW' }));
      await untilSettled(rt);
      assert.deepEqual(restartsOf('team'), { p1: 1 });
      await assertStateKept([agent]);
    });

    it('a transient agent is restarted after a crash, which is an abnormal exit', async () => {
      const [agent] = await spawnAll('team', ['t1'], { restart: 'transient' });
      await rejection(agent.send({ type: 'THROW' }));
      await untilSettled(rt);
      assert.deepEqual(restartsOf('team'), { t1: 1 });
      await assertStateKept([agent]);
    });

    it('a temporary agent is not restarted after a crash: its supervisor forgets it', async () => {
      const [agent, other] = await spawnAll('team', ['x1', 'p1'], { restart: 'temporary' });
      await rejection(agent.send({ type: 'THROW' }));
      await untilSettled(rt, ['p1']);
      assert.deepEqual(restartsOf('team'), { p1: 0 });
      assert.equal(agent.status().restarts, 0);
      assert.deepEqual(rt.supervisors.countChildren('team'), { specs: 1, active: 1, supervisors: 0, workers: 1 });
      await assertStateKept([other]);
    });

    it('a temporary agent that crashed refuses later messages instead of leaving them waiting forever, and is listed as not running', async () => {
      const [agent] = await spawnAll('team', ['x1'], { restart: 'temporary' });
      await rejection(agent.send({ type: 'THROW' }));
      await untilSettled(rt, []);
      const late = agent.send({ type: 'SAY', text: 'late' });
      assert.equal(await settlesWithin(late), true, 'a message to a temporary agent that will never restart is left waiting');
      assert.equal((await rejection(late)).code, 'ACTOR_STOPPED');
      const [summary] = await rt.agents.list();
      assert.deepEqual({ id: summary.id, live: summary.live, status: summary.status }, { id: 'x1', live: false, status: 'crashed' });
    });

    it('a temporary agent stopped by a sibling’s restart is not restarted, refuses later messages and is listed as not running', async () => {
      rt.supervisors.create({ id: 'all', strategy: 'one_for_all', intensity: 5, period: 5000 });
      const [permanent] = await spawnAll('all', ['p1']);
      const [temporary] = await spawnAll('all', ['x1'], { restart: 'temporary' });
      await rejection(permanent.send({ type: 'THROW' }));
      await untilSettled(rt, ['p1']);
      assert.deepEqual(restartsOf('all'), { p1: 1 });
      const late = temporary.send({ type: 'SAY', text: 'late' });
      assert.equal(await settlesWithin(late), true, 'a message to a temporary agent that will never restart is left waiting');
      assert.equal((await rejection(late)).code, 'ACTOR_STOPPED');
      assert.deepEqual(
        (await rt.agents.list()).map(({ id, live }) => ({ id, live })),
        [
          { id: 'p1', live: true },
          { id: 'x1', live: false },
        ],
      );
      await assertStateKept([permanent]);
    });

    it('a temporary agent is not restarted when its supervisor gives up and is restarted by its parent', async () => {
      rt.supervisors.create({ id: 'fragile', strategy: 'one_for_one', intensity: 0, period: 5000 });
      const [permanent] = await spawnAll('fragile', ['p1']);
      const [temporary] = await spawnAll('fragile', ['x1'], { restart: 'temporary' });
      await rejection(permanent.send({ type: 'THROW' }));
      await untilSettled(rt, ['p1']);
      assert.deepEqual(restartsOf('root'), { agents: 0, team: 0, fragile: 1 });
      assert.deepEqual(restartsOf('fragile'), { p1: 0 });
      assert.equal(temporary.status().restarts, 0);
      await assertStateKept([permanent]);
    });

    it('under the default simple_one_for_one supervisor the template’s permanent restart applies, whatever the spawn says', async () => {
      const [agent] = await spawnAll('agents', ['s1'], { restart: 'temporary' });
      await rejection(agent.send({ type: 'THROW' }));
      await untilSettled(rt);
      assert.deepEqual(restartsOf('agents'), { s1: 1 });
      await assertStateKept([agent]);
    });
  });

  describe('restart budget', () => {
    it('past its intensity a supervisor escalates to root, which restarts it: its agents come back with their state reloaded', async () => {
      rt.supervisors.create({ id: 'team', strategy: 'one_for_one', intensity: 1, period: 5000 });
      const team = await spawnAll('team', ['a1', 'a2']);
      const [outsider] = await spawnAll('agents', ['o1']);

      await rejection(team[0].send({ type: 'THROW', text: 'first' }));
      await untilSettled(rt);
      assert.deepEqual(restartsOf('root'), { agents: 0, team: 0 });
      clock.advance(1000);
      await rejection(team[0].send({ type: 'THROW', text: 'second' }));
      await untilSettled(rt);

      assert.deepEqual(restartsOf('root'), { agents: 0, team: 1 });
      // A new run of the supervisor: its own counts start again, and it runs both agents.
      assert.deepEqual(restartsOf('team'), { a1: 0, a2: 0 });
      assert.deepEqual(team.map((agent) => agent.status().restarts), [2, 1]);
      assert.equal(outsider.status().restarts, 0);
      await assertStateKept([...team, outsider]);
      const reached = await rt.events.query({ kinds: ['supervisor.restart_intensity_reached'] });
      assert.deepEqual(
        reached.map((event) => event.data),
        [{ supervisor: 'team', child: 'a1', intensity: 1, period: 5000 }],
      );
    });

    it('crashes further apart than the period stay within the budget', async () => {
      rt.supervisors.create({ id: 'team', strategy: 'one_for_one', intensity: 1, period: 5000 });
      const [agent] = await spawnAll('team', ['a1']);
      for (let crash = 0; crash < 3; crash++) {
        await rejection(agent.send({ type: 'THROW', text: `crash ${crash}` }));
        await untilSettled(rt);
        clock.advance(5001);
      }
      assert.deepEqual(restartsOf('root'), { agents: 0, team: 0 });
      assert.deepEqual(restartsOf('team'), { a1: 3 });
    });

    describe('when the root exceeds its budget', () => {
      let fatal: LlmStateError[];
      let agent: AgentHandle;

      beforeEach(async () => {
        fatal = [];
        onRuntimeFatal(rt, (error) => fatal.push(error));
        await rt.state.set(Scope.global(), 'before', 'kept');
        // intensity 0: every crash escalates to root; root allows 3 restarts in 5000 ms.
        rt.supervisors.create({ id: 'team', strategy: 'one_for_one', intensity: 0, period: 5000 });
        [agent] = await spawnAll('team', ['a1']);
        for (let crash = 0; crash < 3; crash++) {
          await rejection(agent.send({ type: 'THROW', text: `crash ${crash}` }));
          await untilSettled(rt);
        }
        assert.deepEqual(restartsOf('root'), { agents: 0, team: 3 });
        assert.deepEqual(fatal, []);
        await rejection(agent.send({ type: 'THROW', text: 'the last straw' }));
        await untilSettledOrFatal();
      });

      async function untilSettledOrFatal(): Promise<void> {
        for (let turn = 0; turn < 20_000 && fatal.length === 0; turn++) await new Promise((resolve) => setImmediate(resolve));
      }

      it('calls the onRuntimeFatal listener once with SUPERVISOR_SHUTDOWN, and logs runtime.fatal', async () => {
        assert.equal(fatal.length, 1);
        assert.equal(fatal[0].code, 'SUPERVISOR_SHUTDOWN');
        assert.match(fatal[0].message, /root/);
        const events = await rt.events.query({ kinds: ['runtime.fatal'] });
        assert.equal(events.length, 1);
        assert.match(String((events[0].data as { reason: string }).reason), /root/);
        assert.equal(rt.supervisors.list().find((supervisor) => supervisor.id === 'root')?.status, 'failed');
      });

      it('rejects writes with SUPERVISOR_SHUTDOWN', async () => {
        assert.equal((await rejection(rt.state.set(Scope.global(), 'after', 1))).code, 'SUPERVISOR_SHUTDOWN');
        assert.equal((await rejection(rt.state.delete(Scope.global(), 'before'))).code, 'SUPERVISOR_SHUTDOWN');
        assert.equal((await rejection(rt.agents.spawn({ id: 'late', type: 'chat', machine }))).code, 'SUPERVISOR_SHUTDOWN');
        assert.equal((await rejection(rt.agents.restore('a1', { machine }))).code, 'SUPERVISOR_SHUTDOWN');
        assert.equal(await rt.state.get(Scope.global(), 'after'), undefined);
      });

      it('still serves reads', async () => {
        assert.equal(await rt.state.get(Scope.global(), 'before'), 'kept');
        assert.deepEqual(await rt.state.listKeys(Scope.global()), ['before']);
        assert.deepEqual((await rt.agents.list()).map((summary) => summary.id), ['a1']);
        assert.deepEqual(snapshotTexts((await rt.agents.show('a1')).machineSnapshot), ['a1 before']);
        assert.equal((await rt.supervisors.deadLetters({ agentId: 'a1' })).length, 4);
      });

      it('rejects writes through an agent handle with SUPERVISOR_SHUTDOWN, without leaving them waiting', async () => {
        const send = agent.send({ type: 'SAY', text: 'after the end' });
        assert.equal(await settlesWithin(send), true, 'a message sent after runtime.fatal is left waiting forever');
        assert.equal((await rejection(send)).code, 'SUPERVISOR_SHUTDOWN');
        assert.equal((await rejection(agent.save())).code, 'SUPERVISOR_SHUTDOWN');
        assert.equal((await rejection(agent.update({ custom: { late: true } }))).code, 'SUPERVISOR_SHUTDOWN');
      });

      it('closes cleanly', async () => {
        await rt.close();
        assert.equal(rt.closed, true);
      });
    });
  });

  describe('nested supervisors', () => {
    it('a child supervisor that gives up is restarted by its parent, with the parent’s strategy', async () => {
      rt.supervisors.create({ id: 'team', strategy: 'one_for_all', intensity: 3, period: 5000 });
      rt.supervisors.create({ id: 'left', parent: 'team', strategy: 'one_for_one', intensity: 0, period: 5000 });
      rt.supervisors.create({ id: 'right', parent: 'team', strategy: 'one_for_one', intensity: 3, period: 5000 });
      const [l1] = await spawnAll('left', ['l1']);
      const [r1] = await spawnAll('right', ['r1']);
      const [outsider] = await spawnAll('agents', ['o1']);
      assert.deepEqual(
        rt.supervisors.list().map(({ id, parent, strategy }) => ({ id, parent, strategy })),
        [
          { id: 'root', parent: undefined, strategy: 'one_for_one' },
          { id: 'agents', parent: 'root', strategy: 'simple_one_for_one' },
          { id: 'team', parent: 'root', strategy: 'one_for_all' },
          { id: 'left', parent: 'team', strategy: 'one_for_one' },
          { id: 'right', parent: 'team', strategy: 'one_for_one' },
        ],
      );

      await rejection(l1.send({ type: 'THROW' }));
      await untilSettled(rt);

      assert.deepEqual(restartsOf('team'), { left: 1, right: 1 });
      assert.deepEqual(restartsOf('root'), { agents: 0, team: 0 });
      assert.deepEqual([l1.status().restarts, r1.status().restarts, outsider.status().restarts], [1, 1, 0]);
      await assertStateKept([l1, r1, outsider]);
    });

    it('create validates its spec: an unknown parent is AGENT_NOT_FOUND, a bad strategy or a used id a TypeError', () => {
      assert.throws(() => rt.supervisors.create({ id: 'x', parent: 'nope', strategy: 'one_for_one' }), { code: 'AGENT_NOT_FOUND' });
      assert.throws(() => rt.supervisors.create({ id: 'y', strategy: 'one_for_some' as Strategy }), TypeError);
      assert.throws(() => rt.supervisors.create({ id: 'agents', strategy: 'one_for_one' }), TypeError);
      assert.deepEqual(rt.supervisors.list().map((supervisor) => supervisor.id), ['root', 'agents']);
    });
  });

  describe('shutdown on close', () => {
    it('stops agents in reverse start order, supervisor by supervisor', async () => {
      await spawnAll('agents', ['o1']);
      rt.supervisors.create({ id: 'first', strategy: 'one_for_one' });
      rt.supervisors.create({ id: 'second', strategy: 'rest_for_one' });
      await spawnAll('first', ['a1', 'a2', 'a3']);
      await spawnAll('second', ['b1', 'b2']);
      trace = [];
      await rt.close();
      assert.deepEqual(trace, ['stop b2', 'stop b1', 'stop a3', 'stop a2', 'stop a1', 'stop o1']);
    });
  });

  describe('storage faults', () => {
    it('a fault on an agent’s scope fails its next state write, which leaves no trace; the write after it succeeds', async () => {
      const scope = Scope.agent('a1');
      await rt.state.set(scope, 'k', 'acknowledged');
      rt.faults.failStorage({ scope, count: 1 });
      assert.equal((await rejection(rt.state.set(scope, 'k', 'failed'))).code, 'STORAGE_FAILED');
      assert.equal(await rt.state.get(scope, 'k'), 'acknowledged');
      await rt.state.set(scope, 'k', 'later');
      assert.equal(await rt.state.get(scope, 'k'), 'later');
    });

    it('a fault on one agent’s scope fails that agent’s write and not a concurrent write of another agent', async () => {
      rt.faults.failStorage({ scope: Scope.agent('a1'), count: 1 });
      const [mine, theirs] = await Promise.allSettled([rt.state.set(Scope.agent('a1'), 'k', 1), rt.state.set(Scope.agent('a2'), 'k', 2)]);
      assert.equal(theirs.status, 'fulfilled');
      assert.equal(await rt.state.get(Scope.agent('a2'), 'k'), 2);
      assert.equal(mine.status, 'rejected');
      assert.equal(await rt.state.get(Scope.agent('a1'), 'k'), undefined);
    });

    it('a fault on an agent’s scope makes its save fail, and the failed save left no trace', async () => {
      const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine, persist: 'lifecycle' });
      await agent.send({ type: 'SAY', text: 'a1 before' });
      await agent.save();
      const agentBefore = await rt.agents.show('a1');
      await agent.update({ custom: { kept: true } });
      rt.faults.failStorage({ scope: Scope.agent('a1'), count: 1 });
      await agent.send({ type: 'SAY', text: 'unsaved' });
      assert.equal((await rejection(agent.save())).code, 'STORAGE_FAILED');
      // The agent restarts from the store: what it holds is the last save that succeeded.
      rt.faults.crashActor('a1');
      await rejection(agent.send({ type: 'SAY', text: 'crash' }));
      await untilSettled(rt);
      assert.deepEqual(agent.record().custom, { kept: true });
      assert.deepEqual(snapshotTexts(agent.record().machineSnapshot), snapshotTexts(agentBefore.machineSnapshot));
    });

    it("with persist 'every-message', a message whose save fails is rejected with STORAGE_FAILED and leaves no trace in the machine", async () => {
      const [agent] = await spawnAll('agents', ['a1']);
      rt.faults.failStorage({ scope: Scope.agent('a1'), count: 1 });
      assert.equal((await rejection(agent.send({ type: 'SAY', text: 'unsaved' }))).code, 'STORAGE_FAILED');
      assert.deepEqual(textsOf(await agent.send({ type: 'SAY', text: 'saved' })), ['a1 before', 'saved']);
    });

    it('a fault on no scope with a count fails the next write (not just its own log entry), which leaves no trace', async () => {
      rt.faults.failStorage({ count: 1, op: 'batch' });
      assert.equal((await rejection(rt.state.set(Scope.global(), 'k', 'failed'))).code, 'STORAGE_FAILED');
      assert.equal(await rt.state.get(Scope.global(), 'k'), undefined);
      await rt.state.set(Scope.global(), 'k', 'later');
      assert.equal(await rt.state.get(Scope.global(), 'k'), 'later');
      assert.equal((await rt.events.query({ kinds: ['fault.injected'] })).length, 1);
    });

    it('logs each armed storage fault as fault.injected', async () => {
      rt.faults.failStorage({ scope: Scope.agent('a1'), count: 2 });
      await rt.state.set(Scope.global(), 'flush', true).catch(() => {});
      const [event] = await rt.events.query({ kinds: ['fault.injected'] });
      assert.deepEqual(event.data, { fault: 'failStorage', id: 1, scope: 'agent:a1', count: 2 });
    });
  });
});
