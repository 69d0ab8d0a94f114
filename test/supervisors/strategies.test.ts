import assert from 'node:assert/strict';
import type { RestartType } from '../../supervisors/childSpec.js';
import type { Strategy } from '../../supervisors/supervisorOptions.js';
import { FakeChildren, harness } from './fakeChildren.js';
import { settle } from '../ManualTimers.js';

/** Starts a supervisor over a, b, c, d (b of restart type `bType`, the others permanent) and clears the log. */
async function fourChildren(strategy: Exclude<Strategy, 'simple_one_for_one'>, bType: RestartType) {
  const kids = new FakeChildren();
  const { sup, events } = harness({
    id: 'sup',
    strategy,
    children: [kids.spec('a'), kids.spec('b', { restart: bType }), kids.spec('c'), kids.spec('d')],
  });
  await sup.start();
  assert.deepEqual(kids.take(), ['start:a', 'start:b', 'start:c', 'start:d']);
  return { kids, sup, events };
}

function statuses(sup: { whichChildren(): { id: string; status: string; restarts: number }[] }): string[] {
  return sup.whichChildren().map((child) => `${child.id}:${child.status}:${child.restarts}`);
}

/** What each strategy does to a, b, c, d when b is restarted. */
const RESTART_OF_B: Record<Exclude<Strategy, 'simple_one_for_one'>, { log: string[]; after: string[] }> = {
  one_for_one: {
    log: ['exit:b', 'start:b'],
    after: ['a:running:0', 'b:running:1', 'c:running:0', 'd:running:0'],
  },
  one_for_all: {
    log: ['exit:b', 'stop:d', 'stop:c', 'stop:a', 'start:a', 'start:b', 'start:c', 'start:d'],
    after: ['a:running:1', 'b:running:1', 'c:running:1', 'd:running:1'],
  },
  rest_for_one: {
    log: ['exit:b', 'stop:d', 'stop:c', 'start:b', 'start:c', 'start:d'],
    after: ['a:running:0', 'b:running:1', 'c:running:1', 'd:running:1'],
  },
};

describe('Supervisor strategies × restart types', () => {
  for (const strategy of ['one_for_one', 'one_for_all', 'rest_for_one'] as const) {
    describe(strategy, () => {
      const expected = RESTART_OF_B[strategy];

      it('a permanent child that crashes is restarted with exactly the strategy’s set, stopped in reverse and started in order', async () => {
        const { kids, sup } = await fourChildren(strategy, 'permanent');
        kids.crash('b');
        await settle();
        assert.deepEqual(kids.take(), expected.log);
        assert.deepEqual(statuses(sup), expected.after);
      });

      it('a permanent child that exits normally is restarted all the same', async () => {
        const { kids, sup } = await fourChildren(strategy, 'permanent');
        kids.exit('b', 'normal');
        await settle();
        assert.deepEqual(kids.take(), expected.log);
        assert.deepEqual(statuses(sup), expected.after);
      });

      it('a transient child that crashes is restarted with the strategy’s set', async () => {
        const { kids, sup } = await fourChildren(strategy, 'transient');
        kids.crash('b');
        await settle();
        assert.deepEqual(kids.take(), expected.log);
        assert.deepEqual(statuses(sup), expected.after);
      });

      for (const reason of ['normal', 'shutdown'] as const) {
        it(`a transient child that exits with '${reason}' is not restarted, keeps its spec, and nobody else is touched`, async () => {
          const { kids, sup } = await fourChildren(strategy, 'transient');
          kids.exit('b', reason);
          await settle();
          assert.deepEqual(kids.take(), ['exit:b']);
          assert.deepEqual(statuses(sup), ['a:running:0', 'b:terminated:0', 'c:running:0', 'd:running:0']);
        });
      }

      it('a temporary child that crashes is not restarted, its spec is removed, and nobody else is touched', async () => {
        const { kids, sup } = await fourChildren(strategy, 'temporary');
        kids.crash('b');
        await settle();
        assert.deepEqual(kids.take(), ['exit:b']);
        assert.deepEqual(statuses(sup), ['a:running:0', 'c:running:0', 'd:running:0']);
      });

      it('a temporary child that exits normally is removed as well', async () => {
        const { kids, sup } = await fourChildren(strategy, 'temporary');
        kids.exit('b', 'normal');
        await settle();
        assert.deepEqual(kids.take(), ['exit:b']);
        assert.deepEqual(statuses(sup), ['a:running:0', 'c:running:0', 'd:running:0']);
      });
    });
  }

  describe('group restarts (OTP details)', () => {
    it('one_for_all stops a temporary sibling and does not restart it: its spec is removed', async () => {
      const { kids, sup } = await fourChildren('one_for_all', 'temporary');
      kids.crash('c');
      await settle();
      assert.deepEqual(kids.take(), ['exit:c', 'stop:d', 'stop:b', 'stop:a', 'start:a', 'start:c', 'start:d']);
      assert.deepEqual(statuses(sup), ['a:running:1', 'c:running:1', 'd:running:1']);
    });

    it('rest_for_one stops a temporary child after the crashed one and does not restart it', async () => {
      const { kids, sup } = await fourChildren('rest_for_one', 'temporary');
      kids.crash('a');
      await settle();
      assert.deepEqual(kids.take(), ['exit:a', 'stop:d', 'stop:c', 'stop:b', 'start:a', 'start:c', 'start:d']);
      assert.deepEqual(statuses(sup), ['a:running:1', 'c:running:1', 'd:running:1']);
    });

    it('rest_for_one leaves the children before the crashed one running', async () => {
      const { kids, sup } = await fourChildren('rest_for_one', 'permanent');
      kids.crash('d');
      await settle();
      assert.deepEqual(kids.take(), ['exit:d', 'start:d']);
      assert.deepEqual(statuses(sup), ['a:running:0', 'b:running:0', 'c:running:0', 'd:running:1']);
    });

    it('one_for_all also starts a terminated (kept) sibling again when it restarts the group, as OTP does', async () => {
      const { kids, sup } = await fourChildren('one_for_all', 'transient');
      kids.exit('b', 'normal');
      await settle();
      kids.take();
      kids.crash('d');
      await settle();
      assert.deepEqual(kids.take(), ['exit:d', 'stop:c', 'stop:a', 'start:a', 'start:b', 'start:c', 'start:d']);
      assert.deepEqual(statuses(sup), ['a:running:1', 'b:running:1', 'c:running:1', 'd:running:1']);
    });

    it('a restart of a group counts once against the budget, whatever the size of the group', async () => {
      const { kids, sup } = await fourChildren('one_for_all', 'permanent');
      kids.crash('b');
      await settle();
      assert.equal(sup.restartLog.length, 1);
      assert.deepEqual(sup.restartLog[0].children, ['a', 'b', 'c', 'd']);
      assert.equal(sup.restartLog[0].child, 'b');
    });
  });

  describe('simple_one_for_one', () => {
    async function dynamicSupervisor(restart: RestartType) {
      const kids = new FakeChildren();
      const started: string[] = [];
      const { sup } = harness<{ name: string }>({
        id: 'pool',
        strategy: 'simple_one_for_one',
        childTemplate: {
          id: (args) => args.name,
          restart,
          start: (link, args) => {
            started.push(args.name);
            return kids.start(args.name, link);
          },
        },
      });
      await sup.start();
      for (const name of ['x', 'y', 'z']) await sup.startChild({ name });
      kids.take();
      started.length = 0;
      return { kids, sup, started };
    }

    it('a permanent dynamic child that crashes is restarted alone, with the args it was started with', async () => {
      const { kids, sup, started } = await dynamicSupervisor('permanent');
      kids.crash('y');
      await settle();
      assert.deepEqual(kids.take(), ['exit:y', 'start:y']);
      assert.deepEqual(started, ['y']);
      assert.deepEqual(statuses(sup), ['x:running:0', 'y:running:1', 'z:running:0']);
    });

    it('a transient dynamic child that crashes is restarted alone', async () => {
      const { kids, sup } = await dynamicSupervisor('transient');
      kids.crash('x');
      await settle();
      assert.deepEqual(kids.take(), ['exit:x', 'start:x']);
      assert.deepEqual(statuses(sup), ['x:running:1', 'y:running:0', 'z:running:0']);
    });

    it('a transient dynamic child that exits normally is removed, since dynamic children keep no spec', async () => {
      const { kids, sup } = await dynamicSupervisor('transient');
      kids.exit('x', 'normal');
      await settle();
      assert.deepEqual(kids.take(), ['exit:x']);
      assert.deepEqual(statuses(sup), ['y:running:0', 'z:running:0']);
    });

    it('a temporary dynamic child that crashes is removed and not restarted', async () => {
      const { kids, sup } = await dynamicSupervisor('temporary');
      kids.crash('z');
      await settle();
      assert.deepEqual(kids.take(), ['exit:z']);
      assert.deepEqual(statuses(sup), ['x:running:0', 'y:running:0']);
    });
  });
});
