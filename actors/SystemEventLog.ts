import type { CorrelationContext } from '../src/events/correlation.js';
import { currentCorrelation } from '../src/events/correlation.js';
import type { EventSpec } from '../src/events/eventLog.js';
import type { BatchOp, LeaseHold } from '../src/storage/index.js';
import type { CommitParticipant, CommitScheduler } from './CommitScheduler.js';
import type { CommitGroup, WriteUnit } from './WriteUnit.js';

/**
 * Logs events that belong to no scope (supervision, injected faults, runtime.fatal) through the shared
 * commit path, so they get commit sequences and sit on the timeline with everything else.
 */
export class SystemEventLog implements CommitParticipant {
  readonly scope = undefined;
  readonly #scheduler: CommitScheduler;
  #queue: WriteUnit[] = [];
  #committing = false;

  constructor(scheduler: CommitScheduler) {
    this.#scheduler = scheduler;
  }

  /**
   * Resolves once the events are durable. Runs in the caller's correlation context unless given one.
   * `extraOps` commit in the same batch, as a record the events describe (a hook registration). With a
   * `fence`, on a store several processes share, the batch is refused (LEASE_LOST) unless its leases are
   * still this process's.
   */
  append(events: readonly EventSpec[], context: CorrelationContext | undefined = currentCorrelation(), extraOps?: readonly BatchOp[], fence?: readonly LeaseHold[]): Promise<void> {
    return new Promise((resolve, reject) => {
      const wasEmpty = this.#queue.length === 0;
      this.#queue.push({ kind: 'record', writes: [], events, extraOps, context, ...(fence === undefined ? {} : { fence }), result: undefined, resolve, reject });
      if (wasEmpty && !this.#committing) this.#scheduler.enqueue(this);
    });
  }

  /** The queued units up to the first with another fence: a lost lease must not refuse another's events. */
  takeGroup(): CommitGroup | undefined {
    if (this.#committing || this.#queue.length === 0) return undefined;
    const { fence } = this.#queue[0];
    let end = 1;
    while (end < this.#queue.length && this.#queue[end].fence === fence) end++;
    const units = end === this.#queue.length ? this.#queue : this.#queue.slice(0, end);
    this.#queue = end === this.#queue.length ? [] : this.#queue.slice(end);
    this.#committing = true;
    return fence === undefined ? { units, bytes: 0 } : { units, bytes: 0, fence };
  }

  groupCommitted(group: CommitGroup): void {
    this.#settled();
    for (const unit of group.units) unit.resolve(undefined);
  }

  groupFailed(group: CommitGroup, error: unknown): void {
    this.#settled();
    for (const unit of group.units) unit.reject(error);
  }

  #settled(): void {
    this.#committing = false;
    if (this.#queue.length > 0) this.#scheduler.enqueue(this);
  }
}
