/**
 * Attacks on access control: hook actions act as the principal whose write triggered them (docs/access.md,
 * "Hook actions"), also when one execution receives the writes of several principals.
 */
import assert from 'node:assert/strict';
import { createRuntime, Scope, type Runtime } from '../../../src/index.js';

const MIRROR = new URL('../../fixtures/hooks/mirror.mjs', import.meta.url);

describe('access attacks: hook actions of a batch with several principals', () => {
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
});
