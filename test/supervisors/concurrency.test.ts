import assert from 'node:assert/strict';
import { Supervisor } from '../../supervisors/Supervisor.js';
import { FakeChildren, harness } from './fakeChildren.js';
import { settle } from '../ManualTimers.js';

function statuses(sup: Supervisor<never>): string[] {
  return sup.whichChildren().map((child) => `${child.id}:${child.status}:${child.restarts}`);
}

describe('Supervisor under concurrent events', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  before(() => process.on('unhandledRejection', onUnhandled));
  after(() => {
    process.off('unhandledRejection', onUnhandled);
  });

  it('a child that crashes while its siblings are being restarted is handled after that restart, as OTP does', async () => {
    const kids = new FakeChildren();
    const { sup } = harness({ id: 'root', strategy: 'one_for_all', children: kids.specs(['a', 'b', 'c']) });
    await sup.start();
    kids.take();
    kids.holdStarts('c');
    kids.crash('a');
    await settle();
    assert.deepEqual(kids.take(), ['exit:a', 'stop:c', 'stop:b', 'start:a', 'start:b']);
    kids.crash('b');
    kids.release('c');
    await settle();
    assert.deepEqual(kids.take(), ['exit:b', 'start:c', 'stop:c', 'stop:a', 'start:a', 'start:b', 'start:c']);
    assert.equal(sup.restartLog.length, 2);
    assert.deepEqual(statuses(sup), ['a:running:2', 'b:running:2', 'c:running:2']);
  });

  it('an exit reported twice is handled once', async () => {
    const kids = new FakeChildren();
    const { sup } = harness({ id: 'root', strategy: 'one_for_one', children: kids.specs(['a']) });
    await sup.start();
    kids.take();
    const child = kids.current('a');
    child.link.exited({ error: new Error('first') });
    child.link.exited({ error: new Error('second') });
    child.link.exited('normal');
    await settle();
    assert.deepEqual(kids.take(), ['start:a']);
    assert.equal(sup.restartLog.length, 1);
  });

  it('an exit reported by an earlier run of a restarted child is ignored', async () => {
    const kids = new FakeChildren();
    const { sup } = harness({ id: 'root', strategy: 'one_for_all', children: kids.specs(['a', 'b']) });
    await sup.start();
    const oldB = kids.current('b');
    kids.crash('a');
    await settle();
    kids.take();
    oldB.link.exited({ error: new Error('late') });
    await settle();
    assert.deepEqual(kids.take(), []);
    assert.equal(sup.restartLog.length, 1);
  });

  it('a sibling that crashes while a group restart is stopping it is not restarted twice', async () => {
    const kids = new FakeChildren();
    const { sup } = harness({
      id: 'root',
      strategy: 'one_for_all',
      children: [kids.spec('a'), kids.spec('b', { stop: 'manual' }), kids.spec('c')],
    });
    await sup.start();
    kids.take();
    kids.crash('c');
    await settle();
    assert.deepEqual(kids.take(), ['exit:c', 'stop:b']);
    kids.crash('b');
    kids.current('b').finishStop();
    await settle();
    assert.deepEqual(kids.take(), ['exit:b', 'stop:a', 'start:a', 'start:b', 'start:c']);
    assert.equal(sup.restartLog.length, 1);
  });

  it('a child that crashed on its own before a group restart reached it is not asked to stop', async () => {
    const kids = new FakeChildren();
    const { sup } = harness({ id: 'root', strategy: 'one_for_all', children: kids.specs(['a', 'b', 'c']) });
    await sup.start();
    kids.take();
    kids.crash('c');
    kids.crash('a');
    await settle();
    assert.deepEqual(kids.take(), ['exit:c', 'exit:a', 'stop:b', 'start:a', 'start:b', 'start:c']);
    assert.equal(sup.restartLog.length, 1);
  });

  it('exits during shutdown are ignored: nothing is restarted', async () => {
    const kids = new FakeChildren();
    const { sup } = harness({ id: 'root', strategy: 'one_for_one', children: [kids.spec('a'), kids.spec('b', { stop: 'manual' })] });
    await sup.start();
    kids.take();
    const stopping = sup.stop();
    await settle();
    kids.crash('a');
    kids.current('b').finishStop();
    await stopping;
    await settle();
    assert.deepEqual(kids.take(), ['stop:b', 'exit:a']);
    assert.equal(sup.status, 'stopped');
    assert.deepEqual(sup.restartLog, []);
  });

  it('stop() while a restart is starting a child waits for it, then stops everything in reverse', async () => {
    const kids = new FakeChildren();
    const { sup } = harness({ id: 'root', strategy: 'one_for_one', children: kids.specs(['a', 'b', 'c']) });
    await sup.start();
    kids.take();
    kids.holdStarts('a');
    kids.crash('a');
    await settle();
    const stopping = sup.stop();
    kids.release('a');
    await stopping;
    assert.deepEqual(kids.take(), ['exit:a', 'start:a', 'stop:c', 'stop:b', 'stop:a']);
    assert.equal(sup.status, 'stopped');
  });

  it('kill() while a restart is starting a child kills that child as soon as it is up', async () => {
    const kids = new FakeChildren();
    const { sup } = harness({ id: 'root', strategy: 'one_for_one', children: kids.specs(['a', 'b']) });
    await sup.start();
    kids.take();
    kids.holdStarts('a');
    kids.crash('a');
    await settle();
    sup.kill();
    kids.release('a');
    await settle();
    assert.deepEqual(kids.take(), ['exit:a', 'kill:b', 'start:a', 'kill:a']);
  });

  it('a child that reports its exit before its start resolves is restarted once it has been recorded', async () => {
    const kids = new FakeChildren();
    const { sup } = harness({
      id: 'root',
      strategy: 'one_for_one',
      children: [
        {
          id: 'early',
          start: async (link) => {
            const child = await kids.start('early', link);
            if (kids.runs('early') === 1) child.crash('died at once');
            return child;
          },
        },
      ],
    });
    await sup.start();
    await settle();
    assert.deepEqual(kids.take(), ['start:early', 'exit:early', 'start:early']);
    assert.deepEqual(statuses(sup), ['early:running:1']);
  });

  it('children crashing at the same moment under one_for_one are each restarted, each counted', async () => {
    const kids = new FakeChildren();
    const { sup } = harness({ id: 'root', strategy: 'one_for_one', children: kids.specs(['a', 'b', 'c']) });
    await sup.start();
    kids.take();
    kids.crash('c');
    kids.crash('a');
    await settle();
    assert.deepEqual(kids.take(), ['exit:c', 'exit:a', 'start:c', 'start:a']);
    assert.equal(sup.restartLog.length, 2);
  });

  it('an emit() listener that throws does not stop the supervisor from restarting, and is reported as a warning', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning);
    };
    process.on('warning', onWarning);
    try {
      const kids = new FakeChildren();
      const { sup } = harness({
        id: 'root',
        strategy: 'one_for_one',
        children: kids.specs(['a']),
        emit: () => {
          throw new Error('listener broke');
        },
      });
      await sup.start();
      kids.crash('a');
      await settle();
      assert.deepEqual(statuses(sup), ['a:running:1']);
      assert.ok(warnings.some((warning) => warning.name === 'LlmStateWarning' && /listener broke/.test(warning.message)));
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('an error in the supervisor’s own work (here, a clock that throws) makes it fail like a crashed process', async () => {
    const kids = new FakeChildren();
    const fatal: Array<{ error: Error & { code?: string } }> = [];
    let broken = false;
    const sup = new Supervisor({
      id: 'root',
      strategy: 'one_for_one',
      children: kids.specs(['a', 'b']),
      clock: {
        now: () => {
          if (broken) throw new Error('clock broke');
          return 0;
        },
      },
      onFatal: (reason) => fatal.push(reason),
    });
    await sup.start();
    kids.take();
    broken = true;
    kids.crash('a');
    await settle();
    assert.deepEqual(kids.take(), ['exit:a', 'kill:b']);
    assert.equal(sup.status, 'failed');
    assert.equal(fatal.length, 1);
    assert.equal(fatal[0].error.code, 'SUPERVISOR_SHUTDOWN');
    assert.match(fatal[0].error.message, /clock broke/);
  });

  it('leaves no promise rejection unhandled in any of the above', async () => {
    await settle();
    assert.deepEqual(unhandled, []);
  });
});
