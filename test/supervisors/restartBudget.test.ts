import assert from 'node:assert/strict';
import { addRestart, backoffDelay, exceedsIntensity } from '../../supervisors/restartBudget.js';

describe('restart budget', () => {
  describe('addRestart', () => {
    it('adds the restart at the end of the window', () => {
      assert.deepEqual(addRestart([], 100, 5000), [100]);
      assert.deepEqual(addRestart([100, 200], 300, 5000), [100, 200, 300]);
    });

    it('drops restarts more than `period` ms before now, and keeps one exactly `period` ms before (OTP)', () => {
      assert.deepEqual(addRestart([0, 999, 1000, 4000], 6000, 5000), [1000, 4000, 6000]);
    });

    it('does not change the window it is given', () => {
      const window = [0, 10];
      addRestart(window, 10_000, 5);
      assert.deepEqual(window, [0, 10]);
    });
  });

  describe('exceedsIntensity', () => {
    it('is true only when the window holds more restarts than the intensity', () => {
      assert.equal(exceedsIntensity([1, 2, 3], 3), false);
      assert.equal(exceedsIntensity([1, 2, 3, 4], 3), true);
      assert.equal(exceedsIntensity([1], 0), true);
      assert.equal(exceedsIntensity([], 0), false);
    });
  });

  describe('backoffDelay', () => {
    const never = (): number => {
      throw new Error('random() is not needed without jitter');
    };

    it('is minMs for the first restart and doubles for each further one', () => {
      const backoff = { minMs: 50, maxMs: 10_000 };
      assert.deepEqual(
        [1, 2, 3, 4, 5].map((n) => backoffDelay(backoff, n, never)),
        [50, 100, 200, 400, 800],
      );
    });

    it('is capped at maxMs, even for huge restart counts', () => {
      const backoff = { minMs: 50, maxMs: 300 };
      assert.deepEqual(
        [3, 4, 5, 2000].map((n) => backoffDelay(backoff, n, never)),
        [200, 300, 300, 300],
      );
    });

    it('spreads the delay by ±jitter of itself, reaching both bounds at the extremes of random()', () => {
      const backoff = { minMs: 1000, maxMs: 1000, jitter: 0.1 };
      assert.equal(backoffDelay(backoff, 1, () => 0), 900);
      assert.equal(backoffDelay(backoff, 1, () => 0.5), 1000);
      assert.equal(backoffDelay(backoff, 1, () => 0.999999), 1100);
    });

    it('applies jitter after the cap, so a capped delay still spreads', () => {
      assert.equal(backoffDelay({ minMs: 100, maxMs: 400, jitter: 0.5 }, 10, () => 0), 200);
    });

    it('is 0 with minMs 0: restarts are immediate', () => {
      assert.equal(backoffDelay({ minMs: 0, maxMs: 1000, jitter: 0.5 }, 5, () => 0.9), 0);
    });
  });
});
