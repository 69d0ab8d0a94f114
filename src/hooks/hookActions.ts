import { LlmStateError, isLlmStateError } from '../errors.js';
import type { CorrelationContext } from '../events/correlation.js';
import { normalizeKey } from '../state/keyRules.js';
import { Scope } from '../state/Scope.js';
import type { ScopeOwner } from '../state/StateManager.js';
import { serializeValue } from '../state/values.js';

/** A follow-up write, checked and encoded, ready to apply. */
export interface CheckedAction {
  type: 'set' | 'delete' | 'clear';
  scope: Scope;
  key?: string;
  json?: string;
  /** The triggering event this write is caused by. */
  causedBy: string;
  /** The hop count of the write: its cause's, plus one. */
  hop: number;
  /** True when the hook named no `causedBy`, so that the cause was picked for it. */
  causePicked: boolean;
}

/** The execution's triggering events, as actions refer to them. */
export interface ActionCauses {
  eventIds: readonly string[];
  /** The scope of each event (its string form), in the same order. */
  scopes: readonly (string | undefined)[];
  /** Each event's hop count (hook actions since the write that started its chain), in the same order. */
  hops: readonly number[];
}

/**
 * The longest chain of hook actions from one write. A hook whose actions trigger itself (or a ring of
 * hooks) would otherwise run forever; past this, its actions are refused and the batch is retried and
 * then dead-lettered like any failure.
 */
export const MAX_HOOK_HOPS = 16;

/**
 * Checks every action a hook returned before any is applied, so a bad one fails the execution without
 * half its writes done. An action without `causedBy` is caused by the latest triggering event in its
 * own scope, or else by the latest triggering event.
 *
 * @throws {VALUE_INVALID} for a malformed action or a `causedBy` that is not one of the execution's events.
 * @throws {SCOPE_INVALID} @throws {STATE_KEY_INVALID} @throws {VALUE_TOO_LARGE}
 */
export function checkActions(actions: readonly unknown[], causes: ActionCauses, maxValueBytes: number): CheckedAction[] {
  return actions.map((action, index) => {
    try {
      return checkAction(action, causes, maxValueBytes);
    } catch (error) {
      if (!isLlmStateError(error)) throw error;
      throw new LlmStateError(error.code, `Hook action ${index} is invalid: ${error.message}`, { cause: error, details: { ...error.details, action: index } });
    }
  });
}

function checkAction(action: unknown, { eventIds, scopes, hops }: ActionCauses, maxValueBytes: number): CheckedAction {
  if (typeof action !== 'object' || action === null || Array.isArray(action)) {
    throw new LlmStateError('VALUE_INVALID', 'an action must be an object like { type: "set", scope: "agent:a1", key, value }');
  }
  const { type, scope, key, value, causedBy, ...rest } = action as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0) throw new LlmStateError('VALUE_INVALID', `unknown field(s) ${extra.join(', ')}`);
  if (type !== 'set' && type !== 'delete' && type !== 'clear') {
    throw new LlmStateError('VALUE_INVALID', `its type is ${JSON.stringify(type)}; expected "set", "delete" or "clear"`);
  }
  if (typeof scope !== 'string') throw new LlmStateError('SCOPE_INVALID', 'its scope must be a string such as "agent:a1"');
  const parsed = Scope.parse(scope);
  const cause = causedBy ?? eventIds[scopes.lastIndexOf(parsed.toString())] ?? eventIds[eventIds.length - 1];
  if (typeof cause !== 'string' || !eventIds.includes(cause)) {
    throw new LlmStateError('VALUE_INVALID', `its causedBy ${JSON.stringify(causedBy)} is not one of the execution's events`);
  }
  const hop = hops[eventIds.indexOf(cause)] + 1;
  if (hop > MAX_HOOK_HOPS) {
    throw new LlmStateError('HOOK_FAILED', `it would be hop ${hop} of a chain of hook actions started by one write (at most ${MAX_HOOK_HOPS}); is a hook triggering itself?`, {
      details: { reason: 'hop_limit', hop },
    });
  }
  const checked: CheckedAction = { type, scope: parsed, causedBy: cause, hop, causePicked: causedBy === undefined };
  if (type === 'clear') {
    if (key !== undefined || value !== undefined) throw new LlmStateError('VALUE_INVALID', 'a clear takes no key or value');
    return checked;
  }
  checked.key = normalizeKey(key);
  if (type === 'set') checked.json = serializeValue(value, maxValueBytes);
  else if (value !== undefined) throw new LlmStateError('VALUE_INVALID', 'a delete takes no value');
  return checked;
}

/**
 * Applies checked actions in order, each as a new write in the correlation of the event that caused
 * it, with `causationId` set to that event and `executionId` to the execution. Each is refused as a
 * plain write would be: `assertWritable` runs before it, and `authorize` checks it against access control.
 *
 * @throws {SUPERVISOR_SHUTDOWN} once the root supervisor has failed (from `assertWritable`).
 */
export async function applyActions(
  actions: readonly CheckedAction[],
  ownerOf: (scope: Scope) => ScopeOwner,
  contextOf: (action: CheckedAction) => CorrelationContext,
  assertWritable: () => void,
  authorize?: (action: CheckedAction) => Promise<void> | undefined,
): Promise<void> {
  for (const action of actions) {
    assertWritable();
    const context = contextOf(action);
    await authorize?.(action);
    const owner = ownerOf(action.scope);
    if (action.type === 'set') await owner.set(action.key!, action.json!, context);
    else if (action.type === 'delete') await owner.delete(action.key!, context);
    else await owner.clear(context);
  }
}
