import { checkOptionsArgument, describeOption } from '../checkOptions.js';
import { EVENT_KINDS, type EventKind, type LangGraphEventSpec } from '../events/eventKinds.js';
import { normalizeKey } from './keyRules.js';
import type { Scope, ScopeKind } from './Scope.js';
import { serializeValue } from './values.js';

/**
 * Units and ranges: the seam that integrations built on the runtime (src/langgraph/) commit and read
 * through. They are `@internal` methods of `rt.state`, checked by access views like the others.
 */

/** What a unit commits; built inside the scope's actor. */
export interface StateUnitPlan<R = undefined> {
  /** Keys to write (JSON data, checked as `rt.state.set` checks it) or, with `value` undefined, delete. */
  readonly writes?: ReadonlyArray<{ readonly key: string; readonly value: unknown }>;
  /** Clears every key of the scope in the same batch; `writes` must then be empty. */
  readonly clearScope?: boolean;
  /** Events of the `langgraph.*` kinds, logged in the same batch. */
  readonly events?: readonly LangGraphEventSpec[];
  /** What `commitUnit` resolves with once the batch is durable. */
  readonly result?: R;
}

export interface StateUnit<R = undefined> {
  /** Keys whose committed values `build` needs. */
  readonly reads?: readonly string[];
  /**
   * Runs synchronously in the scope's actor, in mailbox order, once everything queued before it has
   * committed: `current` maps each read key to its committed value (deeply frozen), or undefined when
   * absent. Throwing rejects the call and writes nothing.
   */
  build(current: ReadonlyMap<string, unknown>): StateUnitPlan<R>;
}

/** Bounds of {@link StateManager.entries}, as keys of the scope. */
export interface EntriesRange {
  prefix?: string;
  gt?: string;
  gte?: string;
  lt?: string;
  lte?: string;
  reverse?: boolean;
  limit?: number;
}

export interface ScopesOptions {
  kind: ScopeKind;
  /** Only scopes whose id starts with this. */
  prefix?: string;
  /** Only scopes after this one, in key order. */
  after?: Scope;
  limit?: number;
}

/** A plan as the scope's owner commits it: keys checked, values serialised. */
export interface OwnerPlan {
  readonly writes?: ReadonlyArray<{ key: string; json: string | null }>;
  readonly clearScope?: boolean;
  readonly events?: readonly LangGraphEventSpec[];
  readonly result?: unknown;
}

/** Checks a unit's arguments, and wraps its build so that what it returns is checked in the actor. */
export function checkedUnit<R>(scope: Scope, unit: StateUnit<R>, maxValueBytes: number): { reads: string[]; plan: (current: ReadonlyMap<string, unknown>) => OwnerPlan } {
  if (typeof unit !== 'object' || unit === null || typeof unit.build !== 'function') {
    throw new TypeError(`Expected a unit with a \`build\` function, got ${describeOption(unit)}`);
  }
  const reads = unit.reads === undefined ? [] : checkKeys(unit.reads, 'reads');
  const scopeText = scope.toString();
  const build = unit.build;
  return {
    reads,
    plan: (current) => {
      const planned = build(current);
      if (typeof planned !== 'object' || planned === null) throw new TypeError(`Expected \`build\` to return a plan, got ${describeOption(planned)}`);
      const writes = (planned.writes ?? []).map(({ key, value }) => ({ key: normalizeKey(key), json: value === undefined ? null : serializeValue(value, maxValueBytes) }));
      const events = (planned.events ?? []).map((event) => checkedEvent(event, scopeText));
      return { writes, events, clearScope: planned.clearScope === true, result: planned.result };
    },
  };
}

export function checkEntriesRange(range: EntriesRange): EntriesRange {
  checkOptionsArgument(range, 'range');
  const checked: EntriesRange = { reverse: range.reverse === true };
  if (range.prefix !== undefined) {
    if (typeof range.prefix !== 'string') throw new TypeError(`Expected \`prefix\` to be a string, got ${describeOption(range.prefix)}`);
    checked.prefix = range.prefix.normalize('NFC');
  }
  for (const bound of ['gt', 'gte', 'lt', 'lte'] as const) {
    if (range[bound] !== undefined) checked[bound] = normalizeKey(range[bound]);
  }
  if (range.limit !== undefined) checked.limit = checkLimit(range.limit);
  return checked;
}

export function checkLimit(limit: unknown): number {
  if (!Number.isSafeInteger(limit) || (limit as number) < 1) throw new TypeError(`Expected \`limit\` to be a positive integer, got ${describeOption(limit)}`);
  return limit as number;
}

function checkKeys(keys: unknown, name: string): string[] {
  if (!Array.isArray(keys)) throw new TypeError(`Expected \`${name}\` to be an array of keys, got ${describeOption(keys)}`);
  return keys.map((key) => normalizeKey(key));
}

function checkedEvent(event: LangGraphEventSpec, scope: string): LangGraphEventSpec {
  if (typeof event !== 'object' || event === null || !event.kind?.startsWith('langgraph.') || !EVENT_KINDS.includes(event.kind as EventKind)) {
    throw new TypeError(`A unit logs events of the langgraph.* kinds only, got ${describeOption((event as { kind?: unknown } | null)?.kind)}`);
  }
  // Checked as a state value is: an event's data is JSON data, and its scope is the unit's.
  serializeValue(event.data, Number.MAX_SAFE_INTEGER);
  return { ...event, scope };
}
