/**
 * Attacks on access control: quarantine (invariant 6, docs/access.md "Quarantine") and session scopes under the
 * access rules (docs/access.md "Sessions", docs/sessions.md).
 */
import assert from 'node:assert/strict';
import { createRuntime, Scope, type Runtime } from '../../../src/index.js';
import { ManualClock, rejection } from '../../helpers.js';

const WRITES_TO = new URL('../../fixtures/hooks/writesTo.mjs', import.meta.url);

describe('access attacks: quarantine', () => {
  let rt: Runtime;

  beforeEach(async () => {
    rt = await createRuntime({ memory: true });
  });
  afterEach(() => rt.close());

  it('rejects a write the agent queued on another scope (through a grant) before the quarantine, instead of committing it after', async () => {
    const shared = Scope.workflow('w1');
    await rt.access.grant({ principal: 'agent:bob', scope: shared, permissions: ['read', 'write'] });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    // system holds the workflow's scope, so bob's write waits in its mailbox.
    const tx = rt.state.transaction(shared, async () => {
      started();
      await held;
    });
    await running;
    const write = rt.as('agent:bob').state.set(shared, 'plan', 'written by bob');
    await rt.access.quarantine('bob', { reason: 'prompt injection suspected' });
    release();
    await tx;
    const outcome = await write.then(() => 'committed', (error: { code?: string }) => error.code);
    assert.equal(outcome, 'AGENT_QUARANTINED', 'a write by bob was committed after bob was quarantined');
    assert.equal(await rt.state.get(shared, 'plan'), undefined);
  });

  it('refuses the actions of a hook triggered by a quarantined agent\'s write, also when the hook names its principal', async () => {
    await rt.hooks.register({ name: 'index', module: WRITES_TO, on: ['state.set'], filter: { scopeKinds: ['agent'], keyPrefix: 'note' }, options: { scope: 'custom:index', key: 'last' }, maxAttempts: 1, principal: 'system' });
    await rt.hooks.disable('index', 'deliver after the quarantine');
    await rt.as('agent:bob').state.set(Scope.agent('bob'), 'note', 'injected text');
    await rt.access.quarantine('bob');
    await rt.hooks.enable('index');
    await rt.hooks.idle();
    // docs/access.md: "actions of hooks triggered by its writes are refused".
    assert.equal(await rt.state.get(Scope.custom('index'), 'last'), undefined, 'an action triggered by bob\'s write ran after bob was quarantined');
  });
});

describe('access attacks: session scopes', () => {
  let rt: Runtime;
  let clock: ManualClock;

  beforeEach(async () => {
    clock = new ManualClock();
    rt = await createRuntime({ memory: true, clock });
  });
  afterEach(() => rt.close());

  it('does not make a principal a member of a session scope that already holds another\'s data by starting a session with its id', async () => {
    const support = Scope.session('support-42');
    await rt.state.set(support, 'transcript', 'what the user told support');
    const eve = rt.as('agent:eve');
    assert.equal((await rejection(eve.state.get(support, 'transcript'))).code, 'ACCESS_DENIED');
    await eve.sessions.start({ id: 'support-42', participants: ['agent:mallory'] }).catch(() => undefined);
    const read = await eve.state.get(support, 'transcript').catch(() => undefined);
    assert.equal(read, undefined, 'eve read a scope she had no right to by starting a session with its id');
  });

  it('keeps a collected session read-only for a principal bound to it', async () => {
    const session = await rt.sessions.start({ ttlMs: 1000 });
    const bound = rt.as('agent:eve', { sessionId: session.id });
    await bound.state.set(Scope.session(session.id), 'draft', 1);
    clock.advance(1001);
    // Expired, not yet collected: read-only, as documented.
    assert.equal((await rejection(bound.state.set(Scope.session(session.id), 'draft', 2))).code, 'ACCESS_DENIED');
    await rt.sessions.gc();
    // Collected: docs/sessions.md says its scope stays read-only for every principal but system.
    const outcome = await bound.state.set(Scope.session(session.id), 'draft', 3).then(() => 'written', (error: { code?: string }) => error.code);
    assert.equal(outcome, 'ACCESS_DENIED', 'a principal bound to a collected session writes its scope again');
  });
});
