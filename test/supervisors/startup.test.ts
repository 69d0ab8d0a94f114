import assert from 'node:assert/strict';
import { LlmStateError } from '../../src/errors.js';
import type { ChildSpec } from '../../supervisors/childSpec.js';
import { Supervisor } from '../../supervisors/Supervisor.js';
import { rejection } from '../helpers.js';
import { eventLog, FakeChildren, harness } from './fakeChildren.js';
import { settle } from '../ManualTimers.js';

describe('Supervisor start', () => {
  it('starts the children in order, one after another, and lists them in start order', async () => {
    const kids = new FakeChildren();
    const { sup, events } = harness({ id: 'root', strategy: 'one_for_one', children: kids.specs(['a', 'b', 'c']) });
    assert.equal(sup.status, 'idle');
    await sup.start();
    assert.equal(sup.status, 'running');
    assert.deepEqual(kids.take(), ['start:a', 'start:b', 'start:c']);
    assert.deepEqual(sup.whichChildren(), [
      { id: 'a', type: 'worker', status: 'running', restarts: 0 },
      { id: 'b', type: 'worker', status: 'running', restarts: 0 },
      { id: 'c', type: 'worker', status: 'running', restarts: 0 },
    ]);
    assert.deepEqual(eventLog(events), ['supervisor.child_started a', 'supervisor.child_started b', 'supervisor.child_started c']);
  });

  it('waits for each child to start before starting the next', async () => {
    const kids = new FakeChildren();
    kids.holdStarts('a');
    const { sup } = harness({ id: 'root', strategy: 'one_for_one', children: kids.specs(['a', 'b']) });
    const starting = sup.start();
    await settle();
    assert.deepEqual(kids.take(), []);
    assert.equal(sup.status, 'starting');
    kids.release('a');
    await starting;
    assert.deepEqual(kids.take(), ['start:a', 'start:b']);
  });

  it('is all or nothing: when a child fails to start, those started are stopped in reverse and start() rejects', async () => {
    const kids = new FakeChildren();
    kids.failStarts('c');
    const fatal: unknown[] = [];
    const { sup } = harness({ id: 'root', strategy: 'one_for_all', children: kids.specs(['a', 'b', 'c', 'd']), onFatal: (reason) => fatal.push(reason) });
    const error = await rejection(sup.start());
    assert.deepEqual(kids.take(), ['start:a', 'start:b', 'fail:c', 'stop:b', 'stop:a']);
    assert.ok(error instanceof LlmStateError);
    assert.equal(error.code, 'SUPERVISOR_SHUTDOWN');
    assert.deepEqual(error.details, { supervisor: 'root', child: 'c', reason: 'failed_to_start_child' });
    assert.match(String((error.cause as Error).message), /c failed to start/);
    assert.equal(sup.status, 'failed');
    assert.deepEqual(
      sup.whichChildren().map((child) => `${child.id}:${child.status}`),
      ['a:terminated', 'b:terminated'],
    );
    assert.deepEqual(fatal, [], 'a failed start is reported by start(), not onFatal');
  });

  it('treats a start that resolves with something other than a ChildRef as a start failure', async () => {
    const bad: ChildSpec = { id: 'bad', start: async () => ({}) as never };
    const { sup } = harness({ id: 'root', strategy: 'one_for_one', children: [bad] });
    const error = await rejection(sup.start());
    assert.equal(error.code, 'SUPERVISOR_SHUTDOWN');
    assert.ok(error.cause instanceof TypeError);
    assert.match((error.cause as Error).message, /Expected the start\(\) of child 'bad' to resolve with a ChildRef/);
  });

  it('treats a start that throws synchronously as a start failure', async () => {
    const kids = new FakeChildren();
    const throwing: ChildSpec = {
      id: 'sync',
      start: () => {
        throw new Error('sync throw');
      },
    };
    const { sup } = harness({ id: 'root', strategy: 'one_for_one', children: [kids.spec('a'), throwing] });
    const error = await rejection(sup.start());
    assert.match((error.cause as Error).message, /sync throw/);
    assert.deepEqual(kids.take(), ['start:a', 'stop:a']);
  });

  it('a nested supervisor that cannot start makes its parent’s start fail all or nothing too', async () => {
    const kids = new FakeChildren();
    kids.failStarts('y');
    const root = new Supervisor({
      id: 'root',
      strategy: 'one_for_one',
      children: [kids.spec('w0'), Supervisor.childSpec({ id: 's1', strategy: 'one_for_one', children: kids.specs(['x', 'y']) }), kids.spec('w2')],
    });
    const error = await rejection(root.start());
    assert.deepEqual(kids.take(), ['start:w0', 'start:x', 'fail:y', 'stop:x', 'stop:w0']);
    assert.equal(error.code, 'SUPERVISOR_SHUTDOWN');
    assert.equal((error.details as { child: string }).child, 's1');
    assert.equal((error.cause as LlmStateError).code, 'SUPERVISOR_SHUTDOWN');
  });

  it('refuses to start twice', async () => {
    const { sup } = harness({ id: 'root', strategy: 'one_for_one' });
    await sup.start();
    const error = await rejection(sup.start());
    assert.ok(error instanceof TypeError);
    assert.match(error.message, /Cannot start supervisor 'root': it is running/);
  });

  it('refuses a link without an exited() method', async () => {
    const { sup } = harness({ id: 'root', strategy: 'one_for_one' });
    const error = await rejection(sup.start({} as never));
    assert.ok(error instanceof TypeError);
    assert.match(error.message, /Expected `link` to be an object with an exited\(\) method/);
  });

  it('stop() during start lets the child being started finish, stops those started in reverse, starts no more, and start() rejects', async () => {
    const kids = new FakeChildren();
    kids.holdStarts('b');
    const { sup } = harness({ id: 'root', strategy: 'one_for_one', children: kids.specs(['a', 'b', 'c']) });
    const starting = sup.start();
    await settle();
    const stopping = sup.stop();
    assert.equal(sup.status, 'stopping');
    kids.release('b');
    const error = await rejection(starting);
    await stopping;
    assert.equal(error.code, 'SUPERVISOR_SHUTDOWN');
    assert.deepEqual(kids.take(), ['start:a', 'start:b', 'stop:b', 'stop:a']);
    assert.equal(sup.status, 'stopped');
  });

  it('kill() during start kills the child that was starting as soon as it is up', async () => {
    const kids = new FakeChildren();
    kids.holdStarts('b');
    const { sup } = harness({ id: 'root', strategy: 'one_for_one', children: kids.specs(['a', 'b', 'c']) });
    const starting = sup.start();
    await settle();
    sup.kill();
    assert.deepEqual(kids.take(), ['start:a', 'kill:a']);
    kids.release('b');
    const error = await rejection(starting);
    assert.equal(error.code, 'SUPERVISOR_SHUTDOWN');
    assert.deepEqual(kids.take(), ['start:b', 'kill:b']);
  });

  it('a child that crashes while later siblings start is restarted once start() has finished', async () => {
    const kids = new FakeChildren();
    kids.holdStarts('b');
    const { sup } = harness({ id: 'root', strategy: 'one_for_one', children: kids.specs(['a', 'b']) });
    const starting = sup.start();
    await settle();
    kids.crash('a');
    kids.release('b');
    await starting;
    await settle();
    assert.deepEqual(kids.take(), ['start:a', 'exit:a', 'start:b', 'start:a']);
    assert.deepEqual(
      sup.whichChildren().map((child) => `${child.id}:${child.status}:${child.restarts}`),
      ['a:running:1', 'b:running:0'],
    );
  });
});
