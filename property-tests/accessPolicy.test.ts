/**
 * The access policy against a reference model written from the rules table of docs/access.md (and its
 * "Who may grant" and Sessions sections), not from src/access: random grants (to a scope or a pattern,
 * with any permissions, steps and expiry, by system or by principals trying to pass on what they hold),
 * revokes, clock moves, quarantines and releases, sessions ending, and state operations by system,
 * agents, a custom principal and an agent bound to a session, on every kind of scope.
 *
 * After each step every decision of `rt.access.check` matches the model, and each operation was allowed
 * or refused as the model says, with its code and rule; every refusal left exactly one audit record,
 * naming the principal, scope, operation and rule.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createRuntime, LlmStateError, Scope, type Runtime } from '../src/index.js';
import { ManualClock } from '../test/helpers.js';
import { runs } from './budget.js';

type Operation = 'read' | 'write' | 'delete' | 'list';
type Permission = Operation | 'grant';
const PERMISSIONS: readonly Permission[] = ['read', 'write', 'delete', 'list', 'grant'];
const OPERATIONS: readonly Operation[] = ['read', 'write', 'delete', 'list'];

const SCOPES = [
  'global',
  'agent:a1',
  'agent:a2',
  'agent:a3',
  'workflow:w1',
  'workflow:report-7',
  'step:w1/fetch',
  'step:report-7/draft',
  'session:open',
  'session:club',
  'session:mine',
  'custom:notes',
] as const;

const PATTERNS = [
  'agent:*',
  'agent:a*',
  'workflow:*',
  'workflow:report-*',
  'workflow:report-7*',
  'workflow:*7',
  'step:w1/*',
  'step:*',
  'session:*',
  'custom:*',
  '*:notes',
  // Every agent, written otherwise: passed on only by system, even under `a*` or `*`.
  'a*',
  'a*:*',
  '*:*',
  '*gent:*',
] as const;

/** Who acts: `bound` is the session a principal is bound to (`rt.as(p, { sessionId })`). */
interface Actor {
  name: string;
  bound?: string;
}
const ACTORS: readonly Actor[] = [{ name: 'system' }, { name: 'agent:a1' }, { name: 'agent:a2' }, { name: 'agent:a3' }, { name: 'service:indexer' }, { name: 'agent:a1', bound: 'open' }];
const AGENTS = ['a1', 'a2', 'a3'];

/**
 * The sessions, each started before the steps: by system for all (`open`), by system for agent:a2
 * (`club`), and by agent:a3 for itself (`mine`).
 */
const SESSIONS: Record<string, { startedBy: string; participants: string[] }> = {
  open: { startedBy: 'system', participants: [] },
  club: { startedBy: 'system', participants: ['agent:a2'] },
  mine: { startedBy: 'agent:a3', participants: [] },
};

type StateCall = 'get' | 'set' | 'delete' | 'listKeys' | 'clearScope';
const NEEDS: Record<StateCall, Operation> = { get: 'read', set: 'write', delete: 'delete', listKeys: 'list', clearScope: 'delete' };

type Step =
  | { step: 'grant'; by: number; to: number; target: { scope: number } | { pattern: number }; permissions: Permission[]; includeSteps?: boolean; ttlMs: number | null }
  | { step: 'revoke'; by: number; which: number }
  | { step: 'advance'; ms: number }
  | { step: 'quarantine'; by: number; agent: number }
  | { step: 'release'; by: number; agent: number }
  | { step: 'endSession'; session: number }
  | { step: 'state'; by: number; scope: number; call: StateCall }
  /** An operation by the principal of a grant made earlier, on a scope it names or its pattern matches. */
  | { step: 'use'; which: number; scope: number; call: StateCall }
  /** The principal of a grant made earlier passes on the same, or narrower, with any permissions: an escalation, or not. */
  | { step: 'passOn'; which: number; to: number; keep: Permission[]; extra: Permission | null; narrower: boolean; includeSteps?: boolean; ttlMs: number | null };

const actor = fc.nat({ max: ACTORS.length - 1 });
/** Mostly system, so that grants worth passing on exist. */
const grantor = fc.oneof({ arbitrary: fc.constant(0), weight: 2 }, { arbitrary: actor, weight: 3 });

const stateCall = fc.constantFrom<StateCall>('get', 'set', 'delete', 'listKeys', 'clearScope');

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record(
      {
        step: fc.constant('grant' as const),
        by: grantor,
        to: fc.integer({ min: 1, max: ACTORS.length - 1 }),
        target: fc.oneof(fc.record({ scope: fc.nat({ max: SCOPES.length - 1 }) }), fc.record({ pattern: fc.nat({ max: PATTERNS.length - 1 }) })),
        permissions: fc.subarray([...PERMISSIONS], { minLength: 1 }),
        includeSteps: fc.boolean(),
        ttlMs: fc.option(fc.integer({ min: 1, max: 100 }), { nil: null, freq: 2 }),
      },
      { requiredKeys: ['step', 'by', 'to', 'target', 'permissions', 'ttlMs'] },
    ),
  },
  { weight: 1, arbitrary: fc.record({ step: fc.constant('revoke' as const), by: grantor, which: fc.nat({ max: 20 }) }) },
  { weight: 2, arbitrary: fc.record({ step: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 60 }) }) },
  { weight: 1, arbitrary: fc.record({ step: fc.constant('quarantine' as const), by: grantor, agent: fc.nat({ max: AGENTS.length - 1 }) }) },
  { weight: 1, arbitrary: fc.record({ step: fc.constant('release' as const), by: grantor, agent: fc.nat({ max: AGENTS.length - 1 }) }) },
  { weight: 1, arbitrary: fc.record({ step: fc.constant('endSession' as const), session: fc.nat({ max: Object.keys(SESSIONS).length - 1 }) }) },
  {
    weight: 6,
    arbitrary: fc.record({
      step: fc.constant('state' as const),
      by: actor,
      scope: fc.nat({ max: SCOPES.length - 1 }),
      call: stateCall,
    }),
  },
  { weight: 4, arbitrary: fc.record({ step: fc.constant('use' as const), which: fc.nat({ max: 20 }), scope: fc.nat({ max: SCOPES.length - 1 }), call: stateCall }) },
  {
    weight: 3,
    arbitrary: fc.record(
      {
        step: fc.constant('passOn' as const),
        which: fc.nat({ max: 20 }),
        to: fc.integer({ min: 1, max: ACTORS.length - 1 }),
        keep: fc.subarray([...PERMISSIONS]),
        extra: fc.option(fc.constantFrom(...PERMISSIONS), { nil: null }),
        narrower: fc.boolean(),
        includeSteps: fc.boolean(),
        ttlMs: fc.option(fc.integer({ min: 1, max: 150 }), { nil: null }),
      },
      { requiredKeys: ['step', 'which', 'to', 'keep', 'extra', 'narrower', 'ttlMs'] },
    ),
  },
);

/** The index in ACTORS of a principal acting unbound. */
function actorIndex(name: string): number {
  return ACTORS.findIndex((who) => who.name === name && who.bound === undefined);
}

/** A step scope of each workflow in SCOPES, to pass on part of a workflow grant that covers steps. */
const STEP_OF: Record<string, string> = { 'workflow:w1': 'step:w1/fetch', 'workflow:report-7': 'step:report-7/draft' };

/** A pattern that matches less than `pattern`: a longer prefix, where the pattern is a prefix one. */
function narrowerPattern(pattern: string): string {
  return pattern.indexOf('*') === pattern.length - 1 ? `${pattern.slice(0, -1)}7*` : pattern;
}

/** A decision as the model takes it: `by` lists every grant that may have allowed it. */
interface Decision {
  allowed: boolean;
  rule: string;
  code?: 'ACCESS_DENIED' | 'AGENT_QUARANTINED';
  by?: string[];
}

interface ModelGrant {
  id: string;
  principal: string;
  scope?: string;
  pattern?: string;
  permissions: Set<Permission>;
  includeSteps: boolean;
  expiresAt: number;
  grantedBy: string;
}

/** `*` stands for any run of characters, over the whole string form. */
function globMatches(pattern: string, text: string): boolean {
  const parts = pattern.split('*');
  if (!text.startsWith(parts[0])) return false;
  let at = parts[0].length;
  for (let i = 1; i < parts.length - 1; i++) {
    const found = text.indexOf(parts[i], at);
    if (found === -1) return false;
    at = found + parts[i].length;
  }
  const last = parts.at(-1)!;
  return parts.length === 1 ? text === pattern : text.length - at >= last.length && text.endsWith(last);
}

function workflowOfStep(scope: string): string | undefined {
  return scope.startsWith('step:') ? `workflow:${scope.slice('step:'.length).split('/')[0]}` : undefined;
}

class PolicyModel {
  readonly grants = new Map<string, ModelGrant>();
  readonly quarantined = new Set<string>();
  readonly ended = new Set<string>();

  #names(grant: ModelGrant, scope: string): boolean {
    return grant.scope === scope || (grant.pattern !== undefined && globMatches(grant.pattern, scope));
  }

  /** Whether `grant` reaches `scope`: it names it, or it names the workflow of a step and covers steps. */
  covers(grant: ModelGrant, scope: string): boolean {
    const workflow = workflowOfStep(scope);
    return this.#names(grant, scope) || (workflow !== undefined && grant.includeSteps && this.#names(grant, workflow));
  }

  inForce(principal: string, now: number): ModelGrant[] {
    return [...this.grants.values()].filter((grant) => grant.principal === principal && grant.expiresAt > now);
  }

  /** The rules table, in its order: the first rule that applies decides. */
  decide(who: Actor, scope: string, operation: Operation, now: number): Decision {
    const ownAgent = who.name.startsWith('agent:') ? who.name.slice('agent:'.length) : undefined;
    if (ownAgent !== undefined && this.quarantined.has(ownAgent)) return { allowed: false, rule: 'quarantined-principal', code: 'AGENT_QUARANTINED' };
    if (scope.startsWith('agent:') && this.quarantined.has(scope.slice('agent:'.length))) return { allowed: false, rule: 'quarantined-scope', code: 'AGENT_QUARANTINED' };
    if (who.name === 'system') return { allowed: true, rule: 'system' };
    if (ownAgent !== undefined && scope === `agent:${ownAgent}`) return { allowed: true, rule: 'own-scope' };
    if (scope === 'global') return operation === 'read' || operation === 'list' ? { allowed: true, rule: 'global-read' } : { allowed: false, rule: 'global-write', code: 'ACCESS_DENIED' };
    if (scope.startsWith('session:')) {
      const id = scope.slice('session:'.length);
      if (who.bound !== undefined && who.bound !== id) return { allowed: false, rule: 'other-session', code: 'ACCESS_DENIED' };
      const session = SESSIONS[id];
      if (session !== undefined && this.ended.has(id) && (operation === 'write' || operation === 'delete')) return { allowed: false, rule: 'session-ended', code: 'ACCESS_DENIED' };
      if (who.bound !== undefined) {
        if (session === undefined && (operation === 'write' || operation === 'delete')) return { allowed: false, rule: 'no-session', code: 'ACCESS_DENIED' };
        return { allowed: true, rule: 'bound-session' };
      }
      if (session !== undefined) {
        const members = session.startedBy === 'system' ? session.participants : [session.startedBy, ...session.participants];
        if (members.length === 0) return { allowed: true, rule: 'session-open' };
        if (members.includes(who.name)) return { allowed: true, rule: 'session-member' };
      }
    }
    const by = this.inForce(who.name, now)
      .filter((grant) => grant.permissions.has(operation) && this.covers(grant, scope))
      .map((grant) => grant.id);
    return by.length > 0 ? { allowed: true, rule: 'grant', by } : { allowed: false, rule: 'no-grant', code: 'ACCESS_DENIED' };
  }

  /**
   * docs/access.md, "Who may grant": after a revoke, a grant stands only when system gave it, it has
   * expired, or its grantor may give it by grants that stand, found from system's grants upwards.
   */
  dropUnbacked(now: number): void {
    const standing = [...this.grants.values()].filter((grant) => grant.grantedBy === 'system' || grant.expiresAt <= now);
    let pending = [...this.grants.values()].filter((grant) => !standing.includes(grant));
    for (let found = true; found; ) {
      found = false;
      for (const grant of pending) {
        if (this.mayGrant(grant.grantedBy, grant, now, standing).allowed) {
          standing.push(grant);
          found = true;
        }
      }
      pending = pending.filter((grant) => !standing.includes(grant));
    }
    for (const grant of pending) this.grants.delete(grant.id);
  }

  /** docs/access.md, "Who may grant"; by the grants in force, or only those of `from`. */
  mayGrant(grantor: string, wanted: Omit<ModelGrant, 'id' | 'grantedBy'>, now: number, from?: readonly ModelGrant[]): Decision {
    if (grantor === 'system') return { allowed: true, rule: 'system' };
    if (wanted.scope !== undefined && grantor.startsWith('agent:') && wanted.scope === grantor) return { allowed: true, rule: 'own-scope' };
    // "A pattern that matches every agent (`agent:*`, `*`, `a*:*` …) from anyone but system is refused."
    if (wanted.pattern !== undefined && matchesEveryAgent(wanted.pattern)) return { allowed: false, rule: 'no-grant', code: 'ACCESS_DENIED' };
    const held = from === undefined ? this.inForce(grantor, now) : from.filter((grant) => grant.principal === grantor && grant.expiresAt > now);
    const by = held
      .filter((held) => held.permissions.has('grant') && [...wanted.permissions].every((permission) => held.permissions.has(permission)))
      .filter((held) => (wanted.scope !== undefined ? this.covers(held, wanted.scope) : held.pattern !== undefined && patternIncludes(held.pattern, wanted.pattern!)))
      .filter((held) => !wanted.includeSteps || held.includeSteps)
      .filter((held) => held.expiresAt >= wanted.expiresAt)
      .map((held) => held.id);
    return by.length > 0 ? { allowed: true, rule: 'grant', by } : { allowed: false, rule: 'no-grant', code: 'ACCESS_DENIED' };
  }
}

/**
 * Whether `pattern` matches `agent:<id>` whatever the id: then it matches one made of a character the
 * pattern does not hold, which none of its literal parts can stand for.
 */
function matchesEveryAgent(pattern: string): boolean {
  const fresh = [...'qxz~'].find((character) => !pattern.includes(character))!;
  return globMatches(pattern, `agent:${fresh}`);
}

/** The same pattern, or a prefix pattern whose prefix starts the new one's literal prefix. */
function patternIncludes(held: string, wanted: string): boolean {
  if (held === wanted) return true;
  const star = held.indexOf('*');
  return star === held.length - 1 && wanted.slice(0, wanted.indexOf('*')).startsWith(held.slice(0, star));
}

/** Why a grant request is malformed, by the docs: a global grant carries only read and list; steps go with workflows. */
function malformed(scope: string | undefined, permissions: Permission[], includeSteps: boolean | undefined): boolean {
  if (scope === 'global' && permissions.some((permission) => permission !== 'read' && permission !== 'list')) return true;
  return includeSteps === true && scope !== undefined && !scope.startsWith('workflow:');
}

type Result = { ok: true; value: unknown } | { ok: false; error: unknown };

async function settle(call: () => Promise<unknown>): Promise<Result> {
  try {
    return { ok: true, value: await call() };
  } catch (error) {
    return { ok: false, error };
  }
}

function assertRefusal(result: Result, expected: Decision, step: string): void {
  assert.ok(!result.ok, `${step}: allowed, the model refuses it by ${expected.rule}`);
  const error = result.error as LlmStateError;
  assert.ok(error instanceof LlmStateError, `${step}: ${String(error)}`);
  assert.deepEqual([error.code, error.details?.rule], [expected.code, expected.rule], `${step}: ${error.message}`);
}

function assertAllowed(result: Result, expected: Decision, step: string): void {
  assert.ok(result.ok, `${step}: refused (${!result.ok && String(result.error)}), the model allows it by ${expected.rule}`);
}

/** The runtime and what each actor sees of it. */
interface World {
  rt: Runtime;
  clock: ManualClock;
  views: Runtime[];
  model: PolicyModel;
  /** Every grant made so far, revoked ones included, in order. */
  made: ModelGrant[];
  denials: number;
}

async function deniedRecords(rt: Runtime) {
  return rt.access.audit({ outcome: 'denied', order: 'oldest', limit: 10_000 });
}

/** A refusal (or not) left exactly one audit record more (or none), naming what it refused. */
async function assertAudited(world: World, expected: { principal: string; scope?: string; operation?: Operation; rule: string } | undefined, step: string): Promise<void> {
  const records = await deniedRecords(world.rt);
  if (expected === undefined) {
    assert.equal(records.length, world.denials, `${step}: audit records of denials`);
    return;
  }
  assert.equal(records.length, world.denials + 1, `${step}: one audit record for the denial`);
  world.denials++;
  const record = records.at(-1)!;
  assert.deepEqual(
    { principal: record.principal, scope: record.scope, rule: record.rule, ...(expected.operation === undefined ? {} : { operation: record.operation }) },
    { principal: expected.principal, scope: expected.scope, rule: expected.rule, ...(expected.operation === undefined ? {} : { operation: expected.operation }) },
    `${step}: the audit record`,
  );
}

interface GrantAttempt {
  /** The index in ACTORS of who grants. */
  by: number;
  to: string;
  scope: string | undefined;
  pattern: string | undefined;
  permissions: Permission[];
  includeSteps: boolean | undefined;
  ttlMs: number | null;
}

/** A grant by system, or an attempt to pass one on: made, refused on record, or malformed. */
async function grant(world: World, attempt: GrantAttempt, label: string): Promise<void> {
  const { model } = world;
  const now = world.clock.now();
  const by = ACTORS[attempt.by];
  const { to, scope, pattern } = attempt;
  const expiresAt = attempt.ttlMs === null ? undefined : now + attempt.ttlMs;
  const result = await settle(() =>
    world.views[attempt.by].access.grant({
      principal: to,
      ...(scope === undefined ? { scopePattern: pattern } : { scope }),
      permissions: attempt.permissions,
      ...(expiresAt === undefined ? {} : { expiresAt }),
      ...(attempt.includeSteps === undefined ? {} : { includeSteps: attempt.includeSteps }),
    }),
  );
  const quarantinedGrantor = by.name.startsWith('agent:') && model.quarantined.has(by.name.slice('agent:'.length));
  if (quarantinedGrantor) {
    assertRefusal(result, { allowed: false, rule: 'quarantined-principal', code: 'AGENT_QUARANTINED' }, label);
    return assertAudited(world, { principal: by.name, rule: 'quarantined-principal' }, label);
  }
  if (malformed(scope, attempt.permissions, attempt.includeSteps)) {
    assert.ok(!result.ok && result.error instanceof TypeError, `${label}: a malformed grant is a TypeError, got ${result.ok ? 'a grant' : String(result.error)}`);
    return assertAudited(world, undefined, label);
  }
  const wanted = { principal: to, scope, pattern, permissions: new Set(attempt.permissions), includeSteps: attempt.includeSteps === true, expiresAt: expiresAt ?? Number.POSITIVE_INFINITY };
  const authority = model.mayGrant(by.name, wanted, now);
  if (!authority.allowed) {
    assertRefusal(result, authority, label);
    return assertAudited(world, { principal: by.name, scope, rule: authority.rule }, label);
  }
  assertAllowed(result, authority, label);
  const { id } = result.ok ? (result.value as { id: string }) : { id: '' };
  model.grants.set(id, { ...wanted, id, grantedBy: by.name });
  world.made.push({ ...wanted, id, grantedBy: by.name });
  return assertAudited(world, undefined, label);
}

async function runStep(world: World, step: Step, label: string): Promise<void> {
  const { rt, model, clock } = world;
  const now = clock.now();
  switch (step.step) {
    case 'advance':
      clock.advance(step.ms);
      return;
    case 'endSession': {
      const id = Object.keys(SESSIONS)[step.session];
      await rt.sessions.end(id);
      model.ended.add(id);
      return;
    }
    case 'grant':
      return grant(world, {
        by: step.by,
        to: ACTORS[step.to].name,
        scope: 'scope' in step.target ? SCOPES[step.target.scope] : undefined,
        pattern: 'pattern' in step.target ? PATTERNS[step.target.pattern] : undefined,
        permissions: step.permissions,
        includeSteps: step.includeSteps,
        ttlMs: step.ttlMs,
      }, label);
    case 'passOn': {
      if (world.made.length === 0) return;
      const held = world.made[step.which % world.made.length];
      const narrower = step.narrower && held.scope !== undefined ? (STEP_OF[held.scope] ?? held.scope) : held.scope;
      // Some of what it holds, and now and then one permission more.
      const kept = [...held.permissions].filter((permission) => step.keep.includes(permission));
      const permissions = [...new Set([...(kept.length === 0 ? held.permissions : kept), ...(step.extra === null ? [] : [step.extra])])];
      return grant(world, {
        by: actorIndex(held.principal),
        to: ACTORS[step.to].name,
        scope: narrower,
        pattern: held.pattern === undefined ? undefined : step.narrower ? narrowerPattern(held.pattern) : held.pattern,
        permissions,
        includeSteps: step.includeSteps,
        ttlMs: step.ttlMs,
      }, label);
    }
    case 'use': {
      if (world.made.length === 0) return;
      const held = world.made[step.which % world.made.length];
      const matching = SCOPES.filter((scope) => held.pattern !== undefined && globMatches(held.pattern, scope));
      const scope = held.scope ?? (matching.length === 0 ? SCOPES[step.scope] : matching[step.scope % matching.length]);
      return runStep(world, { step: 'state', by: actorIndex(held.principal), scope: SCOPES.indexOf(scope as (typeof SCOPES)[number]), call: step.call }, label);
    }
    case 'revoke': {
      if (world.made.length === 0) return;
      const by = ACTORS[step.by];
      const id = world.made[step.which % world.made.length].id;
      const existing = model.grants.get(id);
      const result = await settle(() => world.views[step.by].access.revoke(id));
      if (by.name.startsWith('agent:') && model.quarantined.has(by.name.slice('agent:'.length))) {
        assertRefusal(result, { allowed: false, rule: 'quarantined-principal', code: 'AGENT_QUARANTINED' }, label);
        return assertAudited(world, { principal: by.name, rule: 'quarantined-principal' }, label);
      }
      if (existing !== undefined && by.name !== 'system' && existing.grantedBy !== by.name) {
        assertRefusal(result, { allowed: false, rule: 'not-own', code: 'ACCESS_DENIED' }, label);
        return assertAudited(world, { principal: by.name, scope: existing.scope, rule: 'not-own' }, label);
      }
      assert.deepEqual(result, { ok: true, value: existing !== undefined }, label);
      if (existing !== undefined) {
        model.grants.delete(id);
        model.dropUnbacked(world.clock.now());
      }
      return assertAudited(world, undefined, label);
    }
    case 'quarantine':
    case 'release': {
      const by = ACTORS[step.by];
      const agent = AGENTS[step.agent];
      const result = await settle(() => (step.step === 'quarantine' ? world.views[step.by].access.quarantine(agent) : world.views[step.by].access.release(agent)));
      if (by.name.startsWith('agent:') && model.quarantined.has(by.name.slice('agent:'.length))) {
        assertRefusal(result, { allowed: false, rule: 'quarantined-principal', code: 'AGENT_QUARANTINED' }, label);
        return assertAudited(world, { principal: by.name, rule: 'quarantined-principal' }, label);
      }
      if (by.name !== 'system') {
        assertRefusal(result, { allowed: false, rule: 'system-only', code: 'ACCESS_DENIED' }, label);
        return assertAudited(world, { principal: by.name, rule: 'system-only' }, label);
      }
      assert.ok(result.ok, `${label}: ${!result.ok && String(result.error)}`);
      if (step.step === 'quarantine') model.quarantined.add(agent);
      else {
        assert.equal(result.value, model.quarantined.has(agent), `${label}: whether there was a quarantine`);
        model.quarantined.delete(agent);
      }
      return assertAudited(world, undefined, label);
    }
    case 'state': {
      const by = ACTORS[step.by];
      const scopeText = SCOPES[step.scope];
      const scope = Scope.parse(scopeText);
      const operation = NEEDS[step.call];
      const expected = model.decide(by, scopeText, operation, now);
      const state = world.views[step.by].state;
      const result = await settle(() => {
        switch (step.call) {
          case 'get':
            return state.get(scope, 'k');
          case 'set':
            return state.set(scope, 'k', label);
          case 'delete':
            return state.delete(scope, 'k');
          case 'listKeys':
            return state.listKeys(scope);
          case 'clearScope':
            return state.clearScope(scope);
        }
      });
      if (expected.allowed) {
        assertAllowed(result, expected, label);
        return assertAudited(world, undefined, label);
      }
      assertRefusal(result, expected, label);
      return assertAudited(world, { principal: by.name, scope: scopeText, operation, rule: expected.rule }, label);
    }
  }
}

/** Every decision `rt.access.check` takes now matches the model's, and the grants on record are the model's. */
function assertDecisions(world: World, label: string): void {
  const now = world.clock.now();
  for (const who of ACTORS) {
    for (const scope of SCOPES) {
      for (const operation of OPERATIONS) {
        const expected = world.model.decide(who, scope, operation, now);
        const actual = world.rt.access.check(who.name, scope, operation, who.bound === undefined ? {} : { sessionId: who.bound });
        const where = `${label}: check(${who.name}${who.bound === undefined ? '' : ` bound to ${who.bound}`}, ${scope}, ${operation})`;
        assert.deepEqual({ allowed: actual.allowed, rule: actual.rule, code: actual.code }, { allowed: expected.allowed, rule: expected.rule, code: expected.code }, where);
        if (expected.by !== undefined) assert.ok(actual.by !== undefined && expected.by.includes(actual.by), `${where}: by ${actual.by}, expected one of ${expected.by.join(', ')}`);
        else assert.equal(actual.by, undefined, where);
      }
    }
  }
  const recorded = world.rt.access.grants({ includeExpired: true }).map((grant) => grant.id);
  assert.deepEqual(recorded.sort(), [...world.model.grants.keys()].sort(), `${label}: the grants on record`);
}

describe('access policy (property)', function () {
  this.timeout(600_000);

  it('every decision matches a model of the rules in docs/access.md, and every denial is audited once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 10, maxLength: 40 }), async (steps) => {
        const clock = new ManualClock();
        const rt = await createRuntime({ memory: true, clock });
        try {
          for (const [id, session] of Object.entries(SESSIONS)) {
            // Naming a session's id takes the right to write its scope: lent for the start, then taken back.
            const lent = session.startedBy === 'system' ? undefined : await rt.access.grant({ principal: session.startedBy, scope: Scope.session(id), permissions: ['write'] });
            await rt.as(session.startedBy).sessions.start({ id, ttlMs: null, ...(session.participants.length === 0 ? {} : { participants: session.participants }) });
            if (lent !== undefined) await rt.access.revoke(lent.id);
          }
          const world: World = {
            rt,
            clock,
            views: ACTORS.map((who) => rt.as(who.name, who.bound === undefined ? undefined : { sessionId: who.bound })),
            model: new PolicyModel(),
            made: [],
            denials: (await deniedRecords(rt)).length,
          };
          assertDecisions(world, 'at the start');
          for (const [index, step] of steps.entries()) {
            const label = `step ${index} ${JSON.stringify(step)}`;
            await runStep(world, step, label);
            assertDecisions(world, label);
          }
        } finally {
          await rt.close();
        }
      }),
      { numRuns: runs(60) },
    );
  });
});
