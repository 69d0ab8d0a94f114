/**
 * Attacks on access control: ways for a principal holding only `rt.as('agent:eve')` to reach what it has no
 * right to. Each test states the contract (docs/access.md) and fails while the hole is open.
 */
import assert from 'node:assert/strict';
import { createRuntime, Scope, type Runtime } from '../../../src/index.js';
import { chatMachine } from '../../fixtures/chatMachine.js';
import { rejection } from '../../helpers.js';

const bob = Scope.agent('bob');

describe('access attacks: escalation by a principal holding a view', () => {
  let rt: Runtime;

  beforeEach(async () => {
    rt = await createRuntime({ memory: true });
  });
  afterEach(() => rt.close());

  it('does not take a forged Scope (an object inheriting from a real one) for the principal\'s own scope', async () => {
    await rt.state.set(bob, 'notes', 'secret of bob'); // bob's scope actor is live
    const eve = rt.as('agent:eve');
    // instanceof Scope holds; the policy reads kind and id (eve's own scope), the actor system reads toString (bob's).
    const forged = Object.create(Scope.agent('bob'), { kind: { value: 'agent' }, ids: { value: ['eve'] }, toString: { value: () => 'agent:bob' } }) as Scope;
    let read: unknown;
    try {
      read = await eve.state.get(forged, 'notes');
    } catch {
      read = undefined;
    }
    assert.notEqual(read, 'secret of bob', 'eve read bob\'s scope through a forged Scope, and nothing was audited');
    await eve.state.set(forged, 'notes', 'overwritten by eve').catch(() => {});
    assert.equal(await rt.state.get(bob, 'notes'), 'secret of bob', 'eve wrote bob\'s scope through a forged Scope');
  });

  it('does not let a real Scope\'s ids be overwritten to pass for the principal\'s own scope: scopes are frozen', async () => {
    await rt.state.set(bob, 'notes', 'secret of bob');
    const mutated = Scope.agent('bob');
    // A brand check alone would not stop this: it is a genuine instance; its string form still says agent:bob.
    assert.throws(() => Object.defineProperty(mutated, 'ids', { value: ['eve'] }), TypeError);
    assert.throws(() => Object.assign(mutated, { kind: 'global' }), TypeError);
    assert.equal((await rejection(rt.as('agent:eve').state.get(mutated, 'notes'))).code, 'ACCESS_DENIED');
  });

  it('does not hand out the unchecked namespace as the prototype of a view', async () => {
    await rt.state.set(bob, 'notes', 'secret of bob');
    const eve = rt.as('agent:eve');
    const raw = Object.getPrototypeOf(eve.state) as Runtime['state'];
    const read = await raw.get(bob, 'notes').catch(() => undefined);
    assert.notEqual(read, 'secret of bob', 'Object.getPrototypeOf(rt.as(p).state) reads any scope unchecked');
    // The raw Access takes the caller for system outside a correlation context: eve grants herself every agent.
    const access = Object.getPrototypeOf(eve.access) as Runtime['access'];
    await access.grant({ principal: 'agent:eve', scopePattern: 'agent:*', permissions: ['read', 'write', 'delete', 'list', 'grant'] }).catch(() => undefined);
    assert.equal(rt.access.check('agent:eve', bob, 'read').allowed, false, 'eve granted herself agent:* through the prototype of her access view');
  });

  it('refuses, from anyone but system, a pattern that matches every agent however it is written', async () => {
    await rt.state.set(bob, 'notes', 'secret of bob');
    // ada holds every agent with the right to pass on, as system may give; passing every agent on is still system's.
    await rt.access.grant({ principal: 'agent:ada', scopePattern: 'a*', permissions: ['read', 'grant'] });
    await rt.access.grant({ principal: 'agent:ada', scopePattern: '*', permissions: ['read', 'grant'] });
    const ada = rt.as('agent:ada');
    const everyAgent = ['a*:*', '*:*', '*gent:*', 'ag*:*', 'a*', 'a**', '*', 'agent:*', 'agent:**', 'a*t:*', '*a*', '*e*n*:*', 'ag*nt*:**'];
    for (const scopePattern of everyAgent) {
      const error = await rejection(ada.access.grant({ principal: 'agent:eve', scopePattern, permissions: ['read'] }));
      assert.equal(error.code, 'ACCESS_DENIED', `agent:ada passed on ${scopePattern}, which matches every agent`);
    }
    assert.equal(rt.access.check('agent:eve', bob, 'read').allowed, false);
    assert.equal((await rejection(rt.as('agent:eve').state.get(bob, 'notes'))).code, 'ACCESS_DENIED');
    const refused = await rt.access.audit({ principal: 'agent:ada', outcome: 'denied' });
    assert.equal(refused.filter((record) => record.method === 'access.grant').length, everyAgent.length);
    // What matches only some agents, or none, she may pass on under what she holds.
    for (const scopePattern of ['agent:team-*', 'a*:x*', '*:notes', 'agent:*-bot', 'workflow:*']) {
      await ada.access.grant({ principal: 'agent:eve', scopePattern, permissions: ['read'] });
    }
    assert.equal(rt.access.check('agent:eve', bob, 'read').allowed, false);
    assert.equal(rt.access.check('agent:eve', Scope.agent('team-1'), 'read').allowed, true);
  });

  it('makes a call with the fields it checked: a getter on the options cannot answer the check with eve\'s own id and the call with another\'s', async () => {
    /** Options whose `field` reads as `honest` for the first `reads` reads, then as `other`. */
    const swapping = <T>(rest: object, field: string, honest: T, other: T, reads: number) => {
      let read = 0;
      return Object.defineProperty({ ...rest }, field, { enumerable: true, get: () => (read++ < reads ? honest : other) });
    };
    const bobAgent = await rt.agents.spawn({ id: 'bob', type: 'chat', machine: chatMachine() });
    rt.faults.crashActor('bob');
    await rejection(bobAgent.send({ type: 'SAY', text: 'what bob was told' }));
    assert.equal((await rt.agents.deadLetters({ agentId: 'bob' })).length, 1);
    await bobAgent.stop();
    await rt.state.set(Scope.session('support-42'), 'transcript', 'what the user told support');
    await rt.sessions.start({ id: 'club', participants: ['agent:bob'] });
    await rt.sessions.linkArtifact('plan.pdf', { sessionId: 'club', correlationId: 'c-club' });
    const eve = rt.as('agent:eve');
    // eve may name the id of a session she is a member of (she started it): the check passes for it.
    const { id: hers } = await eve.sessions.start({});
    const leaked: string[] = [];
    for (let reads = 1; reads <= 4; reads++) {
      await eve.agents.spawn(swapping({ type: 'chat', machine: chatMachine() }, 'id', 'eve', `mallory${reads}`, reads) as never).then(() => undefined, () => undefined);
      if ((await rt.agents.list()).some((agent) => agent.id === `mallory${reads}`)) leaked.push(`spawn (${reads})`);
      const letters = await eve.agents.deadLetters(swapping({}, 'agentId', 'eve', 'bob', reads) as never).catch(() => []);
      if (letters.length > 0) leaked.push(`deadLetters (${reads})`);
      const links = await eve.sessions.artifactsOf(swapping({}, 'sessionId', hers, 'club', reads) as never).catch(() => []);
      if (links.length > 0) leaked.push(`artifactsOf (${reads})`);
      await eve.sessions.start(swapping({}, 'id', hers, 'support-42', reads) as never).catch(() => undefined);
      if ((await eve.state.get(Scope.session('support-42'), 'transcript').catch(() => undefined)) !== undefined) leaked.push(`sessions.start (${reads})`);
    }
    assert.deepEqual(leaked, [], 'a getter that changed after the check reached another agent or session');
  });

  it('does not let a read grant on an agent send it messages through the handle\'s `actor` field', async () => {
    const bobAgent = await rt.agents.spawn({ id: 'bob', type: 'chat', machine: chatMachine() });
    await rt.access.grant({ principal: 'agent:eve', scope: bob, permissions: ['read'] });
    const handle = rt.as('agent:eve').agents.get('bob');
    assert.equal((await rejection(handle.send({ type: 'SAY', text: 'from eve' }))).code, 'ACCESS_DENIED');
    // The view inherits every field of the real handle, the internal actor among them.
    const actor = (handle as unknown as { actor?: { send(event: unknown): Promise<unknown> } }).actor;
    await actor?.send({ type: 'SAY', text: 'from eve, unchecked' }).catch(() => undefined);
    const { machineSnapshot } = bobAgent.record() as { machineSnapshot: { context: { texts: string[] } } };
    assert.deepEqual(machineSnapshot.context.texts, [], 'a message eve may not send was processed by bob');
  });

  it('does not let an agent replace the machine of a type that system defined, for every agent of that type', async () => {
    const systemStarts: string[] = [];
    const eveStarts: string[] = [];
    rt.agents.define('chat', chatMachine({ onStart: (id) => systemStarts.push(id) }));
    const bobAgent = await rt.agents.spawn({ id: 'bob', type: 'chat' });
    await bobAgent.stop();
    // eve spawns herself (her own scope, allowed) with her own machine under the shared type name.
    await rt.as('agent:eve').agents.spawn({ id: 'eve', type: 'chat', machine: chatMachine({ onStart: (id) => eveStarts.push(id) }) });
    await rt.agents.restore('bob');
    assert.deepEqual(eveStarts.filter((id) => id === 'bob'), [], 'bob was restored with the machine eve supplied: agents.define is system-only, spawn with `machine` is not');
  });
});
