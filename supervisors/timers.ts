/** The source of timeouts. Inject one to test shutdown grace periods and backoff without sleeping. */
export interface Timers {
  /** Calls `fn` once, `ms` milliseconds from now; returns a handle for clearTimeout. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a timeout that has not fired yet; a handle that fired or was cleared is ignored. */
  clearTimeout(handle: unknown): void;
}

/** The timers of the host (`globalThis.setTimeout`). */
export const systemTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
