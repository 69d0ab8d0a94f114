import type { BuiltinHookName } from './hookDefinition.js';
import type { HookEvent } from './types.js';

/**
 * What a built-in hook takes from the main thread with each execution, beyond its events: what a worker
 * cannot see, such as the schemas bound to the events' keys for `schemaReport`. The runtime supplies
 * these functions, since what they read lives in layers beside this one. Each is called with the
 * execution's events as the hook receives them (a replay's patched events included), and returns plain
 * data, or a promise of it, which reaches the hook as its third argument and is never recorded. A throw
 * fails the execution like a throw in the hook.
 */
export type BuiltinInputs = Partial<Record<BuiltinHookName, (events: readonly HookEvent[]) => unknown>>;
