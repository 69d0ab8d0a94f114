import type { StateManager } from '../../state/StateManager.js';
import type { Rules } from '../guarded.js';

/**
 * `rt.state`: each call needs its operation on the scope it names. A transaction is checked once, up
 * front. The view wraps a manager made for the principal (`withPrincipal`), which records it on every
 * write, so these calls run as they are, without a correlation context of their own per call.
 */
export const STATE_RULES: Rules<StateManager> = {
  set: (gate, state, scope, key, value, options) => gate.async('state.set', [{ scope, operation: 'write', key }], () => state.set(scope, key, value, options), false),
  get: (gate, state, scope, key) => gate.async('state.get', [{ scope, operation: 'read', key }], () => state.get(scope, key), false),
  delete: (gate, state, scope, key, options) => gate.async('state.delete', [{ scope, operation: 'delete', key }], () => state.delete(scope, key, options), false),
  listKeys: (gate, state, scope, options) => gate.async('state.listKeys', [{ scope, operation: 'list' }], () => state.listKeys(scope, options), false),
  clearScope: (gate, state, scope, options) => gate.async('state.clearScope', [{ scope, operation: 'delete' }], () => state.clearScope(scope, options), false),
  // A transaction reads and writes its scope (a delete inside it is one of its writes).
  transaction: (gate, state, scope, fn, options) =>
    gate.async('state.transaction', [{ scope, operation: 'read' }, { scope, operation: 'write' }], () => state.transaction(scope, fn, options), false),
  withPrincipal: (gate, state, principal) => gate.systemOnly('state.withPrincipal', 'value', () => state.withPrincipal(principal)),
};
