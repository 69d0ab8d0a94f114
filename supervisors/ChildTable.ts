import type { ChildRef, ExitReason, ResolvedChildSpec } from './childSpec.js';
import type { Strategy } from './supervisorOptions.js';
import type { Timers } from '../src/timers.js';

/** `running`; `restarting`: to be started again (after a backoff, or a failed start); `terminated`: spec kept, not running. */
export type ChildStatus = 'running' | 'restarting' | 'terminated';

/** One run of a child: exits reported by an earlier run are recognised as stale and ignored. @internal */
export interface Incarnation {
  readonly record: ChildRecord;
  exit: ExitReason | undefined;
}

/** Children waiting to be started again together, after a backoff or at once. @internal */
export interface RestartAttempt {
  readonly members: Set<ChildRecord>;
  handle: unknown;
}

/** What a supervisor knows of one child. @internal */
export interface ChildRecord {
  readonly spec: ResolvedChildSpec;
  /** Started from the template of a `simple_one_for_one` supervisor: forgotten once it stops for good. */
  readonly dynamic: boolean;
  status: ChildStatus;
  restarts: number;
  ref: ChildRef | undefined;
  incarnation: Incarnation | undefined;
  attempt: RestartAttempt | undefined;
}

/** A record for a child that has not started yet. @internal */
export function newRecord(spec: ResolvedChildSpec, dynamic: boolean): ChildRecord {
  return { spec, dynamic, status: 'terminated', restarts: 0, ref: undefined, incarnation: undefined, attempt: undefined };
}

/**
 * A supervisor's children in start order (a Map keeps insertion order, and a restarted child keeps its place),
 * with the restarts pending for them.
 * @internal
 */
export class ChildTable {
  readonly #records = new Map<string, ChildRecord>();
  readonly #attempts = new Set<RestartAttempt>();
  readonly #timers: Timers;

  constructor(timers: Timers) {
    this.#timers = timers;
  }

  get size(): number {
    return this.#records.size;
  }

  get(id: string): ChildRecord | undefined {
    return this.#records.get(id);
  }

  /** True while `record` is the table's record for its id (not removed, nor replaced). */
  holds(record: ChildRecord): boolean {
    return this.#records.get(record.spec.id) === record;
  }

  /** Adds a child at the end of the start order. */
  add(record: ChildRecord): void {
    this.#records.set(record.spec.id, record);
  }

  inStartOrder(): ChildRecord[] {
    return [...this.#records.values()];
  }

  /** The children a restart of `record` starts again under `strategy`, in start order. */
  restartGroup(record: ChildRecord, strategy: Strategy): ChildRecord[] {
    switch (strategy) {
      case 'one_for_all':
        return this.inStartOrder();
      case 'rest_for_one': {
        const all = this.inStartOrder();
        return all.slice(all.indexOf(record));
      }
      default:
        return [record];
    }
  }

  /** Marks `members` as restarting together, taking each out of any restart it was waiting for. */
  newAttempt(members: ChildRecord[]): RestartAttempt {
    const attempt: RestartAttempt = { members: new Set(), handle: undefined };
    for (const record of members) {
      this.detach(record);
      attempt.members.add(record);
      record.attempt = attempt;
      record.status = 'restarting';
    }
    this.#attempts.add(attempt);
    return attempt;
  }

  /** The members of `attempt`, in start order. */
  membersOf(attempt: RestartAttempt): ChildRecord[] {
    if (attempt.members.size <= 1) return [...attempt.members];
    return this.inStartOrder().filter((record) => attempt.members.has(record));
  }

  /** The attempt is running now: it no longer needs cancelling. */
  settle(attempt: RestartAttempt): void {
    this.#attempts.delete(attempt);
  }

  /** Takes a child out of its pending restart, cancelling the restart's timer once nobody waits for it. */
  detach(record: ChildRecord): void {
    const { attempt } = record;
    if (attempt === undefined) return;
    record.attempt = undefined;
    attempt.members.delete(record);
    if (attempt.members.size === 0) {
      if (attempt.handle !== undefined) this.#timers.clearTimeout(attempt.handle);
      attempt.handle = undefined;
      this.#attempts.delete(attempt);
    }
  }

  /** Cancels every pending restart. */
  cancelAttempts(): void {
    for (const attempt of this.#attempts) {
      if (attempt.handle !== undefined) this.#timers.clearTimeout(attempt.handle);
      attempt.handle = undefined;
      for (const record of attempt.members) record.attempt = undefined;
      attempt.members.clear();
    }
    this.#attempts.clear();
  }

  /** A child that stopped for good: a temporary or dynamic one is removed, any other is kept as terminated. */
  forget(record: ChildRecord): void {
    this.detach(record);
    if (record.dynamic || record.spec.restart === 'temporary') this.remove(record);
    else record.status = 'terminated';
  }

  remove(record: ChildRecord): void {
    this.detach(record);
    if (this.holds(record)) this.#records.delete(record.spec.id);
  }

  /** The supervisor is down: no restart is pending, and every child is forgotten or terminated. */
  retireAll(): void {
    this.cancelAttempts();
    for (const record of this.inStartOrder()) {
      record.ref = undefined;
      record.incarnation = undefined;
      this.forget(record);
    }
  }
}
