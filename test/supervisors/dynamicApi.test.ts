import assert from 'node:assert/strict';
import { LlmStateError } from '../../src/errors.js';
import { Supervisor } from '../../supervisors/Supervisor.js';
import { rejection } from '../helpers.js';
import { eventLog, FakeChildren, harness } from './fakeChildren.js';
import { settle } from '../ManualTimers.js';

async function running(ids: string[] = ['a', 'b']) {
  const kids = new FakeChildren();
  const { sup, events, timers } = harness({ id: 'root', strategy: 'one_for_one', children: kids.specs(ids) });
  await sup.start();
  kids.take();
  return { kids, sup, events, timers };
}

function assertNotFound(error: Error & { code?: string; details?: Record<string, unknown> }, child: string): void {
  assert.ok(error instanceof LlmStateError, `expected an LlmStateError, got ${String(error)}`);
  assert.equal(error.code, 'AGENT_NOT_FOUND');
  assert.deepEqual(error.details, { supervisor: 'root', child });
}

describe('Supervisor dynamic API', () => {
  describe('startChild', () => {
    it('starts a child from a spec, adds it last in the start order, and resolves with its id and ref', async () => {
      const { kids, sup, events } = await running();
      const started = await sup.startChild(kids.spec('c', { restart: 'transient' }));
      assert.equal(started.id, 'c');
      assert.equal(started.ref, kids.current('c'));
      assert.equal(sup.childRef('c'), started.ref);
      assert.deepEqual(kids.take(), ['start:c']);
      assert.deepEqual(
        sup.whichChildren().map((child) => child.id),
        ['a', 'b', 'c'],
      );
      assert.deepEqual(eventLog(events).at(-1), 'supervisor.child_started c');
    });

    it('supervises a child it started like the others', async () => {
      const { kids, sup } = await running();
      await sup.startChild(kids.spec('c'));
      kids.take();
      kids.crash('c');
      await settle();
      assert.deepEqual(kids.take(), ['exit:c', 'start:c']);
    });

    it('rejects an invalid spec with a TypeError and starts nothing', async () => {
      const { kids, sup } = await running();
      const error = await rejection(sup.startChild({ id: 'c', start: kids.spec('c').start, restart: 'always' } as never));
      assert.ok(error instanceof TypeError);
      assert.equal(error.message, "Expected `spec.restart` to be 'permanent', 'transient' or 'temporary', got `\"always\"` (string)");
      assert.deepEqual(kids.take(), []);
    });

    it('rejects a spec whose id is running, or present but terminated, with a TypeError', async () => {
      const { kids, sup } = await running();
      const runningError = await rejection(sup.startChild(kids.spec('a')));
      assert.ok(runningError instanceof TypeError);
      assert.match(runningError.message, /'a' .*already running/);
      await sup.terminateChild('a');
      const presentError = await rejection(sup.startChild(kids.spec('a')));
      assert.ok(presentError instanceof TypeError);
      assert.match(presentError.message, /present \(terminated\)/);
    });

    it('rejects with the child’s own error when its start fails, and adds nothing', async () => {
      const { kids, sup } = await running();
      kids.failStarts('c', 1);
      const error = await rejection(sup.startChild(kids.spec('c')));
      assert.equal(error.message, 'c failed to start');
      assert.deepEqual(
        sup.whichChildren().map((child) => child.id),
        ['a', 'b'],
      );
    });
  });

  describe('terminateChild', () => {
    it('stops a child and keeps its spec as terminated', async () => {
      const { kids, sup } = await running();
      await sup.terminateChild('a');
      assert.deepEqual(kids.take(), ['stop:a']);
      assert.deepEqual(sup.whichChildren()[0], { id: 'a', type: 'worker', status: 'terminated', restarts: 0 });
      assert.equal(sup.childRef('a'), undefined);
    });

    it('removes a temporary child’s spec', async () => {
      const { kids, sup } = await running();
      await sup.startChild(kids.spec('t', { restart: 'temporary' }));
      await sup.terminateChild('t');
      assert.deepEqual(
        sup.whichChildren().map((child) => child.id),
        ['a', 'b'],
      );
    });

    it('does nothing to a child already terminated', async () => {
      const { kids, sup } = await running();
      await sup.terminateChild('a');
      await sup.terminateChild('a');
      assert.deepEqual(kids.take(), ['stop:a']);
    });

    it('is not a restart: the strategy is not applied and the budget is untouched', async () => {
      const kids = new FakeChildren();
      const { sup } = harness({ id: 'root', strategy: 'one_for_all', intensity: 0, children: kids.specs(['a', 'b']) });
      await sup.start();
      kids.take();
      await sup.terminateChild('a');
      await settle();
      assert.deepEqual(kids.take(), ['stop:a']);
      assert.equal(sup.status, 'running');
    });

    it('cancels the pending restart of a child waiting for its backoff', async () => {
      const kids = new FakeChildren();
      const { sup, timers } = harness({ id: 'root', strategy: 'one_for_one', backoff: { minMs: 100, maxMs: 100 }, children: kids.specs(['a']) });
      await sup.start();
      kids.crash('a');
      await settle();
      await sup.terminateChild('a');
      assert.equal(timers.pending, 0);
      await timers.advance(1000);
      assert.equal(kids.runs('a'), 1);
      assert.equal(sup.whichChildren()[0].status, 'terminated');
    });

    it('rejects an unknown id with AGENT_NOT_FOUND', async () => {
      const { sup } = await running();
      assertNotFound(await rejection(sup.terminateChild('nope')), 'nope');
    });

    it('rejects an id that is not a non-empty string with a TypeError', async () => {
      const { sup } = await running();
      const error = await rejection(sup.terminateChild(''));
      assert.ok(error instanceof TypeError);
      assert.equal(error.message, "Expected `id` to be a non-empty string, got `\"\"` (string)");
    });
  });

  describe('restartChild', () => {
    it('starts a terminated child again from its kept spec and resolves with its new ref', async () => {
      const { kids, sup, events } = await running();
      await sup.terminateChild('a');
      const ref = await sup.restartChild('a');
      assert.equal(ref, kids.current('a'));
      assert.deepEqual(kids.take(), ['stop:a', 'start:a']);
      assert.deepEqual(sup.whichChildren()[0], { id: 'a', type: 'worker', status: 'running', restarts: 1 });
      assert.equal(eventLog(events).at(-1), 'supervisor.child_restarted a');
      assert.deepEqual(sup.restartLog, [], 'a manual restart is not counted against the budget');
    });

    it('rejects a running child with a TypeError', async () => {
      const { sup } = await running();
      const error = await rejection(sup.restartChild('a'));
      assert.ok(error instanceof TypeError);
      assert.match(error.message, /Cannot restart child 'a' of supervisor 'root': it is running/);
    });

    it('rejects a child waiting to be restarted with a TypeError', async () => {
      const kids = new FakeChildren();
      const { sup } = harness({ id: 'root', strategy: 'one_for_one', backoff: { minMs: 100, maxMs: 100 }, children: kids.specs(['a']) });
      await sup.start();
      kids.crash('a');
      await settle();
      const error = await rejection(sup.restartChild('a'));
      assert.ok(error instanceof TypeError);
      assert.match(error.message, /it is restarting/);
    });

    it('rejects with the child’s error when its start fails, leaving it terminated', async () => {
      const { kids, sup } = await running();
      await sup.terminateChild('a');
      kids.failStarts('a', 1);
      const error = await rejection(sup.restartChild('a'));
      assert.equal(error.message, 'a failed to start');
      assert.equal(sup.whichChildren()[0].status, 'terminated');
    });

    it('rejects an unknown id with AGENT_NOT_FOUND', async () => {
      const { sup } = await running();
      assertNotFound(await rejection(sup.restartChild('nope')), 'nope');
    });
  });

  describe('deleteChild', () => {
    it('removes a terminated child’s spec', async () => {
      const { sup } = await running();
      await sup.terminateChild('a');
      await sup.deleteChild('a');
      assert.deepEqual(
        sup.whichChildren().map((child) => child.id),
        ['b'],
      );
    });

    it('rejects a running child with a TypeError', async () => {
      const { sup } = await running();
      const error = await rejection(sup.deleteChild('a'));
      assert.ok(error instanceof TypeError);
      assert.match(error.message, /Cannot delete child 'a' of supervisor 'root': it is running; terminate it first/);
    });

    it('rejects an unknown id with AGENT_NOT_FOUND', async () => {
      const { sup } = await running();
      assertNotFound(await rejection(sup.deleteChild('nope')), 'nope');
    });
  });

  describe('whichChildren and countChildren', () => {
    it('count specs, running children, supervisors and workers', async () => {
      const kids = new FakeChildren();
      const { sup } = harness({
        id: 'root',
        strategy: 'one_for_one',
        children: [...kids.specs(['a', 'b', 'c']), Supervisor.childSpec({ id: 's1', strategy: 'one_for_one', children: kids.specs(['x']) })],
      });
      await sup.start();
      await sup.terminateChild('b');
      assert.deepEqual(sup.countChildren(), { specs: 4, active: 3, supervisors: 1, workers: 3 });
      assert.deepEqual(sup.whichChildren()[3], { id: 's1', type: 'supervisor', status: 'running', restarts: 0 });
      await sup.stop();
    });

    it('still answer once the supervisor is stopped, listing the kept children as terminated', async () => {
      const { sup } = await running();
      await sup.stop();
      assert.deepEqual(sup.countChildren(), { specs: 2, active: 0, supervisors: 0, workers: 2 });
      assert.deepEqual(
        sup.whichChildren().map((child) => child.status),
        ['terminated', 'terminated'],
      );
    });
  });

  describe('on a simple_one_for_one supervisor', () => {
    async function pool(withId = true) {
      const kids = new FakeChildren();
      const { sup } = harness<{ name: string }>({
        id: 'pool',
        strategy: 'simple_one_for_one',
        childTemplate: {
          ...(withId ? { id: (args: { name: string }) => args.name } : {}),
          start: (link, args) => kids.start(args.name, link),
        },
      });
      await sup.start();
      return { kids, sup };
    }

    it('startChild(args) names the child with the template’s id(args)', async () => {
      const { sup } = await pool();
      const { id } = await sup.startChild({ name: 'agent-1' });
      assert.equal(id, 'agent-1');
      assert.deepEqual(sup.countChildren(), { specs: 1, active: 1, supervisors: 0, workers: 1 });
    });

    it('without a template id, children are named <supervisor>-<n>', async () => {
      const { sup } = await pool(false);
      const first = await sup.startChild({ name: 'x' });
      const second = await sup.startChild({ name: 'y' });
      assert.deepEqual([first.id, second.id], ['pool-1', 'pool-2']);
    });

    it('rejects a template id that is not a non-empty string with a TypeError', async () => {
      const kids = new FakeChildren();
      const { sup } = harness<string>({
        id: 'pool',
        strategy: 'simple_one_for_one',
        childTemplate: { id: () => '', start: (link, name) => kids.start(name, link) },
      });
      await sup.start();
      const error = await rejection(sup.startChild('x'));
      assert.ok(error instanceof TypeError);
      assert.equal(error.message, "Expected `childTemplate.id(args)` to return a non-empty string, got `\"\"` (string)");
    });

    it('terminateChild stops the child and forgets it', async () => {
      const { kids, sup } = await pool();
      await sup.startChild({ name: 'x' });
      await sup.terminateChild('x');
      assert.deepEqual(kids.take(), ['start:x', 'stop:x']);
      assert.deepEqual(sup.whichChildren(), []);
    });

    it('restartChild and deleteChild are refused with a TypeError, as in OTP', async () => {
      const { sup } = await pool();
      await sup.startChild({ name: 'x' });
      for (const error of [await rejection(sup.restartChild('x')), await rejection(sup.deleteChild('x'))]) {
        assert.ok(error instanceof TypeError);
        assert.match(error.message, /is not available on simple_one_for_one supervisor 'pool'/);
      }
    });
  });

  describe('on a supervisor that is not running', () => {
    it('every operation before start() is a TypeError', async () => {
      const kids = new FakeChildren();
      const { sup } = harness({ id: 'root', strategy: 'one_for_one' });
      for (const pending of [sup.startChild(kids.spec('a')), sup.terminateChild('a'), sup.restartChild('a'), sup.deleteChild('a')]) {
        const error = await rejection(pending);
        assert.ok(error instanceof TypeError);
        assert.match(error.message, /has not been started; call start\(\) first/);
      }
    });

    it('every operation on a stopped supervisor rejects with SUPERVISOR_SHUTDOWN', async () => {
      const { kids, sup } = await running();
      await sup.stop();
      for (const pending of [sup.startChild(kids.spec('c')), sup.terminateChild('a'), sup.restartChild('a'), sup.deleteChild('a')]) {
        const error = await rejection(pending);
        assert.ok(error instanceof LlmStateError);
        assert.equal(error.code, 'SUPERVISOR_SHUTDOWN');
        assert.deepEqual(error.details, { supervisor: 'root', status: 'stopped' });
      }
    });

    it('every operation on a failed supervisor rejects with SUPERVISOR_SHUTDOWN', async () => {
      const kids = new FakeChildren();
      const { sup } = harness({ id: 'root', strategy: 'one_for_one', intensity: 0, children: kids.specs(['a']) });
      await sup.start();
      kids.crash('a');
      await settle();
      assert.equal(sup.status, 'failed');
      for (const pending of [sup.startChild(kids.spec('c')), sup.terminateChild('a'), sup.restartChild('a'), sup.deleteChild('a')]) {
        const error = await rejection(pending);
        assert.equal(error.code, 'SUPERVISOR_SHUTDOWN');
      }
    });

    it('operations queued before stop() was called reject with SUPERVISOR_SHUTDOWN', async () => {
      const { kids, sup } = await running();
      const queued = sup.startChild(kids.spec('c'));
      const stopping = sup.stop();
      const error = await rejection(queued);
      await stopping;
      assert.equal(error.code, 'SUPERVISOR_SHUTDOWN');
      assert.deepEqual(kids.take(), ['stop:b', 'stop:a']);
    });
  });
});
