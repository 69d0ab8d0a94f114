import assert from 'node:assert/strict';
import { onRuntimeFatal, Scope, type LlmStateError, type Runtime } from '../../src/index.js';
import { untilSettled } from '../agents/agentKit.js';
import { chatMachine, type ChatContext } from '../fixtures/chatMachine.js';
import { rejection } from '../helpers.js';
import { describePostgres, postgresQuery } from '../support/postgres.js';
import { SharedSchema, until } from './sharedSchema.js';

const MARKS = new URL('../fixtures/hooks/marks.mjs', import.meta.url);

// Two runtimes on one schema stand for two processes. Leases last ten minutes, longer than the test may
// run: whatever the second runtime takes over, the first gave up; none of it expired.
const TTL_MS = 600_000;

describePostgres('scale-out: a runtime whose root supervisor failed', function () {
  this.timeout(60_000);
  const shared = new SharedSchema();

  function start(owner: string): Promise<Runtime> {
    return shared.start(owner, { leases: { owner, ttlMs: TTL_MS, waitMs: 0 }, hooks: { threads: 1 } });
  }

  /** The leases `owner` holds now, by the server's clock. */
  async function leasesHeldBy(owner: string): Promise<string[]> {
    const rows = await postgresQuery<{ resource: string }>(
      `SELECT resource FROM "${shared.schema.schema}".leases WHERE owner = $1 AND expires_at > now() ORDER BY resource`,
      [owner],
    );
    return rows.map((row) => row.resource);
  }

  async function texts(rt: Runtime, id: string): Promise<string[]> {
    return ((await rt.agents.show(id)).machineSnapshot as { context: ChatContext }).context.texts;
  }

  /** Makes `rt`'s root supervisor fail, with injected crashes of agent `id`: its team gives up on every crash, 4 times. */
  async function failTheRoot(rt: Runtime, id: string): Promise<LlmStateError> {
    const fatal = new Promise<LlmStateError>((resolve) => onRuntimeFatal(rt, resolve));
    const agent = rt.agents.get(id)!;
    for (let crash = 0; crash < 4; crash++) {
      rt.faults.crashActor(id);
      assert.equal((await rejection(agent.send({ type: 'SAY', text: `crash ${crash}` }))).code, 'ACTOR_CRASHED');
      if (crash < 3) await untilSettled(rt);
    }
    return fatal;
  }

  it('gives up its scopes, agents and hook deliveries at once, refuses writes, and still reads', async () => {
    const a = await start('a');
    const b = await start('b');
    const scope = Scope.agent('u1');
    await a.hooks.register({ name: 'marks', module: MARKS, on: ['state.set'], filter: { keyPrefix: 'k' } });
    await until(() => b.hooks.get('marks') !== undefined);
    await a.state.set(scope, 'k', 1);
    await a.hooks.idle();
    assert.equal(await a.state.get(scope, 'seen:k'), 1, 'a delivers the hook');

    a.supervisors.create({ id: 'team', strategy: 'one_for_one', intensity: 0, period: 60_000 });
    const agent = await a.agents.spawn({ id: 'c1', type: 'chat', machine: chatMachine(), supervisor: 'team' });
    await agent.send({ type: 'SAY', text: 'hello' });
    assert.equal((await rejection(b.agents.restore('c1', { machine: chatMachine() }))).code, 'SCOPE_LEASED', 'a holds the agent while it runs');
    assert.deepEqual(await leasesHeldBy('a'), ['agent:c1', 'agent:u1', 'hook:marks']);

    const fatal = await failTheRoot(a, 'c1');
    assert.equal(fatal.code, 'SUPERVISOR_SHUTDOWN');
    await until(async () => (await leasesHeldBy('a')).length === 0);

    // Past the moment b remembers a's refusal for.
    shared.skew = 2_000;
    const restored = await b.agents.restore('c1', { machine: chatMachine() });
    assert.deepEqual(await texts(b, 'c1'), ['hello'], 'restored with what a acknowledged');
    await restored.send({ type: 'SAY', text: 'world' });
    await b.state.set(scope, 'k', 2);
    await until(async () => (await b.state.get(scope, 'seen:k')) === 2);
    assert.deepEqual(await leasesHeldBy('b'), ['agent:c1', 'agent:u1', 'hook:marks']);

    assert.equal(await a.state.get(scope, 'k'), 2, 'a reads what b acknowledged, from the store');
    assert.deepEqual(await texts(a, 'c1'), ['hello', 'world'], 'and the agent as b saved it');
    assert.equal((await a.agents.list()).find((one) => one.id === 'c1')?.live, false);
    assert.equal((await rejection(Promise.resolve().then(() => a.agents.get('c1')))).code, 'AGENT_NOT_FOUND', 'a runs it no more');
    assert.equal((await rejection(agent.send({ type: 'SAY', text: 'late' }))).code, 'SUPERVISOR_SHUTDOWN');
    assert.equal((await rejection(a.state.set(scope, 'k', 3))).code, 'SUPERVISOR_SHUTDOWN');
    assert.deepEqual(await leasesHeldBy('a'), [], 'a takes nothing again');
    await shared.close(a);
    assert.equal(await b.state.get(scope, 'k'), 2);
  });
});
