import { LlmStateError } from '../errors.js';
import type { StateManager } from '../state/StateManager.js';
import type { Operation } from './operations.js';

/** What {@link applyOperation} runs against: `rt.state` of a runtime, or `sim.rt.state` of a simulation. */
export type StateSurface = Pick<StateManager, 'set' | 'get' | 'delete' | 'listKeys' | 'clearScope' | 'transaction'>;

/**
 * How an operation ended: what the call resolved with, or the code it was rejected with.
 *
 * - `set`: undefined. `get`: the value, or undefined. `delete`: whether the key existed.
 * - `listKeys`: the keys, in NFC and in key order. `clearScope`: how many keys it removed.
 * - `transaction`: what each of its `get` steps returned, in order.
 * - `error`: the `LlmStateError` code, or `'aborted'` for a transaction with `abort`, which throws.
 */
export type OperationResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: string };

/** Thrown by the callback of a transaction with `abort`. */
class Aborted extends Error {}

/**
 * Runs one operation against `state` and resolves with its result, or with the error code it was
 * rejected with, so that results compare with a model's as plain data.
 *
 * @throws whatever `state` throws that is not an `LlmStateError` (a bug in the caller, not a result)
 * @example
 * const result = await applyOperation(rt.state, { op: 'set', scope: Scope.global(), key: 'n', value: 1 });
 * // { ok: true, value: undefined }
 */
export async function applyOperation(state: StateSurface, operation: Operation): Promise<OperationResult> {
  try {
    return { ok: true, value: await run(state, operation) };
  } catch (error) {
    if (error instanceof Aborted) return { ok: false, error: 'aborted' };
    if (error instanceof LlmStateError) return { ok: false, error: error.code };
    throw error;
  }
}

function run(state: StateSurface, operation: Operation): Promise<unknown> {
  const { scope } = operation;
  switch (operation.op) {
    case 'set':
      return state.set(scope, operation.key, operation.value);
    case 'get':
      return state.get(scope, operation.key);
    case 'delete':
      return state.delete(scope, operation.key);
    case 'listKeys':
      return state.listKeys(scope, operation.prefix === undefined ? {} : { prefix: operation.prefix });
    case 'clearScope':
      return state.clearScope(scope);
    case 'transaction':
      return state.transaction(scope, async (tx) => {
        const reads: unknown[] = [];
        for (const step of operation.steps) {
          if (step.op === 'get') reads.push(await tx.get(step.key));
          else if (step.op === 'set') tx.set(step.key, step.value);
          else tx.delete(step.key);
        }
        if (operation.abort) throw new Aborted('the operation aborts its transaction');
        return reads;
      });
    default:
      throw new TypeError(`Expected an operation made by operations(), got ${JSON.stringify((operation as { op?: unknown }).op)}`);
  }
}
