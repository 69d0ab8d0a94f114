import assert from 'node:assert/strict';
import { createRuntime, LlmStateError, Scope, type Runtime } from '../../src/index.js';
import { ManualClock, rejection, RuntimeFixture } from '../helpers.js';

const ada = Scope.agent('ada');
const bob = Scope.agent('bob');
const WRITES_TO = new URL('../fixtures/hooks/writesTo.mjs', import.meta.url);

describe('access: principals, the default rules and grants', () => {
  let rt: Runtime;
  let clock: ManualClock;

  beforeEach(async () => {
    clock = new ManualClock();
    rt = await createRuntime({ memory: true, clock });
  });
  afterEach(() => rt.close());

  it('lets an agent use its own scope, and refuses another agent\'s with ACCESS_DENIED, on record', async () => {
    const asAda = rt.as('agent:ada');
    await asAda.state.set(ada, 'notes', ['one']);
    assert.deepEqual(await asAda.state.get(ada, 'notes'), ['one']);
    await rt.state.set(bob, 'notes', ['secret']);
    const error = await rejection(asAda.state.get(bob, 'notes'));
    assert.ok(error instanceof LlmStateError);
    assert.equal(error.code, 'ACCESS_DENIED');
    assert.match(error.message, /agent:ada has no grant to read agent:bob/);
    const denied = await rt.access.audit({ principal: 'agent:ada', outcome: 'denied' });
    assert.equal(denied.length, 1);
    assert.deepEqual(
      { principal: denied[0].principal, scope: denied[0].scope, key: denied[0].key, operation: denied[0].operation, rule: denied[0].rule },
      { principal: 'agent:ada', scope: 'agent:bob', key: 'notes', operation: 'read', rule: 'no-grant' },
    );
    const events = await rt.events.query({ kinds: ['access.denied'] });
    assert.equal(events.length, 1);
    assert.equal(events[0].scope, 'agent:bob');
  });

  it('audits nothing an agent does in its own scope, and records the principal on its writes', async () => {
    await rt.as('agent:ada').state.set(ada, 'k', 1);
    assert.deepEqual(await rt.access.audit({}), []);
    const [event] = await rt.events.query({ kinds: ['state.set'] });
    assert.equal(event.principal, 'agent:ada');
    await rt.state.set(ada, 'k', 2);
    const events = await rt.events.query({ kinds: ['state.set'] });
    assert.equal(events[1].principal, undefined, 'system is no principal on record');
  });

  it('lets everyone read global, and only system write it', async () => {
    await rt.state.set(Scope.global(), 'cfg', { mode: 'x' });
    assert.deepEqual(await rt.as('agent:ada').state.get(Scope.global(), 'cfg'), { mode: 'x' });
    assert.deepEqual(await rt.as('service:indexer').state.listKeys(Scope.global()), ['cfg']);
    const error = await rejection(rt.as('agent:ada').state.set(Scope.global(), 'cfg', 1));
    assert.equal(error.code, 'ACCESS_DENIED');
    assert.equal(error.details?.rule, 'global-write');
    await assert.rejects(rt.access.grant({ principal: 'agent:ada', scope: Scope.global(), permissions: ['write'] }), TypeError);
    const reads = await rt.access.audit({ principal: 'agent:ada', outcome: 'allowed' });
    assert.deepEqual(reads.map((record) => record.rule), ['global-read']);
  });

  it('grants read on one scope, resolves the grant, and check() names it', async () => {
    await rt.state.set(bob, 'notes', 'hello');
    const grant = await rt.access.grant({ principal: 'agent:ada', scope: bob, permissions: ['read'] });
    assert.deepEqual(Object.keys(grant).sort(), ['createdAt', 'grantedBy', 'id', 'permissions', 'principal', 'scope']);
    assert.equal(grant.scope, 'agent:bob');
    assert.deepEqual(rt.access.check('agent:ada', bob, 'read'), { allowed: true, by: grant.id, rule: 'grant' });
    assert.equal(rt.access.check('agent:ada', bob, 'write').allowed, false);
    assert.equal(await rt.as('agent:ada').state.get(bob, 'notes'), 'hello');
    assert.equal((await rejection(rt.as('agent:ada').state.set(bob, 'notes', 'x'))).code, 'ACCESS_DENIED');
    const allowed = await rt.access.audit({ principal: 'agent:ada', outcome: 'allowed' });
    assert.equal(allowed[0].grantId, grant.id);
    assert.equal(await rt.access.revoke(grant.id), true);
    assert.equal(await rt.access.revoke(grant.id), false);
    assert.equal((await rejection(rt.as('agent:ada').state.get(bob, 'notes'))).code, 'ACCESS_DENIED');
  });

  it('grants through a pattern, and covers steps only with includeSteps', async () => {
    await rt.access.grant({ principal: 'agent:ada', scopePattern: 'workflow:report-*', permissions: ['read', 'write'] });
    const asAda = rt.as('agent:ada');
    await asAda.state.set(Scope.workflow('report-7'), 'k', 1);
    assert.equal((await rejection(asAda.state.set(Scope.workflow('summary-7'), 'k', 1))).code, 'ACCESS_DENIED');
    assert.equal((await rejection(asAda.state.set(Scope.step('report-7', 'fetch'), 'k', 1))).code, 'ACCESS_DENIED');
    await rt.access.grant({ principal: 'agent:ada', scope: Scope.workflow('w1'), permissions: ['write'], includeSteps: true });
    await asAda.state.set(Scope.step('w1', 'fetch'), 'k', 1);
    await asAda.state.set(Scope.workflow('w1'), 'k', 1);
    assert.equal((await rejection(asAda.state.set(Scope.step('w2', 'fetch'), 'k', 1))).code, 'ACCESS_DENIED');
  });

  it('stops honouring a grant at expiresAt, by the injected clock', async () => {
    await rt.access.grant({ principal: 'agent:ada', scope: bob, permissions: ['read'], expiresAt: clock.now() + 1000 });
    assert.equal(await rt.as('agent:ada').state.get(bob, 'k'), undefined);
    clock.advance(1000);
    assert.equal((await rejection(rt.as('agent:ada').state.get(bob, 'k'))).code, 'ACCESS_DENIED');
    assert.deepEqual(rt.access.grants(), []);
    assert.equal(rt.access.grants({ includeExpired: true }).length, 1);
  });

  it('checks a transaction once, up front, for read and write', async () => {
    await rt.access.grant({ principal: 'agent:ada', scope: bob, permissions: ['read'] });
    let ran = false;
    const error = await rejection(rt.as('agent:ada').state.transaction(bob, (tx) => { ran = true; tx.set('k', 1); }));
    assert.equal(error.code, 'ACCESS_DENIED');
    assert.equal(ran, false);
    await rt.access.grant({ principal: 'agent:ada', scope: bob, permissions: ['write'] });
    await rt.as('agent:ada').state.transaction(bob, async (tx) => tx.set('k', ((await tx.get('k')) as number | undefined) ?? 1));
    assert.equal(await rt.state.get(bob, 'k'), 1);
  });

  it('refuses runtime administration to any principal but system', async () => {
    const asAda = rt.as('agent:ada');
    for (const call of [() => asAda.hooks.register({ name: 'h', builtin: 'metrics', on: ['state.set'] }), () => asAda.backups.create(), () => asAda.access.quarantine('bob'), () => asAda.stats(), () => asAda.close()]) {
      const error = await rejection(call());
      assert.equal(error.code, 'ACCESS_DENIED');
      assert.equal(error.details?.rule, 'system-only');
    }
    assert.throws(() => asAda.as('system'), (error: LlmStateError) => error.code === 'ACCESS_DENIED');
    assert.equal((await rt.access.audit({ principal: 'agent:ada', outcome: 'denied' })).length, 6);
  });

  it('a view does not hand out the namespace behind it', async () => {
    await rt.state.set(bob, 'notes', 'secret');
    const view = rt.as('agent:eve').state;
    assert.ok(view instanceof (rt.state.constructor as new () => unknown));
    assert.equal(Object.getPrototypeOf(view), Object.getPrototypeOf(rt.state), 'its prototype is the class, not an instance');
    const get = Object.getPrototypeOf(view).get as (this: unknown, scope: Scope, key: string) => Promise<unknown>;
    await assert.rejects(async () => get.call(view, bob, 'notes'), TypeError);
    const handle = rt.as('agent:ada').agents;
    assert.equal(Object.getPrototypeOf(handle), Object.getPrototypeOf(rt.agents));
  });

  it('refuses malformed principals with a TypeError', () => {
    for (const bad of ['', 'agent:', 'agent:a/..', 'x\u0000y', 'team:*', 42]) assert.throws(() => rt.as(bad as string), TypeError, String(bad));
  });
});

describe('access: granting needs authority, and cannot escalate', () => {
  let rt: Runtime;

  beforeEach(async () => {
    rt = await createRuntime({ memory: true });
  });
  afterEach(() => rt.close());

  it('lets an agent share its own scope', async () => {
    await rt.as('agent:bob').access.grant({ principal: 'agent:ada', scope: bob, permissions: ['read'] });
    await rt.state.set(bob, 'k', 1);
    assert.equal(await rt.as('agent:ada').state.get(bob, 'k'), 1);
  });

  it('refuses a grant on a scope the grantor does not hold with `grant`', async () => {
    await rt.access.grant({ principal: 'agent:ada', scope: Scope.workflow('w1'), permissions: ['read'] });
    const error = await rejection(rt.as('agent:ada').access.grant({ principal: 'agent:eve', scope: Scope.workflow('w1'), permissions: ['read'] }));
    assert.equal(error.code, 'ACCESS_DENIED');
    assert.equal((await rt.access.audit({ principal: 'agent:ada', outcome: 'denied' }))[0].method, 'access.grant');
  });

  it('refuses granting more permissions, or for longer, than held', async () => {
    await rt.access.grant({ principal: 'agent:ada', scope: Scope.workflow('w1'), permissions: ['read', 'grant'], expiresAt: Date.now() + 60_000 });
    const asAda = rt.as('agent:ada');
    await asAda.access.grant({ principal: 'agent:eve', scope: Scope.workflow('w1'), permissions: ['read'], expiresAt: Date.now() + 30_000 });
    assert.equal((await rejection(asAda.access.grant({ principal: 'agent:eve', scope: Scope.workflow('w1'), permissions: ['write'] }))).code, 'ACCESS_DENIED');
    assert.equal((await rejection(asAda.access.grant({ principal: 'agent:eve', scope: Scope.workflow('w1'), permissions: ['read'] }))).code, 'ACCESS_DENIED', 'no expiry outlives the grantor\'s');
    assert.equal((await rejection(asAda.access.grant({ principal: 'agent:eve', scope: Scope.workflow('w1'), permissions: ['read'], includeSteps: true, expiresAt: Date.now() + 1000 }))).code, 'ACCESS_DENIED');
  });

  it('refuses a pattern wider than the grantor holds: agent:* from anyone but system', async () => {
    const error = await rejection(rt.as('agent:ada').access.grant({ principal: 'agent:eve', scopePattern: 'agent:*', permissions: ['read'] }));
    assert.equal(error.code, 'ACCESS_DENIED');
    // Not even by a principal that holds it with the right to pass it on, nor written otherwise.
    await rt.access.grant({ principal: 'agent:ada', scopePattern: 'agent:*', permissions: ['read', 'grant'] });
    for (const scopePattern of ['agent:*', 'agent:**', 'agent*']) {
      assert.equal((await rejection(rt.as('agent:ada').access.grant({ principal: 'agent:eve', scopePattern, permissions: ['read'] }))).code, 'ACCESS_DENIED', scopePattern);
    }
    await rt.access.grant({ principal: 'agent:ada', scopePattern: 'workflow:report-*', permissions: ['read', 'grant'] });
    await rt.as('agent:ada').access.grant({ principal: 'agent:eve', scopePattern: 'workflow:report-2026-*', permissions: ['read'] });
    assert.equal((await rejection(rt.as('agent:ada').access.grant({ principal: 'agent:eve', scopePattern: 'workflow:*', permissions: ['read'] }))).code, 'ACCESS_DENIED');
    assert.equal((await rejection(rt.as('agent:ada').access.grant({ principal: 'agent:eve', scopePattern: 'workflow:*-report-*', permissions: ['read'] }))).code, 'ACCESS_DENIED');
  });

  it('records on each audit record the correlation id of the context a view\'s call runs in', async () => {
    await rt.state.set(bob, 'k', 1);
    await rt.access.grant({ principal: 'agent:ada', scope: bob, permissions: ['read'] });
    const asAda = rt.as('agent:ada');
    await rt.correlate(() => asAda.state.get(bob, 'k'), 'c-read');
    await rt.correlate(async () => assert.equal((await rejection(asAda.state.set(bob, 'k', 2))).code, 'ACCESS_DENIED'), 'c-write');
    await asAda.correlate(() => asAda.state.listKeys(bob).catch(() => undefined), 'c-own-correlate');
    const records = await rt.access.audit({ principal: 'agent:ada', order: 'oldest' });
    assert.deepEqual(
      records.map((record) => [record.operation, record.outcome, record.correlationId]),
      [
        ['read', 'allowed', 'c-read'],
        ['write', 'denied', 'c-write'],
        ['list', 'denied', 'c-own-correlate'],
      ],
    );
    assert.deepEqual((await rt.access.audit({ principal: 'agent:ada', correlationId: 'c-write' })).map((record) => record.operation), ['write']);
  });

  it('lets only the grantor, or system, revoke', async () => {
    const grant = await rt.as('agent:bob').access.grant({ principal: 'agent:ada', scope: bob, permissions: ['read'] });
    assert.equal((await rejection(rt.as('agent:ada').access.revoke(grant.id))).code, 'ACCESS_DENIED');
    assert.equal(await rt.as('agent:bob').access.revoke(grant.id), true);
  });

  it('keeps an agent to its own check and audit', async () => {
    assert.throws(() => rt.as('agent:ada').access.check('agent:bob', bob, 'read'), (error: LlmStateError) => error.code === 'ACCESS_DENIED');
    assert.equal(rt.as('agent:ada').access.check('agent:ada', bob, 'read').allowed, false);
    // Asking about another is refused on record (docs/access.md, `check`); asking about oneself records nothing.
    assert.deepEqual(
      (await rt.access.audit({ principal: 'agent:ada' })).map((record) => [record.method, record.outcome, record.rule]),
      [['access.check', 'denied', 'not-own']],
    );
    assert.equal((await rejection(rt.as('agent:ada').access.audit({ principal: 'agent:bob' }))).code, 'ACCESS_DENIED');
  });

  it('refuses a hook action that writes outside the rights of the principal whose write triggered it', async () => {
    await rt.hooks.register({ name: 'spill', module: WRITES_TO, on: ['state.set'], filter: { scopeKinds: ['agent'], keyPrefix: 'note' }, options: { scope: 'agent:bob', key: 'spilled' }, maxAttempts: 1 });
    await rt.as('agent:ada').state.set(ada, 'note', 'from ada');
    await rt.hooks.idle();
    assert.equal(await rt.state.get(bob, 'spilled'), undefined);
    const [letter] = await rt.hooks.deadLetters({ hookName: 'spill' });
    assert.match(String(letter.error?.message ?? JSON.stringify(letter)), /ACCESS_DENIED|no grant/);
    const denied = await rt.access.audit({ principal: 'agent:ada', outcome: 'denied' });
    assert.equal(denied[0].scope, 'agent:bob');
    // The same hook, triggered by system's write, acts as system.
    await rt.state.set(Scope.agent('carol'), 'note', 'from system');
    await rt.hooks.idle();
    assert.deepEqual((await rt.state.get(bob, 'spilled')) as object, { from: (await rt.events.query({ scope: 'agent:carol' }))[0].id, principal: null });
  });

  it('acts as the principal named at registration', async () => {
    await rt.hooks.register({ name: 'named', module: WRITES_TO, on: ['state.set'], filter: { scopeKinds: ['workflow'] }, options: { scope: 'agent:bob', key: 'spilled' }, maxAttempts: 1, principal: 'agent:bob' });
    await rt.state.set(Scope.workflow('w1'), 'k', 1);
    await rt.hooks.idle();
    const value = (await rt.state.get(bob, 'spilled')) as { principal: null };
    assert.equal(value.principal, null);
    const [event] = await rt.events.query({ scope: 'agent:bob' });
    assert.equal(event.principal, 'agent:bob');
  });
});

describe('access: quarantine', () => {
  let fixture: RuntimeFixture;

  beforeEach(() => {
    fixture = new RuntimeFixture('access-quarantine');
  });
  afterEach(() => fixture.dispose());

  it('refuses every operation by the agent and on its scope with AGENT_QUARANTINED, until released, across a restart', async () => {
    let rt = await fixture.open();
    await rt.state.set(bob, 'k', 1);
    await rt.access.quarantine('bob', { reason: 'prompt injection suspected' });
    for (const call of [() => rt.as('agent:bob').state.get(bob, 'k'), () => rt.as('agent:bob').state.set(ada, 'k', 1), () => rt.state.set(bob, 'k', 2), () => rt.state.get(bob, 'k')]) {
      assert.equal((await rejection(call())).code, 'AGENT_QUARANTINED');
    }
    assert.deepEqual(rt.access.quarantined().map((q) => q.reason), ['prompt injection suspected']);
    rt = await fixture.reopen(rt);
    assert.equal((await rejection(rt.state.get(bob, 'k'))).code, 'AGENT_QUARANTINED');
    assert.equal(await rt.access.release('bob'), true);
    assert.equal(await rt.state.get(bob, 'k'), 1);
    assert.deepEqual((await rt.events.query({ kinds: ['access.*'] })).map((event) => event.kind), ['access.quarantined', 'access.denied', 'access.denied', 'access.denied', 'access.denied', 'access.denied', 'access.released']);
  });
});

describe('access: quarantine timing', () => {
  it('rejects the messages queued behind the quarantine, and processes none of them', async () => {
    const { chatMachine } = await import('../fixtures/chatMachine.js');
    const rt = await createRuntime({ memory: true });
    try {
      const agent = await rt.agents.spawn({ id: 'bob', type: 'chat', machine: chatMachine() });
      const first = agent.send({ type: 'SAY', text: 'first' });
      const queued = Array.from({ length: 20 }, (_, i) => agent.send({ type: 'SAY', text: `queued ${i}` }));
      const stateWrites = Array.from({ length: 5 }, (_, i) => rt.state.set(bob, `w${i}`, i));
      const quarantined = rt.access.quarantine('bob');
      const outcomes = await Promise.allSettled([first, ...queued]);
      await quarantined;
      const processed = outcomes.filter((outcome) => outcome.status === 'fulfilled');
      assert.ok(processed.length <= 1, `at most the message already in the machine was processed, got ${processed.length}`);
      for (const outcome of outcomes.slice(1)) {
        assert.equal(outcome.status, 'rejected');
        assert.equal(((outcome as PromiseRejectedResult).reason as LlmStateError).code, 'AGENT_QUARANTINED');
      }
      const writes = await Promise.allSettled(stateWrites);
      const committed = writes.filter((outcome) => outcome.status === 'fulfilled').length;
      for (const outcome of writes.filter((o) => o.status === 'rejected')) assert.equal(((outcome as PromiseRejectedResult).reason as LlmStateError).code, 'AGENT_QUARANTINED');
      assert.equal((await rt.events.query({ kinds: ['state.set'], scope: 'agent:bob' })).length, committed);
      assert.equal((await rejection(agent.send({ type: 'SAY', text: 'after' }))).code, 'AGENT_QUARANTINED');
      assert.equal(rt.agents.liveIds().includes('bob'), false, 'its actor is stopped');
      const texts = (await rt.agents.show('bob').catch((error: LlmStateError) => error)) as LlmStateError;
      assert.equal(texts.code, 'AGENT_QUARANTINED');
      await rt.access.release('bob');
      const record = await rt.agents.show('bob');
      assert.deepEqual((record.machineSnapshot as { context: { texts: string[] } }).context.texts, processed.length === 1 ? ['first'] : []);
    } finally {
      await rt.close();
    }
  });
});

describe('access: session scopes', () => {
  let rt: Runtime;
  let clock: ManualClock;

  beforeEach(async () => {
    clock = new ManualClock();
    rt = await createRuntime({ memory: true, clock });
  });
  afterEach(() => rt.close());

  it('keeps a principal bound to a session out of every other session, whatever it is granted', async () => {
    const s1 = await rt.sessions.start({ id: 's1' });
    const s2 = await rt.sessions.start({ id: 's2' });
    await rt.access.grant({ principal: 'agent:ada', scopePattern: 'session:*', permissions: ['read', 'write'] });
    const bound = rt.as('agent:ada', { sessionId: s1.id });
    await bound.state.set(Scope.session(s1.id), 'draft', 'mine');
    const error = await rejection(bound.state.get(Scope.session(s2.id), 'draft'));
    assert.equal(error.code, 'ACCESS_DENIED');
    assert.equal(error.details?.rule, 'other-session');
    // Unbound, the grant applies.
    await rt.as('agent:ada').state.set(Scope.session(s2.id), 'draft', 'granted');
    assert.equal(rt.access.check('agent:ada', Scope.session('s2'), 'read', { sessionId: 's1' }).rule, 'other-session');
    assert.deepEqual((await bound.sessions.list()).map((s) => s.id), ['s1']);
  });

  it('lets the members of a session in, and no one else without a grant', async () => {
    const s = await rt.as('agent:ada').sessions.start({ participants: ['agent:bob'] });
    assert.equal(s.startedBy, 'agent:ada');
    const team = Scope.session(s.id);
    await rt.as('agent:ada').state.set(team, 'k', 1);
    await rt.as('agent:bob').state.set(team, 'k', 2);
    const error = await rejection(rt.as('agent:eve').state.get(team, 'k'));
    assert.equal(error.details?.rule, 'no-grant');
    assert.equal(rt.access.check('agent:bob', team, 'write').rule, 'session-member');
    // Naming the id would claim whatever the session scope already holds: it needs the right to write it.
    assert.equal((await rejection(rt.as('agent:eve').sessions.start({ id: 'claimed' }))).details?.rule, 'no-grant');
  });

  it('opens a session that system started without participants to every principal, as the issue shows', async () => {
    const s = await rt.sessions.start({ ttlMs: 3_600_000, metadata: { user: 'u1' } });
    await rt.as('agent:ada').state.set(Scope.session(s.id), 'draft', 'x');
    assert.equal(rt.access.check('service:writer', Scope.session(s.id), 'write').rule, 'session-open');
  });

  it('makes a session read-only once it has ended or expired, to all but system', async () => {
    const s = await rt.sessions.start({ id: 'short', ttlMs: 1000, participants: ['agent:ada'] });
    await rt.as('agent:ada').state.set(Scope.session(s.id), 'k', 1);
    clock.advance(1000);
    const error = await rejection(rt.as('agent:ada').state.set(Scope.session(s.id), 'k', 2));
    assert.equal(error.details?.rule, 'session-ended');
    assert.equal(await rt.as('agent:ada').state.get(Scope.session(s.id), 'k'), 1);
    await rt.sessions.start({ id: 'done', participants: ['agent:ada'] });
    await rt.sessions.end('done');
    assert.equal((await rejection(rt.as('agent:ada').state.delete(Scope.session('done'), 'k'))).details?.rule, 'session-ended');
    await rt.state.set(Scope.session('done'), 'k', 'system still writes');
  });
});

describe('access: views', () => {
  it('rt.as gives the same view for the same principal and session, and follows a full restore', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const backupDir = mkdtempSync(join(tmpdir(), 'llmstate-views-'));
    const rt = await createRuntime({ memory: true, backups: { dir: backupDir } });
    try {
      assert.equal(rt.as('agent:ada'), rt.as('agent:ada'));
      assert.notEqual(rt.as('agent:ada'), rt.as('agent:ada', { sessionId: 's1' }));
      assert.equal(rt.as('system'), rt);
      const ada = rt.as('agent:ada');
      await ada.state.set(Scope.agent('ada'), 'k', 'before');
      const backup = await rt.backups.create();
      await ada.state.set(Scope.agent('ada'), 'k', 'after');
      await rt.backups.restore({ id: backup.id });
      assert.equal(await ada.state.get(Scope.agent('ada'), 'k'), 'before', 'the view reads the restored store');
      assert.equal((await rejection(ada.state.get(Scope.agent('bob'), 'k'))).code, 'ACCESS_DENIED');
    } finally {
      await rt.close();
      rmSync(backupDir, { recursive: true, force: true });
    }
  });
});
