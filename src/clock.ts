/** The source of time. Inject one to test idle timeouts, budgets and backoff without sleeping. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
