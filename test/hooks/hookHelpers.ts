import { writeFileSync } from 'node:fs';
import type { HookRegistrationInput, Runtime } from '../../src/index.js';
import { settle, type ManualTimers } from '../ManualTimers.js';

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

/**
 * Lets the event loop turn until `check` holds, for what a worker thread reports with no promise to
 * await (an error after its task ended). Turns, not time: it fails after `turns` turns.
 */
export async function untilReported(check: () => boolean | Promise<boolean>, what: string, turns = 200_000): Promise<void> {
  for (let turn = 0; turn < turns; turn++) {
    if (await check()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`Gave up waiting until ${what}`);
}

/**
 * Runs the hooks of a runtime on manual `timers` until `done()` holds, or by default until
 * `rt.hooks.idle()` resolves. Time moves only while no execution runs, and only to the next timer, so
 * a retry's backoff or an open breaker's cooldown passes at once, while a running hook never sees its
 * time limit pass. While executions run it waits for what one ends with: a timer set (a retry, the next
 * execution's time limit), the hooks going idle, or one fewer running. The last has no event, so it is
 * watched between turns of the event loop.
 */
export async function driveHooks(rt: Runtime, timers: ManualTimers, done?: () => boolean | Promise<boolean>, what = 'the hooks to be idle'): Promise<void> {
  let idle = false;
  const idling = rt.hooks.idle().then(() => (idle = true));
  for (let step = 0; step < 100_000; step++) {
    await settle();
    if (done === undefined ? idle : await done()) return;
    const running = rt.metrics().hooks.inFlight;
    if (running === 0 && timers.pending > 0) {
      await timers.advance(timers.delays()[0]);
      continue;
    }
    let changed = false;
    const stop = () => (changed = true);
    void timers.nextSet().then(stop);
    void idling.then(stop);
    while (!changed && rt.metrics().hooks.inFlight === running) await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`Gave up waiting for ${what}`);
}

/** Opens the gate of the gated fixture hook: for hooks yet to start (the file) and those waiting (the channel). */
export function openGate(gate: string): void {
  writeFileSync(gate, '');
  const channel = new BroadcastChannel(gate);
  channel.postMessage('open');
  channel.close();
}
