/** At most one report per interval: a caller's progress bar does not need a call per record. */
const INTERVAL_MS = 100;

/**
 * Wraps a progress callback so that `report` calls it at most ten times a second, and `finish` once
 * more with the final figures.
 */
export function progressThrottle<Progress>(onProgress: ((progress: Progress) => void) | undefined): {
  report: (progress: () => Progress) => void;
  finish: (progress: Progress) => void;
} {
  let last = -Infinity;
  return {
    report(progress) {
      if (onProgress === undefined) return;
      const now = performance.now();
      if (now - last < INTERVAL_MS) return;
      last = now;
      onProgress(progress());
    },
    finish(progress) {
      onProgress?.(progress);
    },
  };
}
