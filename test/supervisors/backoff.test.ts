import assert from 'node:assert/strict';
import { seededRandom } from '../../src/seededRandom.js';
import { FakeChildren, harness } from './fakeChildren.js';
import { ManualTimers, settle } from '../ManualTimers.js';

describe('Supervisor backoff', () => {
  it('waits minMs of manual time before the first restart, showing the child as restarting meanwhile', async () => {
    const kids = new FakeChildren();
    const { sup, timers } = harness({ id: 'root', strategy: 'one_for_one', backoff: { minMs: 100, maxMs: 1000 }, children: kids.specs(['a']) });
    await sup.start();
    kids.take();
    kids.crash('a');
    await settle();
    assert.deepEqual(timers.delays(), [100]);
    assert.deepEqual(sup.whichChildren(), [{ id: 'a', type: 'worker', status: 'restarting', restarts: 0 }]);
    await timers.advance(99);
    assert.deepEqual(kids.take(), ['exit:a']);
    await timers.advance(1);
    assert.deepEqual(kids.take(), ['start:a']);
    assert.deepEqual(sup.whichChildren(), [{ id: 'a', type: 'worker', status: 'running', restarts: 1 }]);
  });

  it('doubles the delay with each restart in the window, up to maxMs', async () => {
    const kids = new FakeChildren();
    const { sup, timers } = harness({
      id: 'root',
      strategy: 'one_for_one',
      intensity: 10,
      period: 60_000,
      backoff: { minMs: 100, maxMs: 1000 },
      children: kids.specs(['a']),
    });
    await sup.start();
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      kids.crash('a');
      await settle();
      const [delay] = timers.delays();
      delays.push(delay);
      await timers.advance(delay);
    }
    assert.deepEqual(delays, [100, 200, 400, 800, 1000, 1000]);
    assert.equal(kids.runs('a'), 7);
  });

  it('starts again from minMs once the earlier restarts have left the period window', async () => {
    const kids = new FakeChildren();
    const { sup, timers } = harness({ id: 'root', strategy: 'one_for_one', period: 5000, backoff: { minMs: 100, maxMs: 1000 }, children: kids.specs(['a']) });
    await sup.start();
    kids.crash('a');
    await timers.advance(100);
    kids.crash('a');
    await settle();
    assert.deepEqual(timers.delays(), [200]);
    await timers.advance(200);
    await timers.advance(5001);
    kids.crash('a');
    await settle();
    assert.deepEqual(timers.delays(), [100]);
  });

  it('keeps jittered delays within ±jitter of the base delay, reproducibly for a seed', async () => {
    async function delaysFor(seed: number): Promise<number[]> {
      const kids = new FakeChildren();
      const { sup, timers } = harness({
        id: 'root',
        strategy: 'one_for_one',
        intensity: 100,
        period: 1_000_000,
        backoff: { minMs: 1000, maxMs: 1000, jitter: 0.25 },
        random: seededRandom(seed),
        children: kids.specs(['a']),
      });
      await sup.start();
      const delays: number[] = [];
      for (let i = 0; i < 40; i++) {
        kids.crash('a');
        await settle();
        const [delay] = timers.delays();
        delays.push(delay);
        await timers.advance(delay);
      }
      return delays;
    }
    const delays = await delaysFor(7);
    for (const delay of delays) assert.ok(delay >= 750 && delay <= 1250, `delay ${delay} outside [750, 1250]`);
    assert.ok(new Set(delays).size > 10, 'jitter spreads the delays');
    assert.ok(Math.min(...delays) < 900 && Math.max(...delays) > 1100, 'jitter reaches both sides of the base');
    assert.deepEqual(await delaysFor(7), delays);
    assert.notDeepEqual(await delaysFor(8), delays);
  });

  it('a restart whose start fails is retried after the next, longer delay', async () => {
    const kids = new FakeChildren();
    const { sup, timers } = harness({ id: 'root', strategy: 'one_for_one', backoff: { minMs: 100, maxMs: 1000 }, children: kids.specs(['a']) });
    await sup.start();
    kids.take();
    kids.failStarts('a', 1);
    kids.crash('a');
    await timers.advance(100);
    assert.deepEqual(kids.take(), ['exit:a', 'fail:a']);
    assert.deepEqual(timers.delays(), [200]);
    assert.equal(sup.whichChildren()[0].status, 'restarting');
    await timers.advance(200);
    assert.deepEqual(kids.take(), ['start:a']);
    assert.equal(sup.restartLog.length, 2);
  });

  it('stop() during a backoff cancels the pending restart', async () => {
    const kids = new FakeChildren();
    const { sup, timers } = harness({ id: 'root', strategy: 'one_for_one', backoff: { minMs: 100, maxMs: 1000 }, children: kids.specs(['a', 'b']) });
    await sup.start();
    kids.take();
    kids.crash('a');
    await settle();
    await sup.stop();
    assert.equal(timers.pending, 0);
    await timers.advance(10_000);
    assert.deepEqual(kids.take(), ['exit:a', 'stop:b']);
    assert.deepEqual(
      sup.whichChildren().map((child) => child.status),
      ['terminated', 'terminated'],
    );
  });

  it('one_for_all stops the group at once and starts it together after the delay', async () => {
    const kids = new FakeChildren();
    const { sup, timers } = harness({ id: 'root', strategy: 'one_for_all', backoff: { minMs: 100, maxMs: 1000 }, children: kids.specs(['a', 'b', 'c']) });
    await sup.start();
    kids.take();
    kids.crash('b');
    await settle();
    assert.deepEqual(kids.take(), ['exit:b', 'stop:c', 'stop:a']);
    assert.deepEqual(
      sup.whichChildren().map((child) => child.status),
      ['restarting', 'restarting', 'restarting'],
    );
    await timers.advance(100);
    assert.deepEqual(kids.take(), ['start:a', 'start:b', 'start:c']);
  });

  it('under rest_for_one, a crash of an earlier child during a backoff folds the waiting group into its own restart', async () => {
    const kids = new FakeChildren();
    const { sup, timers } = harness({ id: 'root', strategy: 'rest_for_one', backoff: { minMs: 100, maxMs: 1000 }, children: kids.specs(['a', 'b', 'c']) });
    await sup.start();
    kids.take();
    kids.crash('b');
    await timers.advance(50);
    kids.crash('a');
    await settle();
    assert.deepEqual(timers.delays(), [200]);
    await timers.advance(200);
    assert.deepEqual(kids.take(), ['exit:b', 'stop:c', 'exit:a', 'start:a', 'start:b', 'start:c']);
    assert.deepEqual(
      sup.whichChildren().map((child) => child.restarts),
      [1, 1, 1],
    );
  });

  it('other children keep running, and may crash and restart on their own, while one waits under one_for_one', async () => {
    const kids = new FakeChildren();
    const timers = new ManualTimers();
    const { sup } = harness({ id: 'root', strategy: 'one_for_one', backoff: { minMs: 100, maxMs: 1000 }, children: kids.specs(['a', 'b']) }, timers);
    await sup.start();
    kids.take();
    kids.crash('a');
    await timers.advance(10);
    kids.crash('b');
    await settle();
    assert.deepEqual(timers.delays(), [90, 200]);
    await timers.advance(90);
    assert.deepEqual(kids.take(), ['exit:a', 'exit:b', 'start:a']);
    await timers.advance(200);
    assert.deepEqual(kids.take(), ['start:b']);
  });
});
