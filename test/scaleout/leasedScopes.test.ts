import assert from 'node:assert/strict';
import { Scope } from '../../src/index.js';
import { rejection } from '../helpers.js';
import { describePostgres } from '../support/postgres.js';
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
