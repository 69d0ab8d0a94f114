import assert from 'node:assert/strict';
import { Scope } from '../../src/index.js';
import { rejection } from '../helpers.js';
import { describePostgres, postgresQuery } from '../support/postgres.js';
import { SharedSchema } from './sharedSchema.js';

// Two runtimes on one schema stand for two processes.

describePostgres('scale-out: a scope another process held', function () {
  this.timeout(60_000);
  const shared = new SharedSchema();

  it('is taken once its owner lets it go, however often it was refused meanwhile', async () => {
    const a = await shared.start('a');
    const b = await shared.start('b');
    const scope = Scope.agent('ada');
    await a.state.set(scope, 'note', 'from a');

    assert.equal((await rejection(b.state.set(scope, 'note', 'from b'))).code, 'SCOPE_LEASED');
    // Refused again at once from what b saw a moment ago, without asking the database.
    assert.equal((await rejection(b.state.set(scope, 'note', 'from b'))).code, 'SCOPE_LEASED');

    await a.close();
    // Past the moment b remembers a refusal for.
    shared.skew = 2_000;
    await b.state.set(scope, 'note', 'from b');
    assert.equal(await b.state.get(scope, 'note'), 'from b');
  });
});

describePostgres('scale-out: rt.leases()', function () {
  this.timeout(60_000);
  const shared = new SharedSchema();

  it('says who holds each scope and hook delivery, under which epoch and until when, and which are released or expired', async () => {
    const a = await shared.start('a');
    const b = await shared.start('b');
    await a.state.set(Scope.agent('ada'), 'note', 1);
    await b.state.set(Scope.agent('bob'), 'note', 1);

    // The store-format lock, taken and given up as the first runtime opened the store, is one of them.
    assert.deepEqual((await b.leases()).map((lease) => [lease.resource, lease.state]), [
      ['agent:ada', 'held'],
      ['agent:bob', 'held'],
      ['llmstate:store-format', 'released'],
    ]);
    const seenByB = await b.leases({ prefix: 'agent:' });
    assert.deepEqual(
      seenByB.map(({ resource, owner, epoch, state, mine }) => ({ resource, owner, epoch, state, mine })),
      [
        { resource: 'agent:ada', owner: 'a', epoch: 1, state: 'held', mine: false },
        { resource: 'agent:bob', owner: 'b', epoch: 1, state: 'held', mine: true },
      ],
    );
    for (const lease of seenByB) {
      // Leases of a minute, taken a moment ago, by the server's clock.
      assert.ok(lease.expiresInMs > 50_000 && lease.expiresInMs <= 60_000, `${lease.resource} runs ${lease.expiresInMs} ms more`);
      assert.ok(Math.abs(Date.parse(lease.expiresAt!) - Date.now() - lease.expiresInMs) < 5_000);
    }
    assert.deepEqual((await a.leases({ prefix: 'agent:b' })).map((lease) => [lease.resource, lease.mine]), [['agent:bob', false]]);
    assert.deepEqual(await a.leases({ prefix: 'hook:' }), []);

    await shared.close(a);
    // Process b stops renewing as if it died: its lease runs out, and nobody has taken it since.
    await postgresQuery(`UPDATE "${shared.schema.schema}".leases SET expires_at = now() - interval '1 second' WHERE owner = 'b'`);
    assert.deepEqual(
      (await b.leases({ prefix: 'agent:' })).map(({ resource, state, expiresAt, expiresInMs, mine }) => ({ resource, state, expired: expiresAt === null ? null : Date.parse(expiresAt) < Date.now(), expiresInMs, mine })),
      [
        { resource: 'agent:ada', state: 'released', expired: null, expiresInMs: 0, mine: false },
        { resource: 'agent:bob', state: 'expired', expired: true, expiresInMs: 0, mine: false },
      ],
    );
    assert.equal((await rejection(b.leases({ prefix: 3 } as never))).name, 'TypeError');
  });
});
