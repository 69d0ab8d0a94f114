import type { BatchOp } from '../storage/index.js';
import { encodeRecord } from '../storage/recordEnvelope.js';

/**
 * The main-thread half of a built-in hook. The worker computes; the sink does what only the main thread
 * can: write to the audit log in the execution's own batch, add up metrics, call a user's keyspace.
 */
export interface BuiltinSink {
  /** Runs before the execution is recorded; a throw fails the execution, which is retried. */
  beforeRecord?(output: unknown): Promise<void> | void;
  /** Operations committed with the execution's record. */
  ops?(output: unknown, executionId: string): BatchOp[];
  /** Runs once the execution is recorded. */
  afterRecord?(output: unknown): void;
}

/** Receives the keys a `cacheInvalidation` hook found changed. */
export interface InvalidationKeyspace {
  /** `key` is absent when a whole scope was cleared. */
  invalidate(changes: { scope: string; key?: string }[]): Promise<void> | void;
}

export interface ObservedGroup {
  count: number;
  /** How long after its commit an event reached the hook, on average and at worst. */
  meanLagMs: number;
  maxLagMs: number;
}

/** The counters the built-in `metrics` hook keeps, by `<scope kind> <event kind>`. */
export class ObservedMetrics {
  readonly #groups = new Map<string, { count: number; lagSumMs: number; lagMaxMs: number }>();

  add(groups: Record<string, { count: number; lagSumMs: number; lagMaxMs: number }>): void {
    for (const [name, group] of Object.entries(groups)) {
      const total = this.#groups.get(name) ?? { count: 0, lagSumMs: 0, lagMaxMs: 0 };
      total.count += group.count;
      total.lagSumMs += group.lagSumMs;
      total.lagMaxMs = Math.max(total.lagMaxMs, group.lagMaxMs);
      this.#groups.set(name, total);
    }
  }

  snapshot(): Record<string, ObservedGroup> {
    const out: Record<string, ObservedGroup> = {};
    for (const [name, { count, lagSumMs, lagMaxMs }] of [...this.#groups].sort(([a], [b]) => (a < b ? -1 : 1))) {
      out[name] = { count, meanLagMs: count === 0 ? 0 : lagSumMs / count, maxLagMs: lagMaxMs };
    }
    return out;
  }
}

/** Audit entries go to the `audit` namespace, keyed by time then event id, in the execution's batch. */
export function auditSink(): BuiltinSink {
  return {
    ops(output) {
      const entries = (output as { entries?: { eventId: string; at: number }[] } | undefined)?.entries ?? [];
      return entries.map((entry) => ({ type: 'put', sublevel: 'audit', key: auditKey(entry.at, entry.eventId), value: encodeRecord({ seq: 0, timestamp: entry.at }, JSON.stringify({ source: 'hook', ...entry })) }));
    },
  };
}

export function metricsSink(observed: ObservedMetrics): BuiltinSink {
  return {
    afterRecord(output) {
      const groups = (output as { groups?: Record<string, { count: number; lagSumMs: number; lagMaxMs: number }> } | undefined)?.groups;
      if (groups !== undefined) observed.add(groups);
    },
  };
}

export function cacheInvalidationSink(keyspace: InvalidationKeyspace): BuiltinSink {
  return {
    async beforeRecord(output) {
      const changes = (output as { invalidate?: { scope: string; key?: string }[] } | undefined)?.invalidate ?? [];
      if (changes.length > 0) await keyspace.invalidate(changes);
    },
  };
}

function auditKey(at: number, eventId: string): Buffer {
  const id = Buffer.from(eventId, 'utf8');
  const key = Buffer.allocUnsafe(8 + id.length);
  key.writeUIntBE(at, 2, 6);
  key.writeUInt16BE(0, 0);
  id.copy(key, 8);
  return key;
}
