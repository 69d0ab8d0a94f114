/**
 * Attacks on access control: what a revoke takes away, what a session binding holds to, and what the links of
 * a session show (docs/access.md, docs/sessions.md).
 */
import assert from 'node:assert/strict';
import { createRuntime, Scope, type Runtime } from '../../../src/index.js';
import { rejection } from '../../helpers.js';

const bob = Scope.agent('bob');
const ON_LINKED = new URL('../../fixtures/hooks/onLinked.mjs', import.meta.url);

describe('access attacks: grants passed on, bindings and links', () => {
  let rt: Runtime;

  beforeEach(async () => {
    rt = await createRuntime({ memory: true });
  });
  afterEach(() => rt.close());

  it('takes away what was passed on under a grant when that grant is revoked', async () => {
    const held = await rt.access.grant({ principal: 'agent:eve', scope: bob, permissions: ['read', 'grant'] });
    await rt.as('agent:eve').access.grant({ principal: 'agent:mallory', scope: bob, permissions: ['read', 'grant'] });
    await rt.access.revoke(held.id);
    assert.equal(rt.access.check('agent:eve', bob, 'read').allowed, false);
    // mallory's grant rested on eve's, which is gone; and mallory can hand it straight back to eve.
    await rt.as('agent:mallory').access.grant({ principal: 'agent:eve', scope: bob, permissions: ['read'] }).catch(() => undefined);
    assert.deepEqual(
      { mallory: rt.access.check('agent:mallory', bob, 'read').allowed, eve: rt.access.check('agent:eve', bob, 'read').allowed },
      { mallory: false, eve: false },
      'revoking eve\'s grant left what she passed on in force, and it came back to her',
    );
  });

  it('refuses to bind system to a session, rather than give a binding that holds nothing', async () => {
    const mine = await rt.sessions.start({});
    assert.throws(() => rt.as('system', { sessionId: mine.id }), /system is bound to no session/);
  });

  it('does not show a session\'s readers the scope and key of a link into a scope they cannot read', async () => {
    const session = await rt.sessions.start({}); // started by system without participants: open to everyone
    await rt.state.set(bob, 'salary-review', { amount: 1 });
    await rt.sessions.linkArtifact('review.pdf', { sessionId: session.id, scope: bob, key: 'salary-review' });
    const eve = rt.as('agent:eve');
    assert.equal((await rejection(eve.state.listKeys(bob))).code, 'ACCESS_DENIED');
    const links = await eve.sessions.artifactsOf({ sessionId: session.id });
    assert.deepEqual(links.map((link) => [link.scope, link.key]).filter(([scope]) => scope === 'agent:bob'), [], 'eve learns the keys of agent:bob through the links of a session');
  });

  it('does not let a principal link a correlation id whose changes touched a scope it cannot read, nor learn how many there were', async () => {
    const asBob = rt.as('agent:bob');
    await asBob.correlate(async () => {
      await asBob.state.set(bob, 'plan', 1);
      await asBob.state.set(bob, 'budget', 2);
    }, 'bob-run');
    const eve = rt.as('agent:eve');
    const error = await rejection(eve.sessions.linkArtifact('spy.txt', { correlationId: 'bob-run' }));
    assert.equal(error.code, 'ACCESS_DENIED', 'eve linked the changes bob made under his correlation id');
    assert.deepEqual(await rt.events.query({ kinds: ['artifact.linked'] }), [], 'the refused link was made');
    const [denied] = await rt.access.audit({ principal: 'agent:eve', outcome: 'denied' });
    assert.deepEqual([denied.method, denied.operation, denied.scope, denied.rule], ['sessions.linkArtifact', 'read', 'agent:bob', 'no-grant']);
    // A correlation id under which nothing unreadable was changed: nothing to hide.
    await eve.sessions.linkArtifact('mine.txt', { correlationId: 'eve-run' });
    // Once she may read what was changed, she may link it.
    await rt.access.grant({ principal: 'agent:eve', scope: bob, permissions: ['read'] });
    await eve.sessions.linkArtifact('spy.txt', { correlationId: 'bob-run' });
    const linked = await rt.events.query({ kinds: ['artifact.linked'] });
    assert.deepEqual(linked.map((event) => [event.principal, (event.data as { changes: number }).changes]), [['agent:eve', 0], ['agent:eve', 2]]);
  });

  it('links the fields it checked, whatever a getter on the options returns later', async () => {
    await rt.state.set(bob, 'secret', 'of bob');
    const eve = rt.as('agent:eve');
    await eve.state.set(Scope.agent('eve'), 'notes', 'of eve');
    // The scope reads as eve's own for the first `honest` reads, then as bob's.
    for (let honest = 1; honest <= 6; honest++) {
      let reads = 0;
      const options = { key: 'secret', get scope() { return reads++ < honest ? Scope.agent('eve') : bob; } };
      await eve.sessions.linkArtifact(`swap-${honest}`, options).catch(() => undefined);
    }
    const intoBob = (await rt.events.query({ kinds: ['artifact.linked'] })).filter((event) => event.scope === 'agent:bob');
    assert.deepEqual(intoBob, [], 'eve linked a key of agent:bob (and learned it exists) through a getter that changed after the check');
  });

  it('links the artifact of a view\'s correlate as its principal: the event is its, and a hook on it acts as it', async () => {
    await rt.hooks.register({ name: 'on-linked', module: ON_LINKED, on: ['artifact.linked'], options: { scope: 'agent:bob', key: 'spilled' }, maxAttempts: 1 });
    const ada = rt.as('agent:ada');
    const { correlationId } = await ada.correlate(() => ada.state.set(Scope.agent('ada'), 'draft', 1), { artifactId: 'report.pdf' });
    const [linked] = await rt.events.query({ kinds: ['artifact.linked'] });
    assert.deepEqual([linked.principal, linked.correlationId], ['agent:ada', correlationId], 'the link made by agent:ada\'s correlate is on record as system\'s');
    await rt.hooks.idle();
    assert.equal(await rt.state.get(bob, 'spilled'), undefined, 'a hook action triggered by agent:ada\'s link wrote agent:bob as system');
    const denied = await rt.access.audit({ principal: 'agent:ada', outcome: 'denied' });
    assert.deepEqual(denied.map((record) => [record.scope, record.operation]), [['agent:bob', 'write']]);
  });

  it('checks the link of a view\'s correlate as its own linkArtifact: a correlation id whose changes it cannot read is refused before fn runs', async () => {
    const asBob = rt.as('agent:bob');
    await asBob.correlate(() => asBob.state.set(bob, 'plan', 1), 'bob-run');
    let ran = false;
    const error = await rejection(rt.as('agent:eve').correlate(() => (ran = true), { correlationId: 'bob-run', artifactId: 'spy.txt' }));
    assert.equal(error.code, 'ACCESS_DENIED', 'eve linked bob\'s correlation through correlate');
    assert.equal(ran, false);
    assert.deepEqual(await rt.events.query({ kinds: ['artifact.linked'] }), []);
    assert.equal((await rt.access.audit({ principal: 'agent:eve', outcome: 'denied' }))[0].method, 'sessions.linkArtifact');
  });
});
