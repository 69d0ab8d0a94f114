import { checkOptionsArgument, describeOption } from '../checkOptions.js';
import { LlmStateError } from '../errors.js';
import { currentCorrelation, newCorrelationId } from '../events/correlation.js';
import type { EventSpec } from '../events/eventLog.js';
import { normalizeScopeId } from '../state/keyRules.js';
import { Scope } from '../state/Scope.js';
import type { BatchOp } from '../storage/index.js';
import type { AccessControl } from './AccessControl.js';
import { grantChange, quarantineChange } from './ChangesInFlight.js';
import type { AuditFilter, AuditRecord } from './AuditLog.js';
import type { AccessDecision } from './decision.js';
import { mayGrant } from './grantAuthority.js';
import { checkGrantInput, type CheckedGrant, type GrantInput } from './grantInput.js';
import { GrantIndex } from './GrantIndex.js';
import { compileScopePattern } from './scopePattern.js';
import { grantKey, putGrant, putQuarantine, quarantineKey, type Grant, type Quarantine } from './grantRecords.js';
import { OPERATIONS, permissionBits, permissionsOf, type Operation } from './permissions.js';
import { normalizePrincipal, parsePrincipal, type ParsedPrincipal } from '../state/principal.js';

export interface AccessDeps {
  control(): AccessControl;
  now(): number;
  assertReadable(): void;
  assertWritable(): void;
  /** Logs events through the commit path, with `extraOps` in the same batch. */
  recordEvents(events: EventSpec[], extraOps?: BatchOp[]): Promise<void>;
  /** Rejects what is queued for the agent, on its scope and the writes it queued elsewhere, with `error`, and stops the agent if it runs. */
  cutOff(agentId: string, error: LlmStateError): Promise<void>;
}

export interface GrantsFilter {
  principal?: string;
  /** Grants that name this scope exactly, or whose pattern matches it. */
  scope?: Scope | string;
  /** Also grants past their `expiresAt`. @default false */
  includeExpired?: boolean;
}

/**
 * `rt.access`: grants, checks, the audit log and quarantine (DESIGN §10). Who calls is the principal
 * of the view the call came through (`rt.as(p).access`), `system` on `rt`: system may do anything here;
 * another principal may grant only what it holds with `grant`, revoke what it granted, and see its own
 * grants, decisions and audit records.
 */
export class Access {
  readonly #deps: AccessDeps;

  /** @internal */
  constructor(deps: AccessDeps) {
    this.#deps = deps;
  }

  /**
   * Gives `principal` permissions on a scope or on every scope a pattern matches, until `expiresAt`.
   * Resolves once the grant is durable and in force.
   *
   * @throws {TypeError} for a malformed grant (the message names the field).
   * @throws {ACCESS_DENIED} when the caller does not hold, with `grant`, what it tries to give.
   * @example await rt.access.grant({ principal: 'agent:ada', scope: Scope.agent('bob'), permissions: ['read'] })
   */
  async grant(input: GrantInput): Promise<Grant> {
    this.#deps.assertWritable();
    const now = this.#deps.now();
    const checked = checkGrantInput(input, now);
    const grantor = acting();
    const control = this.#deps.control();
    const authority = mayGrant(control.policy.grants, grantor, checked, now);
    if (!authority.allowed) {
      const refusal = control.refuse({ principal: grantor, scope: checked.scope, operation: 'write', method: 'access.grant' }, authority);
      await refusal.recorded;
      throw refusal.error;
    }
    const grant: Grant = {
      id: `g_${newCorrelationId()}`,
      principal: checked.principal,
      ...(checked.scope === undefined ? { scopePattern: checked.pattern!.text } : { scope: checked.scope.toString() }),
      permissions: permissionsOf(checked.bits),
      ...(checked.expiresAt === undefined ? {} : { expiresAt: checked.expiresAt }),
      ...(checked.includeSteps ? { includeSteps: true } : {}),
      grantedBy: grantor.name,
      createdAt: now,
    };
    const granted: EventSpec = {
      kind: 'access.granted',
      ...(grant.scope === undefined ? {} : { scope: grant.scope }),
      data: {
        grantId: grant.id,
        principal: grant.principal,
        ...(grant.scopePattern === undefined ? {} : { scopePattern: grant.scopePattern }),
        permissions: grant.permissions,
        ...(grant.expiresAt === undefined ? {} : { expiresAt: grant.expiresAt }),
        ...(grant.includeSteps === undefined ? {} : { includeSteps: true }),
        grantedBy: grant.grantedBy,
      },
    };
    await this.#commitChange([grantChange(grant.id)], [granted], [putGrant(grant)], () => control.policy.grants.add(grant));
    return structuredClone(grant);
  }

  /**
   * Removes a grant, and every grant passed on under it that rests on nothing else. Resolves with whether
   * it existed. System may revoke any grant; another principal only those it gave.
   *
   * @throws {ACCESS_DENIED} for a grant the caller did not give.
   */
  async revoke(id: string): Promise<boolean> {
    this.#deps.assertWritable();
    if (typeof id !== 'string' || id.length === 0) throw new TypeError(`Expected a grant id, got ${describeOption(id)}`);
    const control = this.#deps.control();
    const grant = control.policy.grants.get(id);
    if (grant === undefined) return false;
    const revoker = acting();
    if (revoker.kind !== 'system' && grant.grantedBy !== revoker.name) {
      const refusal = control.refuse({ principal: revoker, scope: grant.scope === undefined ? undefined : Scope.parse(grant.scope), operation: 'write', method: 'access.revoke' }, { allowed: false, rule: 'not-own', code: 'ACCESS_DENIED' });
      await refusal.recorded;
      throw refusal.error;
    }
    // What was passed on under it, and rests on nothing else, goes with it: or it could be handed back.
    const revoked = [grant, ...unbacked(control.policy.grants.all().filter((each) => each.id !== id), this.#deps.now())];
    await this.#commitChange(
      revoked.map((each) => grantChange(each.id)),
      revoked.map((each) => ({
        kind: 'access.revoked' as const,
        ...(each.scope === undefined ? {} : { scope: each.scope }),
        data: { grantId: each.id, principal: each.principal, ...(each.scopePattern === undefined ? {} : { scopePattern: each.scopePattern }), revokedBy: revoker.name },
      })),
      revoked.map((each) => ({ type: 'del' as const, sublevel: 'access' as const, key: grantKey(each.id) })),
      () => {
        for (const each of revoked) control.policy.grants.remove(each.id);
      },
    );
    return true;
  }

  /** Grants in force (system sees all; another principal those it holds or gave), oldest first. */
  grants(filter: GrantsFilter = {}): Grant[] {
    this.#deps.assertReadable();
    checkOptionsArgument(filter, 'filter');
    const who = acting();
    const principal = filter.principal === undefined ? undefined : normalizePrincipal(filter.principal);
    const scope = filter.scope === undefined ? undefined : (typeof filter.scope === 'string' ? Scope.parse(filter.scope) : filter.scope).toString();
    const now = this.#deps.now();
    const control = this.#deps.control();
    return control.policy.grants
      .all()
      .filter((grant) => who.kind === 'system' || grant.principal === who.name || grant.grantedBy === who.name)
      .filter((grant) => principal === undefined || grant.principal === principal)
      .filter((grant) => filter.includeExpired === true || grant.expiresAt === undefined || grant.expiresAt > now)
      .filter((grant) => scope === undefined || grant.scope === scope || (grant.scopePattern !== undefined && control.policy.grants.matchesPattern(grant.id, scope)))
      .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1))
      .map((grant) => structuredClone(grant));
  }

  /**
   * Whether `principal` may do `operation` on `scope` now, and by which rule or grant. Asks, and records
   * nothing, when system asks or a principal asks about itself. A principal other than system may ask
   * only about itself: asking about another is refused, and the refusal is audited and logged as
   * `access.denied`.
   *
   * @throws {ACCESS_DENIED} when a principal other than system asks about another (rule `not-own`).
   *
   * @example await rt.access.check('agent:ada', Scope.agent('bob'), 'read') // { allowed: true, by: 'g_…', rule: 'grant' }
   */
  check(principal: string, scope: Scope | string, operation: Operation, options: { sessionId?: string } = {}): AccessDecision {
    this.#deps.assertReadable();
    const subject = parsePrincipal(principal);
    const parsed = typeof scope === 'string' ? Scope.parse(scope) : scope;
    if (!Scope.isScope(parsed)) throw new TypeError(`Expected \`scope\` to be a Scope or its string form, got ${describeOption(scope)}`);
    if (!(OPERATIONS as readonly unknown[]).includes(operation)) throw new TypeError(`Expected \`operation\` to be one of ${OPERATIONS.join(', ')}, got ${describeOption(operation)}`);
    checkOptionsArgument(options);
    const who = acting();
    if (who.kind !== 'system' && who.name !== subject.name) {
      // Refused like any call, so on record: asking about others is how a principal probes for a way in.
      throw this.#deps.control().refuse({ principal: who, operation: 'read', method: 'access.check' }, { allowed: false, rule: 'not-own', code: 'ACCESS_DENIED' }).error;
    }
    const boundSession = options.sessionId === undefined ? undefined : normalizeScopeId(options.sessionId, 'session id');
    return { ...this.#deps.control().policy.decide(subject, parsed, operation, boundSession) };
  }

  /**
   * Access decisions on record, newest first: every decision on a call's cross-scope operation, allowed
   * or denied, and every refusal (filtered listings record none per item: docs/access.md). A principal
   * other than system sees only its own.
   *
   * @throws {ACCESS_DENIED} when a principal other than system asks for another's.
   * @example await rt.access.audit({ principal: 'agent:ada', outcome: 'denied' })
   */
  async audit(filter: AuditFilter = {}): Promise<AuditRecord[]> {
    this.#deps.assertReadable();
    checkOptionsArgument(filter, 'filter');
    const who = acting();
    if (who.kind === 'system') return this.#deps.control().audit.query(filter);
    if (filter.principal !== undefined && normalizePrincipal(filter.principal) !== who.name) {
      const refusal = this.#deps.control().refuse({ principal: who, operation: 'read', method: 'access.audit' }, { allowed: false, rule: 'not-own', code: 'ACCESS_DENIED' });
      await refusal.recorded;
      throw refusal.error;
    }
    return this.#deps.control().audit.query({ ...filter, principal: who.name });
  }

  /**
   * Cuts an agent off at once: from the moment this is called, every operation by it or on its scope is
   * refused with AGENT_QUARANTINED, its queued messages are rejected and none more is processed, its
   * hooks' actions are refused, and its actor is stopped. Persisted: it holds after a restart, until
   * {@link release}. System only.
   *
   * If the store fails to record it, the quarantine stays in force in this process and the call rejects
   * with the storage error; calling again records it.
   */
  async quarantine(agentId: string, options: { reason?: string } = {}): Promise<Quarantine> {
    this.#deps.assertWritable();
    const id = normalizeScopeId(agentId, 'agent id');
    checkOptionsArgument(options);
    if (options.reason !== undefined && typeof options.reason !== 'string') throw new TypeError(`Expected \`reason\` to be a string, got ${describeOption(options.reason)}`);
    // Nothing is awaited before the quarantine is in force (a refusal aside): not even a microtask may
    // let the agent take its next message.
    if (acting().kind !== 'system') await this.#systemOnly('access.quarantine');
    const control = this.#deps.control();
    const quarantine: Quarantine = control.policy.quarantines.get(id) ?? { agentId: id, ...(options.reason === undefined ? {} : { reason: options.reason }), by: 'system', at: this.#deps.now() };
    const settled = control.changes.begin([quarantineChange(id)]);
    // In force before anything is awaited: no message of the agent is processed after this line.
    control.policy.quarantines.set(id, quarantine);
    const stopped = this.#deps.cutOff(id, quarantinedError(quarantine));
    try {
      await this.#deps.recordEvents(
        [{ kind: 'access.quarantined', agentId: id, scope: Scope.agent(id).toString(), data: { ...(quarantine.reason === undefined ? {} : { reason: quarantine.reason }), by: quarantine.by } }],
        [putQuarantine(quarantine)],
      );
      control.unrecordedQuarantines.delete(id);
    } catch (error) {
      control.unrecordedQuarantines.add(id);
      throw error;
    } finally {
      settled();
    }
    await stopped;
    return structuredClone(quarantine);
  }

  /** Lifts a quarantine. Resolves with whether there was one. The agent stays stopped: restore it. System only. */
  async release(agentId: string): Promise<boolean> {
    this.#deps.assertWritable();
    const id = normalizeScopeId(agentId, 'agent id');
    await this.#systemOnly('access.release');
    const control = this.#deps.control();
    if (!control.policy.quarantines.has(id)) return false;
    await this.#commitChange(
      [quarantineChange(id)],
      [{ kind: 'access.released', agentId: id, scope: Scope.agent(id).toString(), data: { by: 'system' } }],
      [{ type: 'del', sublevel: 'access', key: quarantineKey(id) }],
      () => {
        control.policy.quarantines.delete(id);
        control.unrecordedQuarantines.delete(id);
      },
    );
    return true;
  }

  /** The agents under quarantine. */
  quarantined(): Quarantine[] {
    this.#deps.assertReadable();
    return [...this.#deps.control().policy.quarantines.values()].map((quarantine) => structuredClone(quarantine));
  }

  /**
   * Commits a change of the grants or quarantines, then applies it in memory; marked as under way
   * throughout, so that a refresh from the store cannot undo it (see AccessControl.refresh).
   */
  async #commitChange(changing: string[], events: EventSpec[], ops: BatchOp[], apply: () => void): Promise<void> {
    const settled = this.#deps.control().changes.begin(changing);
    try {
      await this.#deps.recordEvents(events, ops);
      apply();
    } finally {
      settled();
    }
  }

  async #systemOnly(method: string): Promise<void> {
    const who = acting();
    if (who.kind === 'system') return;
    const refusal = this.#deps.control().refuse({ principal: who, operation: 'write', method }, { allowed: false, rule: 'system-only', code: 'ACCESS_DENIED' });
    await refusal.recorded;
    throw refusal.error;
  }
}

/**
 * The grants in `grants` that no longer rest on anything: a grant stands when system gave it, when it has
 * expired anyway, or when its grantor may give it (see {@link mayGrant}) by grants that stand
 * themselves. Found from the grants system gave upwards, so that two grants cannot hold each other up.
 */
function unbacked(grants: readonly Grant[], now: number): Grant[] {
  const standing = new GrantIndex();
  let pending: Grant[] = [];
  for (const grant of grants) {
    if (grant.grantedBy === 'system' || (grant.expiresAt !== undefined && grant.expiresAt <= now)) standing.add(grant);
    else pending.push(grant);
  }
  for (let found = true; found && pending.length > 0; ) {
    found = false;
    const still: Grant[] = [];
    for (const grant of pending) {
      if (mayGrant(standing, parsePrincipal(grant.grantedBy), checkedOf(grant), now).allowed) {
        standing.add(grant);
        found = true;
      } else still.push(grant);
    }
    pending = still;
  }
  return pending;
}

/** A stored grant as the request that would give it now. */
function checkedOf(grant: Grant): CheckedGrant {
  return {
    principal: grant.principal,
    ...(grant.scope === undefined ? { pattern: compileScopePattern(grant.scopePattern!) } : { scope: Scope.parse(grant.scope) }),
    bits: permissionBits(grant.permissions),
    ...(grant.expiresAt === undefined ? {} : { expiresAt: grant.expiresAt }),
    includeSteps: grant.includeSteps === true,
  };
}

/** What the calls of a quarantined agent, and those queued for it, are refused with. */
export function quarantinedError(quarantine: Quarantine): LlmStateError {
  const { agentId, reason } = quarantine;
  return new LlmStateError('AGENT_QUARANTINED', `Agent ${agentId} was quarantined${reason === undefined ? '' : ` (${reason})`}`, { details: { agent: agentId } });
}

/** Who is calling: the principal of the view the call came through. */
function acting(): ParsedPrincipal {
  return parsePrincipal(currentCorrelation()?.principal ?? 'system');
}
