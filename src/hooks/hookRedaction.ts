import type { LoggedEvent } from '../events/eventLog.js';
import { redactDeadLetter, redactExecution } from '../redaction/index.js';
import type { Dispatcher } from './Dispatcher.js';
import { eventMatcher, type EventMatcher, type HookDefinition } from './hookDefinition.js';
import type { HookDeadLetter, HookExecution } from './types.js';

/**
 * Which `redact` paths apply to what views show of a hook's work. A hook's paths outlive its
 * registration: the dead letters its unregistration wrote, and events it took, stay redacted.
 */
export class HookRedactionPaths {
  readonly #dispatcher: Pick<Dispatcher, 'slot' | 'slots'>;
  readonly #retired = new Map<string, { redact: readonly string[]; matches: EventMatcher }>();

  constructor(dispatcher: Pick<Dispatcher, 'slot' | 'slots'>) {
    this.#dispatcher = dispatcher;
  }

  /** Keeps the paths of a hook that is no longer registered. */
  retire(definition: HookDefinition): void {
    if (definition.redact.length === 0) this.#retired.delete(definition.name);
    else this.#retired.set(definition.name, { redact: definition.redact, matches: eventMatcher(definition) });
  }

  /** The hook is registered again, and its new paths apply. */
  revive(name: string): void {
    this.#retired.delete(name);
  }

  /** The paths of a hook, registered or not. */
  of(hookName: string): readonly string[] {
    return this.#dispatcher.slot(hookName)?.definition.redact ?? this.#retired.get(hookName)?.redact ?? [];
  }

  /** The paths of every hook, registered or not, that takes this event. */
  forEvent(event: Pick<LoggedEvent, 'kind' | 'scope' | 'key'>): readonly string[] {
    const scopeKind = event.scope?.split(':', 1)[0];
    const paths: string[] = [];
    for (const slot of this.#dispatcher.slots) {
      if (slot.definition.redact.length > 0 && slot.matches(event.kind, scopeKind, event.key)) paths.push(...slot.definition.redact);
    }
    for (const retired of this.#retired.values()) {
      if (retired.matches(event.kind, scopeKind, event.key)) paths.push(...retired.redact);
    }
    return paths;
  }
}

/** An execution as every view shows it: redacted with its hook's paths. */
export function shownExecution<T extends Pick<HookExecution, 'hookName'>>(paths: HookRedactionPaths, execution: T): T {
  return redactExecution(execution, paths.of(execution.hookName));
}

/** A dead letter as every view shows it; the stored letter keeps its real values for redelivery. */
export function shownDeadLetter(paths: HookRedactionPaths, letter: HookDeadLetter): HookDeadLetter {
  return redactDeadLetter(letter, paths.of(letter.hookName));
}
