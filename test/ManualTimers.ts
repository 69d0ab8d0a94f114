import type { Timers } from '../src/timers.js';
import { ManualClock } from './helpers.js';

interface PendingTimer {
  id: number;
  due: number;
  fn: () => void;
}

/** Lets every promise callback that is already due run: resolves after the microtask queue has drained. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * Timers that fire only when the test moves time with advance(). They share a ManualClock, so a timer set at
 * `clock.now()` for `ms` fires when the clock reaches `now + ms`, and sees that time.
 */
export class ManualTimers implements Timers {
  readonly clock: ManualClock;
  readonly #pending = new Map<number, PendingTimer>();
  #nextId = 1;
  #setWaiters: ((ms: number) => void)[] = [];

  constructor(clock: ManualClock = new ManualClock()) {
    this.clock = clock;
  }

  setTimeout(fn: () => void, ms: number): number {
    const id = this.#nextId++;
    this.#pending.set(id, { id, due: this.clock.now() + Math.max(0, ms), fn });
    for (const resolve of this.#setWaiters.splice(0)) resolve(ms);
    return id;
  }

  /**
   * Resolves with the delay of the next timer set from now on: a way to wait for code that ends by setting
   * a timer (a retry's backoff, a time limit) without polling.
   */
  nextSet(): Promise<number> {
    return new Promise((resolve) => this.#setWaiters.push(resolve));
  }

  clearTimeout(handle: unknown): void {
    this.#pending.delete(handle as number);
  }

  /** How many timers have not fired nor been cleared. */
  get pending(): number {
    return this.#pending.size;
  }

  /** The delays of the pending timers from now, soonest first. */
  delays(): number[] {
    return [...this.#pending.values()].map((timer) => timer.due - this.clock.now()).sort((a, b) => a - b);
  }

  /**
   * Moves the clock forward by `ms`, firing each timer that falls due on the way, in due order (ties in the order
   * they were set), with the clock at its due time. Promise callbacks settle before and after each timer.
   */
  async advance(ms: number): Promise<void> {
    const target = this.clock.now() + ms;
    await settle();
    for (;;) {
      const next = this.#nextDue(target);
      if (next === undefined) break;
      this.#pending.delete(next.id);
      if (next.due > this.clock.now()) this.clock.advance(next.due - this.clock.now());
      next.fn();
      await settle();
    }
    if (target > this.clock.now()) this.clock.advance(target - this.clock.now());
    await settle();
  }

  #nextDue(limit: number): PendingTimer | undefined {
    let next: PendingTimer | undefined;
    for (const timer of this.#pending.values()) {
      if (timer.due > limit) continue;
      if (next === undefined || timer.due < next.due || (timer.due === next.due && timer.id < next.id)) next = timer;
    }
    return next;
  }
}
