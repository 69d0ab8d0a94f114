import { currentCorrelation, runCorrelated } from '../events/correlation.js';
import { assertScope, Scope } from '../state/Scope.js';
import type { AccessControl, Refusal } from './AccessControl.js';
import type { Operation } from './permissions.js';
import type { ParsedPrincipal } from '../state/principal.js';

/** One operation a call needs: on a scope (or its string form), for a key where there is one. */
export interface Need {
  scope: Scope | string;
  operation: Operation;
  key?: string;
}

/**
 * What a view checks its calls with: one principal (optionally bound to a session) over the runtime's
 * access control. A call runs only once every operation it needs is allowed, and then runs as the
 * principal: its writes record it, and hook actions they trigger act as it.
 */
export class Gate {
  readonly principal: ParsedPrincipal;
  readonly boundSession: string | undefined;
  readonly #control: () => AccessControl;

  constructor(principal: ParsedPrincipal, boundSession: string | undefined, control: () => AccessControl) {
    this.principal = principal;
    this.boundSession = boundSession;
    this.#control = control;
  }

  get isSystem(): boolean {
    return this.principal.kind === 'system';
  }

  /**
   * Checks `needs`, then runs `call` as the principal; a refusal rejects once it is on record. With
   * `enter: false` the call runs as it is, for a target that records the principal itself (state).
   */
  async<T>(method: string, needs: readonly Need[], call: () => Promise<T>, enter = true): Promise<T> {
    let refusal: Refusal | undefined;
    try {
      refusal = this.refusal(method, needs);
    } catch (error) {
      return Promise.reject(error);
    }
    if (refusal !== undefined) return refusal.recorded.then(() => Promise.reject(refusal.error));
    return enter ? this.run(call) : call();
  }

  /** {@link async} for a call that returns at once: a refusal throws now, and is put on record in the background. */
  sync<T>(method: string, needs: readonly Need[], call: () => T): T {
    const refusal = this.refusal(method, needs);
    if (refusal !== undefined) throw refusal.error;
    return this.run(call);
  }

  /**
   * Checks `needs`, running nothing: undefined when every one is allowed, else the refusal, on record
   * once its `recorded` settles. For a check made part way through a call, which the caller then fails.
   * @throws {SCOPE_INVALID} for a need whose scope is no scope.
   */
  refusal(method: string, needs: readonly Need[]): Refusal | undefined {
    const control = this.#control();
    // The hot path: system with nobody quarantined decides nothing.
    if (this.isSystem && control.policy.quarantines.size === 0) return undefined;
    // A call that needs nothing of a scope (an unfiltered listing) is still an operation by the agent.
    if (needs.length === 0) return this.#quarantined(method);
    for (const need of needs) {
      const refusal = control.authorize({ principal: this.principal, scope: toScope(need.scope), operation: need.operation, key: need.key, method, boundSession: this.boundSession });
      if (refusal !== undefined) return refusal;
    }
    return undefined;
  }

  /**
   * Refuses `method` unless the principal is system (runtime administration); a quarantined agent is
   * refused as quarantined first. `returns` says how a refusal reaches the caller.
   */
  systemOnly<T>(method: string, returns: Returns, call: () => T): T {
    if (this.isSystem) return this.run(call);
    const refusal =
      this.#quarantined(method) ??
      this.#control().refuse({ principal: this.principal, operation: 'write', method }, { allowed: false, rule: 'system-only', code: 'ACCESS_DENIED' });
    return refused(returns, refusal);
  }

  /** Runs `method` as the principal, which decides for itself who may; a quarantined agent is refused. */
  open<T>(method: string, returns: Returns, call: () => T): T {
    const refusal = this.#quarantined(method);
    return refusal === undefined ? this.run(call) : refused(returns, refusal);
  }

  #quarantined(method: string): Refusal | undefined {
    const principal = this.principal;
    if (principal.kind !== 'agent') return undefined;
    const control = this.#control();
    if (!control.policy.quarantines.has(principal.agentId)) return undefined;
    return control.refuse({ principal, operation: 'write', method }, { allowed: false, rule: 'quarantined-principal', code: 'AGENT_QUARANTINED' });
  }

  /** Whether the principal may do `operation` on `scope`; for filtering what a listing shows, so not audited. */
  allows(scope: Scope | string, operation: Operation): boolean {
    if (this.isSystem) return true;
    let parsed: Scope;
    try {
      parsed = toScope(scope);
    } catch {
      return false;
    }
    return this.#control().policy.decide(this.principal, parsed, operation, this.boundSession).allowed;
  }

  /** Runs `fn` as the principal: inside a correlation context naming it (none for system). */
  run<T>(fn: () => T): T {
    const ambient = currentCorrelation();
    const name = this.isSystem ? undefined : this.principal.name;
    if (ambient?.principal === name) return fn();
    if (name === undefined) {
      const { principal: _dropped, ...rest } = ambient!;
      return runCorrelated(rest, fn);
    }
    return runCorrelated(ambient === undefined ? { principal: name } : { ...ambient, principal: name }, fn);
  }
}

/** @throws {SCOPE_INVALID} for a string that is no scope, or a value that is neither. */
function toScope(scope: Scope | string): Scope {
  if (typeof scope === 'string') return Scope.parse(scope);
  assertScope(scope);
  return scope;
}

/** How a method hands back its result: a promise, or a value at once. */
export type Returns = 'promise' | 'value';

/** A refusal as the caller sees it: a rejection once it is on record, or a throw now (recorded in the background). */
function refused<T>(returns: Returns, refusal: Refusal): T {
  if (returns === 'value') throw refusal.error;
  return refusal.recorded.then(() => Promise.reject(refusal.error)) as T;
}
