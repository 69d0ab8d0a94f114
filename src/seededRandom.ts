/**
 * A seeded pseudo-random generator (mulberry32, by Tommy Ettinger): small, fast, with a 2^32 period, good enough
 * for jitter, fault plans and tests. Not for cryptography. The same seed always gives the same sequence.
 *
 * @throws {TypeError} when `seed` is not a safe integer.
 * @example
 * const random = seededRandom(42);
 * random(); // a number in [0, 1), the same on every run
 */
export function seededRandom(seed: number): () => number {
  if (!Number.isSafeInteger(seed)) {
    throw new TypeError(`Expected \`seed\` to be a safe integer, got \`${String(seed)}\` (${typeof seed})`);
  }
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
