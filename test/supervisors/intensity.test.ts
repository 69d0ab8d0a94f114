import assert from 'node:assert/strict';
import { LlmStateError } from '../../src/errors.js';
import { Supervisor } from '../../supervisors/Supervisor.js';
import type { SupervisorEvent } from '../../supervisors/supervisorEvents.js';
import { eventLog, FakeChildren, harness } from './fakeChildren.js';
import { ManualTimers, settle } from '../ManualTimers.js';

function statuses(sup: Supervisor<never>): string[] {
  return sup.whichChildren().map((child) => `${child.id}:${child.status}:${child.restarts}`);
}

describe('Supervisor restart intensity', () => {
  it('more than `intensity` restarts within `period` make it stop its children in reverse and fail, calling onFatal at the root', async () => {
    const kids = new FakeChildren();
    const fatal: unknown[] = [];
    const { sup, events } = harness({
      id: 'root',
      strategy: 'one_for_one',
      intensity: 2,
      period: 5000,
      children: kids.specs(['a', 'b', 'c']),
      onFatal: (reason) => fatal.push(reason),
    });
    await sup.start();
    kids.take();
    for (let i = 0; i < 3; i++) {
      kids.crash('a');
      await settle();
    }
    assert.deepEqual(kids.take(), ['exit:a', 'start:a', 'exit:a', 'start:a', 'exit:a', 'stop:c', 'stop:b']);
    assert.equal(sup.status, 'failed');
    assert.deepEqual(statuses(sup), ['a:terminated:2', 'b:terminated:0', 'c:terminated:0']);
    assert.equal(fatal.length, 1);
    const { error } = fatal[0] as { error: LlmStateError };
    assert.ok(error instanceof LlmStateError);
    assert.equal(error.code, 'SUPERVISOR_SHUTDOWN');
    assert.match(error.message, /reached max restart intensity/);
    assert.deepEqual(error.details, { supervisor: 'root', child: 'a', intensity: 2, period: 5000, reason: 'reached_max_restart_intensity' });
    assert.deepEqual(eventLog(events).slice(-4), [
      'supervisor.restart_intensity_reached a',
      'supervisor.child_terminated c',
      'supervisor.child_terminated b',
      'supervisor.shutdown a',
    ]);
  });

  it('restarts further apart than `period` never exhaust the budget', async () => {
    const kids = new FakeChildren();
    const { sup, timers } = harness({ id: 'root', strategy: 'one_for_one', intensity: 1, period: 1000, children: kids.specs(['a']) });
    await sup.start();
    for (let i = 0; i < 5; i++) {
      kids.crash('a');
      await settle();
      await timers.advance(1001);
    }
    assert.equal(sup.status, 'running');
    assert.deepEqual(statuses(sup), ['a:running:5']);
  });

  it('a restart exactly `period` ms after another still counts in its window (as in OTP)', async () => {
    const kids = new FakeChildren();
    const { sup, timers } = harness({ id: 'root', strategy: 'one_for_one', intensity: 1, period: 1000, children: kids.specs(['a']) });
    await sup.start();
    kids.crash('a');
    await settle();
    await timers.advance(1000);
    kids.crash('a');
    await settle();
    assert.equal(sup.status, 'failed');
  });

  it('with intensity 0 the first restart already makes it fail', async () => {
    const kids = new FakeChildren();
    const { sup } = harness({ id: 'root', strategy: 'one_for_one', intensity: 0, children: kids.specs(['a', 'b']) });
    await sup.start();
    kids.take();
    kids.crash('b');
    await settle();
    assert.deepEqual(kids.take(), ['exit:b', 'stop:a']);
    assert.equal(sup.status, 'failed');
  });

  it('exits that need no restart do not count against the budget', async () => {
    const kids = new FakeChildren();
    const { sup } = harness({
      id: 'root',
      strategy: 'one_for_one',
      intensity: 0,
      children: [kids.spec('t', { restart: 'transient' }), kids.spec('tmp', { restart: 'temporary' })],
    });
    await sup.start();
    kids.exit('t', 'normal');
    kids.crash('tmp');
    await settle();
    assert.equal(sup.status, 'running');
    assert.deepEqual(sup.restartLog, []);
  });

  describe('a restart whose start rejects', () => {
    it('counts as a restart attempt and is retried until it starts, within the budget', async () => {
      const kids = new FakeChildren();
      const { sup, events } = harness({ id: 'root', strategy: 'one_for_one', intensity: 3, children: kids.specs(['a', 'b']) });
      await sup.start();
      kids.take();
      kids.failStarts('a', 2);
      kids.crash('a');
      await settle();
      assert.deepEqual(kids.take(), ['exit:a', 'fail:a', 'fail:a', 'start:a']);
      assert.equal(sup.status, 'running');
      assert.equal(sup.restartLog.length, 3);
      assert.deepEqual(statuses(sup), ['a:running:1', 'b:running:0']);
      assert.equal(events.filter((event) => event.type === 'supervisor.child_start_failed').length, 2);
    });

    it('exhausts the budget when it keeps failing, and the supervisor fails', async () => {
      const kids = new FakeChildren();
      const { sup } = harness({ id: 'root', strategy: 'one_for_one', intensity: 2, children: kids.specs(['a', 'b', 'c']) });
      await sup.start();
      kids.take();
      kids.failStarts('a');
      kids.crash('a');
      await settle();
      assert.deepEqual(kids.take(), ['exit:a', 'fail:a', 'fail:a', 'stop:c', 'stop:b']);
      assert.equal(sup.status, 'failed');
    });

    it('under one_for_all, restarts the whole group again from the first child', async () => {
      const kids = new FakeChildren();
      const { sup } = harness({ id: 'root', strategy: 'one_for_all', children: kids.specs(['a', 'b', 'c']) });
      await sup.start();
      kids.take();
      kids.failStarts('c', 1);
      kids.crash('a');
      await settle();
      assert.deepEqual(kids.take(), ['exit:a', 'stop:c', 'stop:b', 'start:a', 'start:b', 'fail:c', 'stop:b', 'stop:a', 'start:a', 'start:b', 'start:c']);
      assert.deepEqual(statuses(sup), ['a:running:2', 'b:running:2', 'c:running:1']);
      assert.deepEqual(
        sup.restartLog.map((entry) => entry.child),
        ['a', 'c'],
      );
    });

    it('under rest_for_one, restarts from the child that failed to start, leaving those before it running', async () => {
      const kids = new FakeChildren();
      const { sup } = harness({ id: 'root', strategy: 'rest_for_one', children: kids.specs(['a', 'b', 'c', 'd']) });
      await sup.start();
      kids.take();
      kids.failStarts('c', 1);
      kids.crash('b');
      await settle();
      assert.deepEqual(kids.take(), ['exit:b', 'stop:d', 'stop:c', 'start:b', 'fail:c', 'start:c', 'start:d']);
      assert.deepEqual(statuses(sup), ['a:running:0', 'b:running:1', 'c:running:1', 'd:running:1']);
    });
  });

  describe('escalation', () => {
    /** root: [w0, s1 [x, y], s2 [p, q]]; s1 gives up on its second restart. */
    function tree(rootStrategy: 'one_for_one' | 'one_for_all' | 'rest_for_one', rootIntensity = 3) {
      const kids = new FakeChildren();
      const timers = new ManualTimers();
      const events: SupervisorEvent[] = [];
      const fatal: unknown[] = [];
      const common = { clock: timers.clock, timers, emit: (event: SupervisorEvent) => events.push(event) };
      const root = new Supervisor({
        ...common,
        id: 'root',
        strategy: rootStrategy,
        intensity: rootIntensity,
        onFatal: (reason) => fatal.push(reason),
        children: [
          kids.spec('w0'),
          Supervisor.childSpec({ ...common, id: 's1', strategy: 'one_for_one', intensity: 1, children: kids.specs(['x', 'y']) }),
          Supervisor.childSpec({ ...common, id: 's2', strategy: 'one_for_one', children: kids.specs(['p', 'q']) }),
        ],
      });
      return { kids, root, events, fatal };
    }

    async function exhaustS1(kids: FakeChildren): Promise<void> {
      kids.crash('x');
      await settle();
      kids.crash('x');
      await settle();
    }

    it('a child supervisor past its budget stops its children and its parent restarts it by the parent’s strategy (one_for_all)', async () => {
      const { kids, root, events, fatal } = tree('one_for_all');
      await root.start();
      assert.deepEqual(kids.take(), ['start:w0', 'start:x', 'start:y', 'start:p', 'start:q']);
      const s1 = root.childRef('s1') as Supervisor;
      await exhaustS1(kids);
      assert.deepEqual(kids.take(), [
        'exit:x', 'start:x', 'exit:x', 'stop:y', // s1 gives up
        'stop:q', 'stop:p', 'stop:w0', // root stops the others in reverse
        'start:w0', 'start:x', 'start:y', 'start:p', 'start:q', // and starts all in order
      ]);
      assert.equal(s1.status, 'failed');
      const s1Again = root.childRef('s1') as Supervisor;
      assert.notEqual(s1Again, s1);
      assert.equal(s1Again.status, 'running');
      assert.deepEqual(statuses(s1Again), ['x:running:0', 'y:running:0']);
      assert.deepEqual(statuses(root), ['w0:running:1', 's1:running:1', 's2:running:1']);
      assert.equal(root.status, 'running');
      assert.deepEqual(fatal, []);
      const exited = events.find((event) => event.type === 'supervisor.child_exited' && event.supervisor === 'root');
      assert.match((exited as { reason: string }).reason, /^error: Supervisor 's1' reached max restart intensity/);
    });

    it('under a one_for_one parent, only the failed child supervisor is restarted', async () => {
      const { kids, root } = tree('one_for_one');
      await root.start();
      kids.take();
      const s2 = root.childRef('s2');
      await exhaustS1(kids);
      assert.deepEqual(kids.take(), ['exit:x', 'start:x', 'exit:x', 'stop:y', 'start:x', 'start:y']);
      assert.equal(root.childRef('s2'), s2);
      assert.deepEqual(statuses(root), ['w0:running:0', 's1:running:1', 's2:running:0']);
    });

    it('under a rest_for_one parent, the child supervisors after the failed one are restarted with it', async () => {
      const { kids, root } = tree('rest_for_one');
      await root.start();
      kids.take();
      await exhaustS1(kids);
      assert.deepEqual(kids.take(), ['exit:x', 'start:x', 'exit:x', 'stop:y', 'stop:q', 'stop:p', 'start:x', 'start:y', 'start:p', 'start:q']);
      assert.deepEqual(statuses(root), ['w0:running:0', 's1:running:1', 's2:running:1']);
    });

    it('escalates to the root, which fails in turn when its own budget is spent, stopping the whole tree in reverse and calling onFatal once', async () => {
      const { kids, root, fatal } = tree('one_for_one', 0);
      await root.start();
      kids.take();
      await exhaustS1(kids);
      assert.deepEqual(kids.take(), ['exit:x', 'start:x', 'exit:x', 'stop:y', 'stop:q', 'stop:p', 'stop:w0']);
      assert.equal(root.status, 'failed');
      assert.equal(fatal.length, 1);
      assert.equal((fatal[0] as { error: LlmStateError }).error.code, 'SUPERVISOR_SHUTDOWN');
      assert.equal(((fatal[0] as { error: LlmStateError }).error.details as { supervisor: string }).supervisor, 'root');
      assert.deepEqual(statuses(root), ['w0:terminated:0', 's1:terminated:0', 's2:terminated:0']);
    });

    it('a child supervisor does not call its own onFatal: its parent hears of the failure instead', async () => {
      const kids = new FakeChildren();
      const childFatal: unknown[] = [];
      const root = new Supervisor({
        id: 'root',
        strategy: 'one_for_one',
        children: [Supervisor.childSpec({ id: 's1', strategy: 'one_for_one', intensity: 0, children: kids.specs(['x']), onFatal: (r) => childFatal.push(r) })],
      });
      await root.start();
      kids.crash('x');
      await settle();
      assert.deepEqual(childFatal, []);
      assert.equal(root.whichChildren()[0].restarts, 1);
      await root.stop();
    });
  });
});
