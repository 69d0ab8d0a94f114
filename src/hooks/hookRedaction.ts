import { redactDeadLetter, redactExecution } from '../redaction/index.js';
import type { Dispatcher } from './Dispatcher.js';
import type { HookDeadLetter, HookExecution } from './types.js';

type Registered = Pick<Dispatcher, 'slot' | 'slots'>;

/**
 * The `redact` paths of a registered hook; with no name, those of every registered hook, for a view of
 * events that may have reached any of them. A hook that is no longer registered has none.
 */
export function redactPathsOf(dispatcher: Registered, hookName?: string): readonly string[] {
  if (hookName === undefined) return dispatcher.slots.flatMap((slot) => slot.definition.redact);
  return dispatcher.slot(hookName)?.definition.redact ?? [];
}

/** An execution (or its metadata) as every view shows it: redacted with its hook's paths. */
export function shownExecution<T extends Pick<HookExecution, 'hookName'>>(dispatcher: Registered, execution: T): T {
  return redactExecution(execution, redactPathsOf(dispatcher, execution.hookName));
}

/** A dead letter as every view shows it; the stored letter keeps its real values for redelivery. */
export function shownDeadLetter(dispatcher: Registered, letter: HookDeadLetter): HookDeadLetter {
  return redactDeadLetter(letter, redactPathsOf(dispatcher, letter.hookName));
}
