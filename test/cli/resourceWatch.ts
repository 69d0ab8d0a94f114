import { AsyncLocalStorage, createHook } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * What a child process's exit proves, for code run in this process: runs `work`, then waits until
 * every timer and handle it started (directly or through what it called) has ended or no longer keeps
 * the process alive (unref'd). Work that leaves one running never settles, as a command that left one
 * would never exit.
 */
export async function watchResources<T>(work: () => Promise<T>): Promise<T> {
  const token = {};
  const started = new Map<number, { type: string; resource: unknown }>();
  const hook = createHook({
    init(asyncId, type, _triggerId, resource) {
      if (type !== 'PROMISE' && watched.getStore() === token) started.set(asyncId, { type, resource });
    },
    destroy(asyncId) {
      started.delete(asyncId);
    },
  });
  hook.enable();
  try {
    const result = await watched.run(token, work);
    for (let waits = 1; [...started.values()].some(keepsAlive); waits++) {
      // Says what it waits for, once it has waited long: a test that then times out says why.
      if (waits === 2500) process.stderr.write(`still running after the command: ${[...started.values()].filter(keepsAlive).map(({ type }) => type).join(', ')}\n`);
      await sleep(2);
    }
    return result;
  } finally {
    hook.disable();
  }
}

const watched = new AsyncLocalStorage<object>();

/**
 * Whether a resource keeps the event loop, and so a process, alive: a ref'd timer, immediate or handle.
 * A request (a file read, random bytes) ends by itself, and some say so only once collected.
 */
function keepsAlive({ resource }: { resource: unknown }): boolean {
  const hasRef = (resource as { hasRef?: unknown }).hasRef;
  return typeof hasRef === 'function' && (hasRef.call(resource) as boolean);
}
