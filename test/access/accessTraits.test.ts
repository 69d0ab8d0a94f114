/**
 * The access traits (DESIGN §10, §3 invariant 6), over every member of every namespace of a principal's
 * view (`rt.as(p)`):
 *
 * - quarantine: every operation by a quarantined agent is refused with AGENT_QUARANTINED, on record;
 * - denial: every operation a principal may not perform is refused with ACCESS_DENIED, and leaves
 *   exactly one audit record; what is open to every principal (docs/access.md) works for it.
 *
 * The members are read from a live view, as the closed-runtime trait reads them (the calls are shared,
 * in test/traits/operations.ts), so a method added later fails here until it has a call, or an entry in
 * an exemption table that says why.
 */
import assert from 'node:assert/strict';
import { LlmStateError, type AgentHandle, type Runtime } from '../../src/index.js';
import { membersOfNamespaces, NAMESPACES, openSubject, outcomeOf, scope, VALID_CALLS, type Outcome, type Subject } from '../traits/operations.js';

/** A principal's view of a runtime that has something in every namespace, and the runtime itself. */
interface ViewSubject extends Subject {
  /** The runtime as system sees it: what quarantines, grants and reads the audit log. */
  system: Runtime;
  /** A grant that system gave agent:a2 on agent:a1: the principal of the view did not give it. */
  grantId: string;
  /** The correlation id of a write on agent:a1. */
  correlationId: string;
}

/** A session whose only member is agent:a1, so that no other principal reaches it. */
const CLOSED_SESSION = 's3';

/**
 * Calls of the members that the closed-runtime trait exempts (they keep working once closed, or the
 * runtime calls them itself as it closes). They are public in JavaScript, so a view checks them too.
 */
const MORE_CALLS: Record<string, (subject: ViewSubject) => unknown> = {
  'runtime.close': ({ rt }) => rt.close(),
  'runtime.metrics': ({ rt }) => rt.metrics(),
  'agentHandle.status': ({ agent }) => agent.status(),
  'agentHandle.record': ({ agent }) => agent.record(),
  'state.withPrincipal': ({ rt }) => rt.state.withPrincipal('agent:a2'),
  'agents.assertWritable': ({ rt }) => rt.agents.assertWritable(),
  'agents.isLive': ({ rt }) => rt.agents.isLive('a1'),
  'agents.saveAll': ({ rt }) => rt.agents.saveAll(),
  'agents.rejectAllQueued': ({ rt }) => rt.agents.rejectAllQueued(new LlmStateError('RUNTIME_CLOSED', 'The runtime is closed')),
  'agents.letGoAll': ({ rt }) => rt.agents.letGoAll(new LlmStateError('SUPERVISOR_SHUTDOWN', 'The root supervisor failed')),
  // Refused before its arguments matter: no principal holds an agent's actor.
  'agents.stopAgent': ({ rt }) => rt.agents.stopAgent(undefined as never, 'agents'),
  'agents.cutOff': ({ rt }) => rt.agents.cutOff('a1', new LlmStateError('AGENT_QUARANTINED', 'Agent a1 was quarantined')),
  'hooks.load': ({ rt }) => rt.hooks.load(),
  'hooks.refresh': ({ rt }) => rt.hooks.refresh('all'),
  'hooks.pruneIfDue': ({ rt }) => rt.hooks.pruneIfDue(),
  'faults.detach': ({ rt }) => rt.faults.detach(),
  'faults.takeCrash': ({ rt }) => rt.faults.takeCrash('a1'),
  'faults.beforeGroup': ({ rt }) => rt.faults.beforeGroup(scope),
  'faults.beforeUnscopedBatch': ({ rt }) => rt.faults.beforeUnscopedBatch(),
  'backups.startSchedule': ({ rt }) => rt.backups.startSchedule(),
  'backups.stopSchedule': ({ rt }) => rt.backups.stopSchedule(),
  'backups.idle': ({ rt }) => rt.backups.idle(),
  'backups.exclusive': ({ rt }) => rt.backups.exclusive(async () => 1),
  'sessions.load': ({ rt }) => rt.sessions.load(),
  'sessions.stop': ({ rt }) => rt.sessions.stop(),
  'sessions.accessInfo': ({ rt }) => rt.sessions.accessInfo('s1'),
  'sessions.refresh': ({ rt }) => rt.sessions.refresh('all'),
};

/**
 * Where the shared call is not one that agent:eve is refused, the call that is: it names what is not
 * eve's (a grant she did not give, agent:a1's events, a session she is no member of).
 */
const DENIED_CALLS: Record<string, (subject: ViewSubject) => unknown> = {
  'access.revoke': ({ rt, grantId }) => rt.access.revoke(grantId),
  'access.audit': ({ rt }) => rt.access.audit({ principal: 'agent:a1' }),
  'events.query': ({ rt }) => rt.events.query({ agentId: 'a1' }),
  'events.timeline': ({ rt, correlationId }) => rt.events.timeline(correlationId),
  'events.exportTimeline': ({ rt, correlationId }) => rt.events.exportTimeline(correlationId, 'text'),
  'sessions.end': ({ rt }) => rt.sessions.end(CLOSED_SESSION),
  'sessions.get': ({ rt }) => rt.sessions.get(CLOSED_SESSION),
  'sessions.artifactsOf': ({ rt }) => rt.sessions.artifactsOf({ sessionId: CLOSED_SESSION }),
};

const callOf = (member: string): ((subject: ViewSubject) => unknown) | undefined => VALID_CALLS[member] ?? MORE_CALLS[member];

/** Members that are no operation, with why: reading them reaches nobody's data and changes nothing. */
const NOT_OPERATIONS: Record<string, string> = {
  'runtime.principal': 'who the view acts as: how a caller tells one view from another',
  'runtime.location': 'where the store lives, as every principal was told when it was handed the runtime',
  'runtime.closed': 'whether close() has begun: a caller needs it to tell a refusal from a closed runtime',
  'faults.seed': 'a getter of the injector: the seed that a failed run prints, nobody’s data (rehearsing faults is system’s)',
  'faults.fired': 'a getter of the injector: a counter, as metrics()',
  ...Object.fromEntries(
    Object.keys(NAMESPACES)
      .filter((namespace) => !['runtime', 'agentHandle', 'supervisorHandle'].includes(namespace))
      .map((namespace) => [`runtime.${namespace}`, 'a namespace getter: reading it does nothing; its methods are checked (their entries)']),
  ),
};

/** A supervisor handle is had from rt.supervisors, which is system's alone (its entries show the refusals). */
const NOT_REACHABLE = 'supervisorHandle';

/**
 * What every principal may do, with why (docs/access.md): the call succeeds for agent:eve, and what it
 * shows leaves out what is not hers.
 */
const ALLOWED: Record<string, { why: string; shows?: (value: any) => void }> = {
  'runtime.correlate': { why: 'a correlation context for the principal’s own calls, each checked as usual' },
  'runtime.metrics': { why: 'counters in memory, of no scope' },
  'hooks.idle': { why: 'waiting for the outbox to drain reveals nothing and changes nothing' },
  'backups.idle': { why: 'waiting for a backup to finish reveals nothing and changes nothing' },
  'schemas.get': { why: 'schema definitions describe shapes, not anyone’s data' },
  'schemas.list': { why: 'schema definitions describe shapes, not anyone’s data' },
  'schemas.bindings': { why: 'schema definitions describe shapes, not anyone’s data' },
  'schemas.compare': { why: 'schema definitions describe shapes, not anyone’s data' },
  'schemas.docs': { why: 'schema definitions describe shapes, not anyone’s data' },
  'migrations.list': { why: 'migration definitions describe shapes, not anyone’s data' },
  'migrations.migrateValue': { why: 'it migrates the value it is given, and reads nothing stored' },
  'agents.list': { why: 'a filtered listing: only the agents the principal can read', shows: (agents) => assert.deepEqual(agents, []) },
  'agents.liveIds': { why: 'a filtered listing: only the agents the principal can read', shows: (ids) => assert.deepEqual(ids, []) },
  'state.scopes': { why: 'a filtered listing: only the scopes the principal may list', shows: (scopes) => assert.deepEqual(scopes, []) },
  'access.grants': { why: 'a filtered listing: only the grants the principal holds or gave', shows: (grants) => assert.deepEqual(grants, []) },
  'access.quarantined': { why: 'which agents are cut off: what every principal needs to know to stop talking to them' },
  'sessions.list': {
    why: 'a filtered listing: only the sessions the principal can read',
    shows: (sessions: { id: string }[]) => assert.ok(!sessions.some((session) => session.id === CLOSED_SESSION), JSON.stringify(sessions)),
  },
  'sessions.changesByArtifact': { why: 'a filtered listing: only the changes of scopes the principal can read', shows: (changes) => assert.deepEqual(changes, []) },
  'sessions.linksOf': { why: 'a filtered listing: only the links whose scope and session the principal can read', shows: (links) => assert.deepEqual(links, []) },
};

/**
 * A runtime with something in every namespace, seen by `principal`. The view's agent handle is had
 * through the view: by agent:a1 on its own scope, by anyone else but system through a grant revoked at
 * once, so that the handle checks every call again.
 */
async function openView(principal: string): Promise<ViewSubject> {
  const subject = await openSubject();
  const { rt } = subject;
  await rt.sessions.start({ id: CLOSED_SESSION, participants: ['agent:a1'] });
  const { id: grantId } = await rt.access.grant({ principal: 'agent:a2', scope, permissions: ['read'] });
  const [write] = await rt.events.query({ kinds: ['state.set'], scope: scope.toString() });
  const view = rt.as(principal);
  let agent: AgentHandle;
  if (principal === 'system') agent = subject.agent;
  else if (principal === 'agent:a1') agent = view.agents.get('a1');
  else {
    const lent = await rt.access.grant({ principal, scope, permissions: ['read', 'write'] });
    agent = view.agents.get('a1');
    await rt.access.revoke(lent.id);
  }
  return { ...subject, rt: view, system: rt, agent, grantId, correlationId: write.correlationId };
}

async function outcomeOn(subject: ViewSubject, call: (subject: ViewSubject) => unknown): Promise<Outcome> {
  try {
    return await outcomeOf(() => call(subject));
  } finally {
    await subject.system.close();
  }
}

/**
 * The audit records of `principal`. A refusal that throws at once appends its record before it throws,
 * and a query waits for every append made before it, so nothing needs waiting for here.
 */
function auditOf(system: Runtime, principal: string): ReturnType<Runtime['access']['audit']> {
  return system.access.audit({ principal, order: 'oldest' });
}

/**
 * Asserts `outcome` is a refusal with `code`, and that it comes the way the method reports errors: a
 * method that returns a promise rejects it, and only a synchronous one throws.
 */
async function assertRefused(outcome: Outcome, member: string, code: string, call: (subject: ViewSubject) => unknown): Promise<LlmStateError> {
  assert.ok(!outcome.ok, `${member} was not refused`);
  const error = outcome.error as LlmStateError;
  assert.ok(error instanceof LlmStateError, `${member}: ${String(error)}`);
  assert.equal(error.code, code, `${member}: ${error.message}`);
  if (outcome.thrown) {
    const subject = await openView('system');
    try {
      const result = call(subject);
      assert.ok(typeof (result as { then?: unknown } | undefined)?.then !== 'function', `${member} returns a promise, so it must reject it rather than throw`);
    } finally {
      await subject.system.close();
    }
  }
  return error;
}

/** The members of a view. */
async function viewMembers(): Promise<string[]> {
  const subject = await openView('agent:a1');
  try {
    return membersOfNamespaces(subject);
  } finally {
    await subject.system.close();
  }
}

const members = await viewMembers();
const exempt = (member: string) => NOT_OPERATIONS[member] !== undefined || member.startsWith(`${NOT_REACHABLE}.`);

describe('the access traits over every member of a view', () => {
  it('finds the operations on the namespaces of a view', () => {
    for (const namespace of Object.keys(NAMESPACES)) assert.ok(members.some((member) => member.startsWith(`${namespace}.`)), `no members found on ${namespace}`);
    assert.ok(members.includes('state.set') && members.includes('access.grant') && members.includes('agentHandle.send'));
  });

  it('every entry of the tables names a member that exists', () => {
    const entries = [...Object.keys(MORE_CALLS), ...Object.keys(DENIED_CALLS), ...Object.keys(NOT_OPERATIONS), ...Object.keys(ALLOWED)];
    assert.deepEqual(entries.filter((entry) => !members.includes(entry)), []);
    const both = Object.keys(MORE_CALLS).filter((entry) => VALID_CALLS[entry] !== undefined);
    assert.deepEqual(both, [], 'members with a call in VALID_CALLS and in MORE_CALLS');
  });

  describe('quarantine: every operation by a quarantined agent is refused with AGENT_QUARANTINED, on record', () => {
    for (const member of members) {
      if (exempt(member)) continue;
      const call = callOf(member);
      if (call === undefined) {
        it(`${member} has a call, or an entry in NOT_OPERATIONS`, () => assert.fail(`${member} is new: add a call to VALID_CALLS (test/traits/operations.ts), or say in NOT_OPERATIONS why it is no operation`));
        continue;
      }
      it(`${member} refuses agent:a1 once it is quarantined`, async () => {
        const subject = await openView('agent:a1');
        await subject.system.access.quarantine('a1', { reason: 'the trait test' });
        const before = (await auditOf(subject.system, 'agent:a1')).length;
        let outcome: Outcome;
        try {
          outcome = await outcomeOf(() => call(subject));
          const records = await auditOf(subject.system, 'agent:a1');
          assert.equal(records.length, before + 1, `${member}: ${records.length - before} audit records`);
          const record = records.at(-1)!;
          assert.deepEqual([record.outcome, record.rule, record.code], ['denied', 'quarantined-principal', 'AGENT_QUARANTINED']);
        } finally {
          await subject.system.close();
        }
        await assertRefused(outcome, member, 'AGENT_QUARANTINED', call);
      });
    }
  });

  describe('denial: what agent:eve may not do is refused with ACCESS_DENIED and one audit record; what is open works', () => {
    for (const member of members) {
      if (exempt(member)) continue;
      const call = DENIED_CALLS[member] ?? callOf(member);
      if (call === undefined) continue; // reported by the quarantine trait
      const allowed = ALLOWED[member];
      if (allowed !== undefined) {
        it(`${member} is open to every principal: ${allowed.why}`, async () => {
          const outcome = await outcomeOn(await openView('agent:eve'), call);
          assert.ok(outcome.ok, `${member}: ${String(!outcome.ok && outcome.error)}`);
          allowed.shows?.(outcome.value);
        });
        continue;
      }
      it(`${member} refuses agent:eve with ACCESS_DENIED and one audit record`, async () => {
        const subject = await openView('agent:eve');
        const before = (await auditOf(subject.system, 'agent:eve')).length;
        let outcome: Outcome;
        try {
          outcome = await outcomeOf(() => call(subject));
          const records = await auditOf(subject.system, 'agent:eve');
          assert.equal(records.length, before + 1, `${member}: ${records.length - before} audit records`);
          const record = records.at(-1)!;
          const details = (outcome.ok ? {} : (outcome.error as LlmStateError).details) as Record<string, unknown> | undefined;
          assert.deepEqual(
            [record.outcome, record.code, record.rule, record.scope],
            ['denied', 'ACCESS_DENIED', details?.rule, details?.scope],
            `${member}: ${JSON.stringify(record)}`,
          );
        } finally {
          await subject.system.close();
        }
        await assertRefused(outcome, member, 'ACCESS_DENIED', call);
      });
    }
  });

  it('each call the denial trait makes is valid: system makes it without a refusal', async () => {
    for (const [member, call] of Object.entries(DENIED_CALLS)) {
      const outcome = await outcomeOn(await openView('system'), call);
      assert.ok(outcome.ok, `${member}: ${String(!outcome.ok && outcome.error)}`);
    }
  });
});
