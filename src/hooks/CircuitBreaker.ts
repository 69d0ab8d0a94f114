import { checkOptions } from '../checkOptions.js';
import { z } from 'zod';
import { CLOCK_OPTION, type Clock } from '../clock.js';

/** `closed`: calls run. `open`: calls wait. `half_open`: a few probe calls test whether the hook recovered. */
export type CircuitState = 'closed' | 'open' | 'half_open';

/** Options of {@link CircuitBreaker}. */
export interface CircuitBreakerOptions {
  /** Source of time; inject a fake one in tests. */
  clock: Clock;
  /** Failures within `windowMs` that open the breaker. @default 5 */
  failureThreshold?: number;
  /** How far back failures count, in milliseconds. @default 30000 */
  windowMs?: number;
  /** How long the breaker stays open before it lets probes through, in milliseconds. @default 10000 */
  cooldownMs?: number;
  /** Probe calls allowed in flight at once while half-open. @default 1 */
  halfOpenMaxCalls?: number;
  /** Called after every change of state, including the one that happens when a cooldown ends. */
  onTransition?: (from: CircuitState, to: CircuitState) => void;
}

export interface ResolvedCircuitBreakerOptions {
  clock: Clock;
  failureThreshold: number;
  windowMs: number;
  cooldownMs: number;
  halfOpenMaxCalls: number;
  onTransition: ((from: CircuitState, to: CircuitState) => void) | undefined;
}

export const DEFAULT_OPTIONS = {
  failureThreshold: 5,
  windowMs: 30_000,
  cooldownMs: 10_000,
  halfOpenMaxCalls: 1,
} as const satisfies Partial<ResolvedCircuitBreakerOptions>;

const positiveInteger = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/** Each option's schema, and how a message describes what it expects. */
const FIELDS = {
  clock: CLOCK_OPTION,
  failureThreshold: [positiveInteger, 'a positive integer'],
  windowMs: [positiveInteger, 'a positive integer'],
  cooldownMs: [positiveInteger, 'a positive integer'],
  halfOpenMaxCalls: [positiveInteger, 'a positive integer'],
  onTransition: [z.custom<NonNullable<CircuitBreakerOptions['onTransition']>>((value) => typeof value === 'function'), 'a function'],
} as const;


/**
 * A hook's circuit breaker (DESIGN §7). It opens after `failureThreshold` failures or timeouts within
 * `windowMs`; after `cooldownMs` it turns half-open and lets up to `halfOpenMaxCalls` probes run. A
 * successful probe closes it; a failed one opens it again for a fresh cooldown.
 *
 * In the closed state a success does not forgive earlier failures: the breaker counts failures within a
 * window, so a hook that fails every other call still opens it. Outcomes reported while open (calls
 * that started before it opened) change nothing; nor does an outcome reported with the
 * {@link generation} its call started in, once the breaker has changed state since (a slow call that
 * started before the breaker opened cannot close it while its half-open probe runs).
 *
 * Every call that {@link canRun} lets through must end in {@link recordSuccess} or
 * {@link recordFailure}, or a half-open breaker keeps waiting for its probe.
 *
 * @throws {TypeError} from the constructor, reading like
 * ``Expected `failureThreshold` to be a positive integer, got `0` (number)``.
 * @example
 * const breaker = new CircuitBreaker({ clock: systemClock, failureThreshold: 3 })
 * if (breaker.canRun()) {
 *   try { await run(); breaker.recordSuccess() } catch { breaker.recordFailure() }
 * } else {
 *   scheduleAt(breaker.retryAt())
 * }
 */
export class CircuitBreaker {
  readonly options: ResolvedCircuitBreakerOptions;
  #state: CircuitState = 'closed';
  /** Times of recent failures, oldest first; only kept while closed. */
  #failures: number[] = [];
  #openedAt = 0;
  #probesInFlight = 0;
  #generation = 0;

  constructor(options: CircuitBreakerOptions) {
    this.options = resolveOptions(options);
  }

  /** The current state. An open breaker whose cooldown has ended reads, and becomes, `half_open`. */
  get state(): CircuitState {
    if (this.#state === 'open' && this.options.clock.now() >= this.#openedAt + this.options.cooldownMs) {
      this.#probesInFlight = 0;
      this.#transition('half_open');
    }
    return this.#state;
  }

  /** Changes whenever the state does. A call that reads it as it starts can report its outcome with it. */
  get generation(): number {
    void this.state;
    return this.#generation;
  }

  /**
   * Whether a call may start now. While half-open a `true` answer counts as a probe started, so ask only
   * when about to run the call.
   */
  canRun(): boolean {
    switch (this.state) {
      case 'closed':
        return true;
      case 'open':
        return false;
      case 'half_open':
        if (this.#probesInFlight >= this.options.halfOpenMaxCalls) return false;
        this.#probesInFlight++;
        return true;
    }
  }

  /**
   * Reports a call that succeeded. A half-open breaker closes, forgetting past failures. With
   * `startedIn` (the call's {@link generation}), a call from an earlier state is ignored.
   */
  recordSuccess(startedIn?: number): void {
    if (this.state !== 'half_open' || this.#stale(startedIn)) return;
    this.#failures = [];
    this.#probesInFlight = 0;
    this.#transition('closed');
  }

  /**
   * Reports a call that failed or timed out. It may open the breaker, or reopen a half-open one. With
   * `startedIn` (the call's {@link generation}), a call from an earlier state is ignored.
   */
  recordFailure(startedIn?: number): void {
    const state = this.state;
    if (this.#stale(startedIn)) return;
    const now = this.options.clock.now();
    if (state === 'half_open') {
      this.#open(now);
      return;
    }
    if (state === 'open') return;
    this.#failures.push(now);
    const since = now - this.options.windowMs;
    while (this.#failures.length > 0 && this.#failures[0] < since) this.#failures.shift();
    if (this.#failures.length >= this.options.failureThreshold) this.#open(now);
  }

  /** When an open breaker turns half-open, in clock milliseconds; `undefined` unless it is open. */
  retryAt(): number | undefined {
    return this.state === 'open' ? this.#openedAt + this.options.cooldownMs : undefined;
  }

  #open(now: number): void {
    this.#openedAt = now;
    this.#failures = [];
    this.#probesInFlight = 0;
    this.#transition('open');
  }

  #stale(startedIn: number | undefined): boolean {
    return startedIn !== undefined && startedIn !== this.#generation;
  }

  #transition(to: CircuitState): void {
    const from = this.#state;
    this.#state = to;
    this.#generation++;
    this.options.onTransition?.(from, to);
  }
}

function resolveOptions(input: unknown): ResolvedCircuitBreakerOptions {
  const options = checkOptions(input, FIELDS, { required: ['clock'] });
  return {
    clock: options.clock,
    failureThreshold: options.failureThreshold ?? DEFAULT_OPTIONS.failureThreshold,
    windowMs: options.windowMs ?? DEFAULT_OPTIONS.windowMs,
    cooldownMs: options.cooldownMs ?? DEFAULT_OPTIONS.cooldownMs,
    halfOpenMaxCalls: options.halfOpenMaxCalls ?? DEFAULT_OPTIONS.halfOpenMaxCalls,
    onTransition: options.onTransition,
  };
}
