import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { assign, setup } from 'xstate';
import { createRuntime, Scope, type Runtime } from '../../src/index.js';
import { describePostgres, postgresTestUrl } from '../support/postgres.js';

// Two runtimes on one schema stand for two processes. Process A's pause past its lease's expiry is played in
// both places it shows: the database sees the lease expire (moved into the past from outside), and A's own
// clock moves on by more than the lease's length, with no renewal run in between (renewals come every
// ttlMs / 3 of a long ttlMs).
const TTL_MS = 60_000;

const counter = setup({ types: { context: {} as { count: number }, events: {} as { type: 'TICK' } } }).createMachine({
  id: 'counter',
  context: { count: 0 },
  on: { TICK: { actions: assign({ count: ({ context }) => context.count + 1 }) } },
});

describePostgres('scale-out: a process paused past its lease serves no stale cache', function () {
  this.timeout(60_000);
  let schema: string;
  let admin: pg.Client;
  let runtimes: Runtime[];
  /** How far A's clock is ahead of the real one: the time A spent paused. */
  let paused = 0;

  beforeEach(async () => {
    schema = `t_stale_${process.pid}_${randomBytes(6).toString('hex')}`;
    admin = new pg.Client({ connectionString: postgresTestUrl() });
    await admin.connect();
    runtimes = [];
    paused = 0;
  });

  afterEach(async () => {
    await Promise.allSettled(runtimes.map((rt) => rt.close()));
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  });

  async function start(owner: string): Promise<Runtime> {
    const rt = await createRuntime({
      storage: { postgres: { connectionString: postgresTestUrl()!, schema } },
      leases: { owner, ttlMs: TTL_MS, waitMs: 0 },
      ...(owner === 'a' ? { clock: { now: () => Date.now() + paused } } : {}),
    });
    runtimes.push(rt);
    return rt;
  }

  /** A is paused for longer than its lease: the database sees the lease expire, and A's clock moves on. */
  async function pausePastExpiry(resource: string): Promise<void> {
    const { rowCount } = await admin.query(`UPDATE "${schema}".leases SET expires_at = now() - interval '1 second' WHERE resource = $1`, [resource]);
    assert.equal(rowCount, 1);
    paused += TTL_MS + 1000;
  }

  it('get: A reads the value B wrote after taking the lease over', async () => {
    const a = await start('a');
    const b = await start('b');
    const scope = Scope.agent('x');
    await a.state.set(scope, 'k', 'from a');
    assert.equal(await a.state.get(scope, 'k'), 'from a');

    await pausePastExpiry('agent:x');
    await b.state.set(scope, 'k', 'from b');
    assert.equal(await b.state.get(scope, 'k'), 'from b');

    // DESIGN §17 / docs/scale-out.md: a read made after another process acknowledged a write sees it.
    assert.equal(await a.state.get(scope, 'k'), 'from b', 'A reads what B wrote after taking the scope over, not its cache');
  });

  it('a read-only transaction in A, which commits nothing for a fence to refuse, reads B\'s value', async () => {
    const a = await start('a');
    const b = await start('b');
    const scope = Scope.agent('y');
    await a.state.set(scope, 'balance', 100);
    assert.equal(await a.state.get(scope, 'balance'), 100);

    await pausePastExpiry('agent:y');
    await b.state.set(scope, 'balance', 0);

    const seen = await a.state.transaction(scope, async (tx) => tx.get('balance'));
    assert.equal(seen, 0, 'A\'s transaction reads the balance B set, not its cache');
  });

  it('an agent whose scope was taken over stops in the paused process, and never writes over its successor', async () => {
    const a = await start('a');
    const b = await start('b');
    const agent = await a.agents.spawn({ id: 'z', type: 'counter', machine: counter });
    await agent.send({ type: 'TICK' });

    await pausePastExpiry('agent:z');
    const successor = await b.agents.restore('z', { machine: counter });
    await successor.send({ type: 'TICK' });
    await successor.send({ type: 'TICK' });
    const saved = await b.agents.list();

    // A wakes and hands its agent a message: its save is refused by the fence, and the agent stops in A.
    const stale = await agent.send({ type: 'TICK' }).then(
      () => undefined,
      (error: { code?: string }) => error,
    );
    assert.ok(stale !== undefined, 'the stale agent\'s message is refused');
    assert.throws(() => a.agents.get('z'), (error: { code?: string }) => error.code === 'AGENT_NOT_FOUND', 'the agent no longer runs in A');
    await assert.rejects(agent.send({ type: 'TICK' }), (error: { code?: string }) => error.code === 'ACTOR_STOPPED' || error.code === 'LEASE_LOST');
    assert.deepEqual(await b.agents.list(), saved, 'nothing A did reached the store');
    assert.deepEqual((await successor.send({ type: 'TICK' })).context, { count: 4 }, 'the successor goes on from its own state');
    await a.state.set(Scope.agent('other'), 'k', 1);
    assert.equal(await a.state.get(Scope.agent('other'), 'k'), 1, 'A goes on with the scopes it holds: one lost agent fails nothing else');
  });
});
