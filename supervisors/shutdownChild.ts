import type { ChildRef, Shutdown } from './childSpec.js';
import type { Timers } from '../src/timers.js';

/** How a child's shutdown went. */
export interface ShutdownOutcome {
  /** `stopped`: its stop() resolved. `killed`: it was killed (brutal_kill, grace period over, or stop() failed). */
  how: 'stopped' | 'killed';
  /** True when the grace period ran out before stop() resolved. */
  timedOut: boolean;
  /** What stop() rejected with or kill() threw, if anything. */
  error?: unknown;
}

/**
 * Stops one child the OTP way: `'brutal_kill'` kills it at once; a number of ms asks it to stop and kills it if
 * stop() has not resolved in time; `'infinity'` waits for stop() however long it takes. A stop() that rejects is
 * followed by kill(), so that the child is gone either way. Resolves with `undefined` if `signal` aborts first:
 * whoever aborted has killed the child. Never rejects.
 * @internal
 */
export function shutdownChild(ref: ChildRef, shutdown: Shutdown, timers: Timers, signal?: AbortSignal): Promise<ShutdownOutcome | undefined> {
  if (signal?.aborted) return Promise.resolve(undefined);
  if (shutdown === 'brutal_kill') {
    const error = tryKill(ref);
    return Promise.resolve(error === undefined ? { how: 'killed', timedOut: false } : { how: 'killed', timedOut: false, error });
  }
  return new Promise((resolve) => {
    let settled = false;
    let handle: unknown;
    const finish = (outcome: ShutdownOutcome | undefined): void => {
      if (settled) return;
      settled = true;
      if (handle !== undefined) timers.clearTimeout(handle);
      signal?.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    const onAbort = (): void => finish(undefined);
    signal?.addEventListener('abort', onAbort, { once: true });
    let stopping: Promise<void>;
    try {
      stopping = Promise.resolve(ref.stop());
    } catch (error) {
      stopping = Promise.reject(error);
    }
    stopping.then(
      () => finish({ how: 'stopped', timedOut: false }),
      (error: unknown) => {
        if (settled) return;
        tryKill(ref);
        finish({ how: 'killed', timedOut: false, error });
      },
    );
    if (typeof shutdown === 'number' && !settled) {
      handle = timers.setTimeout(() => {
        handle = undefined;
        if (settled) return;
        const error = tryKill(ref);
        finish(error === undefined ? { how: 'killed', timedOut: true } : { how: 'killed', timedOut: true, error });
      }, shutdown);
    }
  });
}

/** Kills a child, returning what kill() threw instead of throwing it. @internal */
export function tryKill(ref: ChildRef): unknown {
  try {
    ref.kill();
    return undefined;
  } catch (error) {
    return error;
  }
}
