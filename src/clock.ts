import { z } from 'zod';

/** The source of time. Inject one to test idle timeouts, budgets and backoff without sleeping. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** The `clock` option, as every options object that takes one checks it. */
export const CLOCK_OPTION = [z.custom<Clock>((value) => typeof (value as Clock | null)?.now === 'function'), 'an object with a now() method'] as const;
