import { checkOptionsArgument, describeOption } from '../checkOptions.js';
import { EVENT_KINDS, type EventKind, type LangGraphEventSpec } from '../events/eventKinds.js';
import { normalizeKey } from './keyRules.js';
import type { Scope, ScopeKind } from './Scope.js';
import { serializeValue } from './values.js';

// Units and ranges: the seam that integrations built on the runtime (src/langgraph/) commit and read
// through. They are internal methods of `rt.state`, checked by access views like the others.

/** What a unit commits; built inside the scope's actor. */
export interface StateUnitPlan<R = undefined> {
  /** Keys to write (JSON data, checked as `rt.state.set` checks it) or, with `value` undefined, delete. */
  readonly writes?: ReadonlyArray<{ readonly key: string; readonly value: unknown }>;
  /**
   * Clears every key of the scope in the same batch; `writes` must then be empty. A function is called
   * with the number of keys cleared, once known, and returns more events for the batch.
   */
  readonly clearScope?: boolean | ((cleared: number) => readonly LangGraphEventSpec[]);
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
  readonly clearScope?: boolean | ((cleared: number) => readonly LangGraphEventSpec[]);
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
      const planned = readPlan(build(current));
      const writes = (planned.writes ?? []).map(({ key, value }) => ({ key: normalizeKey(key), json: value === undefined ? null : serializeValue(value, maxValueBytes) }));
      const clears = planned.clearScope;
      const clearScope = typeof clears === 'function' ? (cleared: number) => checkedEvents(clears(cleared), scopeText) : clears === true;
      return { writes, events: checkedEvents(planned.events ?? [], scopeText), clearScope, result: planned.result };
    },
  };
}

/**
 * The plan `build` returned, copied field by field into plain arrays and objects, each field read once:
 * a getter or an array-like cannot show one plan to a check (such as a view's check for deletes) and
 * another to the commit.
 *
 * @throws {TypeError} when it is not a plan: `writes` and `events` must be arrays.
 */
export function readPlan<R>(planned: StateUnitPlan<R>): StateUnitPlan<R> {
  if (typeof planned !== 'object' || planned === null) throw new TypeError(`Expected \`build\` to return a plan, got ${describeOption(planned)}`);
  const { writes, clearScope, events, result } = planned;
  if (writes !== undefined && !Array.isArray(writes)) throw new TypeError(`Expected the plan's \`writes\` to be an array of { key, value }, got ${describeOption(writes)}`);
  if (events !== undefined && !Array.isArray(events)) throw new TypeError(`Expected the unit's events to be an array, got ${describeOption(events)}`);
  return {
    ...(writes !== undefined && { writes: Array.from(writes, readWrite) }),
    ...(clearScope !== undefined && { clearScope }),
    ...(events !== undefined && { events: Array.from(events, readEvent) }),
    ...(result !== undefined && { result }),
  };
}

function readWrite(write: { readonly key: string; readonly value: unknown }): { key: string; value: unknown } {
  if (typeof write !== 'object' || write === null) throw new TypeError(`Expected each write of a plan to be { key, value }, got ${describeOption(write)}`);
  const { key, value } = write;
  return { key, value };
}

function readEvent(event: LangGraphEventSpec): LangGraphEventSpec {
  if (typeof event !== 'object' || event === null) throw new TypeError(`A unit logs events of the langgraph.* kinds only, got ${describeOption(event)}`);
  const { kind, scope, data } = event;
  return { kind, scope, data } as LangGraphEventSpec;
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
  return Array.from(keys, (key) => normalizeKey(key));
}

function checkedEvents(events: readonly LangGraphEventSpec[], scope: string): LangGraphEventSpec[] {
  if (!Array.isArray(events)) throw new TypeError(`Expected the unit's events to be an array, got ${describeOption(events)}`);
  return Array.from(events, (event) => checkedEvent(event, scope));
}

function checkedEvent(event: LangGraphEventSpec, scope: string): LangGraphEventSpec {
  const kind = (event as { kind?: unknown } | null)?.kind;
  if (typeof kind !== 'string' || !kind.startsWith('langgraph.') || !EVENT_KINDS.includes(kind as EventKind)) {
    throw new TypeError(`A unit logs events of the langgraph.* kinds only, got ${describeOption(kind)}`);
  }
  // Checked as a state value is, and logged as checked: an event's data is JSON data, and its scope is
  // the unit's. Nothing else of the spec is kept: a unit's event names no agent.
  const data: unknown = JSON.parse(serializeValue(event.data, Number.MAX_SAFE_INTEGER));
  return { kind, scope, data } as LangGraphEventSpec;
}
