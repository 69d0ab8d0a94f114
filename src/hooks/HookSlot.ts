import type { Clock } from '../clock.js';
import { CircuitBreaker, type CircuitState } from './CircuitBreaker.js';
import { DurationWindow } from './DurationWindow.js';
import { eventMatcher, type EventMatcher, type HookDefinition } from './hookDefinition.js';
import { eventCount, type PendingEntry } from './pendingEntry.js';
import type { ExecutionStatus } from './types.js';

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
 * The breaker an execution started under, and in which of its states: the outcome counts there, and
 * only if that breaker has not changed state since (or been replaced by a re-registration).
 */
export interface BreakerTicket {
  readonly breaker: CircuitBreaker;
  readonly generation: number;
}

/** An execution the slot has let start: the entries it took, and its breaker ticket. */
export interface StartedExecution {
  readonly entries: PendingEntry[];
  readonly ticket: BreakerTicket;
}

/**
 * The dispatcher's view of one registered hook: which events it takes, what waits for it, and the
 * state of its protections (breaker, latency window, retry backoff).
 *
 * The slot is the only writer of that state. The commit path reserves room and enqueues, the
 * dispatcher starts executions and ends them, and the runner reports how each one settled; none of
 * them touches a field.
 */
export class HookSlot {
  readonly id: number;
  #definition: HookDefinition;
  #breaker: CircuitBreaker;
  readonly #clock: Clock;
  readonly #onBreaker: (from: CircuitState, to: CircuitState) => void;
  readonly #durations = new DurationWindow();
  readonly #counters = zeroCounters();
  /** Entries not taken by a running execution, in commit order. */
  readonly #queue: PendingEntry[] = [];
  /** Events in the outbox for this hook, including batches still committing. */
  #pendingEvents = 0;
  #inFlight = 0;
  /** No execution starts before this time (retry backoff), in clock ms. */
  #retryAt = 0;
  /** Built-ins that need a main-thread sink (cache invalidation) wait until one is attached. */
  #detached = false;
  #matches: EventMatcher;

  constructor(id: number, definition: HookDefinition, clock: Clock, onBreaker: (from: CircuitState, to: CircuitState) => void) {
    this.id = id;
    this.#definition = definition;
    this.#matches = eventMatcher(definition);
    this.#clock = clock;
    this.#onBreaker = onBreaker;
    this.#breaker = this.#newBreaker();
  }

  get name(): string {
    return this.#definition.name;
  }

  get definition(): HookDefinition {
    return this.#definition;
  }

  get breakerState(): CircuitState {
    return this.#breaker.state;
  }

  /** Events in the outbox for this hook, including batches still committing. */
  get pending(): number {
    return this.#pendingEvents;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get detached(): boolean {
    return this.#detached;
  }

  /** A copy: the counters change only through the slot. */
  get counters(): SlotCounters {
    return { ...this.#counters };
  }

  /** The latency percentiles, once anything was measured. */
  latency(): { p50Ms: number; p95Ms: number } | undefined {
    return this.#durations.count === 0 ? undefined : { p50Ms: this.#durations.p50()!, p95Ms: this.#durations.p95()! };
  }

  /**
   * Replaces the definition (a re-registration); the queue and counters stay. The breaker keeps its
   * state unless its settings changed: new settings start a new, closed breaker.
   */
  redefine(definition: HookDefinition): void {
    const { failureThreshold, windowMs, cooldownMs } = definition.breaker;
    const current = this.#breaker.options;
    const breakerChanged = failureThreshold !== current.failureThreshold || windowMs !== current.windowMs || cooldownMs !== current.cooldownMs;
    this.#definition = definition;
    if (breakerChanged) this.#breaker = this.#newBreaker();
    this.#matches = eventMatcher(definition);
  }

  /** Parks the hook: what arrives waits in the outbox. Returns the definition to persist. */
  disable(disabled: NonNullable<HookDefinition['disabled']>): HookDefinition {
    this.#definition = { ...this.#definition, disabled };
    return this.#definition;
  }

  /**
   * Runs the hook again, starting afresh what judged it: its latency window and a closed breaker.
   * Returns the definition to persist.
   */
  enable(): HookDefinition {
    const { disabled: _disabled, ...definition } = this.#definition;
    this.#definition = definition;
    this.#durations.reset();
    this.#breaker = this.#newBreaker();
    return definition;
  }

  /** Whether the hook waits for its main-thread sink (a cache invalidation keyspace) to be attached. */
  setDetached(detached: boolean): void {
    this.#detached = detached;
  }

  #newBreaker(): CircuitBreaker {
    return new CircuitBreaker({ clock: this.#clock, ...this.#definition.breaker, onTransition: this.#onBreaker });
  }

  matches(kind: string, scopeKind: string | undefined, key: string | undefined): boolean {
    return this.#matches(kind, scopeKind, key);
  }


  /** Waiting entries are parked: they stay in the outbox, and `idle()` does not wait for them. */
  get parked(): boolean {
    return this.#definition.disabled !== undefined || this.#detached;
  }

  /** Entries wait for this hook, and it is not parked. */
  get waiting(): boolean {
    return this.#queue.length > 0 && !this.parked;
  }

  /**
   * Makes room in the outbox for `count` events of a batch about to commit. False when the hook's
   * outbox is full (`maxPending`): those events are dead-lettered instead.
   */
  reserve(count: number): boolean {
    if (this.#pendingEvents + count > this.#definition.maxPending) return false;
    this.#pendingEvents += count;
    return true;
  }

  /** Gives back room reserved for a batch that failed to commit. */
  release(count: number): void {
    this.#pendingEvents -= count;
  }

  /** Queues an entry whose room was reserved, once its batch committed. */
  enqueue(entry: PendingEntry): void {
    this.#queue.push(entry);
  }

  /** Queues an entry that was waiting outside memory: in the outbox at open, or in the dead letters. */
  restore(entry: PendingEntry): void {
    this.#pendingEvents += eventCount(entry);
    this.#queue.push(entry);
  }

  /** Counts events dead-lettered because the outbox was full. */
  overflowed(count: number): void {
    this.#counters.overflowed += count;
  }

  /** Takes everything waiting, for a hook being removed. */
  drain(): PendingEntry[] {
    return this.#queue.splice(0);
  }

  /** Forgets what is queued, which stays in the outbox for the process that delivers the hook now. */
  abandonQueued(): void {
    for (const entry of this.#queue.splice(0)) this.#pendingEvents -= eventCount(entry);
  }

  /** An execution's entries that another process delivers now: they leave this process's count. */
  abandon(entries: readonly PendingEntry[]): void {
    for (const entry of entries) this.#pendingEvents -= eventCount(entry);
  }

  /** Whether an execution may start now. Asks the breaker last: a half-open yes counts as a probe. */
  canStart(now: number): boolean {
    return (
      !this.parked &&
      this.#queue.length > 0 &&
      this.#inFlight < this.#definition.concurrency &&
      now >= this.#retryAt &&
      this.#breaker.canRun()
    );
  }

  /** How long until waiting entries might start, when backoff or an open breaker holds them; else Infinity. */
  waitMs(now: number): number {
    if (!this.waiting) return Infinity;
    let waitMs = Infinity;
    if (this.#retryAt > now) waitMs = this.#retryAt - now;
    const reopensAt = this.#breaker.retryAt();
    if (reopensAt !== undefined) waitMs = Math.min(waitMs, Math.max(1, reopensAt - now));
    return waitMs;
  }

  /** Starts an execution (after {@link canStart}): takes its batch and counts it in flight until {@link end}. */
  begin(): StartedExecution {
    const entries = this.#takeBatch();
    this.#inFlight++;
    return { entries, ticket: { breaker: this.#breaker, generation: this.#breaker.generation } };
  }

  /** An execution started by {@link begin} settled, however it went. */
  end(): void {
    this.#inFlight--;
  }

  /** A recorded success: its events leave the outbox, and it counts for the breaker and latency. */
  settle(ticket: BreakerTicket, events: number, durationMs: number): void {
    this.#pendingEvents -= events;
    this.#counters.succeeded++;
    this.#counters.delivered += events;
    ticket.breaker.recordSuccess(ticket.generation);
    this.#durations.record(durationMs);
  }

  /**
   * A failed or timed-out attempt. `ticket` is left out when the failure was not the hook's (the
   * runtime refused its writes), so the breaker does not count it.
   */
  fail(status: ExecutionStatus, ticket: BreakerTicket | undefined): void {
    ticket?.breaker.recordFailure(ticket.generation);
    if (status === 'timed_out') {
      this.#counters.timedOut++;
      this.#durations.record(this.#definition.timeoutMs);
    } else {
      this.#counters.failed++;
    }
  }

  /**
   * An execution the runtime's close cut short: it counts as a failure for the breaker, and its
   * entries stay, to run again after the next open.
   */
  interrupt(ticket: BreakerTicket, entries: PendingEntry[]): void {
    ticket.breaker.recordFailure(ticket.generation);
    this.putBack(entries);
  }

  /**
   * Puts entries of a failed execution back at the head, to start no sooner than `retryAt`. With
   * `attempts`, each entry has now been tried that many times.
   */
  scheduleRetry(entries: PendingEntry[], retryAt: number, attempts?: number): void {
    this.putBack(attempts === undefined ? entries : entries.map((entry) => ({ ...entry, attempts })));
    this.#retryAt = retryAt;
  }

  /** Events whose attempts ran out were dead-lettered: they leave the outbox. */
  deadLettered(events: number): void {
    this.#pendingEvents -= events;
    this.#counters.deadLettered += events;
  }

  /**
   * Puts entries of an execution that did not settle back at the head, in their order. Another
   * execution's entries may be back already (with `concurrency` above 1): the head stays in commit order.
   */
  putBack(entries: PendingEntry[]): void {
    let at = 0;
    while (at < this.#queue.length && this.#queue[at].seq < entries[0].seq) at++;
    this.#queue.splice(at, 0, ...entries);
  }

  /** The p95 once enough samples exist and it is over budget; otherwise undefined. */
  overBudget(): number | undefined {
    if (this.#durations.count < BUDGET_MIN_SAMPLES) return undefined;
    const p95 = this.#durations.p95()!;
    return p95 > this.#definition.budgetMs ? p95 : undefined;
  }

  /**
   * Takes whole entries from the head, up to `batchSize` events (always at least one entry). A retry
   * takes only the entries that failed together, so an event that arrived since is not charged with
   * their attempts.
   */
  #takeBatch(): PendingEntry[] {
    const queue = this.#queue;
    const { batchSize } = this.#definition;
    const attempts = queue[0]?.attempts ?? 0;
    let events = 0;
    let count = 0;
    while (count < queue.length && (count === 0 || (events + eventCount(queue[count]) <= batchSize && queue[count].attempts === attempts))) {
      events += eventCount(queue[count]);
      count++;
    }
    return queue.splice(0, count);
  }
}
