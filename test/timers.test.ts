import assert from 'node:assert/strict';
import { repeatEvery, systemTimers, type Timers } from '../src/timers.js';
import { ManualClock } from './helpers.js';
import { ManualTimers } from './ManualTimers.js';

describe('timers', () => {
  describe('ManualTimers', () => {
    it('fires nothing until advanced, then each due timer in due order, with the clock at its due time', async () => {
      const clock = new ManualClock(1000);
      const timers = new ManualTimers(clock);
      const fired: string[] = [];
      timers.setTimeout(() => fired.push(`b@${clock.now()}`), 30);
      timers.setTimeout(() => fired.push(`a@${clock.now()}`), 10);
      timers.setTimeout(() => fired.push(`c@${clock.now()}`), 100);
      assert.deepEqual(fired, []);
      await timers.advance(30);
      assert.deepEqual(fired, ['a@1010', 'b@1030']);
      assert.equal(clock.now(), 1030);
      assert.equal(timers.pending, 1);
      await timers.advance(70);
      assert.deepEqual(fired, ['a@1010', 'b@1030', 'c@1100']);
    });

    it('fires timers due at the same time in the order they were set', async () => {
      const timers = new ManualTimers();
      const fired: number[] = [];
      for (const n of [1, 2, 3]) timers.setTimeout(() => fired.push(n), 5);
      await timers.advance(5);
      assert.deepEqual(fired, [1, 2, 3]);
    });

    it('never fires a cleared timer', async () => {
      const timers = new ManualTimers();
      let fired = false;
      const handle = timers.setTimeout(() => (fired = true), 5);
      timers.clearTimeout(handle);
      await timers.advance(10);
      assert.equal(fired, false);
      assert.equal(timers.pending, 0);
    });

    it('fires, within the same advance, a timer set by another timer or by a promise callback', async () => {
      const timers = new ManualTimers();
      const fired: string[] = [];
      timers.setTimeout(() => {
        fired.push('first');
        void Promise.resolve().then(() => timers.setTimeout(() => fired.push('second'), 10));
      }, 10);
      await timers.advance(25);
      assert.deepEqual(fired, ['first', 'second']);
      assert.deepEqual(timers.delays(), []);
    });

    it('nextSet resolves with the delay of the next timer set, and not for one set before it was called', async () => {
      const timers = new ManualTimers();
      timers.setTimeout(() => {}, 10);
      const next = timers.nextSet();
      let seen: number | undefined;
      void next.then((ms) => (seen = ms));
      await Promise.resolve();
      assert.equal(seen, undefined);
      timers.setTimeout(() => {}, 25);
      assert.equal(await next, 25);
    });

    it('reports the delays of pending timers, soonest first', () => {
      const timers = new ManualTimers();
      timers.setTimeout(() => {}, 50);
      timers.setTimeout(() => {}, 20);
      assert.deepEqual(timers.delays(), [20, 50]);
    });
  });

  describe('systemTimers', () => {
    it('runs a callback on the host’s timers, and clearTimeout cancels one', async () => {
      let cancelledRan = false;
      const cancelled = systemTimers.setTimeout(() => (cancelledRan = true), 0);
      systemTimers.clearTimeout(cancelled);
      await new Promise<void>((resolve) => systemTimers.setTimeout(resolve, 0));
      assert.equal(cancelledRan, false);
    });
  });

  describe('repeatEvery', () => {
    it('calls its function every `ms` until stopped, then leaves no timer behind', async () => {
      const timers = new ManualTimers(new ManualClock(0));
      const calls: number[] = [];
      const stop = repeatEvery(timers, 10, () => calls.push(timers.clock.now()));
      await timers.advance(35);
      assert.deepEqual(calls, [10, 20, 30]);
      stop();
      assert.equal(timers.pending, 0);
      await timers.advance(100);
      assert.deepEqual(calls, [10, 20, 30]);
    });

    it('stops when stopped from inside its own call', async () => {
      const timers = new ManualTimers();
      let calls = 0;
      const stop = repeatEvery(timers, 10, () => {
        calls++;
        stop();
      });
      await timers.advance(50);
      assert.equal(calls, 1);
      assert.equal(timers.pending, 0);
    });

    it('unrefs each host timer, so that a sweep does not keep the process alive', () => {
      let unrefs = 0;
      const host: Timers = { setTimeout: () => ({ unref: () => unrefs++ }), clearTimeout: () => {} };
      repeatEvery(host, 10, () => {})();
      assert.equal(unrefs, 1);
    });
  });
});
