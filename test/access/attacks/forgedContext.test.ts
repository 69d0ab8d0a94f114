/**
 * Attacks on access control: a principal cannot choose whom its changes are recorded as, nor, through that,
 * whom the hook actions they trigger act as (docs/access.md: "They never act as system by accident: the
 * principal travels with the event").
 */
import assert from 'node:assert/strict';
import { createRuntime, Scope, type Runtime } from '../../../src/index.js';

const ON_DELETED = new URL('../../fixtures/hooks/onDeleted.mjs', import.meta.url);

describe('access attacks: the correlation context that agents.delete takes', () => {
  let rt: Runtime;

  beforeEach(async () => {
    rt = await createRuntime({ memory: true });
  });
  afterEach(() => rt.close());

  it('records eve\'s delete of her own agent as hers, whatever context she passes', async () => {
    const eve = rt.as('agent:eve');
    await eve.state.set(Scope.agent('eve'), 'k', 1);
    await eve.agents.spawn({ id: 'eve', type: 'chat' });
    await eve.agents.delete('eve', { correlationId: 'c-forged', principal: 'agent:bob' });
    const events = await rt.events.query({ kinds: ['scope.clear', 'agent.deleted'] });
    assert.deepEqual(events.map((event) => event.principal), ['agent:eve', 'agent:eve'], 'the delete is on record as another principal\'s');
  });

  it('does not let hook actions triggered by eve\'s delete act as system', async () => {
    await rt.hooks.register({ name: 'on-deleted', module: ON_DELETED, on: ['agent.deleted'], options: { scope: 'agent:bob', key: 'spilled' }, maxAttempts: 1 });
    const eve = rt.as('agent:eve');
    await eve.state.set(Scope.agent('eve'), 'k', 1);
    await eve.agents.spawn({ id: 'eve', type: 'chat' });
    // A context with no principal is system's.
    await eve.agents.delete('eve', { correlationId: 'c-as-system' });
    await rt.hooks.idle();
    assert.equal(await rt.state.get(Scope.agent('bob'), 'spilled'), undefined, 'a hook action caused by eve wrote agent:bob as system');
  });
});
