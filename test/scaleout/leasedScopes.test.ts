import assert from 'node:assert/strict';
import { createRuntime, Scope, type Runtime } from '../../src/index.js';
import { rejection } from '../helpers.js';
import { describePostgres, freshPostgresSchema, type PostgresTestSchema } from '../support/postgres.js';

// Two runtimes on one schema stand for two processes.

describePostgres('scale-out: a scope another process held', function () {
  this.timeout(60_000);
  let schema: PostgresTestSchema;
  let runtimes: Runtime[];
  let skew = 0;

  beforeEach(() => {
    schema = freshPostgresSchema();
    runtimes = [];
    skew = 0;
  });

  afterEach(async () => {
    await Promise.allSettled(runtimes.map((rt) => rt.close()));
    await schema.drop();
  });

  async function start(owner: string): Promise<Runtime> {
    const rt = await createRuntime({
      storage: { postgres: { connectionString: schema.connectionString, schema: schema.schema } },
      leases: { owner, ttlMs: 60_000, waitMs: 0 },
      clock: { now: () => Date.now() + skew },
      sessions: { gcIntervalMs: 3_600_000 },
    });
    runtimes.push(rt);
    return rt;
  }

  it('is taken once its owner lets it go, however often it was refused meanwhile', async () => {
    const a = await start('a');
    const b = await start('b');
    const scope = Scope.agent('ada');
    await a.state.set(scope, 'note', 'from a');

    assert.equal((await rejection(b.state.set(scope, 'note', 'from b'))).code, 'SCOPE_LEASED');
    // Refused again at once from what b saw a moment ago, without asking the database.
    assert.equal((await rejection(b.state.set(scope, 'note', 'from b'))).code, 'SCOPE_LEASED');

    await a.close();
    // Past the moment b remembers a refusal for.
    skew = 2_000;
    await b.state.set(scope, 'note', 'from b');
    assert.equal(await b.state.get(scope, 'note'), 'from b');
  });
});
