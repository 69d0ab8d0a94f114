import { Scope } from '../../state/Scope.js';

/**
 * The scope of agent `id`, or its string form for an id that the scope rules refuse: a check then
 * refuses it with SCOPE_INVALID, where a call on `rt` would have.
 */
export function agentScope(id: unknown): Scope | string {
  try {
    return Scope.agent(id as string);
  } catch {
    return `agent:${String(id)}`;
  }
}
