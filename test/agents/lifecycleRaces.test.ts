/**
 * spawn, restore and delete of one agent id, issued concurrently. Each race is made deterministic: the
 * operations are issued in one turn, or the store holds one step until another has been issued.
 * Afterwards the registry (`get`, `list`), the supervisor's children, the stored record and the
 * `agent.*` events must tell the same story.
 */
import assert from 'node:assert/strict';
import { createRuntime, onRuntimeFatal, Scope, type AgentHandle, type LlmStateError, type Runtime } from '../../src/index.js';
import { storageOf } from '../../src/runtime.js';
import { chatMachine } from '../fixtures/chatMachine.js';
import { rejection, RuntimeFixture } from '../helpers.js';
import { textsOf, until, untilSettled } from './agentKit.js';

const machine = chatMachine();
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

type Outcome<T> = { ok: true; value: T } | { ok: false; error: Error & { code?: string } };

function outcome<T>(promise: Promise<T>): Promise<Outcome<T>> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: Error & { code?: string }) => ({ ok: false as const, error }),
  );
}

async function lifecycleEvents(rt: Runtime, id: string): Promise<string[]> {
  return (await rt.events.query({ agentId: id, kinds: ['agent.spawned', 'agent.restored', 'agent.stopped', 'agent.deleted'] })).map((event) => event.kind);
}

/** What each view says about agent `id`: live in the registry, child of `supervisor`, stored. */
async function views(rt: Runtime, id: string, supervisor = 'agents'): Promise<{ live: boolean; child: boolean; stored: boolean; listed: boolean }> {
  let live = true;
  try {
    rt.agents.get(id);
  } catch (error) {
    assert.equal((error as { code?: string }).code, 'AGENT_NOT_FOUND');
    live = false;
  }
  const child = rt.supervisors.whichChildren(supervisor).some((c) => c.id === id);
  const stored = (await outcome(rt.agents.show(id))).ok;
  const listed = (await rt.agents.list()).some((summary) => summary.id === id && summary.live);
  return { live, child, stored, listed };
}

const LIVE = { live: true, child: true, stored: true, listed: true };
const GONE = { live: false, child: false, stored: false, listed: false };

describe('rt.agents lifecycle races', function () {
  this.timeout(5000);

  let rt: Runtime;
  beforeEach(async () => {
    rt = await createRuntime({ memory: true });
  });
  afterEach(() => rt.close());

  describe('two concurrent spawns of one id', () => {
    it('one resolves and runs with its own config; the other is the TypeError of a taken id, and leaves no trace', async () => {
      const [first, second] = await Promise.all([
        outcome(rt.agents.spawn({ id: 'a', type: 'chat', config: { n: 1 }, machine })),
        outcome(rt.agents.spawn({ id: 'a', type: 'chat', config: { n: 2 }, machine })),
      ]);
      assert.equal(first.ok, true);
      assert.equal(second.ok, false);
      assert.ok(!second.ok && second.error instanceof TypeError, 'the loser is the TypeError of a taken id');
      assert.match(!second.ok ? second.error.message : '', /already running/);
      assert.deepEqual(await views(rt, 'a'), LIVE);
      assert.deepEqual((await rt.agents.show('a')).config, { n: 1 });
      assert.deepEqual(rt.agents.get('a').record().config, { n: 1 });
      assert.deepEqual(await lifecycleEvents(rt, 'a'), ['agent.spawned']);
    });

    it('after the race, delete stops the supervisor child, and the id can be spawned again', async () => {
      await Promise.all([
        outcome(rt.agents.spawn({ id: 'a', type: 'chat', machine })),
        outcome(rt.agents.spawn({ id: 'a', type: 'chat', machine })),
      ]);
      assert.equal(await rt.agents.delete('a'), true);
      assert.deepEqual(await views(rt, 'a'), GONE);
      const again = await rt.agents.spawn({ id: 'a', type: 'chat', config: { n: 3 }, machine });
      assert.deepEqual(textsOf(await again.send({ type: 'SAY', text: 'hi' })), ['hi']);
      assert.deepEqual(await views(rt, 'a'), LIVE);
      assert.deepEqual(await lifecycleEvents(rt, 'a'), ['agent.spawned', 'agent.deleted', 'agent.spawned']);
    });
  });

  describe('two concurrent restores of one id', () => {
    beforeEach(async () => {
      await (await rt.agents.spawn({ id: 'a', type: 'chat', machine })).stop();
    });

    it('both resolve with a handle on one running agent, restored once', async () => {
      const [first, second] = await Promise.all([rt.agents.restore('a', { machine }), rt.agents.restore('a', { machine })]);
      assert.deepEqual(await views(rt, 'a'), LIVE);
      assert.deepEqual(rt.supervisors.whichChildren('agents').map((child) => child.id), ['a']);
      await first.send({ type: 'SAY', text: 'one' });
      assert.deepEqual(textsOf(await second.send({ type: 'SAY', text: 'two' })), ['one', 'two']);
      assert.deepEqual(await lifecycleEvents(rt, 'a'), ['agent.spawned', 'agent.stopped', 'agent.restored']);
    });

    it('after the race, delete stops the supervisor child, and the id can be spawned again', async () => {
      await Promise.all([rt.agents.restore('a', { machine }), rt.agents.restore('a', { machine })]);
      assert.equal(await rt.agents.delete('a'), true);
      assert.deepEqual(await views(rt, 'a'), GONE);
      await rt.agents.spawn({ id: 'a', type: 'chat', machine });
      assert.deepEqual(await views(rt, 'a'), LIVE);
    });
  });

  describe('concurrent deletes of one id', () => {
    it('the first resolves true and the second false, and nothing of the agent is left', async () => {
      await rt.agents.spawn({ id: 'a', type: 'chat', machine });
      await rt.state.set(Scope.agent('a'), 'k', 1);
      const results = await Promise.all([rt.agents.delete('a'), rt.agents.delete('a'), rt.agents.delete('a')]);
      assert.deepEqual(results, [true, false, false]);
      assert.deepEqual(await views(rt, 'a'), GONE);
      assert.deepEqual(await rt.state.listKeys(Scope.agent('a')), []);
      assert.deepEqual(await lifecycleEvents(rt, 'a'), ['agent.spawned', 'agent.deleted']);
    });
  });

  describe('spawn, then delete in the same turn', () => {
    it('runs in call order: the spawn resolves, the delete resolves true, and nothing is left', async () => {
      const spawning = outcome(rt.agents.spawn({ id: 'a', type: 'chat', machine }));
      const deleting = rt.agents.delete('a');
      assert.equal((await spawning).ok, true);
      assert.equal(await deleting, true);
      assert.deepEqual(await views(rt, 'a'), GONE);
      assert.deepEqual(await lifecycleEvents(rt, 'a'), ['agent.spawned', 'agent.deleted']);
    });

    it('delete, then spawn in the same turn: the delete is false and the spawn stands', async () => {
      const deleting = rt.agents.delete('a');
      const spawning = rt.agents.spawn({ id: 'a', type: 'chat', machine });
      assert.equal(await deleting, false);
      await spawning;
      assert.deepEqual(await views(rt, 'a'), LIVE);
    });
  });

  describe('operations on a handle racing a delete', () => {
    const operations: [string, (agent: AgentHandle) => Promise<unknown>][] = [
      ['send', (agent) => agent.send({ type: 'SAY', text: 'late' })],
      ['save', (agent) => agent.save()],
      ['pause', (agent) => agent.pause()],
      ['resume', (agent) => agent.resume()],
      ['update', (agent) => agent.update({ custom: { late: true } })],
    ];
    for (const [name, operation] of operations) {
      it(`${name} after delete resolved is ACTOR_STOPPED and does not bring the record back`, async () => {
        const agent = await rt.agents.spawn({ id: 'a', type: 'chat', machine });
        if (name === 'resume') await agent.pause();
        assert.equal(await rt.agents.delete('a'), true);
        const error = await rejection(operation(agent));
        assert.equal(error.code, 'ACTOR_STOPPED');
        assert.deepEqual(await views(rt, 'a'), GONE);
        assert.deepEqual(await rt.agents.list(), []);
      });

      for (let turns = 0; turns <= 6; turns++) {
        it(`${name} issued ${turns} turns into a delete either happens before it or is refused; the agent stays deleted`, async () => {
          const agent = await rt.agents.spawn({ id: 'a', type: 'chat', machine });
          if (name === 'resume') await agent.pause();
          const deleting = rt.agents.delete('a');
          for (let i = 0; i < turns; i++) await turn();
          const result = await outcome(operation(agent));
          assert.equal(await deleting, true);
          if (!result.ok) assert.equal(result.error.code, 'ACTOR_STOPPED', result.error.message);
          assert.deepEqual(await views(rt, 'a'), GONE);
          assert.deepEqual(await lifecycleEvents(rt, 'a'), ['agent.spawned', 'agent.deleted']);
        });
      }
    }

    it('save by id after delete is AGENT_NOT_FOUND', async () => {
      await rt.agents.spawn({ id: 'a', type: 'chat', machine });
      await rt.agents.delete('a');
      assert.equal((await rejection(rt.agents.save('a'))).code, 'AGENT_NOT_FOUND');
    });

    it('stop through a handle of a deleted agent leaves the agent spawned again under that id running', async () => {
      const old = await rt.agents.spawn({ id: 'a', type: 'chat', machine });
      await rt.agents.delete('a');
      const fresh = await rt.agents.spawn({ id: 'a', type: 'chat', machine });
      await old.stop();
      assert.deepEqual(await views(rt, 'a'), LIVE);
      assert.deepEqual(textsOf(await fresh.send({ type: 'SAY', text: 'still here' })), ['still here']);
    });
  });

  it('a spawn still waiting its turn when the root supervisor fails is SUPERVISOR_SHUTDOWN, and stores nothing', async () => {
    const fatal: LlmStateError[] = [];
    onRuntimeFatal(rt, (error) => fatal.push(error));
    // intensity 0: every crash escalates to root, which allows 3 restarts in 5000 ms; the fourth is fatal.
    rt.supervisors.create({ id: 'team', strategy: 'one_for_one', intensity: 0, period: 5000 });
    const agent = await rt.agents.spawn({ id: 'crasher', type: 'chat', machine, supervisor: 'team' });
    for (let crash = 0; crash < 3; crash++) {
      await rejection(agent.send({ type: 'THROW' }));
      await untilSettled(rt);
    }
    // A delete of 'late' holds its turn at the store while the root fails; a spawn of 'late' waits behind it.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    storageOf(rt).intercept({
      async beforeGet(sublevel, key) {
        if (sublevel === 'agents' && key.toString('utf8').endsWith('late')) await held;
      },
    });
    const deleting = rt.agents.delete('late');
    const spawning = rejection(rt.agents.spawn({ id: 'late', type: 'chat', machine }));
    await rejection(agent.send({ type: 'THROW', text: 'the last straw' }));
    await until(() => fatal.length > 0, 'runtime.fatal');
    release();
    assert.equal(await deleting, false);
    assert.equal((await spawning).code, 'SUPERVISOR_SHUTDOWN');
    assert.deepEqual(await lifecycleEvents(rt, 'late'), []);
    assert.deepEqual((await rt.agents.list()).map((summary) => summary.id), ['crasher']);
  });

  it('spawn with an invalid shutdown is a TypeError that stores nothing and logs nothing', async () => {
    const error = await rejection(rt.agents.spawn({ id: 'a', type: 'chat', machine, shutdown: -1 }));
    assert.ok(error instanceof TypeError);
    assert.deepEqual(await views(rt, 'a'), GONE);
    assert.deepEqual(await lifecycleEvents(rt, 'a'), []);
  });
});

describe('rt.agents spawn racing delete, across a reopen', function () {
  this.timeout(5000);

  let fixture: RuntimeFixture;
  beforeEach(() => {
    fixture = new RuntimeFixture('agent-races');
  });
  afterEach(() => fixture.dispose());

  it('a delete issued while the spawn writes its record resolves true, and the agent is gone, also after close and reopen', async () => {
    const rt = await fixture.open();
    let spawning: Promise<Outcome<AgentHandle>> | undefined;
    let deleting: Promise<boolean> | undefined;
    // The delete is issued while the spawn's record is on its way to the store, and every read it
    // makes waits for the spawn to finish: the window in which the two used to overlap.
    storageOf(rt).intercept({
      beforeBatch(ops) {
        if (deleting === undefined && ops.some((op) => op.type === 'put' && op.sublevel === 'agents')) deleting = rt.agents.delete('a');
      },
      async beforeGet(sublevel) {
        if (deleting !== undefined && sublevel === 'agents') await spawning;
      },
    });
    spawning = outcome(rt.agents.spawn({ id: 'a', type: 'chat', machine }));
    assert.equal((await spawning).ok, true);
    assert.notEqual(deleting, undefined);
    assert.equal(await deleting, true);
    assert.deepEqual(await views(rt, 'a'), GONE);
    assert.deepEqual(await lifecycleEvents(rt, 'a'), ['agent.spawned', 'agent.deleted']);

    const reopened = await fixture.reopen(rt);
    assert.deepEqual(await reopened.agents.list(), []);
    assert.equal((await rejection(reopened.agents.restore('a', { machine }))).code, 'AGENT_NOT_FOUND');
    assert.deepEqual(await lifecycleEvents(reopened, 'a'), ['agent.spawned', 'agent.deleted']);
  });

  it('close() called in the turn of a spawn and a delete lets both finish first: the agent is gone after a reopen', async () => {
    const rt = await fixture.open();
    const spawning = outcome(rt.agents.spawn({ id: 'a', type: 'chat', machine }));
    const deleting = outcome(rt.agents.delete('a'));
    const kept = outcome(rt.agents.spawn({ id: 'b', type: 'chat', machine, config: { n: 2 } }));
    await rt.close();
    assert.equal((await spawning).ok, true);
    assert.deepEqual(await deleting, { ok: true, value: true });
    assert.equal((await kept).ok, true);
    const reopened = await fixture.reopen(rt);
    assert.deepEqual(
      (await reopened.agents.list()).map(({ id, live }) => ({ id, live })),
      [{ id: 'b', live: false }],
    );
    assert.deepEqual((await reopened.agents.show('b')).config, { n: 2 });
    assert.deepEqual(await lifecycleEvents(reopened, 'a'), ['agent.spawned', 'agent.deleted']);
  });

  it('spawn and delete issued a few turns apart: the delete finds the agent, and it stays gone after close and reopen', async () => {
    for (let turns = 0; turns <= 10; turns++) {
      const rt = await fixture.open();
      const id = `a${turns}`;
      const spawning = outcome(rt.agents.spawn({ id, type: 'chat', machine }));
      for (let i = 0; i < turns; i++) await turn();
      const deleted = await rt.agents.delete(id);
      assert.equal((await spawning).ok, true);
      // The spawn was issued first, so the delete runs after it and finds the agent.
      assert.equal(deleted, true, `delete ${turns} turns after the spawn`);
      assert.deepEqual(await views(rt, id), GONE, `after ${turns} turns`);
      const reopened = await fixture.reopen(rt);
      assert.deepEqual(await views(reopened, id), GONE, `after ${turns} turns and a reopen`);
      await reopened.close();
    }
  });
});
