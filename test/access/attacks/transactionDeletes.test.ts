/**
 * Attacks on access control: a delete made inside a transaction needs `delete` on the scope, as
 * `rt.state.delete` does (docs/access.md, "How each namespace maps onto the rules").
 */
import assert from 'node:assert/strict';
import { createRuntime, Scope, type Runtime } from '../../../src/index.js';
import { rejection } from '../../helpers.js';

const bob = Scope.agent('bob');

describe('access attacks: deletes inside a transaction', () => {
  let rt: Runtime;

  beforeEach(async () => {
    rt = await createRuntime({ memory: true });
    await rt.state.set(bob, 'k', 'kept by bob');
    await rt.access.grant({ principal: 'agent:ada', scope: bob, permissions: ['read', 'write'] });
  });
  afterEach(() => rt.close());

  it('refuses a delete inside a transaction without `delete`, as rt.state.delete is refused, on record', async () => {
    const ada = rt.as('agent:ada');
    assert.equal((await rejection(ada.state.delete(bob, 'k'))).code, 'ACCESS_DENIED');
    const error = await rejection(ada.state.transaction(bob, (tx) => tx.delete('k')));
    assert.equal(error.code, 'ACCESS_DENIED');
    assert.equal(await rt.state.get(bob, 'k'), 'kept by bob', 'a transaction deleted a key that agent:ada may not delete');
    const denied = await rt.access.audit({ principal: 'agent:ada', outcome: 'denied', order: 'oldest' });
    assert.deepEqual(
      denied.map((record) => [record.method, record.operation, record.scope, record.key, record.rule]),
      [
        ['state.delete', 'delete', 'agent:bob', 'k', 'no-grant'],
        ['state.transaction', 'delete', 'agent:bob', 'k', 'no-grant'],
      ],
    );
    assert.equal((await rt.events.query({ kinds: ['access.denied'] })).length, 2);
  });

  it('commits none of the transaction\'s writes when a delete is refused, even if the callback catches the refusal', async () => {
    const outcome = rt.as('agent:ada').state.transaction(bob, async (tx) => {
      tx.set('written', 1);
      try {
        tx.delete('k');
      } catch {
        // carries on as if the delete had been allowed
      }
      tx.set('after', 2);
      return 'done';
    });
    assert.equal((await rejection(outcome)).code, 'ACCESS_DENIED');
    assert.deepEqual(await rt.state.listKeys(bob), ['k'], 'writes of a transaction whose delete was refused were committed');
  });

  it('lets a delete inside a transaction through with `delete`, and audits it', async () => {
    await rt.access.grant({ principal: 'agent:ada', scope: bob, permissions: ['delete'] });
    await rt.as('agent:ada').state.transaction(bob, (tx) => {
      tx.set('written', 1);
      tx.delete('k');
    });
    assert.deepEqual(await rt.state.listKeys(bob), ['written']);
    const allowed = await rt.access.audit({ principal: 'agent:ada', outcome: 'allowed' });
    assert.ok(allowed.some((record) => record.method === 'state.transaction' && record.operation === 'delete' && record.key === 'k'), JSON.stringify(allowed));
  });
});
