/**
 * The restart budget of a supervisor (OTP intensity and period) and the optional backoff before a restart.
 * Pure functions of time, so that they are tested without a supervisor and without sleeping.
 */

/** An exponential backoff before each restart. */
export interface BackoffOptions {
  /** The delay before the first restart in a window, in ms. */
  minMs: number;
  /** The largest delay before jitter, in ms. */
  maxMs: number;
  /** Spread of the delay, as a fraction of it: 0.2 gives delays within ±20%. @default 0 */
  jitter?: number;
}

/**
 * Records a restart at `now` in the window of recent restart times, oldest first, and drops the times more than
 * `period` ms before `now`. A restart exactly `period` ms ago still counts, as in OTP's `add_restart`.
 *
 * @example
 * addRestart([0, 4000], 5500, 5000) // → [4000, 5500]
 */
export function addRestart(window: readonly number[], now: number, period: number): number[] {
  const threshold = now - period;
  const kept = window.filter((at) => at >= threshold);
  kept.push(now);
  return kept;
}

/** True when a window holds more restarts than `intensity` allows: the supervisor gives up. */
export function exceedsIntensity(window: readonly number[], intensity: number): boolean {
  return window.length > intensity;
}

/**
 * The delay before the `n`th restart in the current window (n ≥ 1): `min(maxMs, minMs·2^(n−1))`, then spread by
 * `±jitter` of itself using `random()` in [0, 1). Whole milliseconds, never negative.
 *
 * @example
 * backoffDelay({ minMs: 100, maxMs: 1000 }, 3, Math.random) // → 400
 */
export function backoffDelay(backoff: BackoffOptions, n: number, random: () => number): number {
  const base = Math.min(backoff.maxMs, backoff.minMs * 2 ** Math.max(0, n - 1));
  const jitter = backoff.jitter ?? 0;
  if (jitter === 0) return base;
  return Math.max(0, Math.round(base * (1 + jitter * (2 * random() - 1))));
}
