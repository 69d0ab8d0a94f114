import type { StateManager, TransactionHandle, TransactionOptions } from '../../state/StateManager.js';
import type { Refusal } from '../AccessControl.js';
import type { Rules } from '../guarded.js';
import type { Gate } from '../Gate.js';
import type { Scope } from '../../state/Scope.js';
import { readPlan, type ScopesOptions, type StateUnit } from '../../state/stateUnit.js';

/**
 * `rt.state`: each call needs its operation on the scope it names. A transaction's read and write are
 * checked once, up front; a delete inside it, when it is made. The view wraps a manager made for the
 * principal (`withPrincipal`), which records it on every write, so these calls run as they are,
 * without a correlation context of their own per call.
 */
export const STATE_RULES: Rules<StateManager> = {
  set: (gate, state, scope, key, value, options) => gate.async('state.set', [{ scope, operation: 'write', key }], () => state.set(scope, key, value, options), false),
  get: (gate, state, scope, key) => gate.async('state.get', [{ scope, operation: 'read', key }], () => state.get(scope, key), false),
  delete: (gate, state, scope, key, options) => gate.async('state.delete', [{ scope, operation: 'delete', key }], () => state.delete(scope, key, options), false),
  listKeys: (gate, state, scope, options) => gate.async('state.listKeys', [{ scope, operation: 'list' }], () => state.listKeys(scope, options), false),
  clearScope: (gate, state, scope, options) => gate.async('state.clearScope', [{ scope, operation: 'delete' }], () => state.clearScope(scope, options), false),
  // A transaction reads and writes its scope; a delete inside it also needs delete, checked as it is made.
  transaction: (gate, state, scope, fn, options) =>
    gate.async('state.transaction', [{ scope, operation: 'read' }, { scope, operation: 'write' }], () => (gate.isSystem ? state.transaction(scope, fn, options) : checkedTransaction(gate, state, scope, fn, options)), false),
  // A unit reads and writes its scope; one that deletes a key or clears the scope also needs delete,
  // which is known once it is planned.
  commitUnit: (gate, state, scope, unit, options) =>
    gate.async('state.commitUnit', [{ scope, operation: 'read' }, { scope, operation: 'write' }], () => state.commitUnit(scope, gate.isSystem ? unit : deletesChecked(gate, scope, unit), options), false),
  entries: (gate, state, scope, range) => gate.async('state.entries', [{ scope, operation: 'read' }], () => state.entries(scope, range), false),
  // Only the scopes the principal may list, and still up to `limit` of them.
  scopes: (gate, state, options) => (gate.isSystem ? state.scopes(options) : gate.open('state.scopes', 'promise', () => allowedScopes(gate, state, options))),
  withPrincipal: (gate, state, principal) => gate.systemOnly('state.withPrincipal', 'value', () => state.withPrincipal(principal)),
};

/**
 * A view's transaction, whose `tx.delete` needs `delete` on the scope, checked when it is called. A
 * refused delete throws, and fails the whole transaction even if the callback catches it: nothing it
 * wrote commits, and the call rejects once the refusal is on record.
 */
async function checkedTransaction<T>(gate: Gate, state: StateManager, scope: Scope, fn: (tx: TransactionHandle) => Promise<T> | T, options: TransactionOptions | undefined): Promise<T> {
  if (typeof fn !== 'function') return state.transaction(scope, fn, options);
  const refusals: Refusal[] = [];
  try {
    return await state.transaction(
      scope,
      async (tx) => {
        const checked: TransactionHandle = {
          get: (key) => tx.get(key),
          set: (key, value) => tx.set(key, value),
          delete: (key) => {
            const refusal = gate.refusal('state.transaction', [{ scope, operation: 'delete', key }]);
            if (refusal !== undefined) {
              refusals.push(refusal);
              throw refusal.error;
            }
            tx.delete(key);
          },
          get signal() {
            return tx.signal;
          },
        };
        const result = await fn(checked);
        if (refusals.length > 0) throw refusals[0].error;
        return result;
      },
      options,
    );
  } catch (error) {
    await Promise.all(refusals.map((refusal) => refusal.recorded));
    throw error;
  }
}

function deletesChecked<R>(gate: Gate, scope: Scope, unit: StateUnit<R>): StateUnit<R> {
  const build = unit?.build;
  if (typeof build !== 'function') return unit;
  return {
    reads: unit.reads,
    build: (current) => {
      // Read once: the plan checked here is the plan that commits.
      const plan = readPlan(build.call(unit, current));
      const deletes = (plan?.clearScope !== undefined && plan.clearScope !== false) || (Array.isArray(plan?.writes) && plan.writes.some((write) => write?.value === undefined));
      if (deletes) gate.sync('state.commitUnit', [{ scope, operation: 'delete' }], () => undefined);
      return plan;
    },
  };
}

async function allowedScopes(gate: Gate, state: StateManager, options: ScopesOptions): Promise<Scope[]> {
  const limit = options?.limit ?? Number.MAX_SAFE_INTEGER;
  const allowed: Scope[] = [];
  let after = options?.after;
  for (;;) {
    const asked = Math.min(limit - allowed.length, 256);
    const page = await state.scopes({ ...options, after, limit: asked });
    for (const scope of page) if (gate.allows(scope, 'list')) allowed.push(scope);
    if (allowed.length >= limit || page.length < asked) return allowed.slice(0, limit);
    after = page[page.length - 1];
  }
}
