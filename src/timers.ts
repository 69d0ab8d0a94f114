import { z } from 'zod';

/**
 * The source of timeouts. Inject one (with a matching `clock`) to test passivation, retention, retries,
 * time limits, grace periods and backoff without sleeping.
 */
export interface Timers {
  /** Calls `fn` once, `ms` milliseconds from now; returns a handle for clearTimeout. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a timeout that has not fired yet; a handle that fired or was cleared is ignored. */
  clearTimeout(handle: unknown): void;
}

/** The `timers` option, as every options object that takes one checks it. */
export const TIMERS_OPTION = [
  z.custom<Timers>((value) => typeof (value as Timers | null)?.setTimeout === 'function' && typeof (value as Timers).clearTimeout === 'function'),
  'an object with setTimeout() and clearTimeout() methods',
] as const;

/** The timers of the host (`globalThis.setTimeout`). */
export const systemTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * Calls `fn` every `ms` until the returned function is called. A background sweep must not keep the
 * process alive on its own, so the host's handle is unref'd; other timers return handles without one.
 * @internal
 */
export function repeatEvery(timers: Timers, ms: number, fn: () => void): () => void {
  let stopped = false;
  let handle: unknown;
  const schedule = () => {
    handle = timers.setTimeout(tick, ms);
    (handle as { unref?: () => void } | null)?.unref?.();
  };
  const tick = () => {
    if (stopped) return;
    fn();
    if (!stopped) schedule();
  };
  schedule();
  return () => {
    stopped = true;
    timers.clearTimeout(handle);
  };
}
