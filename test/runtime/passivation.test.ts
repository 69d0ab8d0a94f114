import assert from 'node:assert/strict';
import { createRuntime, Scope, type Runtime } from '../../src/index.js';
import { actorsOf } from '../../src/runtime.js';
import { ManualClock, RuntimeFixture } from '../helpers.js';
import { ManualTimers } from '../ManualTimers.js';

describe('activation and passivation', () => {
  let rt: Runtime | undefined;
  afterEach(async () => {
    await rt?.close();
    rt = undefined;
  });

  it('an actor activates on its first message, not before', async () => {
    rt = await createRuntime({ memory: true });
    assert.equal(rt.metrics().actors.active, 0);
    await rt.state.get(Scope.agent('a1'), 'k');
    await rt.state.set(Scope.agent('a2'), 'k', 1);
    assert.equal(rt.metrics().actors.active, 2);
    assert.equal(rt.metrics().actors.activations, 2);
  });

  it('an actor idle for longer than idleMs is passivated, and the next message reloads its state', async () => {
    const clock = new ManualClock();
    rt = await createRuntime({ memory: true, idleMs: 1000, clock });
    await rt.state.set(Scope.agent('old'), 'k', 'kept');
    clock.advance(600);
    await rt.state.set(Scope.agent('recent'), 'k', 1);
    clock.advance(600);
    assert.equal(actorsOf(rt).passivateIdle(), 1, 'only the actor idle for 1200 ms goes');
    assert.equal(rt.metrics().actors.active, 1);
    assert.equal(rt.metrics().actors.passivations, 1);
    assert.equal(await rt.state.get(Scope.agent('old'), 'k'), 'kept');
    assert.equal(rt.metrics().actors.activations, 3);
  });

  it('the idle sweep runs by itself on a timer', async () => {
    const timers = new ManualTimers();
    rt = await createRuntime({ memory: true, idleMs: 100, clock: timers.clock, timers });
    await rt.state.set(Scope.agent('a1'), 'k', 1);
    // The sweep runs every 50 ms at this idleMs: at 50 ms the actor is not idle long enough yet.
    await timers.advance(50);
    assert.equal(rt.metrics().actors.active, 1);
    await timers.advance(50);
    assert.equal(rt.metrics().actors.active, 0);
  });

  it('an actor with queued work is never passivated for idleness', async () => {
    const clock = new ManualClock();
    rt = await createRuntime({ memory: true, idleMs: 10, clock });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const tx = rt.state.transaction(Scope.agent('busy'), async (t) => {
      await gate;
      t.set('k', 'done');
    });
    await new Promise((resolve) => setImmediate(resolve));
    clock.advance(1000);
    assert.equal(actorsOf(rt).passivateIdle(), 0);
    release();
    await tx;
    assert.equal(await rt.state.get(Scope.agent('busy'), 'k'), 'done');
  });

  it('memory stays within the budget however many scopes are touched: least recently used actors go first', async () => {
    const fixture = new RuntimeFixture('budget');
    try {
      const budget = 2 * 1024 * 1024;
      rt = await fixture.open({ memoryBudgetBytes: budget });
      const value = { text: 'x'.repeat(1000) };
      for (let i = 0; i < 3000; i++) {
        await rt.state.set(Scope.agent(`agent-${i}`), 'v', value);
        assert.ok(rt.metrics().actors.cacheBytes <= budget, `over budget after ${i} agents: ${rt.metrics().actors.cacheBytes}`);
      }
      const { active, passivations } = rt.metrics().actors;
      assert.ok(active < 3000 && passivations > 0, `expected passivation, got ${active} active`);
      // The most recent agent is still live; the first one was evicted and reloads from the store.
      const before = rt.metrics().actors.activations;
      assert.deepEqual(await rt.state.get(Scope.agent('agent-2999'), 'v'), value);
      assert.equal(rt.metrics().actors.activations, before);
      assert.deepEqual(await rt.state.get(Scope.agent('agent-0'), 'v'), value);
      assert.equal(rt.metrics().actors.activations, before + 1);
    } finally {
      await rt?.close();
      rt = undefined;
      await fixture.dispose();
    }
  });
});

describe('activation under memory pressure', () => {
  it('a scope activated while memory is over budget is not the actor evicted to make room', async () => {
    // A budget smaller than one actor's overhead: every activation is over budget.
    const rt = await createRuntime({ memory: true, memoryBudgetBytes: 1024 });
    try {
      for (let i = 0; i < 200; i++) await rt.state.set(Scope.agent(`a${i}`), 'k', i);
      for (let i = 0; i < 200; i += 37) assert.equal(await rt.state.get(Scope.agent(`a${i}`), 'k'), i);
    } finally {
      await rt.close();
    }
  });
});
