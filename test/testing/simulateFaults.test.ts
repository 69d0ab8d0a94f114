import assert from 'node:assert/strict';
import { Scope } from '../../src/index.js';
import { checkLinearizable } from '../../src/testing/linearizability.js';
import { failureOf } from './simulationKit.js';
import { simulate, type SimulationBody } from '../../src/testing/simulate.js';

const g = Scope.global();
const NEVER = new URL('../fixtures/hooks/never.mjs', import.meta.url).href;
const MARKS = new URL('../fixtures/hooks/marks.mjs', import.meta.url).href;


describe('simulate: hooks, crashes and restarts', () => {
  it('records a hook that never finishes as HOOK_TIMEOUT once virtual time passes its limit, in well under a second', async () => {
    const started = performance.now();
    let checked = 0;
    await simulate.assert(
      async (sim) => {
        await sim.rt.state.set(g, 'k', 1);
        await sim.advance(299_999);
        sim.check((await sim.rt.hooks.history({ hookName: 'never' })).length === 0, 'recorded before its time limit');
        await sim.advance(1);
        await sim.rt.hooks.idle();
        const [execution] = await sim.rt.hooks.history({ hookName: 'never' });
        sim.check(execution?.status === 'timed_out' && execution.error?.code === 'HOOK_TIMEOUT', `recorded ${JSON.stringify(execution?.error)}`);
        checked++;
      },
      { runs: 5, seed: 1, setup: async (rt) => void (await rt.hooks.register({ name: 'never', module: NEVER, on: ['state.set'], timeoutMs: 300_000, maxAttempts: 1 })) },
    );
    assert.equal(checked, 5);
    assert.ok(performance.now() - started < 1_000 * 5, 'five runs of a 5-minute time limit');
  });

  it('delivers every change to a hook despite worker crashes', async () => {
    let crashes = 0;
    await simulate.assert(
      async (sim) => {
        const keys = ['a', 'b', 'c', 'd'];
        await Promise.all(keys.map((key, index) => sim.spawn(() => sim.rt.state.set(g, key, index), `writer ${key}`)));
        await sim.rt.hooks.idle();
        for (const [index, key] of keys.entries()) sim.check((await sim.rt.state.get(g, `seen:${key}`)) === index, `the hook never saw ${key}`);
        crashes += sim.trace.filter((line) => / fault: the worker of hook marks run \d+ dies$/.test(line)).length;
      },
      {
        runs: 100,
        seed: 2,
        faults: { hookWorkerCrash: 0.3 },
        runtime: { hooks: { autoStart: true } },
        setup: async (rt) => void (await rt.hooks.register({ name: 'marks', module: MARKS, on: ['state.set'], maxAttempts: 100, backoff: { initialMs: 10, maxMs: 1_000 } })),
      },
    );
    assert.ok(crashes > 10, `only ${crashes} worker crashes were injected`);
  });

  it('finds a property that a worker crash breaks: a hook with one attempt loses the change', async () => {
    const failure = await failureOf(
      async (sim) => {
        await sim.rt.state.set(g, 'a', 1);
        await sim.rt.hooks.idle();
        sim.check((await sim.rt.state.get(g, 'seen:a')) === 1, 'the hook never saw a');
      },
      { runs: 100, seed: 3, faults: { hookWorkerCrash: 0.3 }, setup: async (rt) => void (await rt.hooks.register({ name: 'marks', module: MARKS, on: ['state.set'], maxAttempts: 1 })) },
    );
    assert.deepEqual(failure.failures, ['check failed in the body: the hook never saw a']);
    assert.ok(failure.trace.some((line) => /^\d+ fault: the worker of hook marks run 1 dies$/.test(line)), failure.message);
  });

  it('keeps every acknowledged write across restarts, and the history stays linearizable', async () => {
    let restarts = 0;
    let cutOff = 0;
    await simulate.assert(
      async (sim) => {
        const acknowledged = new Map<string, number>();
        await Promise.all(
          ['a', 'b', 'c'].map((task) =>
            sim.spawn(async () => {
              for (let n = 1; n <= 3; n++) {
                try {
                  await sim.rt.state.set(g, task, n);
                  acknowledged.set(task, n);
                } catch (error) {
                  if ((error as { code?: string }).code !== 'RUNTIME_CLOSED') throw error;
                  cutOff++;
                }
              }
            }, task),
          ),
        );
        for (const [key, n] of acknowledged) {
          const stored = (await sim.rt.state.get(g, key)) as number;
          sim.check(stored >= n, `${key} is ${stored} though ${n} was acknowledged`);
        }
        const linearizable = checkLinearizable(sim.history);
        sim.check(linearizable.ok, linearizable.ok ? '' : linearizable.message);
        restarts += sim.restarts;
      },
      { runs: 150, seed: 4, faults: { restart: 0.1 } },
    );
    assert.ok(restarts > 10, `only ${restarts} restarts`);
    assert.ok(cutOff > 0, 'some calls were in flight at a restart');
  });

  it('shows a restart in the trace, and a write cut off by it may or may not survive', async () => {
    const seen = new Set<string>();
    for (const written of [true, false]) {
      await simulate.assert(
        async (sim) => {
          const outcome = await sim.rt.state.set(g, 'k', 1).then(
            () => 'ok',
            (error: { code?: string }) => error.code,
          );
          sim.check(outcome === 'RUNTIME_CLOSED', `the set ended ${outcome}`);
          sim.check(sim.restarts === 1, `${sim.restarts} restarts`);
          seen.add(`${written}:${String(await sim.rt.state.get(g, 'k'))}`);
          sim.check(sim.trace.some((line) => new RegExp(`^\\d+ fault: the process crashes at store batch \\d+, which was ${written ? 'written' : 'lost'}; the runtime restarts$`).test(line)), 'no restart in the trace');
          sim.check(sim.trace.some((line) => /^\d+ restart: runtime 2 is open$/.test(line)), 'no reopen in the trace');
        },
        // The set is the first batch of the run.
        { runs: 1, seed: 5, faults: { plan: [{ kind: 'restart', at: 1, written }] } },
      );
    }
    assert.deepEqual([...seen].sort(), ['false:undefined', 'true:1']);
  });

  it('crashes agents under their supervisor, which restarts them', async () => {
    const { chatMachine } = await import('../fixtures/chatMachine.js');
    let crashes = 0;
    await simulate.assert(
      async (sim) => {
        const agent = await sim.rt.agents.spawn({ type: 'chat', id: 'a1', machine: chatMachine() });
        const said: string[] = [];
        for (const text of ['one', 'two', 'three']) {
          try {
            await agent.send({ type: 'SAY', text });
            said.push(text);
          } catch (error) {
            if ((error as { code?: string }).code !== 'ACTOR_CRASHED') throw error;
            crashes++;
          }
        }
        const record = await sim.rt.agents.show('a1');
        const texts = (record.machineSnapshot as { context: { texts: string[] } }).context.texts;
        sim.check(JSON.stringify(texts) === JSON.stringify(said), `the agent kept ${JSON.stringify(texts)} after ${JSON.stringify(said)}`);
      },
      { runs: 60, seed: 6, faults: { actorCrash: 0.25 }, setup: (rt) => rt.agents.define('chat', chatMachine()) },
    );
    assert.ok(crashes > 5, `only ${crashes} crashes`);
  });
});
