import type { Scope } from '../state/Scope.js';
import type { AccessDecision } from './decision.js';
import { GrantIndex } from './GrantIndex.js';
import type { Quarantine } from './grantRecords.js';
import type { Operation } from './permissions.js';
import type { ParsedPrincipal } from '../state/principal.js';

/** What the rules need to know of a session: who it is for, and whether it still takes writes. */
export interface SessionAccess {
  /** Principals named at start; with `startedBy` (unless `system`), the session's members. */
  readonly participants: readonly string[];
  readonly startedBy: string;
  readonly status: 'active' | 'ended' | 'expired';
}

export interface AccessPolicyDeps {
  now(): number;
  /** A session that has not been collected, or undefined. */
  sessionAccess(id: string): SessionAccess | undefined;
}

const ALLOWED_SYSTEM: AccessDecision = Object.freeze({ allowed: true, rule: 'system' });
const ALLOWED_OWN: AccessDecision = Object.freeze({ allowed: true, rule: 'own-scope' });
const ALLOWED_GLOBAL_READ: AccessDecision = Object.freeze({ allowed: true, rule: 'global-read' });

/**
 * The rules of DESIGN §10 as one function of (principal, scope, operation), over the grants and
 * quarantines held in memory. Every decision is taken here: views, hook actions and `rt.access.check`
 * all ask the same function, so they cannot disagree.
 */
export class AccessPolicy {
  readonly grants = new GrantIndex();
  readonly quarantines = new Map<string, Quarantine>();
  readonly #deps: AccessPolicyDeps;

  constructor(deps: AccessPolicyDeps) {
    this.#deps = deps;
  }

  /** The quarantine that refuses anything on `scope`, when it is a quarantined agent's. */
  quarantineOn(scope: Scope): Quarantine | undefined {
    return this.quarantines.size === 0 || scope.kind !== 'agent' ? undefined : this.quarantines.get(scope.id!);
  }

  /**
   * @param boundSession the session the principal is bound to (`rt.as(p, { sessionId })`): every other
   *   session's scope is out of its reach, whatever it is granted.
   */
  decide(principal: ParsedPrincipal, scope: Scope, operation: Operation, boundSession?: string): AccessDecision {
    if (this.quarantines.size > 0) {
      if (principal.kind === 'agent' && this.quarantines.has(principal.agentId)) return deny('quarantined-principal', 'AGENT_QUARANTINED');
      if (this.quarantineOn(scope) !== undefined) return deny('quarantined-scope', 'AGENT_QUARANTINED');
    }
    if (principal.kind === 'system') return ALLOWED_SYSTEM;
    switch (scope.kind) {
      case 'agent':
        if (principal.kind === 'agent' && scope.id === principal.agentId) return ALLOWED_OWN;
        break;
      case 'global':
        // Written by system only: no grant can change that.
        return operation === 'read' || operation === 'list' ? ALLOWED_GLOBAL_READ : deny('global-write');
      case 'session': {
        const decided = this.#session(principal, scope.id!, operation, boundSession);
        if (decided !== undefined) return decided;
        break;
      }
    }
    return this.#byGrant(principal, scope, operation);
  }

  #session(principal: ParsedPrincipal, id: string, operation: Operation, boundSession: string | undefined): AccessDecision | undefined {
    if (boundSession !== undefined && boundSession !== id) return deny('other-session');
    const session = this.#deps.sessionAccess(id);
    const writes = operation === 'write' || operation === 'delete';
    if (session !== undefined && session.status !== 'active' && writes) return deny('session-ended');
    if (boundSession !== undefined) {
      // Bound to a session that is not there (never started, or collected): its scope is read-only.
      if (session === undefined && writes) return deny('no-session');
      return { allowed: true, rule: 'bound-session' };
    }
    if (session === undefined) return undefined;
    const members = session.startedBy === 'system' ? session.participants : [session.startedBy, ...session.participants];
    if (members.length === 0) return { allowed: true, rule: 'session-open' };
    if (members.includes(principal.name)) return { allowed: true, rule: 'session-member' };
    return undefined;
  }

  #byGrant(principal: ParsedPrincipal, scope: Scope, operation: Operation): AccessDecision {
    if (!this.grants.hasGrants(principal.name)) return deny('no-grant');
    const text = scope.toString();
    const workflow = scope.kind === 'step' ? `workflow:${scope.ids[0]}` : undefined;
    const found = this.grants.find(principal.name, text, workflow, operation, this.#deps.now());
    return found === undefined ? deny('no-grant') : { allowed: true, rule: 'grant', by: found.grant.id };
  }
}

function deny(rule: AccessDecision['rule'], code: 'ACCESS_DENIED' | 'AGENT_QUARANTINED' = 'ACCESS_DENIED'): AccessDecision {
  return { allowed: false, rule, code };
}
