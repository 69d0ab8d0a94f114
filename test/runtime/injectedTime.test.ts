import assert from 'node:assert/strict';
import { createRuntime, LlmStateError, onRuntimeFatal, Scope, type Runtime } from '../../src/index.js';
import { isSettled, settlesWithin, untilSettled } from '../agents/agentKit.js';
import { chatMachine } from '../fixtures/chatMachine.js';
import { rejection } from '../helpers.js';
import { ManualTimers } from '../ManualTimers.js';

/**
 * The runtime waits on the `timers` it is given, and only on them: each timed behaviour below stays put
 * until the test moves time, and happens when it does. The times are far longer than a test runs, so
 * that a host timer could not be what fires them.
 */
const HOUR = 60 * 60 * 1000;

describe('a runtime on injected timers', () => {
  let timers: ManualTimers;
  let rt: Runtime;
  const scope = Scope.agent('a1');
  const machine = chatMachine();

  beforeEach(() => {
    timers = new ManualTimers();
  });
  afterEach(async () => {
    // close() waits on the timers too, for open transactions.
    const closing = rt.close();
    while (!(await settlesWithin(closing, 50))) await timers.advance(HOUR);
    await closing;
  });

  it('times out a transaction when the timers reach transactionTimeoutMs, not before', async () => {
    rt = await createRuntime({ memory: true, clock: timers.clock, timers, transactionTimeoutMs: HOUR });
    const tx = rt.state.transaction(scope, () => new Promise<void>(() => {}));
    const error = rejection(tx);
    await timers.advance(HOUR - 1);
    assert.equal(await settlesWithin(tx), false, 'still running 1 ms before the limit');
    await timers.advance(1);
    assert.equal((await error).code, 'TRANSACTION_TIMEOUT');
  });

  it('ends the transactions still open closeGraceMs after close() began, on the timers', async () => {
    rt = await createRuntime({ memory: true, clock: timers.clock, timers, closeGraceMs: HOUR });
    const tx = rt.state.transaction(scope, () => new Promise<void>(() => {}), { timeoutMs: 2 * HOUR });
    const error = rejection(tx);
    await timers.advance(0);
    const closing = rt.close();
    await timers.advance(HOUR - 1);
    assert.equal(await settlesWithin(closing), false, 'close() still waits 1 ms before the grace ends');
    await timers.advance(1);
    assert.equal((await error).code, 'RUNTIME_CLOSED');
    await closing;
  });

  it('delays a store operation by a fault’s delayMs on the timers', async () => {
    rt = await createRuntime({ memory: true, clock: timers.clock, timers });
    rt.faults.failStorage({ op: 'batch', delayMs: HOUR, delayOnly: true, count: 1 });
    const write = rt.state.set(scope, 'k', 1);
    await timers.advance(HOUR - 1);
    assert.equal(await settlesWithin(write), false, 'the write waits out the delay');
    await timers.advance(1);
    await write;
    assert.equal(await rt.state.get(scope, 'k'), 1);
  });

  it('applies event retention every hour on the timers', async () => {
    rt = await createRuntime({ memory: true, clock: timers.clock, timers, eventRetention: { maxCount: 3 } });
    for (let i = 0; i < 10; i++) await rt.state.set(scope, `k${i}`, i);
    const count = async () => (await rt.events.query({ kinds: ['state.set'] })).length;
    await timers.advance(HOUR - 1);
    assert.equal(await count(), 10, 'nothing pruned before the hour');
    await timers.advance(1);
    for (let turn = 0; turn < 1000 && (await count()) > 3; turn++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(await count(), 3);
  });

  it('waits out a supervisor’s restart backoff on the timers', async () => {
    rt = await createRuntime({ memory: true, clock: timers.clock, timers });
    rt.supervisors.create({ id: 'team', strategy: 'one_for_one', backoff: { minMs: HOUR, maxMs: HOUR } });
    const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine, supervisor: 'team' });
    await agent.send({ type: 'SAY', text: 'before' });
    await rejection(agent.send({ type: 'THROW' }));
    await timers.advance(HOUR - 1);
    assert.deepEqual(rt.supervisors.whichChildren('team').map((child) => child.status), ['restarting']);
    await timers.advance(1);
    await untilSettled(rt);
    assert.deepEqual(rt.supervisors.whichChildren('team').map((child) => [child.status, child.restarts]), [['running', 1]]);
  });

  describe('the root supervisor’s budget (`supervisors: { intensity, period }`)', () => {
    /** Crashes an agent under a supervisor that gives up at once, so each crash costs the root one restart. */
    async function escalate(rt: Runtime): Promise<void> {
      await rejection(rt.agents.get('a1').send({ type: 'THROW' }));
      for (let turn = 0; turn < 20_000 && !isSettled(rt) && !rt.supervisors.list().some((s) => s.status === 'failed'); turn++) {
        await new Promise((resolve) => setImmediate(resolve));
      }
    }

    async function openWithTeam(options: { intensity?: number; period?: number }): Promise<LlmStateError[]> {
      rt = await createRuntime({ memory: true, clock: timers.clock, timers, supervisors: options });
      const fatal: LlmStateError[] = [];
      onRuntimeFatal(rt, (error) => fatal.push(error));
      rt.supervisors.create({ id: 'team', strategy: 'one_for_one', intensity: 0 });
      const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine, supervisor: 'team' });
      await agent.send({ type: 'SAY', text: 'hello' });
      return fatal;
    }

    it('fails the root at the restart past `intensity`', async () => {
      const fatal = await openWithTeam({ intensity: 1 });
      await escalate(rt);
      assert.equal(fatal.length, 0, 'one restart is within a budget of 1');
      await escalate(rt);
      assert.equal(fatal.length, 1);
      assert.equal(fatal[0].code, 'SUPERVISOR_SHUTDOWN');
    });

    it('forgets restarts older than `period` ms', async () => {
      const fatal = await openWithTeam({ intensity: 1, period: 100 });
      await escalate(rt);
      await timers.advance(101);
      await escalate(rt);
      assert.equal(fatal.length, 0, 'the first restart left the window before the second');
      await escalate(rt);
      assert.equal(fatal.length, 1, 'two restarts within 100 ms');
    });
  });
});
