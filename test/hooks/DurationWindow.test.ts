import assert from 'node:assert/strict';
import { DEFAULT_DURATION_WINDOW_SIZE, DurationWindow } from '../../src/hooks/DurationWindow.js';

function filled(values: number[], size?: number): DurationWindow {
  const window = new DurationWindow(size);
  for (const value of values) window.record(value);
  return window;
}

describe('DurationWindow', () => {
  it('has no percentiles while empty', () => {
    const window = new DurationWindow();
    assert.equal(window.count, 0);
    assert.equal(window.p50(), undefined);
    assert.equal(window.p95(), undefined);
    assert.equal(window.p99(), undefined);
  });

  it('keeps 100 durations by default', () => {
    const window = filled(Array.from({ length: 250 }, (_, i) => i));
    assert.equal(DEFAULT_DURATION_WINDOW_SIZE, 100);
    assert.equal(window.size, 100);
    assert.equal(window.count, 100);
  });

  it('returns the single value for every percentile of one duration', () => {
    const window = filled([42]);
    assert.deepEqual([window.p50(), window.p95(), window.p99()], [42, 42, 42]);
  });

  it('uses nearest rank on the sorted durations, whatever the order recorded', () => {
    // 1..100 shuffled: the nearest-rank pth percentile of 1..100 is p itself.
    const values = Array.from({ length: 100 }, (_, i) => ((i * 37) % 100) + 1);
    const window = filled(values);
    assert.deepEqual([window.p50(), window.p95(), window.p99(), window.percentile(100)], [50, 95, 99, 100]);
  });

  it('rounds the rank up for small counts', () => {
    const window = filled([30, 10, 20, 40]);
    assert.equal(window.p50(), 20, 'rank ⌈0.5 × 4⌉ = 2');
    assert.equal(window.p95(), 40, 'rank ⌈0.95 × 4⌉ = 4');
    assert.equal(window.percentile(25), 10);
    assert.equal(window.percentile(26), 20);
  });

  it('sorts numerically, not as strings', () => {
    assert.equal(filled([9, 100, 10]).p50(), 10);
  });

  it('forgets the oldest durations once full', () => {
    const window = filled([1000, 1000, 1000, 1, 2, 3], 3);
    assert.equal(window.count, 3);
    assert.equal(window.p99(), 3, 'the slow calls have left the window');
    assert.equal(window.p50(), 2);
  });

  it('keeps fractional durations and treats negative ones as zero', () => {
    const window = filled([0.25, -5]);
    assert.equal(window.percentile(50), 0);
    assert.equal(window.p99(), 0.25);
  });

  it('reset forgets everything and records afresh', () => {
    const window = filled([5, 6, 7], 3);
    window.reset();
    assert.equal(window.count, 0);
    assert.equal(window.p50(), undefined);
    window.record(9);
    assert.equal(window.count, 1);
    assert.equal(window.p95(), 9);
  });

  it('requires size to be a positive integer', () => {
    for (const size of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => new DurationWindow(size), {
        name: 'TypeError',
        message: `Expected \`size\` to be a positive integer, got \`${String(size)}\` (number)`,
      });
    }
  });

  it('requires a duration to be a finite number', () => {
    const window = new DurationWindow();
    for (const ms of [Number.NaN, Number.POSITIVE_INFINITY, '5' as unknown as number]) {
      assert.throws(() => window.record(ms), { name: 'TypeError', message: /Expected a duration to be a finite number/ });
    }
    assert.equal(window.count, 0);
  });

  it('requires a percentile in (0, 100]', () => {
    const window = filled([1]);
    for (const p of [0, -1, 101, Number.NaN]) {
      assert.throws(() => window.percentile(p), { name: 'TypeError', message: /Expected `p` to be a number above 0 and at most 100/ });
    }
  });
});
