/** How many durations a {@link DurationWindow} keeps by default. */
export const DEFAULT_DURATION_WINDOW_SIZE = 100;

/**
 * The last `size` durations of a hook, for its latency percentiles and its p95 budget (DESIGN §7).
 * Recording is O(1); a percentile sorts a copy, O(size log size).
 *
 * Percentiles use the nearest-rank method: the value at rank ⌈p/100 × count⌉ of the sorted durations,
 * always one that was recorded.
 *
 * @throws {TypeError} from the constructor when `size` is not a positive integer.
 * @example
 * const window = new DurationWindow()
 * window.record(12); window.record(40)
 * window.p95() // → 40
 */
export class DurationWindow {
  readonly size: number;
  readonly #ring: Float64Array;
  #next = 0;
  #count = 0;

  /** @param size Durations kept; older ones are forgotten. @default 100 */
  constructor(size: number = DEFAULT_DURATION_WINDOW_SIZE) {
    if (!Number.isSafeInteger(size) || size < 1) {
      throw new TypeError(`Expected \`size\` to be a positive integer, got \`${String(size)}\` (${typeof size})`);
    }
    this.size = size;
    this.#ring = new Float64Array(size);
  }

  /** How many durations are held: at most `size`. */
  get count(): number {
    return this.#count;
  }

  /**
   * Adds a duration in milliseconds, replacing the oldest once the window is full.
   *
   * @throws {TypeError} when `ms` is not a finite number.
   */
  record(ms: number): void {
    if (typeof ms !== 'number' || !Number.isFinite(ms)) {
      throw new TypeError(`Expected a duration to be a finite number, got \`${String(ms)}\` (${typeof ms})`);
    }
    // A wall clock stepped backwards yields a negative duration; it is still a fast call, not an error.
    this.#ring[this.#next] = Math.max(0, ms);
    this.#next = (this.#next + 1) % this.size;
    if (this.#count < this.size) this.#count++;
  }

  /**
   * The nearest-rank `p`th percentile of the held durations; `undefined` when there are none.
   *
   * @throws {TypeError} when `p` is not a number in (0, 100].
   */
  percentile(p: number): number | undefined {
    if (typeof p !== 'number' || !(p > 0 && p <= 100)) {
      throw new TypeError(`Expected \`p\` to be a number above 0 and at most 100, got \`${String(p)}\` (${typeof p})`);
    }
    if (this.#count === 0) return undefined;
    const sorted = this.#ring.slice(0, this.#count).sort();
    return sorted[Math.ceil((p / 100) * this.#count) - 1];
  }

  /** The median; `undefined` when empty. */
  p50(): number | undefined {
    return this.percentile(50);
  }

  /** `undefined` when empty. */
  p95(): number | undefined {
    return this.percentile(95);
  }

  /** `undefined` when empty. */
  p99(): number | undefined {
    return this.percentile(99);
  }

  /** Forgets every duration. */
  reset(): void {
    this.#next = 0;
    this.#count = 0;
  }
}
