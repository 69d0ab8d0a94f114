import type { ObservedGroup, ObservedMetrics } from './builtinSinks.js';
import type { Dispatcher, HookStatus } from './Dispatcher.js';
import { zeroCounters, type SlotCounters } from './HookSlot.js';

/**
 * The hooks part of `rt.metrics()`: each hook's counters added up (`succeeded`, `failed`, `timedOut`;
 * events `deadLettered` after their attempts ran out, `overflowed` from a full outbox, `delivered` to
 * hooks that succeeded), and more.
 */
export interface HookMetrics extends SlotCounters {
  /** Events waiting in the outbox, across hooks. */
  pending: number;
  inFlight: number;
  /** Errors that belonged to no caller, also logged as `hook.error` events. */
  backgroundErrors: number;
  byHook: Record<string, HookStatus>;
  /** What the built-in `metrics` hook counted, by `<scope kind> <event kind>`. */
  observed: Record<string, ObservedGroup>;
}

export function hookMetrics(dispatcher: Dispatcher, observed: ObservedMetrics, backgroundErrors: number): HookMetrics {
  const totals = zeroCounters();
  const byHook: Record<string, HookStatus> = {};
  let pending = 0;
  for (const slot of dispatcher.slots) {
    const status = dispatcher.status(slot);
    byHook[slot.name] = status;
    pending += status.pending;
    for (const name of Object.keys(totals) as (keyof SlotCounters)[]) totals[name] += status.counters[name];
  }
  return { pending, inFlight: dispatcher.inFlight, ...totals, backgroundErrors, byHook, observed: observed.snapshot() };
}
