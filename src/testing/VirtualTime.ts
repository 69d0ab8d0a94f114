import type { Clock } from '../clock.js';
import type { Timers } from '../timers.js';

interface PendingTimer {
  readonly id: number;
  readonly due: number;
  readonly fn: () => void;
}

/** The instant a simulation starts at: a fixed date, so that every run sees the same times. */
export const SIMULATION_EPOCH = Date.UTC(2026, 0, 1);

/**
 * The clock and timers of a simulated runtime. Time stands still until the simulation moves it; then
 * every timer that falls due fires in due order (ties in the order they were set), each with the clock
 * at its own due time. A 5-minute time limit thus takes no wall time at all.
 */
export class VirtualTime implements Clock, Timers {
  #now = SIMULATION_EPOCH;
  readonly #pending = new Map<number, PendingTimer>();
  #nextId = 1;

  now(): number {
    return this.#now;
  }

  /** Milliseconds since the simulation started. */
  get elapsed(): number {
    return this.#now - SIMULATION_EPOCH;
  }

  setTimeout(fn: () => void, ms: number): number {
    const id = this.#nextId++;
    this.#pending.set(id, { id, due: this.#now + Math.max(0, Number.isFinite(ms) ? ms : 0), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#pending.delete(handle as number);
  }

  /** When the next timer falls due, or undefined when none is set. */
  nextDue(): number | undefined {
    return this.#soonest(Infinity)?.due;
  }

  /**
   * Fires the soonest timer due at or before `until`, moving the clock to its time; false when there is
   * none (the clock then moves to `until`, if that is later).
   */
  fireNext(until: number): boolean {
    const timer = this.#soonest(until);
    if (timer === undefined) {
      if (until > this.#now && Number.isFinite(until)) this.#now = until;
      return false;
    }
    this.#pending.delete(timer.id);
    if (timer.due > this.#now) this.#now = timer.due;
    timer.fn();
    return true;
  }

  #soonest(until: number): PendingTimer | undefined {
    let soonest: PendingTimer | undefined;
    for (const timer of this.#pending.values()) {
      if (timer.due > until) continue;
      if (soonest === undefined || timer.due < soonest.due || (timer.due === soonest.due && timer.id < soonest.id)) soonest = timer;
    }
    return soonest;
  }
}
