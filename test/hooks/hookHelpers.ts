import type { HookRegistrationInput, Runtime } from '../../src/index.js';

export const SCRIPTED = new URL('../fixtures/hooks/scripted.mjs', import.meta.url);

/** Registers the scripted fixture hook, with fast retries unless the test says otherwise. */
export function registerScripted(rt: Runtime, name: string, options: Record<string, unknown> = {}, extra: Partial<HookRegistrationInput> = {}) {
  return rt.hooks.register({ name, module: SCRIPTED, on: ['state.set'], backoff: { initialMs: 1, maxMs: 5 }, options, ...extra });
}

/** Real time plus an offset the test moves: backoff timers still fire, and breakers see time jump. */
export class OffsetClock {
  offset = 0;
  now(): number {
    return Date.now() + this.offset;
  }
}

/** Polls until `check` is true; fails with `what` after `ms`. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
