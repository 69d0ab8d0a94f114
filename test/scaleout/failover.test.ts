import assert from 'node:assert/strict';
import { describePostgres, freshPostgresSchema, type PostgresTestSchema } from '../support/postgres.js';
import { RuntimeProcess, type Answer, type ProcessOptions } from './runtimeProcess.js';

const TTL_MS = 1500;

describePostgres('scale-out: several processes on one database', function () {
  this.timeout(120_000);
  let store: PostgresTestSchema;
  let processes: RuntimeProcess[];

  beforeEach(() => {
    store = freshPostgresSchema();
    processes = [];
  });

  afterEach(async () => {
    await Promise.all(processes.map((one) => one.close()));
    await store.drop();
  });

  async function start(owner: string, options: Partial<ProcessOptions> = {}): Promise<RuntimeProcess> {
    const started = await RuntimeProcess.start({ connectionString: store.connectionString, schema: store.schema, owner, ttlMs: TTL_MS, ...options });
    processes.push(started);
    return started;
  }

  function assertOk(answer: Answer, what: string): unknown {
    assert.ok(answer.ok, `${what}: ${answer.ok ? '' : `${answer.code} ${answer.message}`}`);
    return answer.value;
  }

  it('routes by agent: a write to a scope another process holds is refused with SCOPE_LEASED naming it, and a read sees its acknowledged writes', async () => {
    const [p0, p1] = await Promise.all([start('p0'), start('p1')]);
    assertOk(await p0.set('agent:a', 'note', 'from p0'), 'p0 writes its agent');

    const refused = await p1.set('agent:a', 'note', 'from p1');
    assert.equal(refused.ok, false);
    assert.equal(!refused.ok && refused.code, 'SCOPE_LEASED');
    assert.match(!refused.ok ? refused.message : '', /\(p0\)/, 'the error names the process to route to');

    assert.equal(assertOk(await p1.get('agent:a', 'note'), 'p1 reads'), 'from p0', 'a read in another process goes to the database');
    assertOk(await p0.set('agent:a', 'note', 'again from p0'), 'p0 writes again');
    assert.equal(assertOk(await p1.get('agent:a', 'note'), 'p1 reads again'), 'again from p0', 'and sees the next acknowledged write at once');
  });

  it('SIGKILL: the agents of a killed process are taken over once its leases expire, with every acknowledged write', async () => {
    const owners = ['p0', 'p1', 'p2'];
    // The survivors wait for a dead owner's lease instead of failing at once.
    const running = await Promise.all(owners.map((owner) => start(owner, { waitMs: TTL_MS * 4 })));
    const agents = Array.from({ length: 9 }, (_, i) => `agent:a${i}`);
    const routeOf = (agent: string) => running[agents.indexOf(agent) % running.length]!;
    const acknowledged = new Map<string, number>();

    // Every process writes its own agents, counting up; p0 is killed while its writes are in flight.
    const writers = agents.map(async (agent) => {
      for (let n = 1; n <= 30; n++) {
        const answer = await routeOf(agent).set(agent, 'count', n);
        if (!answer.ok) return;
        acknowledged.set(agent, n);
      }
    });
    while ((acknowledged.get('agent:a0') ?? 0) < 5) await new Promise((resolve) => setTimeout(resolve, 5));
    await running[0]!.kill();
    await Promise.all(writers);

    // p0's agents go to p1: it waits for the dead process's leases to expire, then owns them.
    for (const agent of agents.filter((one) => routeOf(one) === running[0])) {
      // An agent whose first write p0 had not acknowledged when it died may hold nothing: 0 writes.
      const current = (assertOk(await running[1]!.get(agent, 'count'), `p1 reads ${agent}`) as number | null) ?? 0;
      const acked = acknowledged.get(agent) ?? 0;
      assert.ok(current >= acked, `${agent}: ${current} is behind the acknowledged ${acked}`);
      assertOk(await running[1]!.set(agent, 'count', current + 1), `p1 takes ${agent} over`);
      assert.equal(assertOk(await running[2]!.get(agent, 'count'), `p2 reads ${agent}`), current + 1);
    }
    for (const agent of agents.filter((one) => routeOf(one) !== running[0])) {
      assert.equal(assertOk(await running[2]!.get(agent, 'count'), `p2 reads ${agent}`), 30, `${agent} has all its writes`);
    }
  });

  it('SIGSTOP: a paused process that lost its lease cannot write over its successor; its write is refused with LEASE_LOST', async () => {
    const [p0, p1] = await Promise.all([start('p0'), start('p1', { waitMs: TTL_MS * 4 })]);
    assertOk(await p0.set('agent:s', 'value', 'p0 first'), 'p0 writes');
    // A transaction of p0 is mid-way when p0 is paused: its write is in flight.
    assertOk(await p0.txHold('agent:s', 'value', 'p0 stale', 't1'), 'p0 holds a transaction');
    p0.signal('SIGSTOP');

    assertOk(await p1.set('agent:s', 'value', 'p1 after takeover'), 'p1 takes the scope over once the lease expired');

    p0.signal('SIGCONT');
    const stale = await p0.txRelease('t1');
    assert.equal(stale.ok, false, 'the stale write is refused');
    assert.equal(!stale.ok && stale.code, 'LEASE_LOST');
    const late = await p0.set('agent:s', 'value', 'p0 late');
    assert.equal(late.ok, false, 'and so is a later one');
    assert.ok(!late.ok && (late.code === 'SCOPE_LEASED' || late.code === 'LEASE_LOST'), `got ${!late.ok && late.code}`);

    assert.equal(assertOk(await p1.get('agent:s', 'value'), 'p1 reads'), 'p1 after takeover', 'nothing of p0 was applied after the takeover');
    assert.equal(assertOk(await p0.get('agent:s', 'value'), 'p0 reads'), 'p1 after takeover', 'p0 reads the new owner\'s value, not its cache');
  });
});
