import type { ObservedGroup, ObservedMetrics } from './builtinSinks.js';
import type { Dispatcher, HookStatus } from './Dispatcher.js';

/** The hooks part of `rt.metrics()`. */
export interface HookMetrics {
  /** Events waiting in the outbox, across hooks. */
  pending: number;
  inFlight: number;
  succeeded: number;
  failed: number;
  timedOut: number;
  /** Events dead-lettered after their attempts ran out. */
  deadLettered: number;
  /** Events dead-lettered because a hook's outbox was full. */
  overflowed: number;
  /** Events delivered to hooks that succeeded. */
  delivered: number;
  /** Errors that belonged to no caller, also logged as `hook.error` events. */
  backgroundErrors: number;
  byHook: Record<string, HookStatus>;
  /** What the built-in `metrics` hook counted, by `<scope kind> <event kind>`. */
  observed: Record<string, ObservedGroup>;
}

export function hookMetrics(dispatcher: Dispatcher, observed: ObservedMetrics, backgroundErrors: number): HookMetrics {
  const metrics: HookMetrics = {
    pending: 0,
    inFlight: dispatcher.inFlight,
    succeeded: 0,
    failed: 0,
    timedOut: 0,
    deadLettered: 0,
    overflowed: 0,
    delivered: 0,
    backgroundErrors,
    byHook: {},
    observed: observed.snapshot(),
  };
  for (const slot of dispatcher.slots) {
    const status = dispatcher.status(slot);
    metrics.byHook[slot.name] = status;
    metrics.pending += status.pending;
    metrics.succeeded += status.counters.succeeded;
    metrics.failed += status.counters.failed;
    metrics.timedOut += status.counters.timedOut;
    metrics.deadLettered += status.counters.deadLettered;
    metrics.overflowed += status.counters.overflowed;
    metrics.delivered += status.counters.delivered;
  }
  return metrics;
}
