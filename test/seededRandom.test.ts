import assert from 'node:assert/strict';
import { seededRandom } from '../src/seededRandom.js';

describe('seededRandom', () => {
  it('is mulberry32: it gives the reference sequence for a seed', () => {
    const fromZero = seededRandom(0);
    assert.deepEqual([fromZero(), fromZero()], [0.26642920868471265, 0.0003297457005828619]);
    const from42 = seededRandom(42);
    assert.deepEqual([from42(), from42(), from42()], [0.6011037519201636, 0.44829055899754167, 0.8524657934904099]);
  });

  it('gives the same sequence for the same seed, and another for another seed', () => {
    const draw = (seed: number): number[] => {
      const random = seededRandom(seed);
      return Array.from({ length: 20 }, () => random());
    };
    assert.deepEqual(draw(1234), draw(1234));
    assert.notDeepEqual(draw(1234), draw(1235));
  });

  it('returns numbers in [0, 1), spread evenly enough for jitter', () => {
    const random = seededRandom(99);
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) {
      const value = random();
      assert.ok(value >= 0 && value < 1, `out of range: ${value}`);
      buckets[Math.floor(value * 10)] += 1;
    }
    for (const count of buckets) assert.ok(count > 9500 && count < 10_500, `uneven bucket: ${count}`);
  });

  it('accepts negative and large safe-integer seeds', () => {
    assert.equal(typeof seededRandom(-1)(), 'number');
    assert.equal(typeof seededRandom(Number.MAX_SAFE_INTEGER)(), 'number');
  });

  it('rejects a seed that is not a safe integer', () => {
    assert.throws(() => seededRandom(1.5), /^TypeError: Expected `seed` to be a safe integer, got `1.5` \(number\)$/);
    assert.throws(() => seededRandom(Number.NaN), TypeError);
  });
});
