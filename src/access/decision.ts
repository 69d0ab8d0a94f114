import type { Operation } from './permissions.js';

/**
 * Which rule decided (docs/access.md has the table):
 * - allowed: `system`, `own-scope`, `global-read`, `bound-session`, `session-member`, `session-open`, `grant`;
 * - denied: `quarantined-principal`, `quarantined-scope`, `global-write`, `other-session`,
 *   `session-ended`, `no-session`, `no-grant`, `system-only`, `not-own`.
 */
export type AccessRule =
  | 'system'
  | 'own-scope'
  | 'global-read'
  | 'bound-session'
  | 'session-member'
  | 'session-open'
  | 'grant'
  | 'quarantined-principal'
  | 'quarantined-scope'
  | 'global-write'
  | 'other-session'
  | 'session-ended'
  | 'no-session'
  | 'no-grant'
  | 'system-only'
  | 'not-own';

/** What `rt.access.check` resolves with. */
export interface AccessDecision {
  allowed: boolean;
  /** The grant that allowed it, when a grant did. */
  by?: string;
  rule: AccessRule;
  /** For a denial: the code the operation is refused with. */
  code?: 'ACCESS_DENIED' | 'AGENT_QUARANTINED';
}

/** What one call needs: an operation on a scope (string form), and the key where there is one. */
export interface Requirement {
  scope: string;
  operation: Operation;
  key?: string;
}

/** Decisions that are not cross-scope, and so are not audited: what a principal does in its own space. */
export function isAudited(decision: AccessDecision): boolean {
  return !(decision.allowed && (decision.rule === 'system' || decision.rule === 'own-scope'));
}
