/**
 * Attacks on access control: hook actions act as the principal whose write triggered them (docs/access.md,
 * "Hook actions"), also when one execution receives the writes of several principals, or as the principal
 * the hook was registered with, within that principal's rights.
 */
import assert from 'node:assert/strict';
import { createRuntime, Scope, type Runtime } from '../../../src/index.js';

const MIRROR = new URL('../../fixtures/hooks/mirror.mjs', import.meta.url);
const WRITES_TO = new URL('../../fixtures/hooks/writesTo.mjs', import.meta.url);

describe('access attacks: hook actions and the principals they act as', () => {
  let rt: Runtime;

  beforeEach(async () => {
    rt = await createRuntime({ memory: true });
  });
  afterEach(() => rt.close());

  it('does not let an action caused by eve\'s write act as system because system\'s write is later in the batch', async () => {
    await rt.hooks.register({ name: 'mirror', module: MIRROR, on: ['state.set'], filter: { scopeKinds: ['agent'], keyPrefix: 'by-' }, options: { scope: 'agent:bob' }, maxAttempts: 1 });
    await rt.hooks.disable('mirror', 'gather one batch');
    await rt.as('agent:eve').state.set(Scope.agent('eve'), 'by-eve', 1);
    await rt.state.set(Scope.agent('eve'), 'by-system', 2);
    await rt.hooks.enable('mirror');
    await rt.hooks.idle();
    const executions = await rt.hooks.history({ hookName: 'mirror' });
    assert.equal(executions.length, 1, 'both writes reached the hook in one execution');
    // eve has no grant on agent:bob: the mirror of her write must be refused (and audited).
    assert.equal(await rt.state.get(Scope.agent('bob'), 'mirror-by-eve'), undefined, 'the action caused by eve\'s write was applied to agent:bob as system');
    const denied = await rt.access.audit({ principal: 'agent:eve', outcome: 'denied' });
    assert.equal(denied.length, 1);
  });

  it('refuses an action of a hook registered with a principal that writes outside that principal\'s rights, on record, even when system\'s write triggered it', async () => {
    await rt.hooks.register({ name: 'indexer', module: WRITES_TO, on: ['state.set'], filter: { scopeKinds: ['workflow'] }, options: { scope: 'agent:bob', key: 'index' }, maxAttempts: 1, principal: 'service:indexer' });
    await rt.state.set(Scope.workflow('w1'), 'k', 1);
    await rt.hooks.idle();
    assert.equal(await rt.state.get(Scope.agent('bob'), 'index'), undefined, 'the action wrote agent:bob, which service:indexer has no right to');
    const [letter] = await rt.hooks.deadLetters({ hookName: 'indexer' });
    assert.match(String(letter?.error?.message ?? JSON.stringify(letter)), /ACCESS_DENIED|no grant/);
    const denied = await rt.access.audit({ principal: 'service:indexer', outcome: 'denied' });
    assert.deepEqual(denied.map((record) => [record.scope, record.operation, record.rule]), [['agent:bob', 'write', 'no-grant']]);
    // With the right, the same action goes through, as service:indexer.
    await rt.access.grant({ principal: 'service:indexer', scope: Scope.agent('bob'), permissions: ['write'] });
    await rt.state.set(Scope.workflow('w1'), 'k', 2);
    await rt.hooks.idle();
    assert.notEqual(await rt.state.get(Scope.agent('bob'), 'index'), undefined);
    const [written] = await rt.events.query({ scope: 'agent:bob', kinds: ['state.set'] });
    assert.equal(written.principal, 'service:indexer');
  });
});
