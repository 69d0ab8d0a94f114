import assert from 'node:assert/strict';
import { Supervisor } from '../../supervisors/Supervisor.js';
import type { SupervisorEvent } from '../../supervisors/supervisorEvents.js';
import { rejection } from '../helpers.js';
import { eventLog, FakeChildren, harness } from './fakeChildren.js';
import { ManualTimers, settle } from '../ManualTimers.js';

/** Tracks whether a promise has settled, without awaiting it. */
function track(promise: Promise<unknown>): { done: boolean } {
  const state = { done: false };
  promise.then(
    () => (state.done = true),
    () => (state.done = true),
  );
  return state;
}

describe('Supervisor shutdown', () => {
  it('stop() stops the children in reverse start order, leaves them terminated and reports supervisor.shutdown', async () => {
    const kids = new FakeChildren();
    const { sup, events } = harness({ id: 'root', strategy: 'one_for_one', children: kids.specs(['a', 'b', 'c']) });
    await sup.start();
    kids.take();
    await sup.stop();
    assert.deepEqual(kids.take(), ['stop:c', 'stop:b', 'stop:a']);
    assert.equal(sup.status, 'stopped');
    assert.deepEqual(
      sup.whichChildren().map((child) => child.status),
      ['terminated', 'terminated', 'terminated'],
    );
    assert.deepEqual(eventLog(events).slice(-4), [
      'supervisor.child_terminated c',
      'supervisor.child_terminated b',
      'supervisor.child_terminated a',
      'supervisor.shutdown',
    ]);
  });

  it('stop() stops a whole tree depth first, in reverse order at every level', async () => {
    const kids = new FakeChildren();
    const root = new Supervisor({
      id: 'root',
      strategy: 'one_for_one',
      children: [kids.spec('w0'), Supervisor.childSpec({ id: 's1', strategy: 'one_for_all', children: kids.specs(['x', 'y']) }), kids.spec('w2')],
    });
    await root.start();
    assert.deepEqual(kids.take(), ['start:w0', 'start:x', 'start:y', 'start:w2']);
    const s1 = root.childRef('s1') as Supervisor;
    await root.stop();
    assert.deepEqual(kids.take(), ['stop:w2', 'stop:y', 'stop:x', 'stop:w0']);
    assert.equal(s1.status, 'stopped');
  });

  it("shutdown 'brutal_kill' kills the child without asking it to stop", async () => {
    const kids = new FakeChildren();
    const { sup, events } = harness({ id: 'root', strategy: 'one_for_one', children: [kids.spec('a', { shutdown: 'brutal_kill' })] });
    await sup.start();
    kids.take();
    await sup.stop();
    assert.deepEqual(kids.take(), ['kill:a']);
    const terminated = events.find((event) => event.type === 'supervisor.child_terminated');
    assert.deepEqual({ ...terminated, at: 0 }, { type: 'supervisor.child_terminated', supervisor: 'root', child: 'a', how: 'killed', timedOut: false, at: 0 });
  });

  it('a numeric shutdown kills a child whose stop() never resolves after exactly that many ms', async () => {
    const kids = new FakeChildren();
    const { sup, timers, events } = harness({ id: 'root', strategy: 'one_for_one', children: [kids.spec('a', { shutdown: 100, stop: 'hang' })] });
    await sup.start();
    kids.take();
    const stopping = track(sup.stop());
    await timers.advance(99);
    assert.deepEqual(kids.take(), ['stop:a']);
    assert.equal(stopping.done, false);
    await timers.advance(1);
    assert.deepEqual(kids.take(), ['kill:a']);
    assert.equal(stopping.done, true);
    const terminated = events.find((event) => event.type === 'supervisor.child_terminated') as Extract<SupervisorEvent, { type: 'supervisor.child_terminated' }>;
    assert.equal(terminated.how, 'killed');
    assert.equal(terminated.timedOut, true);
  });

  it('a numeric shutdown does not kill a child that stops in time, and leaves no timer behind', async () => {
    const kids = new FakeChildren();
    const { sup, timers } = harness({ id: 'root', strategy: 'one_for_one', children: [kids.spec('a', { shutdown: 100, stop: 'manual' })] });
    await sup.start();
    kids.take();
    const stopping = track(sup.stop());
    await timers.advance(60);
    kids.current('a').finishStop();
    await settle();
    assert.equal(stopping.done, true);
    assert.equal(timers.pending, 0);
    await timers.advance(1000);
    assert.deepEqual(kids.take(), ['stop:a']);
  });

  it("shutdown 'infinity' waits for stop() however long it takes, and never kills", async () => {
    const kids = new FakeChildren();
    const { sup, timers } = harness({ id: 'root', strategy: 'one_for_one', children: [kids.spec('a', { shutdown: 'infinity', stop: 'manual' })] });
    await sup.start();
    kids.take();
    const stopping = track(sup.stop());
    await timers.advance(10_000_000);
    assert.equal(stopping.done, false);
    assert.equal(timers.pending, 0);
    kids.current('a').finishStop();
    await settle();
    assert.equal(stopping.done, true);
    assert.deepEqual(kids.take(), ['stop:a']);
  });

  it('children whose grace periods run out are stopped one after another, each timed from its own stop()', async () => {
    const kids = new FakeChildren();
    const { sup, timers } = harness({
      id: 'root',
      strategy: 'one_for_one',
      children: [kids.spec('a', { shutdown: 100, stop: 'hang' }), kids.spec('b', { shutdown: 50, stop: 'hang' })],
    });
    await sup.start();
    kids.take();
    const stopping = track(sup.stop());
    await settle();
    assert.deepEqual(kids.take(), ['stop:b']);
    await timers.advance(50);
    assert.deepEqual(kids.take(), ['kill:b', 'stop:a']);
    await timers.advance(99);
    assert.deepEqual(kids.take(), []);
    await timers.advance(1);
    assert.deepEqual(kids.take(), ['kill:a']);
    assert.equal(stopping.done, true);
  });

  it('a child whose stop() rejects is killed, and the error is reported in the event', async () => {
    const kids = new FakeChildren();
    const { sup, events } = harness({ id: 'root', strategy: 'one_for_one', children: [kids.spec('a', { stop: 'reject' })] });
    await sup.start();
    kids.take();
    await sup.stop();
    assert.deepEqual(kids.take(), ['stop:a', 'kill:a']);
    const terminated = events.find((event) => event.type === 'supervisor.child_terminated') as Extract<SupervisorEvent, { type: 'supervisor.child_terminated' }>;
    assert.equal(terminated.how, 'killed');
    assert.match(String((terminated.error as Error).message), /refused to stop/);
  });

  it('kill() kills every child at once in reverse order, without waiting', async () => {
    const kids = new FakeChildren();
    const { sup } = harness({ id: 'root', strategy: 'one_for_one', children: kids.specs(['a', 'b', 'c'], { stop: 'hang' }) });
    await sup.start();
    kids.take();
    sup.kill();
    assert.deepEqual(kids.take(), ['kill:c', 'kill:b', 'kill:a']);
    assert.equal(sup.status, 'stopped');
    await sup.stop();
  });

  it('kill() during a stop kills the children still waiting, and stop() resolves', async () => {
    const kids = new FakeChildren();
    const { sup } = harness({ id: 'root', strategy: 'one_for_one', children: kids.specs(['a', 'b'], { stop: 'hang', shutdown: 'infinity' }) });
    await sup.start();
    kids.take();
    const stopping = track(sup.stop());
    await settle();
    assert.deepEqual(kids.take(), ['stop:b']);
    sup.kill();
    await settle();
    assert.deepEqual(kids.take(), ['kill:b', 'kill:a']);
    assert.equal(stopping.done, true);
  });

  it('stop() is idempotent and resolves for every caller', async () => {
    const kids = new FakeChildren();
    const { sup } = harness({ id: 'root', strategy: 'one_for_one', children: kids.specs(['a']) });
    await sup.start();
    kids.take();
    await Promise.all([sup.stop(), sup.stop()]);
    await sup.stop();
    assert.deepEqual(kids.take(), ['stop:a']);
  });

  it('stop() before start() leaves it stopped, and start() is then refused', async () => {
    const kids = new FakeChildren();
    const { sup } = harness({ id: 'root', strategy: 'one_for_one', children: kids.specs(['a']) });
    await sup.stop();
    assert.equal(sup.status, 'stopped');
    const error = await rejection(sup.start());
    assert.ok(error instanceof TypeError);
    assert.deepEqual(kids.take(), []);
  });

  it('a simple_one_for_one supervisor asks all its children to stop at once, last started first, and waits for them all', async () => {
    const kids = new FakeChildren();
    const { sup } = harness<string>({
      id: 'pool',
      strategy: 'simple_one_for_one',
      childTemplate: { id: (name) => name, start: (link, name) => kids.start(name, link, 'manual') },
    });
    await sup.start();
    for (const name of ['x', 'y', 'z']) await sup.startChild(name);
    kids.take();
    const stopping = track(sup.stop());
    await settle();
    assert.deepEqual(kids.take(), ['stop:z', 'stop:y', 'stop:x']);
    kids.current('x').finishStop();
    kids.current('z').finishStop();
    await settle();
    assert.equal(stopping.done, false);
    kids.current('y').finishStop();
    await settle();
    assert.equal(stopping.done, true);
    assert.deepEqual(sup.whichChildren(), []);
  });

  it('a child supervisor stopped on its own reports shutdown to its parent, which restarts it if permanent', async () => {
    const kids = new FakeChildren();
    const timers = new ManualTimers();
    const root = new Supervisor({
      id: 'root',
      strategy: 'one_for_one',
      clock: timers.clock,
      timers,
      children: [Supervisor.childSpec({ id: 's1', strategy: 'one_for_one', children: kids.specs(['x']) })],
    });
    await root.start();
    kids.take();
    await (root.childRef('s1') as Supervisor).stop();
    await settle();
    assert.deepEqual(kids.take(), ['stop:x', 'start:x']);
    assert.equal(root.whichChildren()[0].restarts, 1);
  });

  it('a transient child supervisor stopped on its own is not restarted', async () => {
    const kids = new FakeChildren();
    const root = new Supervisor({
      id: 'root',
      strategy: 'one_for_one',
      children: [Supervisor.childSpec({ id: 's1', strategy: 'one_for_one', children: kids.specs(['x']) }, { restart: 'transient' })],
    });
    await root.start();
    kids.take();
    await (root.childRef('s1') as Supervisor).stop();
    await settle();
    assert.deepEqual(kids.take(), ['stop:x']);
    assert.deepEqual(root.whichChildren(), [{ id: 's1', type: 'supervisor', status: 'terminated', restarts: 0 }]);
  });
});
