import type { Clock } from '../clock.js';
import { kindMatcher } from '../events/kindPattern.js';
import { CircuitBreaker, type CircuitState } from './CircuitBreaker.js';
import { DurationWindow } from './DurationWindow.js';
import type { HookDefinition } from './hookDefinition.js';
import { eventCount, type PendingEntry } from './pendingEntry.js';

/** Fewest samples before the latency budget is judged, so one slow cold start cannot disable a hook. */
export const BUDGET_MIN_SAMPLES = 20;

export interface SlotCounters {
  succeeded: number;
  failed: number;
  timedOut: number;
  deadLettered: number;
  overflowed: number;
  delivered: number;
}

export function zeroCounters(): SlotCounters {
  return { succeeded: 0, failed: 0, timedOut: 0, deadLettered: 0, overflowed: 0, delivered: 0 };
}

/**
 * The dispatcher's view of one registered hook: which events it takes, what waits for it, and the
 * state of its protections (breaker, latency window, retry backoff).
 */
export class HookSlot {
  readonly id: number;
  definition: HookDefinition;
  breaker: CircuitBreaker;
  readonly #clock: Clock;
  readonly #onBreaker: (from: CircuitState, to: CircuitState) => void;
  readonly durations = new DurationWindow();
  readonly counters = zeroCounters();
  /** Entries not taken by a running execution, in commit order. */
  queue: PendingEntry[] = [];
  /** Events in the outbox for this hook, including batches still committing. */
  pendingEvents = 0;
  inFlight = 0;
  /** No execution starts before this time (retry backoff), in clock ms. */
  retryAt = 0;
  /** Built-ins that need a main-thread sink (cache invalidation) wait until one is attached. */
  detached = false;
  #matchKind: (kind: string) => boolean;

  constructor(id: number, definition: HookDefinition, clock: Clock, onBreaker: (from: CircuitState, to: CircuitState) => void) {
    this.id = id;
    this.definition = definition;
    this.#matchKind = kindsMatcher(definition.on);
    this.#clock = clock;
    this.#onBreaker = onBreaker;
    this.breaker = this.#newBreaker();
  }

  get name(): string {
    return this.definition.name;
  }

  /**
   * Replaces the definition (a re-registration); the queue and counters stay. The breaker keeps its
   * state unless its settings changed: new settings start a new, closed breaker.
   */
  redefine(definition: HookDefinition): void {
    const { failureThreshold, windowMs, cooldownMs } = definition.breaker;
    const current = this.breaker.options;
    const breakerChanged = failureThreshold !== current.failureThreshold || windowMs !== current.windowMs || cooldownMs !== current.cooldownMs;
    this.definition = definition;
    if (breakerChanged) this.breaker = this.#newBreaker();
    this.#matchKind = kindsMatcher(definition.on);
  }

  /** What enabling a hook again starts afresh: its latency window and a closed breaker. */
  enableAgain(): void {
    this.durations.reset();
    this.breaker = this.#newBreaker();
  }

  #newBreaker(): CircuitBreaker {
    return new CircuitBreaker({ clock: this.#clock, ...this.definition.breaker, onTransition: this.#onBreaker });
  }

  matches(kind: string, scopeKind: string | undefined, key: string | undefined): boolean {
    if (!this.#matchKind(kind)) return false;
    const { scopeKinds, keyPrefix } = this.definition.filter;
    if (scopeKinds !== undefined && (scopeKind === undefined || !scopeKinds.includes(scopeKind as never))) return false;
    if (keyPrefix !== undefined && (key === undefined || !key.startsWith(keyPrefix))) return false;
    return true;
  }

  /** Waiting entries are parked: they stay in the outbox, and `idle()` does not wait for them. */
  get parked(): boolean {
    return this.definition.disabled !== undefined || this.detached;
  }

  /** Whether an execution may start now. Asks the breaker last: a half-open yes counts as a probe. */
  canStart(now: number): boolean {
    return (
      !this.parked &&
      this.queue.length > 0 &&
      this.inFlight < this.definition.concurrency &&
      now >= this.retryAt &&
      this.breaker.canRun()
    );
  }

  /**
   * Takes whole entries from the head, up to `batchSize` events (always at least one entry). A retry
   * takes only the entries that failed together, so an event that arrived since is not charged with
   * their attempts.
   */
  takeBatch(): PendingEntry[] {
    const { batchSize } = this.definition;
    const attempts = this.queue[0]?.attempts ?? 0;
    let events = 0;
    let count = 0;
    while (
      count < this.queue.length &&
      (count === 0 || (events + eventCount(this.queue[count]) <= batchSize && this.queue[count].attempts === attempts))
    ) {
      events += eventCount(this.queue[count]);
      count++;
    }
    return this.queue.splice(0, count);
  }

  /**
   * Puts entries of a failed execution back at the head, in their order. Another execution's entries
   * may be back already (with `concurrency` above 1): the head stays in commit order.
   */
  putBack(entries: PendingEntry[]): void {
    let at = 0;
    while (at < this.queue.length && this.queue[at].seq < entries[0].seq) at++;
    this.queue.splice(at, 0, ...entries);
  }

  /** The p95 once enough samples exist and it is over budget; otherwise undefined. */
  overBudget(): number | undefined {
    if (this.durations.count < BUDGET_MIN_SAMPLES) return undefined;
    const p95 = this.durations.p95()!;
    return p95 > this.definition.budgetMs ? p95 : undefined;
  }
}

function kindsMatcher(patterns: readonly string[]): (kind: string) => boolean {
  const matchers = patterns.map(kindMatcher);
  return matchers.length === 1 ? matchers[0] : (kind) => matchers.some((matches) => matches(kind));
}
