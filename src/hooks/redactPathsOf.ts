import type { Dispatcher } from './Dispatcher.js';

/**
 * The `redact` paths of a registered hook; with no name, those of every registered hook, for a view of
 * events that may have reached any of them. A hook that is no longer registered has none.
 */
export function redactPathsOf(dispatcher: Pick<Dispatcher, 'slot' | 'slots'>, hookName?: string): readonly string[] {
  if (hookName === undefined) return dispatcher.slots.flatMap((slot) => slot.definition.redact);
  return dispatcher.slot(hookName)?.definition.redact ?? [];
}
