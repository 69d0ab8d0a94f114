import assert from 'node:assert/strict';
import { Scope, type HookExecution, type Runtime } from '../../src/index.js';
import { storageOf } from '../../src/runtime.js';
import { describeEachStore, rejection, RuntimeFixture } from '../helpers.js';
import { registerScripted } from './hookHelpers.js';

function deliveredKeys(executions: HookExecution[]): number {
  return executions.filter((execution) => execution.status === 'succeeded').flatMap((execution) => execution.eventIds).length;
}

describeEachStore('hooks: an unregistration that fails', (store) => {
  let fixture: RuntimeFixture;
  let rt: Runtime;

  beforeEach(async () => {
    fixture = new RuntimeFixture('hooks-unregister-failure', store);
    rt = await fixture.open({ hooks: { threads: 1 } });
  });
  afterEach(() => fixture.dispose());

  it('leaves the hook registered, here and in the store, with what waited for it; a retry unregisters it', async () => {
    await registerScripted(rt, 'h');
    await rt.hooks.disable('h', 'held for the test');
    await rt.state.set(Scope.agent('a1'), 'waiting', 1);

    // The unregistration's batch (its registration, event and dead letters) fails.
    const stop = storageOf(rt).intercept({
      beforeBatch: (ops) => {
        if (ops.some((op) => op.sublevel === 'hooks' && op.type === 'put')) throw new Error('disk full');
      },
    });
    let failure: Awaited<ReturnType<typeof rejection>>;
    try {
      failure = await rejection(rt.hooks.unregister('h'));
    } finally {
      stop();
    }
    assert.equal(failure.code, 'STORAGE_FAILED');
    assert.equal(rt.hooks.get('h')?.disabled?.reason, 'held for the test', 'still registered here, as it was');
    assert.equal((await rt.events.query({ kinds: ['hook.unregistered'] })).length, 0, 'nothing of it was written');

    // Writes still reach it, and what waited is delivered once it is enabled.
    await rt.state.set(Scope.agent('a1'), 'after', 2);
    await rt.hooks.enable('h');
    await rt.hooks.idle();
    assert.equal(deliveredKeys(await rt.hooks.history({ hookName: 'h' })), 2);
    assert.deepEqual(await rt.hooks.deadLetters({ hookName: 'h' }), []);

    assert.equal(await rt.hooks.unregister('h'), true, 'a retry finds it');
    assert.equal(rt.hooks.get('h'), undefined);
    rt = await fixture.reopen(rt);
    assert.equal(rt.hooks.get('h'), undefined, 'and the store has it unregistered');
  });
});
